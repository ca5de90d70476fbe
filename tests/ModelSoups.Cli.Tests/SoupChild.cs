using System.Diagnostics;
using System.Globalization;

namespace ModelSoups.Cli.Tests;

/// <summary>The real <c>soup</c> program (the CLI's apphost beside the tests) as a child process, to send it SIGINT or SIGKILL.</summary>
sealed class SoupChild : IDisposable
{
    readonly Process _process;
    readonly Task<string> _stdout, _stderr;

    public SoupChild(params string[] args)
    {
        // Through env(1), which execs soup in place (same pid) with SIGHUP, SIGINT and SIGTERM back to their default
        // handling: a test run started under nohup or as a shell's background job inherits them ignored, and the
        // .NET runtime keeps an ignored signal ignored, so the SIGINT these tests send would not arrive.
        var psi = new ProcessStartInfo("env")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        psi.ArgumentList.Add("--default-signal=HUP,INT,TERM");
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "soup"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        _process.StandardInput.Close();
        _stdout = _process.StandardOutput.ReadToEndAsync();
        _stderr = _process.StandardError.ReadToEndAsync();
    }

    public bool HasExited => _process.HasExited;

    /// <summary>kill -SIGNAL.</summary>
    public void Signal(int signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString(CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    public (int Code, string Out, string Err) Wait(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"soup did not exit within {timeout}");
        }
        _process.WaitForExit();
        return (_process.ExitCode, _stdout.Result, _stderr.Result);
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
