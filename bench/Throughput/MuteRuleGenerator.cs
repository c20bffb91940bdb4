using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Pipeline.Enricher.Parsing;

namespace Pipeline.Bench.Throughput;

/// <summary>
/// Writes mute-rule files of any size that look like a real team's: exact event names and sources,
/// role ARNs with wildcards (a CI role in every account), source-address ranges (cidr) and name prefixes.
/// Values are taken from the corpus, so some rules do match; most, as in life, match nothing most of the time.
/// </summary>
internal static class MuteRuleGenerator
{
    public static string Generate(int count, IReadOnlyList<ParsedEvent> corpus)
    {
        var names = Distinct(corpus, e => e.Event.CloudTrail?.EventName);
        var sources = Distinct(corpus, e => e.Event.CloudTrail?.EventSource);
        var envelopeSources = Distinct(corpus, e => e.Event.Source);
        var roles = Distinct(corpus, e => e.Event.CloudTrail?.Identity.SessionIssuerUserName);
        if (names.Count == 0) names = ["PutObject"];
        if (sources.Count == 0) sources = ["s3.amazonaws.com"];
        if (roles.Count == 0) roles = ["terraform-ci"];

        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("rules");
            for (int i = 0; i < count; i++)
            {
                w.WriteStartObject();
                w.WriteString("name", $"rule-{i:D3}");
                w.WriteStartObject("pattern");
                switch (i % 5)
                {
                    case 0: // a noisy, harmless call: exact name and source
                        w.WriteStartArray("detail-type"); w.WriteStringValue("AWS API Call via CloudTrail"); w.WriteEndArray();
                        w.WriteStartObject("detail");
                        Strings(w, "eventSource", sources[i / 5 % sources.Count]);
                        Strings(w, "eventName", names[i % names.Count], names[(i * 7 + 3) % names.Count]);
                        w.WriteEndObject();
                        break;
                    case 1: // a CI role in every account, whatever it calls, while it succeeds
                        w.WriteStartObject("detail");
                        w.WriteStartObject("userIdentity");
                        w.WriteStartObject("sessionContext");
                        w.WriteStartObject("sessionIssuer");
                        w.WriteStartArray("arn");
                        w.WriteStartObject();
                        var role = i < 5 ? roles[0] : $"{roles[i % roles.Count]}-{i}";
                        w.WriteString("wildcard", $"arn:aws:iam::*:role/{role}*");
                        w.WriteEndObject();
                        w.WriteEndArray();
                        w.WriteEndObject();
                        w.WriteEndObject();
                        w.WriteEndObject();
                        w.WriteStartArray("errorCode"); w.WriteStartObject(); w.WriteBoolean("exists", false); w.WriteEndObject(); w.WriteEndArray();
                        w.WriteEndObject();
                        break;
                    case 2: // a scanner inside our own address range
                        w.WriteStartObject("detail");
                        w.WriteStartArray("sourceIPAddress");
                        w.WriteStartObject();
                        w.WriteString("cidr", string.Create(CultureInfo.InvariantCulture, $"10.{i % 256}.0.0/16"));
                        w.WriteEndObject();
                        w.WriteEndArray();
                        w.WriteEndObject();
                        break;
                    case 3: // read-only calls of one service by name prefix
                        Strings(w, "source", envelopeSources[i / 5 % envelopeSources.Count]);
                        w.WriteStartObject("detail");
                        w.WriteStartArray("eventName");
                        w.WriteStartObject(); w.WriteString("prefix", i % 2 == 0 ? "Describe" : "List"); w.WriteEndObject();
                        w.WriteEndArray();
                        w.WriteEndObject();
                        break;
                    default: // one account's sandbox noise
                        Strings(w, "account", EventReplicator.AccountIds[i % EventReplicator.AccountIds.Count]);
                        w.WriteStartObject("detail");
                        Strings(w, "eventName", names[(i * 13) % names.Count]);
                        w.WriteEndObject();
                        break;
                }
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void Strings(Utf8JsonWriter w, string name, params string[] values)
    {
        w.WriteStartArray(name);
        foreach (var v in values.Distinct(StringComparer.Ordinal)) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    private static List<string> Distinct(IReadOnlyList<ParsedEvent> corpus, Func<ParsedEvent, string?> value) =>
        [.. corpus.Select(value).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
}
