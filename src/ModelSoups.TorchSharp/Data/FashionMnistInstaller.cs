using System.Diagnostics;

namespace ModelSoups.TorchSharp.Data;

/// <summary>
/// Makes Fashion-MNIST available for <c>soup demo</c> on a fresh machine: when the files are missing and this
/// process runs as root on a system with apt-get (Debian/Ubuntu), installs the Debian package
/// <c>dataset-fashion-mnist</c> (as scripts/setup-system-deps does); otherwise stops with the command to run.
/// </summary>
public static class FashionMnistInstaller
{
    /// <summary>The Debian package holding the dataset.</summary>
    public const string Package = "dataset-fashion-mnist";

    /// <summary>The command a user runs to install the dataset.</summary>
    public const string InstallCommand = "sudo apt-get install -y " + Package;

    /// <summary>
    /// Returns the located files, installing the package first when they are missing and installing is possible
    /// (<paramref name="install"/>, root, apt-get on PATH); <paramref name="say"/> hears what is being done.
    /// <paramref name="folder"/> is where to look (the Debian package's folder by default).
    /// </summary>
    public static FashionMnist.Files EnsureAvailable(bool install, Action<string>? say = null, string? folder = null)
    {
        folder ??= FashionMnist.DebianFolder;
        if (TryLocate(folder) is { } files) return files;
        var aptGet = FindOnPath("apt-get");
        // The package installs into the Debian folder only, so installing cannot help any other folder.
        bool debian = folder == FashionMnist.DebianFolder;
        if (!install || !debian || aptGet is null || !OperatingSystem.IsLinux() || !Environment.IsPrivilegedProcess)
            throw new ModelSoupsException(aptGet is null || !debian
                ? $"Fashion-MNIST is not installed; on Debian/Ubuntu install it with: {InstallCommand} (elsewhere put its four IDX files in this folder)"
                : $"Fashion-MNIST is not installed; install it with: {InstallCommand}", folder);
        say?.Invoke($"Fashion-MNIST is missing: installing the Debian package {Package} with apt-get (running as root)");
        var (code, error) = RunAptGet(aptGet, $"install -y -qq {Package}");
        if (code != 0)
        {
            say?.Invoke("apt-get install failed; updating the package lists and trying again");
            RunAptGet(aptGet, "update -qq");
            (code, error) = RunAptGet(aptGet, $"install -y -qq {Package}");
        }
        if (code != 0 || TryLocate(folder) is not { } installed)
            throw new ModelSoupsException($"installing {Package} with apt-get failed ({error.Trim().Split('\n')[^1]}); install it with: {InstallCommand}", FashionMnist.DebianFolder);
        say?.Invoke($"installed {Package}");
        return installed;
    }

    static FashionMnist.Files? TryLocate(string folder)
    {
        try { return FashionMnist.Locate(folder); }
        catch (ModelSoupsException) { return null; }
    }

    static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);

    static (int Code, string Error) RunAptGet(string aptGet, string arguments)
    {
        var start = new ProcessStartInfo(aptGet, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var process = Process.Start(start) ?? throw new ModelSoupsException("could not start apt-get", aptGet);
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stderr.Result);
    }
}
