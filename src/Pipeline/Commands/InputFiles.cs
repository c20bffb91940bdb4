using System.Runtime.InteropServices;
using System.Text;
using Pipeline.Aggregator.Rendering;
using Pipeline.Enricher.Reading;

namespace Pipeline.Cli.Commands;

/// <summary>
/// The files the <c>--input</c> paths stand for, every one checked before anything is read: a run that cannot read one
/// of its inputs says so and stops before it has posted a digest, rather than stopping halfway and posting the same
/// digests again when it is run once more.
/// </summary>
/// <remarks>
/// A CloudTrail export is a folder of many small files (one per account, region and five minutes), so what the check
/// costs a file counts: one <c>statx</c> for its kind (on Linux) and one open for its access and length, a folder's
/// entries checked on every core at once, and nothing looked up again later (docs/performance.md, seventeenth session).
/// </remarks>
internal static class InputFiles
{
    /// <summary>
    /// The files to read, in order: a file as given, a folder's files (recursively, by path, hidden files aside), '-' for
    /// stdin. A FIFO, socket or device inside a folder is skipped with a note (opening a FIFO waits for a writer forever);
    /// one named on its own is read, as <c>-i &lt;(zcat …)</c> needs. Every path that cannot be read is reported on
    /// <paramref name="stderr"/>, cleaned, and then the run stops with an <see cref="InputException"/>.
    /// </summary>
    public static ResolvedInputs Resolve(IEnumerable<string> paths, TextWriter stderr, IInputFileSystem? fileSystem = null)
    {
        var fs = fileSystem ?? RealInputFileSystem.Instance;
        var files = new List<string>();
        var problems = new List<string>();
        long bytes = 0;
        bool stdin = false, mayBlock = false;
        foreach (var path in paths)
        {
            if (string.IsNullOrEmpty(path))
            {
                problems.Add("an --input is empty (give a file, a folder, or '-' for stdin)"); // `-i "$UNSET"`
                continue;
            }
            if (path == RecordReader.StdinPath)
            {
                if (fs.StdinProblem() is { } problem) problems.Add(problem);
                else files.Add(path);
                stdin = mayBlock = true;
                continue;
            }
            switch (fs.KindOf(path))
            {
                case EntryKind.Folder:
                    var found = new List<(string Path, long Length)>();
                    Walk(fs, path, found, problems, stderr, new HashSet<string>(StringComparer.Ordinal));
                    if (found.Count == 0 && problems.Count == 0) problems.Add($"folder '{Clean(path)}' has no files to read");
                    files.AddRange(found.Select(f => f.Path).Order(StringComparer.Ordinal));
                    bytes += found.Sum(f => f.Length);
                    break;
                case EntryKind.File:
                    var check = Readable(fs, path);
                    if (check.Problem is { } problem) problems.Add(problem);
                    else
                    {
                        files.Add(path);
                        bytes += check.Length ?? 0;
                    }
                    break;
                case EntryKind.Other:
                    files.Add(path); // named on purpose: a pipe from the shell, read as stdin is
                    mayBlock = true;
                    break;
                default:
                    problems.Add($"input '{Clean(path)}' does not exist (give a file, a folder, or '-' for stdin)");
                    break;
            }
        }
        if (problems.Count == 1) throw new InputException(problems[0] + "; nothing was read");
        if (problems.Count > 1)
        {
            foreach (var problem in problems) stderr.WriteLine("error: " + problem);
            throw new InputException($"{problems.Count} inputs cannot be read (above); nothing was read");
        }
        return new ResolvedInputs(files, stdin ? null : bytes, mayBlock);
    }

