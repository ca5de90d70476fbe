using System.Globalization;

namespace ModelSoups.Durability;

/// <summary>
/// A process's identity that survives pid reuse: its pid and the kernel's start time for it
/// (field 22 of <c>/proc/PID/stat</c>, clock ticks since boot). Temporary folders and locks carry the
/// stamp of the process that made them, so a later run can tell "still being written" from "abandoned
/// by a process that is gone" — a pid alone is not enough, pids are reused.
/// </summary>
internal readonly record struct ProcessStamp(int Pid, long StartTicks)
{
    /// <summary>This process.</summary>
    public static ProcessStamp Current { get; } = Of(Environment.ProcessId) ?? new ProcessStamp(Environment.ProcessId, 0);

    /// <summary>The stamp of a running process, or null when there is none with that pid.</summary>
    public static ProcessStamp? Of(int pid)
    {
        if (pid <= 0) return null;
        if (!OperatingSystem.IsLinux())
        {
            try
            {
                using var p = System.Diagnostics.Process.GetProcessById(pid);
                return new ProcessStamp(pid, p.StartTime.ToUniversalTime().Ticks);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException) { return null; }
        }
        string text;
        try { text = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
        int close = text.LastIndexOf(')');
        if (close < 0) return null;
        var fields = text[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // fields[0] is field 3 (state); the start time is field 22.
        if (fields.Length < 20 || !long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out long start)) return null;
        if (fields[0] == "Z") return null;   // a zombie has exited; it holds nothing any more
        return new ProcessStamp(pid, start);
    }

    /// <summary>True while the process this stamp names is still running.</summary>
    public bool IsAlive => Of(Pid) is { } now && (StartTicks == 0 || now.StartTicks == StartTicks);

    /// <summary>"PID-START", as embedded in names.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Pid}-{StartTicks}");

    /// <summary>Parses <see cref="ToString"/>'s form.</summary>
    public static bool TryParse(string text, out ProcessStamp stamp)
    {
        stamp = default;
        int dash = text.IndexOf('-');
        if (dash <= 0) return false;
        if (!int.TryParse(text.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
            || !long.TryParse(text.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out long start)) return false;
        stamp = new ProcessStamp(pid, start);
        return true;
    }
}
