using System.Text;
using Pipeline.Enricher.Dedupe;
using Pipeline.Enricher.Model;
using Pipeline.Enricher.Parsing;
using Pipeline.TestSupport;

namespace Pipeline.Enricher.Tests.Model;

/// <summary>Event ids kept as GUIDs where they are lowercase GUIDs: the same text back, the same equality, the same dedupe key.</summary>
public sealed class EventIdValueTests
{
    public static TheoryData<string> Ids => new()
    {
        "0c9f2c9e-4d4a-4b8e-9d3f-1f2e3d4c5b6a",  // CloudTrail's and EventBridge's form: kept as a GUID
        "00000000-0000-0000-0000-000000000000",  // the empty GUID is an id like any other
        "0C9F2C9E-4D4A-4B8E-9D3F-1F2E3D4C5B6A",  // upper case: its own text, not the lowercase id's
        "0c9f2c9e4d4a4b8e9d3f1f2e3d4c5b6a",      // 32 digits (a GuardDuty finding's): text
        "{0c9f2c9e-4d4a-4b8e-9d3f-1f2e3d4c5b6a}", // braces: text
        "0c9f2c9e-4d4a-4b8e-9d3f-1f2e3d4c5b6g",  // not hexadecimal: text
        "content:5f1d",
        "",
        "ünïcode-id-✓",
        "+c9f2c9e-4d4a-4b8e-9d3f-1f2e3d4c5b6a",  // .NET's GUID parser takes a sign or 0x in front of a group: text here
        "0x9f2c9e-4d4a-4b8e-9d3f-1f2e3d4c5b6a",
        "0c9f2c9e-0X4a-4b8e-9d3f-1f2e3d4c5b6a",
    };

    [Fact]
    public void Every_text_one_character_away_from_a_guid_reads_back_as_itself()
    {
        // Each position of a GUID's text replaced by characters its parsers might take in some form: whatever is kept,
        // the text that comes back is the one that went in, and both ways in agree.
        const string guid = "0c9f2c9e-4d4a-4b8e-9d3f-1f2e3d4c5b6a";
        const string replacements = "+-xX{}() 0aAfFgG\u00e9";
        for (int position = 0; position < guid.Length; position++)
            foreach (var c in replacements)
            {
                var text = string.Concat(guid.AsSpan(0, position), [c], guid.AsSpan(position + 1));
                var fromText = EventIdValue.Of(text);
                Assert.Equal(text, fromText.Text);
                var utf8 = Encoding.UTF8.GetBytes(text);
                if (EventIdValue.TryOfGuidUtf8(utf8, out var fromBytes))
                {
                    Assert.Equal(text, fromBytes.Text);
                    Assert.Equal(fromText, fromBytes);
                }
                Assert.Equal(Deduplicator.Key("111122223333", text), Deduplicator.Key("111122223333", fromText));
            }
    }

