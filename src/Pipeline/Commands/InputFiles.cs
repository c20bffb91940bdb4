using System.Buffers.Binary;
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
/// costs a file counts: one <c>statx</c> for its kind and one open for its access and length, nothing read twice
/// later (docs/performance.md, seventeenth session).
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
                    if (Readable(fs, path, problems) is { } length)
                    {
                        files.Add(path);
                        bytes += length;
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
        foreach (var entry in entries)
        {
            switch (fs.KindOf(entry))
            {
                case EntryKind.Folder:
                    Walk(fs, entry, files, problems, stderr, visited);
                    break;
                case EntryKind.Other:
                    stderr.WriteLine($"note: skipped '{Clean(entry)}': not a regular file (a FIFO, socket or device)");
                    break;
                default:
                    if (Path.GetFileName(entry).StartsWith('.')) break; // hidden: editors' and tools' files
                    if (Readable(fs, entry, problems) is { } length) files.Add((entry, length));
                    break;
            }
        }
    }

    /// <summary>
    /// The length of <paramref name="file"/> when it can be opened; otherwise null, and why not (a missing one, a dangling
    /// link, included) is added to <paramref name="problems"/>.
    /// </summary>
    private static long? Readable(IInputFileSystem fs, string file, List<string> problems)
    {
        try
        {
            return fs.CheckReadable(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"cannot read '{Clean(file)}': {Clean(e.Message.TrimEnd('.'))}");
            return null;
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
/// do for the root user the tests run as.
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
        // On Linux, asked of the kernel without opening the file: whether this process may read it (its effective ids, as
        // an open would be judged), then its length; two calls instead of the open's five (open, fstat, .NET's advisory
        // lock taken and released, close), for each file of an export of many.
        if (OperatingSystem.IsLinux() && Linux.MayRead(file) is { } length) return length;
        using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
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
    private static int? FileType(string path) => OperatingSystem.IsLinux() ? Linux.Stat(path)?.Type : null;

    /// <summary>The two Linux calls the check makes, by path: <c>statx</c> and <c>faccessat</c>.</summary>
    private static class Linux
    {
        private const int CurrentFolder = -100; // AT_FDCWD
        private static bool _unavailable; // a libc without them (an old one, or not glibc): the portable checks do

        /// <summary>The type bits and length of <paramref name="path"/>, links followed; null when it cannot be had.</summary>
        public static (int Type, long Length)? Stat(string path)
        {
            if (_unavailable) return null;
            Span<byte> buffer = stackalloc byte[256];
            try
            {
                const uint TypeAndSize = 0x1 | 0x200; // STATX_TYPE | STATX_SIZE
                if (Statx(CurrentFolder, NullTerminated(path), 0, TypeAndSize, ref MemoryMarshal.GetReference(buffer)) != 0) return null;
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
            {
                _unavailable = true;
                return null;
            }
            // stx_mode at 28 and stx_size at 40: the same offsets on every architecture.
            return (BinaryPrimitives.ReadUInt16LittleEndian(buffer[28..]) & 0xF000, BinaryPrimitives.ReadInt64LittleEndian(buffer[40..]));
        }

        /// <summary>
        /// The length of <paramref name="file"/> when this process may read it; throws the reason when it may not; null when
        /// the calls are not there (then the file is opened to find out).
        /// </summary>
        public static long? MayRead(string file)
        {
            if (_unavailable) return null;
            const int Read = 4, EffectiveIds = 0x200; // R_OK, AT_EACCESS
            try
            {
                if (FAccessAt(CurrentFolder, NullTerminated(file), Read, EffectiveIds) != 0)
                {
                    int error = Marshal.GetLastPInvokeError();
                    const int NoSuchFile = 2, PermissionDenied = 13;
                    string why = Marshal.GetPInvokeErrorMessage(error);
                    throw error switch
                    {
                        PermissionDenied => new UnauthorizedAccessException(why),
                        NoSuchFile => new FileNotFoundException(why, file),
                        _ => new IOException(why),
                    };
                }
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
            {
                _unavailable = true;
                return null;
            }
            return Stat(file) is { } stat ? stat.Length : null;
        }

        private static byte[] NullTerminated(string path)
        {
            var bytes = new byte[Encoding.UTF8.GetByteCount(path) + 1];
            Encoding.UTF8.GetBytes(path, bytes);
            return bytes;
        }

        [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
        private static extern int Statx(int dirfd, byte[] path, int flags, uint mask, ref byte statx);

        [DllImport("libc", EntryPoint = "faccessat", SetLastError = true)]
        private static extern int FAccessAt(int dirfd, byte[] path, int mode, int flags);
    }
}