    /// <summary>The folder's path with a link in its last part followed to the end (each level is resolved as the walk goes down).</summary>
    private static string RealFolder(string folder)
    {
        try
        {
            return new DirectoryInfo(folder).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Path.GetFullPath(folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Path.GetFullPath(folder);
        }
    }

    private static void Walk(IInputFileSystem fs, string folder, List<(string Path, long Length)> files, List<string> problems, TextWriter stderr, HashSet<string> visited)
    {
        // A folder reached twice (a link back up the tree, `ln -s .. loop`) is read once: a loop would otherwise list the
        // same files until the path is too long, and two such links double the paths at every level.
        if (!visited.Add(RealFolder(folder)))
        {
            stderr.WriteLine($"note: skipped '{Clean(folder)}': a link to a folder already read");
            return;
        }
        IReadOnlyList<string> entries;
        try
        {
            entries = fs.Entries(folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"cannot read folder '{Clean(folder)}': {Clean(e.Message.TrimEnd('.'))}");
            return;
        }
        // Each entry's kind, and each file's access and length, found on every core at once (nothing else runs yet); their
        // outcomes are then taken in the folder's order, so notes and errors come out as from one thread.
        var checks = new EntryCheck[entries.Count];
        void Check(int i)
        {
            var kind = fs.KindOf(entries[i]);
            bool skipped = kind is EntryKind.Folder or EntryKind.Other || IsHidden(entries[i]);
            checks[i] = skipped ? new EntryCheck(kind, null, null) : Readable(fs, entries[i]) with { Kind = kind };
        }
        if (entries.Count >= ParallelFrom) Parallel.For(0, entries.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, Check);
        else for (int i = 0; i < entries.Count; i++) Check(i);

        int hidden = 0;
        for (int i = 0; i < entries.Count; i++)
        {
            var (entry, check) = (entries[i], checks[i]);
            switch (check.Kind)
            {
                case EntryKind.Folder:
                    Walk(fs, entry, files, problems, stderr, visited);
                    break;
                case EntryKind.Other:
                    stderr.WriteLine($"note: skipped '{Clean(entry)}': not a regular file (a FIFO, socket or device)");
                    break;
                default:
                    if (check.Problem is { } problem) problems.Add(problem);
                    else if (check.Length is { } length) files.Add((entry, length));
                    else hidden++; // editors' and tools' files
                    break;
            }
        }
        // Said, as the FIFOs are, but once per folder: a file someone renamed to hide it is not read without a word.
        if (hidden > 0) stderr.WriteLine($"note: skipped {hidden} hidden file{(hidden == 1 ? "" : "s")} in '{Clean(folder)}' (names starting with '.')");
    }

    /// <summary>A folder with fewer entries is checked on one thread: starting the others would cost more than it saves.</summary>
    private const int ParallelFrom = 32;

    private static bool IsHidden(string entry) => Path.GetFileName(entry).StartsWith('.');

    /// <summary>What the check found of one entry: its kind, and for a file its length or why it cannot be read.</summary>
    private readonly record struct EntryCheck(EntryKind Kind, long? Length, string? Problem);

    /// <summary>The length of <paramref name="file"/> when it can be opened, or why not (a missing one, a dangling link, included).</summary>
    private static EntryCheck Readable(IInputFileSystem fs, string file)
    {
        try
        {
            return new EntryCheck(EntryKind.File, fs.CheckReadable(file), null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new EntryCheck(EntryKind.File, null, $"cannot read '{Clean(file)}': {Clean(e.Message.TrimEnd('.'))}");
        }
    }

    private static string Clean(string text) => TextDigestRenderer.Clean(text);
}

/// <summary>
/// What <see cref="InputFiles.Resolve"/> found: the files to read, in order; their bytes in all (for progress; null when
/// stdin is one of them); and whether any may block for good on a quiet producer (stdin, a FIFO named on its own).
/// </summary>
internal sealed record ResolvedInputs(IReadOnlyList<string> Files, long? TotalBytes, bool MayBlock);

/// <summary>What an input path is, as far as reading it goes.</summary>
internal enum EntryKind
{
    Missing,
    File,
    Folder,
    /// <summary>A FIFO, socket or device: not opened unless named on its own.</summary>
    Other,
}

/// <summary>
/// The file system as the input check sees it: a seam, so a test can make a path unreadable, which a permission cannot
/// do for the root user the tests run as. <see cref="KindOf"/> and <see cref="CheckReadable"/> are called from several
/// threads at once.
/// </summary>
internal interface IInputFileSystem
{
    /// <summary>What <paramref name="path"/> is, links followed (a dangling link is a <see cref="EntryKind.File"/> that cannot be opened).</summary>
    EntryKind KindOf(string path);

    /// <summary>The files and folders directly in <paramref name="folder"/>; throws when it cannot be listed.</summary>
    IReadOnlyList<string> Entries(string folder);

    /// <summary>Opens <paramref name="file"/> for reading and closes it, and returns its length; throws when it cannot.</summary>
    long CheckReadable(string file);

    /// <summary>Why stdin cannot be read (closed, or a terminal nobody will type events into); null when it can.</summary>
    string? StdinProblem();
}

internal sealed class RealInputFileSystem : IInputFileSystem
{
    public static readonly RealInputFileSystem Instance = new();

    public EntryKind KindOf(string path)
    {
        // One statx answers for an entry that exists (on Linux); the portable checks below are for where it does not,
        // or when it fails (a missing path, a dangling link), which they tell apart.
        if (FileType(path) is { } type) return type switch { FolderType => EntryKind.Folder, RegularFile => EntryKind.File, _ => EntryKind.Other };
        if (Directory.Exists(path)) return EntryKind.Folder;
        if (!File.Exists(path) && !IsLink(path)) return EntryKind.Missing;
        return EntryKind.File;
    }

    private static bool IsLink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget is not null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public IReadOnlyList<string> Entries(string folder) => [.. Directory.EnumerateFileSystemEntries(folder)];

    public long CheckReadable(string file)
    {
        // Opened as the reader will open it, so whatever would refuse the reader refuses the check: permissions, but also
        // what a permission check by path does not see (AppArmor, SELinux's open permission, a FUSE or SMB mount's own
        // rules, another .NET process holding the file with FileShare.None).
        using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.Read, FileShare.Read); // File.OpenRead's sharing
        return RandomAccess.GetLength(handle);
    }

    public string? StdinProblem()
    {
        if (!Console.IsInputRedirected)
            return "'-i -' reads stdin, which is a terminal: pipe the events in (zcat events.json.gz | pipeline digest -i -) or give a file";
        return StdinIsClosed() ? "'-i -' reads stdin, which is closed: pipe the events in or give a file" : null;
    }

    /// <summary>
    /// Whether the program was started with no stdin (<c>&lt;&amp;-</c>). The runtime then reuses descriptor 0 for a pipe of
    /// its own, and reading it waits forever. Such a descriptor is close-on-exec, which an inherited stdin never is (it
    /// would not have survived the exec), so that flag is the tell. Linux only; elsewhere stdin is trusted.
    /// </summary>
    private static bool StdinIsClosed()
    {
        const int CloseOnExec = 0x80000; // O_CLOEXEC
        try
        {
            foreach (var line in File.ReadLines("/proc/self/fdinfo/0"))
                if (line.StartsWith("flags:", StringComparison.Ordinal))
                    return (Convert.ToInt32(line["flags:".Length..].Trim(), 8) & CloseOnExec) != 0;
            return false;
        }
        catch (FileNotFoundException)
        {
            return OperatingSystem.IsLinux(); // no descriptor 0 at all
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return false;
        }
    }

    private const int RegularFile = 0x8000; // S_IFREG
    private const int FolderType = 0x4000; // S_IFDIR

    /// <summary>The file type bits of <paramref name="path"/> (links followed), or null where they cannot be had.</summary>
    private static int? FileType(string path)
    {
        if (!OperatingSystem.IsLinux() || _noStatx) return null;
        Span<byte> buffer = stackalloc byte[256]; // struct statx
        var name = new byte[Encoding.UTF8.GetByteCount(path) + 1]; // NUL-terminated
        Encoding.UTF8.GetBytes(path, name);
        try
        {
            const int CurrentFolder = -100; // AT_FDCWD
            const uint TypeOnly = 0x1; // STATX_TYPE
            if (Statx(CurrentFolder, name, 0, TypeOnly, ref MemoryMarshal.GetReference(buffer)) != 0) return null;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            _noStatx = true; // a libc without it: the portable checks do
            return null;
        }
        return MemoryMarshal.Read<ushort>(buffer[28..]) & 0xF000; // stx_mode, in the machine's byte order: the same offset on every architecture
    }

    private static bool _noStatx;

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int Statx(int dirfd, byte[] path, int flags, uint mask, ref byte statx);
}