    [Fact]
    public void The_parser_reads_escaped_and_numeric_ids_as_their_text()
    {
        // An escaped GUID is unescaped first (the bytes are not its text); a number is its digits, as before.
        var escaped = Encoding.UTF8.GetBytes(Events.ApiCall(envelopeId: "envelope-1").Line()
            .Replace("\"eventID\":\"", "\"eventID\":\"\\u0030c9f2c9e-4d4a-4b8e-9d3f-1f2e3d4c5b6a\",\"ignored\":\"", StringComparison.Ordinal));
        Assert.True(EventParser.TryParse(escaped, out var parsed, out var reason), reason);
        using (parsed)
        {
            Assert.Equal("0c9f2c9e-4d4a-4b8e-9d3f-1f2e3d4c5b6a", parsed!.Event.CloudTrail!.EventId);
            Assert.Equal("0c9f2c9e-4d4a-4b8e-9d3f-1f2e3d4c5b6a", parsed.Event.DedupeId);
            Assert.Equal("envelope-1", parsed.Event.Id);
        }

        var numeric = Events.ApiCall();
        ((System.Text.Json.Nodes.JsonObject)numeric["detail"]!)["eventID"] = 12345;
        numeric.Remove("id");
        Assert.True(EventParser.TryParse(numeric.Utf8(), out var withNumber, out reason), reason);
        using (withNumber)
        {
            Assert.Equal("12345", withNumber!.Event.CloudTrail!.EventId);
            Assert.Equal("12345", withNumber.Event.Id);
            Assert.Equal("12345", withNumber.Event.DedupeId);
        }
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void An_id_reads_back_as_the_text_it_came_as_whichever_way_it_came(string text)
    {
        var fromText = EventIdValue.Of(text);
        Assert.True(fromText.IsPresent);
        Assert.Equal(text, fromText.Text);

        // As the parser reads it from a JSON string's bytes.
        var fromBytes = EventIdValue.TryOfGuidUtf8(Encoding.UTF8.GetBytes(text), out var guid) ? guid : EventIdValue.Of(text);
        Assert.Equal(text, fromBytes.Text);
        Assert.Equal(fromText, fromBytes);
        Assert.Equal(fromText.GetHashCode(), fromBytes.GetHashCode());
    }

    [Fact]
    public void Only_a_lowercase_guid_is_read_from_bytes_without_its_text()
    {
        Assert.True(EventIdValue.TryOfGuidUtf8("0c9f2c9e-4d4a-4b8e-9d3f-1f2e3d4c5b6a"u8, out _));
        Assert.False(EventIdValue.TryOfGuidUtf8("0C9F2C9E-4D4A-4B8E-9D3F-1F2E3D4C5B6A"u8, out _));
        Assert.False(EventIdValue.TryOfGuidUtf8("0c9f2c9e4d4a4b8e9d3f1f2e3d4c5b6a"u8, out _));
        Assert.False(EventIdValue.TryOfGuidUtf8("0c9f2c9e-4d4a-4b8e-9d3f-1f2e3d4c5b6a "u8, out _));
    }

    [Fact]
    public void Ids_are_equal_exactly_when_their_texts_are()
    {
        string[] texts = ["0c9f2c9e-4d4a-4b8e-9d3f-1f2e3d4c5b6a", "0C9F2C9E-4D4A-4B8E-9D3F-1F2E3D4C5B6A", "00000000-0000-0000-0000-000000000000", "x", ""];
        foreach (var a in texts)
            foreach (var b in texts)
                Assert.Equal(a == b, EventIdValue.Of(a).Equals(EventIdValue.Of(b)));
        Assert.False(default(EventIdValue).IsPresent);
        Assert.Null(default(EventIdValue).Text);
        Assert.NotEqual(default, EventIdValue.Of(""));
    }

    [Fact]
    public void Events_with_the_same_id_compare_equal_however_the_id_was_given()
    {
        const string id = "0c9f2c9e-4d4a-4b8e-9d3f-1f2e3d4c5b6a";
        var json = Events.ApiCall(eventId: id, envelopeId: id).Utf8();
        Assert.True(EventParser.TryParse(json, out var parsed, out var reason), reason);
        using (parsed)
        {
            var evt = parsed!.Event;
            Assert.Equal(id, evt.Id);
            Assert.Equal(id, evt.CloudTrail!.EventId);
            // Rebuilt from its texts, as a test or a host would write it.
            var rebuilt = evt with { Id = id, CloudTrail = evt.CloudTrail with { EventId = id } };
            Assert.Equal(evt, rebuilt);
            Assert.NotEqual(evt, evt with { Id = id.ToUpperInvariant() });
        }
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void The_dedupe_key_of_a_kept_id_is_the_key_of_its_text(string text)
    {
        Assert.Equal(Deduplicator.Key("111122223333", text), Deduplicator.Key("111122223333", EventIdValue.Of(text)));
    }

    [Fact]
    public void An_id_too_long_for_the_stack_still_gets_its_texts_key()
    {
        var text = new string('é', 400);
        Assert.Equal(Deduplicator.Key("111122223333", text), Deduplicator.Key("111122223333", EventIdValue.Of(text)));
    }
}
