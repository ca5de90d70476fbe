using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace ModelSoups.Evaluation;

/// <summary>
/// Evaluates a candidate folder by running a user's command, e.g. <c>python eval.py --model {model}</c>,
/// through <c>/bin/sh -c</c>. The score is the command's last non-empty stdout line (see
/// <see cref="CommandOutput"/>). The command also sees the environment variables
/// <c>MODELSOUPS_MODEL</c> (the folder) and <c>MODELSOUPS_CANDIDATE</c> (the candidate's name).
/// </summary>
public sealed class CommandEvaluator : IEvaluator
{
    /// <summary>The placeholder replaced by the quoted candidate folder.</summary>
    public const string ModelPlaceholder = "{model}";

    /// <summary>How much of stderr a failure message quotes (its end, where errors usually are).</summary>
    private const int StderrTailChars = 1500;

    private readonly CommandEvaluatorOptions _options;

    public CommandEvaluator(CommandEvaluatorOptions options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        if (string.IsNullOrWhiteSpace(options.Template))
            throw new ModelSoupsException("the evaluation command is empty; give a command like 'python eval.py --model {model}'.");
        if (!options.Template.Contains(ModelPlaceholder, StringComparison.Ordinal))
            throw new ModelSoupsException($"the evaluation command '{options.Template}' has no {ModelPlaceholder} placeholder for the candidate folder.");
        if (options.Timeout is { } t && t <= TimeSpan.Zero)
            throw new ModelSoupsException($"the evaluation timeout must be positive, got {t}.");
        if (options.WorkingDirectory is { } wd && !Directory.Exists(wd))
            throw new ModelSoupsException("the evaluation command's working directory does not exist.", wd);
    }

    /// <summary>Convenience: <c>new CommandEvaluator(new() { Template = template, Metric = metric, Timeout = timeout })</c>.</summary>
    public CommandEvaluator(string template, string? metric = null, TimeSpan? timeout = null)
        : this(new CommandEvaluatorOptions { Template = template, Metric = metric, Timeout = timeout }) { }

    public string Description =>
        $"command {_options.Template}" +
        (_options.Metric is null ? "" : $" metric {_options.Metric}") +
        (_options.WorkingDirectory is null ? "" : $" in {Path.GetFullPath(_options.WorkingDirectory)}");

    public bool NeedsFolder => true;
    public bool ProvidesLogits => false;

    /// <summary>The shell command line for a folder: the template with <c>{model}</c> replaced by the quoted path.</summary>
    public string CommandLineFor(string folder) =>
        _options.Template.Replace(ModelPlaceholder, ShellQuote.Quote(folder), StringComparison.Ordinal);

    public EvaluationResult Evaluate(Candidate candidate, CancellationToken cancellationToken = default)
    {
        var folder = candidate.RequireFolder("command");
        var commandLine = CommandLineFor(folder);
        var psi = new ProcessStartInfo(Setsid ?? "/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        if (Setsid is not null) psi.ArgumentList.Add("/bin/sh");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(commandLine);
        if (_options.WorkingDirectory is not null) psi.WorkingDirectory = _options.WorkingDirectory;
        psi.Environment["MODELSOUPS_MODEL"] = folder;
        psi.Environment["MODELSOUPS_CANDIDATE"] = candidate.Name;

        using var process = new Process { StartInfo = psi };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new EvaluationException(candidate.Name, $"could not start /bin/sh to evaluate candidate '{candidate.Name}': {e.Message}.", inner: e);
        }
        // With setsid the shell leads its own process group (its pid is the group id): Ctrl-C at the terminal
        // reaches only soup, which then stops the evaluator itself, and one kill reaches every child it started.
        int group = Setsid is null ? 0 : process.Id;
        // The command gets an empty stdin, so a script that reads it cannot hang waiting for us.
        process.StandardInput.Close();

        // Both pipes are drained concurrently: a command that fills one pipe while we block on the
        // other would otherwise deadlock. Only a bounded tail of each is kept, so chatty commands cost no memory.
        var stdout = new BoundedOutput();
        var stderr = new BoundedOutput(StderrTailChars);
        var stdoutTask = Task.Factory.StartNew(() => stdout.Pump(process.StandardOutput), TaskCreationOptions.LongRunning);
        var stderrTask = Task.Factory.StartNew(() => stderr.Pump(process.StandardError), TaskCreationOptions.LongRunning);

        using var timeout = new CancellationTokenSource(_options.Timeout ?? System.Threading.Timeout.InfiniteTimeSpan);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            // Wait for the process, not for the end of its output: a background child that inherited stdout
            // would otherwise keep us waiting forever after the score was printed.
            process.WaitForExitAsync(CancellationToken.None).WaitAsync(linked.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            Kill(process, group);
            // Pipes close once the group is dead; do not wait forever for an orphan that escaped it.
            Task.WhenAll(stdoutTask, stderrTask).Wait(TimeSpan.FromSeconds(10));
            cancellationToken.ThrowIfCancellationRequested();
            throw new EvaluationException(candidate.Name,
                $"the evaluation command for candidate '{candidate.Name}' ran longer than the timeout of {FormatSpan(_options.Timeout!.Value)} and was killed (with every process it started): {commandLine}");
        }
        // It exited: whatever it left running in its group goes too, and what is already in the pipes is read.
        if (group > 0) Durability.Posix.KillGroup(group);
        Task.WhenAll(stdoutTask, stderrTask).Wait(TimeSpan.FromSeconds(10));
        cancellationToken.ThrowIfCancellationRequested();

        var exit = process.ExitCode;
        var stderrText = stderr.Tail.Trim();
        if (exit != 0)
        {
            var why = exit switch
            {
                127 => "the command was not found (exit code 127)",
                126 => "the command is not executable (exit code 126)",
                > 128 and < 160 => $"it was killed by signal {exit - 128} (exit code {exit})",
                _ => $"it exited with code {exit}",
            };
            throw new EvaluationException(candidate.Name,
                $"the evaluation command failed for candidate '{candidate.Name}': {why}; command: {commandLine}" +
                (stderrText.Length == 0 ? "" : $"; stderr ends with: {stderrText}"));
        }
        try
        {
            return CommandOutput.Parse(stdout.LastLine ?? "", _options.Metric, candidate.Name);
        }
        catch (EvaluationException e) when (stdout.LastLineCut)
        {
            throw new EvaluationException(candidate.Name,
                $"{e.Message} (its last line was longer than {stdout.Limit / 1024} KiB; only its end was kept)", inner: e);
        }
    }

    /// <summary>/usr/bin/setsid (util-linux) when present: starts the command in a new session and process group.</summary>
    private static readonly string? Setsid = OperatingSystem.IsLinux()
        ? new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(File.Exists)
        : null;

    /// <summary>The default <see cref="CommandEvaluatorOptions.Timeout"/> of the CLI: generous (6 h), but never forever.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromHours(6);

    private static void Kill(Process process, int group)
    {
        if (group > 0 && Durability.Posix.KillGroup(group)) return;
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited between the check and the kill: nothing left to kill.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Already gone or not ours any more.
        }
    }

    private static string FormatSpan(TimeSpan t) =>
        t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";
}
