using System.Text.Json;
using System.Text.RegularExpressions;
using Pipeline.Infra.Settings;
using Pipeline.Infra.Stacks;
using Pipeline.TestSupport;

namespace Pipeline.Infra.Tests;

/// <summary>
/// The Deploy guide names what this app really has: every setting it shows is one the app reads and every one the app
/// reads is in its table, its cdk commands name real stacks, and the names in its AWS CLI commands (StackSet, alias,
/// tables, parameters, outputs) are the ones the stacks create. Its scripts, paths and pipeline commands are checked by
/// tests/Pipeline.Tests/Docs/DocumentedCommandsTests.
/// </summary>
[Collection(CdkCollection.Name)]
public sealed partial class DeployGuideTests(SynthesizedApp app)
{
    private static readonly string Root = SharedCorpus.RepositoryRoot;
    private static readonly string[] Guide = File.ReadAllLines(Path.Combine(Root, "docs", "deploying.md"));

    /// <summary>Every context key <see cref="SettingsReader"/> asks for, recorded while it reads a valid context.</summary>
    private static readonly Lazy<IReadOnlySet<string>> SettingsKeys = new(() =>
    {
        var asked = new HashSet<string>(StringComparer.Ordinal);
        var context = SynthesizedApp.BaseContext();
        SettingsReader.Read(key => { asked.Add(key); return context.GetValueOrDefault(key); }, Path.Combine(Root, "infra"));
        return asked;
    });

    private static IEnumerable<string> Section(string heading)
    {
        int start = Array.FindIndex(Guide, l => l == heading);
        Assert.True(start >= 0, $"docs/deploying.md has no '{heading}'");
        return Guide.Skip(start + 1).TakeWhile(l => !l.StartsWith("## ", StringComparison.Ordinal));
    }

    /// <summary>The lines of the guide's fenced blocks of one language, backslash continuations joined.</summary>
    private static List<string> Blocks(params string[] languages)
    {
        var lines = new List<string>();
        bool inside = false;
        for (int i = 0; i < Guide.Length; i++)
        {
            var line = Guide[i].Trim();
            if (line.StartsWith("```", StringComparison.Ordinal)) { inside = !inside && languages.Contains(line[3..]); continue; }
            if (!inside) continue;
            while (line.EndsWith('\\') && i + 1 < Guide.Length) line = line[..^1] + " " + Guide[++i].Trim();
            lines.Add(line);
        }
        return lines;
    }

