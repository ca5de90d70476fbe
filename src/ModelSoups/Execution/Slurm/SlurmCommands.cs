using System.Diagnostics;
using System.Text.RegularExpressions;

namespace ModelSoups.Execution.Slurm;

/// <summary>
/// Runs <c>sbatch</c>, <c>squeue</c>, <c>sacct</c> and <c>scancel</c> (found on PATH; SLURM_CONF and the rest of the
/// environment pass through). Whether sacct works is found out once: clusters without an accounting database
/// answer "accounting storage is disabled", and then only squeue and the result files are used.
/// </summary>
public sealed partial class SlurmCommands : ISlurmCommands
{
    static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(2);
    bool? _accounting;

    /// <summary>Checks that sbatch is there.</summary>
    /// <exception cref="ModelSoupsException">sbatch is not on PATH.</exception>
    public SlurmCommands()
    {
        if (Find("sbatch") is null)
            throw new ModelSoupsException("--executor slurm needs the Slurm client commands (sbatch, squeue, scancel), and sbatch is not on PATH; run soup on a machine of the cluster (a login node) or use --executor processes.");
    }

    /// <summary>The full path of <paramref name="tool"/> on PATH, or null.</summary>
    public static string? Find(string tool)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var p = Path.Combine(dir, tool);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    /// <inheritdoc/>
    public string Submit(string script, string workingDirectory)
    {
        var (code, stdout, stderr) = Run("sbatch", workingDirectory, "--parsable", script);
        if (code != 0)
            throw new ModelSoupsException($"sbatch refused the job: {OneLine(stderr)}", script);
        // --parsable prints "JOBID" or "JOBID;CLUSTER".
        var id = stdout.Trim().Split('\n')[^1].Split(';')[0].Trim();
        if (!JobIdPattern().IsMatch(id)) throw new ModelSoupsException($"sbatch printed no job id ('{OneLine(stdout)}').", script);
        return id;
    }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, SlurmJobInfo> Queue()
    {
        var (code, stdout, stderr) = Run("squeue", null, "-h", "-r", "-t", "all", "--me", "-o", SlurmQueueParser.SqueueFormat);
        if (code != 0) throw new EnvironmentFaultException($"squeue failed (exit {code}): {OneLine(stderr)}; the jobs keep running, rerun the same command to follow them.");
        return SlurmQueueParser.ParseSqueue(stdout);
    }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, SlurmJobInfo>? Accounting(IReadOnlyCollection<string> jobIds)
    {
        if (_accounting == false || jobIds.Count == 0 || Find("sacct") is null) return null;
        var (code, stdout, stderr) = Run("sacct", null, "-n", "-P", "-X", "-j", string.Join(',', jobIds), "-o", SlurmQueueParser.SacctFields);
        if (code != 0 || stderr.Contains("accounting storage is disabled", StringComparison.OrdinalIgnoreCase)
            || stdout.Contains("accounting storage is disabled", StringComparison.OrdinalIgnoreCase))
        {
            _accounting = false;
            return null;
        }
        _accounting = true;
        return SlurmQueueParser.ParseSacct(stdout);
    }

    /// <inheritdoc/>
    public void Cancel(IReadOnlyCollection<string> jobIds)
    {
        if (jobIds.Count == 0) return;
        Run("scancel", null, [.. jobIds]);
    }

    static (int Code, string Out, string Err) Run(string tool, string? cwd, params string[] args)
    {
        var psi = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (cwd is not null) psi.WorkingDirectory = cwd;
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try
        {
            p = Process.Start(psi) ?? throw new ModelSoupsException($"could not start {tool}.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new ModelSoupsException($"could not run {tool} ({e.Message}); --executor slurm needs the Slurm client commands on PATH.", null, e);
        }
        using (p)
        {
            p.StandardInput.Close();
            var o = p.StandardOutput.ReadToEndAsync();
            var e = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(CommandTimeout))
            {
                p.Kill(entireProcessTree: true);
                throw new EnvironmentFaultException($"{tool} did not answer within {CommandTimeout.TotalSeconds:0} s; is the Slurm controller up?");
            }
            p.WaitForExit();
            return (p.ExitCode, o.Result, e.Result);
        }
    }

    static string OneLine(string s) => Tensors.PrintableName.Of(s.ReplaceLineEndings(" ").Trim());

    [GeneratedRegex(@"^[0-9]+$")]
    private static partial Regex JobIdPattern();
}
