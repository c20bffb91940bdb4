using System.Diagnostics;
using System.Text.RegularExpressions;
using Pipeline.TestSupport;

namespace Pipeline.Tests.Docs;

/// <summary>
/// Every command the README and docs/ show works as written: each `pipeline` and benchmark command exists and takes
/// the flags shown, each script answers --help, every repository path they name exists, and the Deploy guide hands
/// `cdk` the folder its publish step writes.
/// </summary>
public sealed partial class DocumentedCommandsTests
{
    private static readonly string Root = SharedCorpus.RepositoryRoot;

    /// <summary>One shell line of a fenced sh/bash block, with the folder it runs in (blocks may `cd`).</summary>
    public sealed record DocLine(string File, int Line, string Text, string Folder)
    {
        public override string ToString() => $"{File}:{Line}: {Text}";
    }

    private static readonly Lazy<List<DocLine>> Lines = new(ReadLines);

    private const string WalkThrough = "deploying.md";

    private static List<DocLine> ReadLines()
    {
        var files = new[] { Path.Combine(Root, "README.md") }.Concat(Directory.GetFiles(Path.Combine(Root, "docs"), "*.md").Order(StringComparer.Ordinal));
        var lines = new List<DocLine>();
        foreach (var file in files)
        {
            bool inShell = false;
            string folder = Root;
            // The Deploy guide is one walk-through in one terminal: a `cd` holds for the blocks after it, as it does for
            // whoever follows the steps. Elsewhere each block starts at the repository root.
            bool walkThrough = Path.GetFileName(file) == WalkThrough;
            var text = File.ReadAllLines(file);
            for (int i = 0; i < text.Length; i++)
            {
                var line = text[i].Trim();
                if (line.StartsWith("```", StringComparison.Ordinal))
                {
                    inShell = !inShell && (line is "```sh" or "```bash");
                    if (!walkThrough) folder = Root;
                    continue;
                }
                if (!inShell || line.Length == 0 || line.StartsWith('#')) continue;
                while (line.EndsWith('\\') && i + 1 < text.Length) line = line[..^1] + " " + text[++i].Trim();
                line = StripComment(line);
                lines.Add(new DocLine(Path.GetRelativePath(Root, file), i + 1, line, folder));
                foreach (Match cd in CdCommand().Matches(line)) folder = Path.GetFullPath(Path.Combine(folder, cd.Groups[1].Value));
            }
        }
        return lines;
    }

    private static string StripComment(string line)
    {
        int hash = line.IndexOf(" #", StringComparison.Ordinal);
        return (hash >= 0 ? line[..hash] : line).Trim();
    }

    public static TheoryData<string> PipelineCommands()
    {
        var data = new TheoryData<string>();
        foreach (var line in Lines.Value)
            foreach (Match m in PipelineInvocation().Matches(line.Text)) data.Add($"{line.File}:{line.Line}|{m.Groups[1].Value.Trim()}");
        return data;
    }

    public static TheoryData<string> BenchCommands()
    {
        var data = new TheoryData<string>();
        foreach (var line in Lines.Value)
            foreach (Match m in BenchInvocation().Matches(line.Text)) data.Add($"{line.File}:{line.Line}|{m.Groups[1].Value.Trim()}");
        return data;
    }

    [Theory]
    [MemberData(nameof(PipelineCommands))]
    public async Task Every_documented_pipeline_command_exists_and_takes_the_flags_shown(string documented) =>
        await AssertHelpCovers("pipeline", documented);

    [Theory]
    [MemberData(nameof(BenchCommands))]
    public async Task Every_documented_benchmark_command_exists_and_takes_the_flags_shown(string documented) =>
        await AssertHelpCovers("bench", documented);

    /// <summary>The option tables of the docs, each with the command whose --help must list every flag of its rows.</summary>
    [Theory]
    [InlineData("docs/digests.md", "## `pipeline digest`", "pipeline", "digest")]
    [InlineData("docs/slack.md", "# ", "pipeline", "digest")]
    [InlineData("docs/performance.md", "# Performance", "bench", "")]
    public async Task Every_flag_of_a_documented_option_table_is_an_option_of_its_command(string file, string heading, string program, string command)
    {
        var text = File.ReadAllLines(Path.Combine(Root, file));
        int start = Array.FindIndex(text, l => l.StartsWith(heading, StringComparison.Ordinal));
        Assert.True(start >= 0, $"{file} has no heading '{heading}'");
        var level = text[start].TakeWhile(c => c == '#').Count();
        var section = text.Skip(start + 1).TakeWhile(l => !(l.StartsWith('#') && l.TakeWhile(c => c == '#').Count() <= level));
        // The first cell of an option row: `--name, -n VALUE`, possibly several flags.
        var flags = section.Where(l => l.StartsWith("| `-", StringComparison.Ordinal))
            .SelectMany(l => Regex.Matches(l.Split('|')[1], @"(?<![\w-])(--?[a-z][a-z-]*)").Select(m => m.Groups[1].Value))
            .Distinct().ToList();
        Assert.True(flags.Count >= 3, $"{file} '{heading}': no option table found");
        var help = await Help(program, command.Length == 0 ? [] : [command]);
        foreach (var flag in flags)
            Assert.True(Regex.IsMatch(help, $@"(^|[\s,]){Regex.Escape(flag)}([\s,<]|$)", RegexOptions.Multiline),
                $"{file}: the option table lists {flag}, which `{program} {command} --help` does not:\n{help}");
    }

