using System.Diagnostics;

namespace ModelSoups.Tests.Cli;

/// <summary>The real <c>soup</c> program (the CLI's apphost beside the tests) as a child process, for signals and kill -9.</summary>
sealed class SoupProcess : IDisposable
{
    readonly Process _process;
    readonly Task<string> _stdout, _stderr;

    SoupProcess(Process process)
    {
        _process = process;
        _stdout = process.StandardOutput.ReadToEndAsync();
        _stderr = process.StandardError.ReadToEndAsync();
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public static SoupProcess Start(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        // Through env(1), which execs soup in place (same pid) with SIGHUP, SIGINT and SIGTERM back to their default
        // handling: a test run started under nohup or as a shell's background job inherits them ignored, and the
        // .NET runtime keeps an ignored signal ignored, so the signals these tests send would not arrive.
        var psi = new ProcessStartInfo("env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("--default-signal=HUP,INT,TERM");
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "soup"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        var p = Process.Start(psi)!;
        p.StandardInput.Close();
        return new SoupProcess(p);
    }

    public static SoupProcess Start(params string[] args) => Start(null, args);

    /// <summary>Sends a signal (SIGINT 2, SIGTERM 15, SIGHUP 1, SIGKILL 9) with kill(1).</summary>
    public void Signal(int signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    /// <summary>Waits for the exit (at most <paramref name="timeout"/>, then kills it and fails).</summary>
    public (int Code, string Out, string Err) Wait(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"soup did not exit within {timeout}; stderr: {(_stderr.Wait(1000) ? _stderr.Result : "")}");
        }
        _process.WaitForExit();
        return (_process.ExitCode, _stdout.Result, _stderr.Result);
    }

    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        using var p = Start(args);
        return p.Wait(TimeSpan.FromMinutes(2));
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
