using Xunit;

namespace ModelSoups.TestSupport;

/// <summary>
/// A fact that needs the single-node Slurm test cluster (<c>scripts/slurm-cluster start</c>, which <c>run-tests</c>
/// runs and which exports <c>MODELSOUPS_SLURM=1</c> and <c>SLURM_CONF</c>). Without it the test is reported as
/// skipped with the reason <c>run-tests</c> gives in <c>MODELSOUPS_SLURM_SKIP</c>, never passed silently.
/// </summary>
public sealed class SlurmFactAttribute : FactAttribute
{
    /// <summary>Why Slurm tests cannot run here, or null when the cluster is up.</summary>
    public static string? WhyNot { get; } = Environment.GetEnvironmentVariable("MODELSOUPS_SLURM") == "1" ? null
        : Environment.GetEnvironmentVariable("MODELSOUPS_SLURM_SKIP") is { Length: > 0 } why ? why
        : "no Slurm test cluster: MODELSOUPS_SLURM is not 1; run sudo ./scripts/slurm-cluster start, export the SLURM_CONF it prints and MODELSOUPS_SLURM=1 (./run-tests does this)";

    /// <summary>Skips with <see cref="WhyNot"/> when the cluster is not up.</summary>
    public SlurmFactAttribute()
    {
        if (WhyNot is not null) Skip = WhyNot;
    }
}

/// <summary>Asks the test cluster which of some jobs are still queued or running (squeue).</summary>
public static class SlurmQueue
{
    /// <summary>The ids of <paramref name="jobIds"/> (array job ids or task ids) that squeue lists as PENDING or RUNNING.</summary>
    public static IReadOnlyList<string> Active(IEnumerable<string> jobIds)
    {
        var wanted = jobIds.ToList();
        var psi = new System.Diagnostics.ProcessStartInfo("squeue") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-h", "-r", "--me", "-t", "PENDING,RUNNING,CONFIGURING,COMPLETING", "-o", "%i" }) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(id => wanted.Any(w => id == w || id.StartsWith(w + "_", StringComparison.Ordinal))).ToList();
    }
}
