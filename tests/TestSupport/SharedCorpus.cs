using Xunit;

namespace Pipeline.TestSupport;

/// <summary>
/// Locates the team's shared folder (../shared beside the project root). Tests that need it call
/// <see cref="RequireDirectory"/>, which skips the test with a reason where the folder is absent
/// (a user's own clone), instead of failing or silently passing.
/// </summary>
public static class SharedCorpus
{
    private static readonly Lazy<string?> Root = new(FindRoot);

    /// <summary>The shared folder, or null when it is not beside the project root.</summary>
    public static string? RootDirectory => Root.Value;

    public static string RequireDirectory(string relative = "corpus")
    {
        var root = Root.Value;
        Skip.If(root is null, "../shared is not beside the project root (a user's own clone); corpus tests need the team's shared folder.");
        var path = Path.Combine(root!, relative);
        Skip.IfNot(Directory.Exists(path) || File.Exists(path), $"{path} does not exist.");
        return path;
    }

    /// <summary>The repository root: the nearest folder above the test binaries holding Pipeline.sln.</summary>
    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Pipeline.sln")))
                dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("Pipeline.sln not found above " + AppContext.BaseDirectory);
        }
    }

    private static string? FindRoot()
    {
        var candidate = Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared"));
        return Directory.Exists(candidate) ? candidate : null;
    }
}
