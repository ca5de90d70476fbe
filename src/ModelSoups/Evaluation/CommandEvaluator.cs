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
        var psi = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
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
        // The command gets an empty stdin, so a script that reads it cannot hang waiting for us.
        process.StandardInput.Close();

        // Both pipes are drained concurrently: a command that fills one pipe while we block on the
        // other would otherwise deadlock. Only the last stdout line and the end of stderr are kept,
        // so chatty commands cost no memory.
        var stdoutTask = Task.Run(() => LastNonEmptyLine(process.StandardOutput));
        var stderrTask = Task.Run(() => Tail(process.StandardError, StderrTailChars));

        using var timeout = new CancellationTokenSource(_options.Timeout ?? System.Threading.Timeout.InfiniteTimeSpan);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            Task.WhenAll(process.WaitForExitAsync(CancellationToken.None), stdoutTask, stderrTask)
                .WaitAsync(linked.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            KillTree(process);
            // Pipes close once the tree is dead; do not wait forever for an orphan that escaped the kill.
            Task.WhenAll((Task)stdoutTask, stderrTask).Wait(TimeSpan.FromSeconds(10));
            cancellationToken.ThrowIfCancellationRequested();
            throw new EvaluationException(candidate.Name,
                $"the evaluation command for candidate '{candidate.Name}' ran longer than the timeout of {FormatSpan(_options.Timeout!.Value)} and was killed: {commandLine}");
        }

        var exit = process.ExitCode;
        var stderr = stderrTask.Result.Trim();
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
                (stderr.Length == 0 ? "" : $"; stderr ends with: {stderr}"));
        }
        return CommandOutput.Parse(stdoutTask.Result ?? "", _options.Metric, candidate.Name);
    }

    private static void KillTree(Process process)
    {
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

    private static string? LastNonEmptyLine(StreamReader reader)
    {
        string? last = null;
        while (reader.ReadLine() is { } line)
            if (!string.IsNullOrWhiteSpace(line)) last = line;
        return last;
    }

    private static string Tail(StreamReader reader, int maxChars)
    {
        var buffer = new char[8192];
        var tail = new StringBuilder();
        int n;
        while ((n = reader.Read(buffer, 0, buffer.Length)) > 0)
        {
            tail.Append(buffer, 0, n);
            if (tail.Length > 2 * maxChars) tail.Remove(0, tail.Length - maxChars);
        }
        if (tail.Length > maxChars) tail.Remove(0, tail.Length - maxChars).Insert(0, "…");
        return tail.ToString();
    }

    private static string FormatSpan(TimeSpan t) =>
        t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";
}
