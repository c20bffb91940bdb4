using Pipeline.Infra.Settings;
using Pipeline.TestSupport;

namespace Pipeline.Infra.Tests;

/// <summary>
/// The <c>muteRulesFile</c> setting: what synthesis can check without the pattern engine, reported under the key
/// before anything is built.
/// </summary>
public sealed class MuteRulesFileTests : IDisposable
{
    private static readonly string InfraDirectory = Path.Combine(SharedCorpus.RepositoryRoot, "infra");
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("mute-rules-");

    public void Dispose() => _folder.Delete(recursive: true);

    private static Dictionary<string, object?> Context(string muteRulesFile) => new()
    {
        ["orgId"] = "o-abc123def456",
        ["securityAccountId"] = "111111111111",
        ["managementAccountId"] = "222222222222",
        ["centralRegion"] = "eu-west-1",
        ["memberOrganizationalUnitIds"] = "ou-ab12-cdefgh34",
        ["memberRegions"] = "eu-west-1",
        ["bootstrapAsset"] = SettingsReader.PlaceholderAssetFolder,
        ["muteRulesFile"] = muteRulesFile,
    };

    private static PipelineSettings Read(string muteRulesFile) =>
        SettingsReader.Read(key => Context(muteRulesFile).GetValueOrDefault(key), InfraDirectory);

    private string Write(string content)
    {
        var path = Path.Combine(_folder.FullName, "mute.json");
        File.WriteAllText(path, content);
        return path;
    }

    private static IReadOnlyList<string> Problems(string muteRulesFile) =>
        Assert.Throws<SettingsException>(() => Read(muteRulesFile)).Problems;

    [Fact]
    public void The_demo_rules_are_accepted_and_resolved_from_infra()
    {
        var settings = Read("../samples/demo/mute-rules.json");
        Assert.Equal(Path.Combine(SharedCorpus.RepositoryRoot, "samples", "demo", "mute-rules.json"), settings.MuteRulesFile);
    }

    [Fact]
    public void Comments_and_trailing_commas_are_accepted_as_the_function_accepts_them()
    {
        var path = Write("""
            // CI noise
            { "rules": [ { "name": "ci", /* why */ "pattern": { "source": ["aws.ec2"] }, "description": "tags", }, ] }
            """);
        Assert.Equal(path, Read(path).MuteRulesFile);
    }

    [Fact]
    public void Unset_means_nothing_is_muted()
    {
        var context = Context("x");
        context.Remove("muteRulesFile");
        Assert.Null(SettingsReader.Read(key => context.GetValueOrDefault(key), InfraDirectory).MuteRulesFile);
    }

    [Fact]
    public void A_missing_file_is_named_with_the_setting_and_where_relative_paths_start()
    {
        var problem = Assert.Single(Problems("../samples/demo/no-such.json"));
        Assert.StartsWith("muteRulesFile: " + Path.Combine(SharedCorpus.RepositoryRoot, "samples", "demo", "no-such.json") + " does not exist", problem, StringComparison.Ordinal);
        Assert.Contains("relative to infra/", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_that_is_not_JSON_is_refused()
    {
        Assert.Contains("is not JSON", Assert.Single(Problems(Write("{\"rules\": [ { \"name\": "))), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_shape_problem_is_listed_by_rule()
    {
        var path = Write("""
            { "rules": [
                { "name": "a", "pattern": { "source": ["aws.s3"] } },
                { "name": "a", "pattern": { "source": ["aws.s3"] } },
                { "pattern": "aws.s3" },
                { "name": "c", "pattern": {}, "enabled": false },
                "d"
              ],
              "version": 2 }
            """);
        var problems = Problems(path).Select(p => p[(p.IndexOf(path, StringComparison.Ordinal) + path.Length)..]).ToList();
        Assert.Equal(
        [
            ": unknown top-level key \"version\" (expected only \"rules\") (the path is relative to infra/; see docs/mute-rules.md).",
            ": rule \"a\" (#2): duplicate name, already used by rule #1 (the path is relative to infra/; see docs/mute-rules.md).",
            ": rule #3 needs a \"name\" (a non-empty string) (the path is relative to infra/; see docs/mute-rules.md).",
            ": rule #3 needs a \"pattern\" object (an EventBridge event pattern) (the path is relative to infra/; see docs/mute-rules.md).",
            ": rule #4: unknown key \"enabled\" (expected \"name\", \"pattern\", \"description\") (the path is relative to infra/; see docs/mute-rules.md).",
            ": rule #5 must be an object {\"name\": ..., \"pattern\": {...}} (the path is relative to infra/; see docs/mute-rules.md).",
        ], problems);
    }

    [Fact]
    public void A_file_without_a_rules_array_is_refused()
    {
        Assert.Contains("must be {\"rules\": [", Assert.Single(Problems(Write("[{\"name\": \"a\"}]"))), StringComparison.Ordinal);
    }
}
