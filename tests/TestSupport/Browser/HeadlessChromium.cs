using System.Diagnostics;

namespace Pipeline.TestSupport.Browser;

/// <summary>
/// Debian's Chromium, headless, as a reader's browser: the DOM it builds from a page (after parsing, styles and
/// anything the page could run) and a screenshot. tests/test.sh installs it where missing; when it could not, the
/// tests fail with what went wrong (CHROMIUM_SETUP_ERROR) rather than skip.
/// </summary>
public static class HeadlessChromium
{
    public static string Binary =>
        Environment.GetEnvironmentVariable("CHROMIUM") is { Length: > 0 } configured ? configured
        : new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
          ?? throw new InvalidOperationException("Chromium is not installed (Debian package `chromium`; tests/test.sh installs it as root). "
             + Environment.GetEnvironmentVariable("CHROMIUM_SETUP_ERROR"));

    /// <summary>The page's DOM as Chromium serialises it once loaded.</summary>
    public static async Task<string> DumpDomAsync(string page) => (await RunAsync(["--dump-dom", new Uri(Path.GetFullPath(page)).AbsoluteUri])).Stdout;

    /// <summary>A PNG of the page at <paramref name="width"/>×<paramref name="height"/> CSS pixels.</summary>
    public static async Task ScreenshotAsync(string page, string png, int width, int height) =>
        await RunAsync([$"--screenshot={Path.GetFullPath(png)}", $"--window-size={width},{height}", "--hide-scrollbars", new Uri(Path.GetFullPath(page)).AbsoluteUri]);

    private static async Task<(string Stdout, string Stderr)> RunAsync(IEnumerable<string> args)
    {
        var profile = Directory.CreateTempSubdirectory("chromium-profile-");
        var info = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // Tests run as root in CI, where Chromium's sandbox cannot start; a fresh profile per run keeps runs apart.
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage", $"--user-data-dir={profile.FullName}" }) info.ArgumentList.Add(a);
        foreach (var a in args) info.ArgumentList.Add(a);
        try
        {
            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            try { await process.WaitForExitAsync(limit.Token); }
            catch (OperationCanceledException) { process.Kill(entireProcessTree: true); throw new TimeoutException("Chromium did not finish within 2 minutes"); }
            if (process.ExitCode != 0) throw new InvalidOperationException($"Chromium exited with {process.ExitCode}: {await stderr}");
            return (await stdout, await stderr);
        }
        finally
        {
            try { profile.Delete(recursive: true); } catch (IOException) { } // Chromium may still be letting go of a lock file
        }
    }
}