    [Fact]
    public void The_settings_table_lists_exactly_the_keys_the_app_reads()
    {
        var documented = Section("## Settings").Where(l => l.StartsWith("| `", StringComparison.Ordinal))
            .SelectMany(l => Backticked().Matches(l.Split('|')[1]).Select(m => m.Groups[1].Value))
            .ToHashSet(StringComparer.Ordinal);
        Assert.Equal(SettingsKeys.Value.Order(StringComparer.Ordinal), documented.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Every_setting_the_docs_pass_or_show_in_cdk_json_is_a_real_key()
    {
        var files = Directory.GetFiles(Path.Combine(Root, "docs"), "*.md").Append(Path.Combine(Root, "README.md")).Append(Path.Combine(Root, "infra", "README.md"));
        var passed = files.SelectMany(f => ContextFlag().Matches(File.ReadAllText(f)).Select(m => (File: Path.GetFileName(f), Key: m.Groups[1].Value))).ToList();
        Assert.Contains(passed, p => p.Key == "bootstrapAsset");
        var shown = Blocks("json").SelectMany(l => JsonKey().Matches(l).Select(m => (File: "deploying.md json", Key: m.Groups[1].Value))).ToList();
        Assert.Contains(shown, p => p.Key == "muteRulesFile");
        // "-c key=value" is how the guide writes the flag itself, not a setting.
        var unknown = passed.Concat(shown).Where(p => p.Key != "key" && !SettingsKeys.Value.Contains(p.Key)).Distinct().ToList();
        Assert.True(unknown.Count == 0, "settings the docs use that the app does not read: " + string.Join(", ", unknown));
    }

    [Fact]
    public void Every_key_of_the_committed_cdk_json_is_a_real_key()
    {
        using var cdkJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "infra", "cdk.json")));
        var keys = cdkJson.RootElement.GetProperty("context").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("functionArchitecture", keys); // where scripts/publish-lambda.sh reads the architecture
        Assert.All(keys, k => Assert.True(SettingsKeys.Value.Contains(k), $"infra/cdk.json sets {k}, which the app does not read"));
    }

    [Fact]
    public void Every_stack_a_cdk_command_of_the_guide_names_exists()
    {
        var stacks = new[] { app.Stacks.Central.StackName, app.Stacks.MemberForwarding.StackName }
            .Concat(app.Stacks.ManagementForwarding.Select(s => s.StackName)).ToList();
        var named = Blocks("bash", "sh").Where(l => Regex.IsMatch(l, @"^cdk (deploy|destroy|diff|synth)\b"))
            .SelectMany(l => Regex.Matches(l, @"'?(SecurityPipeline-[\w*-]+)'?").Select(m => m.Groups[1].Value)).Distinct().ToList();
        Assert.True(named.Count >= 3, "the guide deploys and removes the stacks by name");
        foreach (var name in named)
        {
            var pattern = "^" + Regex.Escape(name).Replace("\\*", ".*", StringComparison.Ordinal) + "$";
            Assert.True(stacks.Any(s => Regex.IsMatch(s, pattern)), $"the guide names stack {name}; the app has {string.Join(", ", stacks)}");
        }
    }

    [Fact]
    public void The_outputs_the_guide_lists_are_the_central_stacks_outputs()
    {
        var sentence = Guide.Single(l => l.Contains("It prints outputs:", StringComparison.Ordinal));
        var listed = Backticked().Matches(sentence).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        var outputs = app.Central["Outputs"]!.AsObject().Select(o => o.Key).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(outputs.Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_names_in_the_guides_AWS_commands_are_the_ones_the_stacks_create()
    {
        var settings = new PipelineSettings
        {
            OrganizationId = "o-x", SecurityAccountId = "1", ManagementAccountId = "2", CentralRegion = "r",
            MemberOrganizationalUnitIds = [], MemberRegions = [], ForwardedEvents = [], BootstrapAssetDirectory = "",
        };
        var aws = Blocks("bash", "sh").Where(l => l.StartsWith("aws ", StringComparison.Ordinal) || l.Contains("$(aws ", StringComparison.Ordinal)).ToList();
        string[] Values(string flag) => aws.SelectMany(l => Regex.Matches(l, Regex.Escape(flag) + @" (\S+)").Select(m => m.Groups[1].Value.Trim('"'))).Distinct().ToArray();

        Assert.Equal([MemberForwardingStack.StackSetName], Values("--stack-set-name"));
        var aliases = Values("--key-id").Where(v => v.StartsWith("alias/", StringComparison.Ordinal)).Concat(Values("--alias-name")).Distinct();
        Assert.Equal(["alias/" + settings.EventBusName], aliases);
        Assert.Equal([settings.AccountsTableName, settings.LedgerTableName], Values("--table-name"));
        Assert.Equal([settings.SlackWebhookParameterName, settings.SlackBotTokenParameterName],
            Values("--name").Where(v => v.StartsWith("/security-pipeline/slack", StringComparison.Ordinal)));
        // pipeline accounts import loads the table the stack created.
        Assert.All(Blocks("bash").SelectMany(l => Regex.Matches(l, @"--table (\S+)").Select(m => m.Groups[1].Value)),
            t => Assert.Equal(settings.AccountsTableName, t));
        // The guide's key ARN for a redeploy is one the setting accepts.
        Assert.All(Blocks("bash").SelectMany(l => Regex.Matches(l, @"-c retainedKeyArn=(\S+)").Select(m => m.Groups[1].Value)),
            arn => Assert.StartsWith($"arn:aws:kms:{SynthesizedApp.Region}:{SynthesizedApp.SecurityAccount}:key/", arn, StringComparison.Ordinal));
    }

    [GeneratedRegex("`([A-Za-z][A-Za-z0-9]*)`")]
    private static partial Regex Backticked();

    [GeneratedRegex(@"(?<![\w-])-c ([A-Za-z][A-Za-z0-9]*)=")]
    private static partial Regex ContextFlag();

    [GeneratedRegex("^\"([A-Za-z][A-Za-z0-9]*)\"\\s*:")]
    private static partial Regex JsonKey();
}
