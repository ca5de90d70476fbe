using System.Diagnostics;

namespace ModelSoups.Tests.Durability;

/// <summary>A fact that needs root and a working <c>mount</c> (tmpfs, bind mounts); skipped with the reason otherwise.</summary>
public sealed class MountFactAttribute : FactAttribute
{
    static readonly string? Why = Probe();

    public MountFactAttribute()
    {
        if (Why is not null) Skip = Why;
    }

    static string? Probe()
    {
        if (!OperatingSystem.IsLinux()) return "needs Linux mounts (tmpfs, bind mounts)";
        if (Environment.UserName != "root") return "needs root to mount a tmpfs or a bind mount; run the tests as root to cover it";
        var dir = Path.Combine(Path.GetTempPath(), "soup-mount-probe-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            if (Mounts.Run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir) != 0) return "mount is not permitted here (no CAP_SYS_ADMIN); run the tests as root on a machine that allows mounts";
            Mounts.Run("umount", dir);
            return null;
        }
        finally
        {
            Directory.Delete(dir);
        }
    }
}

/// <summary>Runs mount/umount for tests.</summary>
public static class Mounts
{
    public static int Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.WaitForExit();
        return p.ExitCode;
    }
}