    [Fact]
    public void The_docs_show_commands_of_every_kind()
    {
        Assert.True(PipelineCommands().Count >= 15, "the docs show the pipeline's commands");
        Assert.NotEmpty(BenchCommands());
        Assert.Contains(Lines.Value, l => l.Text.StartsWith("scripts/publish-lambda.sh", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Every_documented_script_exists_and_answers_help()
    {
        var scripts = Lines.Value.SelectMany(l => ScriptCall().Matches(l.Text).Select(m => m.Groups[1].Value)).Distinct().ToList();
        Assert.NotEmpty(scripts);
        foreach (var script in scripts)
        {
            Assert.True(File.Exists(Path.Combine(Root, script)), $"{script} is shown in the docs but does not exist");
            var (exit, output) = await RunAsync("bash", [script, "--help"]);
            Assert.True(exit == 0, $"{script} --help: exit {exit}\n{output}");
            Assert.Contains(script, output, StringComparison.Ordinal); // its usage line
        }
    }

    [Fact]
    public void Every_repository_path_the_docs_name_exists()
    {
        var missing = new List<string>();
        foreach (var line in Lines.Value)
        {
            foreach (var token in line.Text.Split([' ', '=', '"', '\'', '(', ')'], StringSplitOptions.RemoveEmptyEntries))
            {
                if (!token.Contains('/', StringComparison.Ordinal) || token.Contains("://", StringComparison.Ordinal) || token.StartsWith('$') || token.Contains('*', StringComparison.Ordinal)) continue;
                var path = token.TrimEnd(',', ';');
                // ../ climbs from where the line runs, as far as the repository root.
                var folder = line.Folder;
                while (path.StartsWith("../", StringComparison.Ordinal) && folder != Root)
                    (folder, path) = (Path.GetDirectoryName(folder)!, path[3..]);
                // Only paths into the repository are checked: their first folder exists where the line runs
                // (artifacts/ is where builds write, not part of the repository).
                var first = path.Split('/')[0];
                if (first is "" or "." or ".." or "artifacts" || !Directory.Exists(Path.Combine(folder, first))) continue;
                var full = Path.GetFullPath(Path.Combine(folder, path));
                if (path.Contains("node_modules/", StringComparison.Ordinal))
                {
                    // Installed by `npm ci`: the package must be pinned in the folder's package.json.
                    var parts = path.Split("node_modules/");
                    var package = parts[1].Split('/')[0];
                    var manifest = Path.Combine(folder, parts[0], "package.json");
                    if (!File.Exists(manifest) || !File.ReadAllText(manifest).Contains($"\"{package}\"", StringComparison.Ordinal)) missing.Add($"{line}  ({path})");
                    continue;
                }
                if (!File.Exists(full) && !Directory.Exists(full)) missing.Add($"{line}  ({path})");
            }
        }
        Assert.True(missing.Count == 0, "paths the docs name that do not exist:\n" + string.Join('\n', missing));
    }

    [Fact]
    public async Task The_deploy_guide_hands_cdk_the_folder_its_publish_step_writes()
    {
        var deploy = Lines.Value.Where(l => l.File == Path.Combine("docs", WalkThrough)).ToList();
        var publish = Assert.Single(deploy, l => l.Text.StartsWith("scripts/publish-lambda.sh", StringComparison.Ordinal));
        Assert.Equal(Root, publish.Folder);
        // Where the documented line publishes, as the script itself resolves it.
        var (exit, output) = await RunAsync("bash", [.. publish.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--dry-run"]);
        Assert.True(exit == 0, output);
        var dryRun = Regex.Match(output, @"^(?:arm64|x86_64) (/.*)$", RegexOptions.Multiline);
        Assert.True(dryRun.Success, output);
        var outFolder = dryRun.Groups[1].Value.TrimEnd('\r');

        // The stack reads that folder: named with bootstrapAsset (relative to infra/), or its default, ../artifacts/lambda.
        var assets = deploy.SelectMany(l => Regex.Matches(l.Text, @"bootstrapAsset=(\S+)").Select(m => m.Groups[1].Value))
            .Where(a => a != "placeholder-asset").Distinct().DefaultIfEmpty("../artifacts/lambda");
        foreach (var asset in assets)
            Assert.Equal(outFolder, Path.GetFullPath(Path.Combine(Root, "infra", asset)));

        // The script publishes src/Lambda and lays out <out>/bootstrap, what the CDK app takes as the asset folder.
        var script = File.ReadAllText(Path.Combine(Root, "scripts", "publish-lambda.sh"));
        Assert.Contains("dotnet publish src/Lambda ", script, StringComparison.Ordinal);
        Assert.Contains("cp \"$BIN\" \"$OUT/bootstrap\"", script, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(Root, "src", "Lambda", "Lambda.csproj")));
    }

    [Fact]
    public void Every_project_a_documented_dotnet_command_names_exists()
    {
        var projects = Lines.Value.SelectMany(l => DotnetProject().Matches(l.Text).Select(m => (Line: l, Path: m.Groups[1].Value))).ToList();
        Assert.NotEmpty(projects);
        foreach (var (line, path) in projects)
        {
            var full = Path.GetFullPath(Path.Combine(line.Folder, path));
            var found = path.EndsWith(".csproj", StringComparison.Ordinal) ? File.Exists(full)
                : Directory.Exists(full) && Directory.GetFiles(full, "*.csproj").Length == 1;
            Assert.True(found, $"{line}: {path} is not a project (a .csproj, or a folder holding one) from {Path.GetRelativePath(Root, line.Folder)}/");
        }
    }

    [Fact]
    public void The_deploy_guide_runs_in_the_folders_it_says()
    {
        var deploy = Lines.Value.Where(l => l.File == Path.Combine("docs", WalkThrough)).ToList();
        // cdk reads cdk.json from the folder it runs in.
        var cdk = deploy.Where(l => Regex.IsMatch(l.Text, @"^cdk ")).ToList();
        Assert.NotEmpty(cdk);
        Assert.All(cdk, l => Assert.True(File.Exists(Path.Combine(l.Folder, "cdk.json")), $"{l}: runs in {l.Folder}, which has no cdk.json"));
        Assert.All(deploy.Where(l => l.Text.StartsWith("scripts/", StringComparison.Ordinal)),
            l => Assert.True(l.Folder == Root, $"{l}: scripts/ is shown from {l.Folder}, not the repository root"));
    }

    /// <summary>`X --help` (and the subcommand's, when the first word is one) lists every flag the documented line uses.</summary>
    private static async Task AssertHelpCovers(string program, string documented)
    {
        var (where, command) = (documented[..documented.IndexOf('|', StringComparison.Ordinal)], documented[(documented.IndexOf('|', StringComparison.Ordinal) + 1)..]);
        var words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries).TakeWhile(w => w is not (">" or "|" or "2>" or "&&")).ToList();
        var path = new List<string>();
        var help = await Help(program, path);
        foreach (var word in words.TakeWhile(w => !w.StartsWith('-')))
        {
            if (!Regex.IsMatch(help, $@"^\s+{Regex.Escape(word)}\b", RegexOptions.Multiline)) break; // an argument, not a command
            path.Add(word);
            help = await Help(program, path);
        }
        if (program == "pipeline") Assert.True(path.Count > 0, $"{where}: `{command}` names no pipeline command");
        foreach (var flag in words.Where(w => w.StartsWith('-') && w.Length > 1).Select(w => w.Split('=')[0]))
            Assert.True(Regex.IsMatch(help, $@"(^|[\s,]){Regex.Escape(flag)}([\s,<]|$)", RegexOptions.Multiline),
                $"{where}: `{program} {command}` uses {flag}, which `{program} {string.Join(' ', path)} --help` does not list:\n{help}");
    }

    private static async Task<string> Help(string program, List<string> path)
    {
        var result = await PipelineProcess.RunProgramAsync(program, [.. path, "--help"]);
        Assert.True(result.ExitCode == 0, $"{program} {string.Join(' ', path)} --help: exit {result.ExitCode}\n{result.Stderr}");
        return result.Stdout;
    }

    private static async Task<(int Exit, string Output)> RunAsync(string file, string[] args)
    {
        var info = new ProcessStartInfo(file) { WorkingDirectory = Root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }

    [GeneratedRegex(@"dotnet run --project (?:\.\./)?src/Pipeline -- ([^|>#`]+)")]
    private static partial Regex PipelineInvocation();

    [GeneratedRegex(@"dotnet run -c Release --project bench(?: -- ([^|>#`]*))?")]
    private static partial Regex BenchInvocation();

    /// <summary>The project of `dotnet run|build|test|publish`: after --project, or the first argument that is not an option.</summary>
    [GeneratedRegex(@"\bdotnet (?:run|build|test|publish)(?: -c \w+)*(?: --project)? ((?:\.\./)*(?:src|tests|bench|infra)(?:/[\w.-]+)*)")]
    private static partial Regex DotnetProject();

    [GeneratedRegex(@"(?:^|\s)(scripts/[\w.-]+\.sh)")]
    private static partial Regex ScriptCall();

    [GeneratedRegex(@"(?:^|&&\s*)cd ([^\s&;]+)")]
    private static partial Regex CdCommand();
}
