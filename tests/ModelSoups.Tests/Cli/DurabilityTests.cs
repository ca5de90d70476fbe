using System.Diagnostics;
using System.Text.RegularExpressions;
using ModelSoups.Engine;
using ModelSoups.Tensors;
using ModelSoups.Tests.Durability;
using ModelSoups.Tests.Formats;

namespace ModelSoups.Tests.Cli;

/// <summary>A fact that needs strace(1) (installed by scripts/setup-system-deps --for-tests).</summary>
public sealed class StraceFactAttribute : FactAttribute
{
    public StraceFactAttribute()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/strace")) Skip = "needs strace (scripts/setup-system-deps --for-tests installs it)";
    }
}

/// <summary>
/// Issue #11, durability: after a merge returns, a power cut cannot lose it — every file of the output (weights,
/// config.json, soup-recipe.yaml, README.md) is fsynced, then the temporary folder, and after the rename the parent
/// folder. Watched from outside: the real soup under strace, which prints each fsync with the path of its descriptor.
/// </summary>
public sealed partial class DurabilityTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [GeneratedRegex(@"^\d+\s+(?<call>fsync|fdatasync|rename|renameat|renameat2)\((?<args>.*)\)\s+=\s+0")]
    private static partial Regex Call();

    [StraceFact]
    public void A_merge_fsyncs_every_output_file_its_folder_and_after_the_rename_the_parent()
    {
        var a = ModelFolders.Write(_dir.File("a"), ModelFolders.Tiny(DType.BF16, 1));
        var b = ModelFolders.Write(_dir.File("b"), ModelFolders.Tiny(DType.BF16, 2));
        var log = _dir.File("strace.log");
        var psi = new ProcessStartInfo("/usr/bin/strace") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var x in new[] { "-f", "-qq", "-y", "-e", "trace=fsync,fdatasync,rename,renameat,renameat2", "-o", log,
                     Path.Combine(AppContext.BaseDirectory, "soup"), "merge", "--method", "linear", "--models", a, b, "--out", _dir.File("out") })
            psi.ArgumentList.Add(x);
        using (var p = Process.Start(psi)!)
        {
            var err = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            Assert.True(p.WaitForExit(120_000), "soup under strace did not finish");
            Assert.True(p.ExitCode == 0, err.Result);
        }
        var calls = File.ReadAllLines(log).Select(l => Call().Match(l)).Where(m => m.Success)
            .Select(m => (Call: m.Groups["call"].Value, Args: m.Groups["args"].Value)).ToList();
        var fsynced = calls.Where(c => c.Call is "fsync" or "fdatasync").Select(c => Regex.Match(c.Args, "<(.*)>").Groups[1].Value).ToList();
        string temp = fsynced.Select(Path.GetDirectoryName).First(d => Path.GetFileName(d!)!.StartsWith(".out.tmp-", StringComparison.Ordinal))!;
        foreach (var file in new[] { "model.safetensors", "config.json", MergeEngine.RecipeFileName, "README.md" })
            Assert.Contains(Path.Combine(temp, file), fsynced);
        Assert.Contains(temp, fsynced);   // the folder's entries, before it is renamed
        int rename = calls.FindIndex(c => c.Call.StartsWith("rename", StringComparison.Ordinal) && c.Args.Contains(".out.tmp-"));
        Assert.True(rename >= 0, "no rename of the temporary folder seen");
        int parent = calls.FindIndex(rename, c => c.Call == "fsync" && c.Args.Contains($"<{_dir.Path}>"));
        Assert.True(parent > rename, "the parent folder was not fsynced after the rename");
        Assert.True(File.Exists(Path.Combine(_dir.File("out"), MergeEngine.RecipeFileName)));
    }
}
