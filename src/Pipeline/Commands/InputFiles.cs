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
internal static class InputFiles
{
    /// <summary>
    /// The files to read, in order: a file as given, a folder's files (recursively, by path, hidden files aside), '-' for
    /// stdin. A FIFO, socket or device inside a folder is skipped with a note (opening a FIFO waits for a writer forever);
    /// one named on its own is read, as <c>-i &lt;(zcat …)</c> needs. Every path that cannot be read is reported on
    /// <paramref name="stderr"/>, cleaned, and then the run stops with an <see cref="InputException"/>.
    /// </summary>
    public static IReadOnlyList<string> Resolve(IEnumerable<string> paths, TextWriter stderr, IInputFileSystem? fileSystem = null)
    {
        var fs = fileSystem ?? RealInputFileSystem.Instance;
        var files = new List<string>();
        var problems = new List<string>();
        foreach (var path in paths)
        {
            if (path == RecordReader.StdinPath)
            {
                if (fs.StdinProblem() is { } problem) problems.Add(problem);
                else files.Add(path);
                continue;
            }
            switch (fs.KindOf(path))
            {
                case EntryKind.Folder:
                    var found = new List<string>();
                    Walk(fs, path, found, problems, stderr, new HashSet<string>(StringComparer.Ordinal));
                    if (found.Count == 0 && problems.Count == 0) problems.Add($"folder '{Clean(path)}' has no files to read");
                    files.AddRange(found.Order(StringComparer.Ordinal));
                    break;
                case EntryKind.File:
                    if (Unreadable(fs, path) is { } why) problems.Add(why);
                    else files.Add(path);
                    break;
                case EntryKind.Other:
                    files.Add(path); // named on purpose: a pipe from the shell, read as stdin is
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
        return files;
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

    private static void Walk(IInputFileSystem fs, string folder, List<string> files, List<string> problems, TextWriter stderr, HashSet<string> visited)
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
                    if (Unreadable(fs, entry) is { } why) problems.Add(why);
                    else files.Add(entry);
                    break;
            }
        }
    }

    /// <summary>Why <paramref name="file"/> cannot be opened, or null when it can (a missing one, a dangling link, included).</summary>
    private static string? Unreadable(IInputFileSystem fs, string file)
    {
        try
        {
            fs.CheckReadable(file);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot read '{Clean(file)}': {Clean(e.Message.TrimEnd('.'))}";
        }
    }

    private static string Clean(string text) => TextDigestRenderer.Clean(text);
}

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

    /// <summary>Opens <paramref name="file"/> for reading and closes it; throws when it cannot.</summary>
    void CheckReadable(string file);

    /// <summary>Why stdin cannot be read (closed, or a terminal nobody will type events into); null when it can.</summary>
    string? StdinProblem();
}

internal sealed class RealInputFileSystem : IInputFileSystem
{
    public static readonly RealInputFileSystem Instance = new();

    public EntryKind KindOf(string path)
    {
        if (Directory.Exists(path)) return EntryKind.Folder;
        if (!File.Exists(path) && !IsLink(path)) return EntryKind.Missing;
        return FileType(path) is { } type && type != RegularFile ? EntryKind.Other : EntryKind.File;
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

    public void CheckReadable(string file)
    {
        using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
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

    /// <summary>The file type bits of <paramref name="path"/> (links followed), or null where they cannot be had.</summary>
    private static int? FileType(string path)
    {
        if (!OperatingSystem.IsLinux()) return null;
        var buffer = new byte[256];
        byte[] name = [.. Encoding.UTF8.GetBytes(path), 0];
        try
        {
            const int CurrentFolder = -100; // AT_FDCWD
            const uint TypeOnly = 0x1; // STATX_TYPE
            if (Statx(CurrentFolder, name, 0, TypeOnly, buffer) != 0) return null;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return null;
        }
        return BitConverter.ToUInt16(buffer, 28) & 0xF000; // stx_mode: the same offset on every architecture
    }

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int Statx(int dirfd, byte[] path, int flags, uint mask, byte[] statx);
}
