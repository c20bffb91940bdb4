using System.Diagnostics;
using Pipeline.Cli.Commands;
using Pipeline.Enricher.Reading;

namespace Pipeline.Tests.Commands;

/// <summary>
/// Every input is found and checked before anything is read. Permissions cannot deny root, which the tests run as, so
/// unreadable paths come from a fake file system; the real one is tested on paths that truly fail.
/// </summary>
public sealed class InputFilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("inputs-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name)
    {
        var path = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "{}\n");
        return path;
    }

    internal static void MakeFifo(string path)
    {
        using var mkfifo = Process.Start("mkfifo", [path]);
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
    }

    [Fact]
    public void Every_unreadable_file_and_folder_is_reported_before_anything_is_read()
    {
        var fs = new FakeFileSystem
        {
            Folders = { ["in"] = ["in/a.jsonl", "in/locked", "in/b.jsonl"] },
            Files = { "in/a.jsonl", "in/b.jsonl", "c.jsonl" },
            Unlistable = { "in/locked" },
            Unopenable = { "in/b.jsonl", "c.jsonl" },
        };
        var stderr = new StringWriter();
        var e = Assert.Throws<InputException>(() => InputFiles.Resolve(["in", "c.jsonl", "missing"], stderr, fs));
        Assert.Equal("4 inputs cannot be read (above); nothing was read", e.Message);
        var lines = stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(
        [
            "error: cannot read folder 'in/locked': Permission denied",
            "error: cannot read 'in/b.jsonl': Permission denied",
            "error: cannot read 'c.jsonl': Permission denied",
            "error: input 'missing' does not exist (give a file, a folder, or '-' for stdin)",
        ], lines);
        Assert.Empty(fs.Opened.Except(fs.Files)); // checked by opening, never read
    }

    [SkippableFact]
    public void A_large_folder_checked_on_several_threads_reports_in_the_folders_order()
    {
        Skip.If(Environment.ProcessorCount < 2, "one processor: the folder is checked on one thread");
        // Enough entries for the parallel check, with files that cannot be opened, subfolders, and a hidden file among them.
        var entries = Enumerable.Range(0, 300).Select(i => $"big/{i:D3}.jsonl").ToArray();
        var fs = new FakeFileSystem { Folders = { ["big"] = [.. entries, "big/sub", "big/.hidden"], ["big/sub"] = ["big/sub/x.jsonl"] } };
        fs.Files.UnionWith([.. entries, "big/sub/x.jsonl", "big/.hidden"]);
        var unopenable = entries.Where((_, i) => i % 7 == 3).ToArray();
        fs.Unopenable.UnionWith(unopenable);
        // The first failing file's check ends only after the last file's has begun, so the checks finish out of the
        // folder's order, and the report must put them back in it. The wait is bounded: on one thread it could never end.
        using var lastChecked = new ManualResetEventSlim();
        bool overtaken = false;
        fs.BeforeOpen = file =>
        {
            if (file == entries[^1]) lastChecked.Set();
            if (file == unopenable[0]) overtaken = lastChecked.Wait(TimeSpan.FromSeconds(30));
        };

        var stderr = new StringWriter();
        var e = Assert.Throws<InputException>(() => InputFiles.Resolve(["big"], stderr, fs));
        Assert.Equal($"{unopenable.Length} inputs cannot be read (above); nothing was read", e.Message);
        Assert.Equal(["note: skipped 1 hidden file in 'big' (names starting with '.')", .. unopenable.Select(f => $"error: cannot read '{f}': Permission denied")],
            stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("big/.hidden", fs.Opened);

        Assert.True(overtaken, "the last file was not checked while the first failing one waited: the check ran on one thread");

        fs.Unopenable.Clear();
        fs.BeforeOpen = null;
        var all = InputFiles.Resolve(["big"], new StringWriter(), fs);
        Assert.Equal([.. entries, "big/sub/x.jsonl"], all.Files);
        Assert.Equal(all.Files.Sum(f => (long)f.Length), all.TotalBytes);
    }

    [Fact]
    public void A_path_that_cannot_be_read_is_shown_cleaned()
    {
        var fs = new FakeFileSystem { Files = { "evil\u001b[2J\n.jsonl" }, Unopenable = { "evil\u001b[2J\n.jsonl" } };
        var e = Assert.Throws<InputException>(() => InputFiles.Resolve(["evil\u001b[2J\n.jsonl"], new StringWriter(), fs));
        Assert.DoesNotContain('\u001b', e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("\\u001b[2J\\u000a.jsonl", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_stdin_that_cannot_be_read_stops_the_run()
    {
        var fs = new FakeFileSystem { Stdin = "'-i -' reads stdin, which is closed" };
        var e = Assert.Throws<InputException>(() => InputFiles.Resolve(["-"], new StringWriter(), fs));
        Assert.StartsWith("'-i -' reads stdin, which is closed", e.Message, StringComparison.Ordinal);
        Assert.Equal(["-"], InputFiles.Resolve(["-"], new StringWriter(), new FakeFileSystem()).Files);
    }

    [Fact]
    public void A_folder_is_read_recursively_in_path_order_without_hidden_files()
    {
        var b = Write("b.jsonl");
        var a = Write("sub/a.jsonl");
        var c = Write("a.jsonl");
        Write(".hidden.jsonl");
        Write("sub/.also-hidden");
        var stderr = new StringWriter();
        Assert.Equal([c, b, a], InputFiles.Resolve([_dir], stderr).Files);
        // Said once per folder (it was silent): a file someone renamed to hide it is not left out without a word.
        Assert.Equal([$"note: skipped 1 hidden file in '{Path.Combine(_dir, "sub")}' (names starting with '.')", $"note: skipped 1 hidden file in '{_dir}' (names starting with '.')"],
            stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void A_fifo_in_a_folder_is_skipped_with_a_note_and_never_opened()
    {
        var file = Write("events.jsonl");
        var fifo = Path.Combine(_dir, "pipe.jsonl");
        MakeFifo(fifo);
        var stderr = new StringWriter();
        Assert.Equal([file], InputFiles.Resolve([_dir], stderr).Files); // opening the FIFO would wait here forever
        Assert.Equal($"note: skipped '{fifo}': not a regular file (a FIFO, socket or device)", stderr.ToString().Trim());
        Assert.Equal(EntryKind.Other, RealInputFileSystem.Instance.KindOf("/dev/null"));
    }

    [Fact]
    public void The_check_gives_the_bytes_to_read_and_whether_an_input_may_block()
    {
        var a = Write("a.jsonl");
        var b = Write("sub/b.jsonl.gz");
        File.AppendAllText(b, "more bytes");
        var named = Path.Combine(_dir, "named.jsonl");
        File.WriteAllText(named, "{\"id\":1}\n{\"id\":2}\n");
        long all = new FileInfo(a).Length + new FileInfo(b).Length + new FileInfo(named).Length;

        var folder = InputFiles.Resolve([Path.Combine(_dir, "sub"), a, named], new StringWriter());
        Assert.Equal([b, a, named], folder.Files);
        Assert.Equal(all, folder.TotalBytes);
        Assert.False(folder.MayBlock);

        var fifo = Path.Combine(_dir, "pipe");
        MakeFifo(fifo);
        var piped = InputFiles.Resolve([a, fifo], new StringWriter()); // named on its own: read, never opened by the check
        Assert.Equal([a, fifo], piped.Files);
        Assert.True(piped.MayBlock);
        Assert.Equal(new FileInfo(a).Length, piped.TotalBytes);

        var stdin = InputFiles.Resolve([a, "-"], new StringWriter(), new FakeFileSystem { Files = { a } });
        Assert.True(stdin.MayBlock);
        Assert.Null(stdin.TotalBytes); // how much stdin holds is not known
    }

    [Fact]
    public void The_real_kinds_of_a_folder_a_file_a_link_a_device_and_nothing()
    {
        var file = Write("events.jsonl");
        var link = Path.Combine(_dir, "link.jsonl");
        File.CreateSymbolicLink(link, file);
        var folderLink = Path.Combine(_dir, "folder-link");
        Directory.CreateSymbolicLink(folderLink, _dir);
        var real = RealInputFileSystem.Instance;
        Assert.Equal(EntryKind.Folder, real.KindOf(_dir));
        Assert.Equal(EntryKind.Folder, real.KindOf(folderLink));
        Assert.Equal(EntryKind.File, real.KindOf(file));
        Assert.Equal(EntryKind.File, real.KindOf(link));
        Assert.Equal(EntryKind.Other, real.KindOf("/dev/null"));
        Assert.Equal(EntryKind.Missing, real.KindOf(Path.Combine(_dir, "nope")));
        Assert.Equal(new FileInfo(file).Length, real.CheckReadable(link));
    }

    [Fact]
    public void The_real_check_fails_on_a_dangling_link_and_on_a_folder_that_is_a_file()
    {
        var link = Path.Combine(_dir, "zz-link.jsonl");
        File.CreateSymbolicLink(link, Path.Combine(_dir, "nowhere"));
        var file = Write("events.jsonl");
        var real = RealInputFileSystem.Instance;
        Assert.Equal(EntryKind.File, real.KindOf(link));
        Assert.ThrowsAny<IOException>(() => real.CheckReadable(link));
        Assert.ThrowsAny<IOException>(() => real.Entries(file)); // a folder replaced by a file while it was listed

        var stderr = new StringWriter();
        var e = Assert.Throws<InputException>(() => InputFiles.Resolve([_dir], stderr));
        Assert.StartsWith($"cannot read '{link}': ", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("; nothing was read", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Links_back_up_the_tree_are_read_once_not_followed_round_and_round()
    {
        var events = Write("d/events.jsonl");
        // Two links to the parent: followed naively they list 2^n paths at depth n, until the path is too long.
        Directory.CreateSymbolicLink(Path.Combine(_dir, "d", "loop1"), "..");
        Directory.CreateSymbolicLink(Path.Combine(_dir, "d", "loop2"), "..");

        var stderr = new StringWriter();
        var files = InputFiles.Resolve([_dir], stderr).Files;

        Assert.Equal([events], files);
        Assert.Contains("a link to a folder already read", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_input_is_a_clear_error()
    {
        var e = Assert.Throws<InputException>(() => InputFiles.Resolve([Path.Combine(_dir, "nope.jsonl")], new StringWriter()));
        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_input_path_is_a_clear_error()
    {
        var e = Assert.Throws<InputException>(() => InputFiles.Resolve([""], new StringWriter()));
        Assert.Equal("an --input is empty (give a file, a folder, or '-' for stdin); nothing was read", e.Message);
        // A name of spaces is a name a file may have: looked for, not refused as empty.
        Assert.Contains("does not exist", Assert.Throws<InputException>(() => InputFiles.Resolve(["  "], new StringWriter())).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_folder_is_a_clear_error()
    {
        var e = Assert.Throws<InputException>(() => InputFiles.Resolve([_dir], new StringWriter()));
        Assert.Contains("has no files to read", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Folders, files and what fails in them, as a test says; records what was opened.</summary>
    private sealed class FakeFileSystem : IInputFileSystem
    {
        public Dictionary<string, string[]> Folders { get; } = [];
        public HashSet<string> Files { get; } = [];
        public HashSet<string> Unlistable { get; } = [];
        public HashSet<string> Unopenable { get; } = [];
        public List<string> Opened { get; } = []; // under its own lock: the check runs on several threads
        public string? Stdin { get; init; }
        public Action<string>? BeforeOpen { get; set; }

        public EntryKind KindOf(string path) =>
            Folders.ContainsKey(path) || Unlistable.Contains(path) ? EntryKind.Folder : Files.Contains(path) ? EntryKind.File : EntryKind.Missing;

        public IReadOnlyList<string> Entries(string folder) =>
            Unlistable.Contains(folder) ? throw new UnauthorizedAccessException("Permission denied") : Folders[folder];

        public long CheckReadable(string file)
        {
            BeforeOpen?.Invoke(file);
            lock (Opened) Opened.Add(file);
            if (Unopenable.Contains(file)) throw new UnauthorizedAccessException("Permission denied.");
            return file.Length; // a length of its own for each file, to add up
        }

        public string? StdinProblem() => Stdin;
    }
}
