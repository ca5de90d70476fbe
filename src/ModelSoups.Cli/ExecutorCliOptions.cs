using System.CommandLine;
using System.CommandLine.Parsing;
using ModelSoups.Execution;
using ModelSoups.Execution.Slurm;

namespace ModelSoups.Cli;

/// <summary>
/// Where the expensive units of a command run (<c>soup finetune</c>, <c>greedy</c>, <c>eval</c>): in this process
/// (default), in <c>--parallel N</c> local worker processes, or on Slurm (<c>--executor slurm</c> and the
/// <c>--slurm-*</c> options). Also rebuilds the command's own arguments for its workers.
/// </summary>
sealed class ExecutorCliOptions
{
    readonly Option<string?> _executor = new("--executor") { Description = "Where units of work run: inprocess (default), processes (local worker processes, see --parallel) or slurm (sbatch job arrays; see docs/cluster.md)." };
    readonly Option<int?> _parallel = new("--parallel") { Description = "Run units in N local worker processes at once (implies --executor processes)." };
    readonly Option<string?> _partition = new("--slurm-partition") { Description = "Slurm partition (sbatch --partition)." };
    readonly Option<string?> _time = new("--slurm-time") { Description = "Time limit per task (sbatch --time), e.g. 2:00:00." };
    readonly Option<int?> _cpus = new("--slurm-cpus") { Description = "CPUs per task (sbatch --cpus-per-task)." };
    readonly Option<string?> _mem = new("--slurm-mem") { Description = "Memory per task (sbatch --mem), e.g. 16G." };
    readonly Option<string?> _gres = new("--slurm-gres") { Description = "Generic resources per task (sbatch --gres), e.g. gpu:1." };
    readonly Option<int?> _maxParallel = new("--slurm-max-parallel") { Description = "Most tasks of one array running at once (the %N of --array)." };
    readonly Option<string[]> _sbatchArgs = new("--sbatch-arg") { Description = "A further sbatch option, passed through as an #SBATCH line (repeatable), e.g. --sbatch-arg=--qos=high." };
    readonly Option<string?> _account = new("--slurm-account") { Description = "Slurm account to charge (sbatch --account)." };
    readonly Option<bool> _allowLocal = new("--slurm-allow-local") { Description = "Allow an output folder on a node-local file system (/tmp, tmpfs): only right on a single-node cluster." };
    readonly Option<bool> _noWait = new("--no-wait") { Description = "With --executor slurm: submit, print the job ids and exit; the same command later (or soup status DIR) continues." };
    readonly Option<double> _poll = new("--slurm-poll") { Description = "Seconds between two looks at squeue (default 5).", DefaultValueFactory = _ => 5 };

    IEnumerable<Option> All => [_executor, _parallel, _partition, _time, _cpus, _mem, _gres, _maxParallel, _sbatchArgs, _account, _allowLocal, _noWait, _poll];

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var o in All) command.Options.Add(o);
    }

    /// <summary>True when units run in this process (no executor).</summary>
    public bool InProcess(ParseResult parse) => Kind(parse) == "inprocess";

    string Kind(ParseResult parse)
    {
        var kind = parse.GetValue(_executor);
        var parallel = parse.GetValue(_parallel);
        if (kind is null) return parallel is not null ? "processes" : "inprocess";
        if (kind is not ("inprocess" or "processes" or "slurm"))
            throw new ModelSoupsException($"--executor: '{kind}' is not inprocess, processes or slurm.");
        if (parallel is not null && kind != "processes") throw new ModelSoupsException("--parallel goes with --executor processes (local worker processes), not with --executor " + kind + ".");
        return kind;
    }

    /// <summary>The executor asked for, or null for in process; bad combinations are user errors.</summary>
    public IExecutor? Create(ParseResult parse)
    {
        var kind = Kind(parse);
        bool slurmFlags = new Option[] { _partition, _time, _cpus, _mem, _gres, _maxParallel, _account, _allowLocal, _noWait }.Any(o => Given(parse, o))
            || parse.GetValue(_sbatchArgs) is { Length: > 0 };
        if (kind != "slurm" && slurmFlags) throw new ModelSoupsException("the --slurm-* options, --sbatch-arg and --no-wait go with --executor slurm.");
        switch (kind)
        {
            case "inprocess":
                return null;
            case "processes":
                return new ProcessExecutor(WorkerCommand.Current(typeof(SoupApp).Assembly), parse.GetValue(_parallel) ?? Environment.ProcessorCount);
            default:
                var poll = parse.GetValue(_poll);
                if (!(poll > 0) || poll > 3600) throw new ModelSoupsException("--slurm-poll must be between 0 and 3600 seconds.");
                return new SlurmExecutor(new SlurmOptions
                {
                    Partition = parse.GetValue(_partition),
                    Time = parse.GetValue(_time),
                    Cpus = parse.GetValue(_cpus),
                    Memory = parse.GetValue(_mem),
                    Gres = parse.GetValue(_gres),
                    MaxParallel = parse.GetValue(_maxParallel),
                    ExtraArguments = parse.GetValue(_sbatchArgs) ?? [],
                    Account = parse.GetValue(_account),
                    AllowLocal = parse.GetValue(_allowLocal),
                    NoWait = parse.GetValue(_noWait),
                    PollInterval = TimeSpan.FromSeconds(poll),
                }, WorkerCommand.Current(typeof(SoupApp).Assembly));
        }
    }

    static bool Given(ParseResult parse, Option o) => parse.GetResult(o) is OptionResult { Implicit: false };

    /// <summary>The options of <paramref name="only"/> the user gave, as arguments (in the order given).</summary>
    public static List<string> GivenOptions(ParseResult parse, IReadOnlyCollection<Option> only)
    {
        var args = new List<string>();
        foreach (var child in parse.CommandResult.Children)
            if (child is OptionResult { Implicit: false } o && only.Contains(o.Option)) Append(args, o);
        return args;
    }

    static void Append(List<string> args, OptionResult o)
    {
        // --name=value keeps a value that starts with '-' one value.
        if (o.Tokens.Count == 1) args.Add($"{o.Option.Name}={o.Tokens[0].Value}");
        else
        {
            args.Add(o.Option.Name);
            args.AddRange(o.Tokens.Select(t => t.Value));
        }
    }

    /// <summary>
    /// The arguments of this invocation for a worker: the subcommand, then every argument and option the user gave
    /// (in order, as given), without the executor options and without <paramref name="leaveOut"/>, then
    /// <paramref name="extra"/>. Relative paths stay relative: workers run in the same working directory.
    /// </summary>
    public List<string> WorkerArguments(ParseResult parse, IEnumerable<Symbol> leaveOut, params string[] extra)
    {
        var skip = new HashSet<Symbol>(All.Concat(leaveOut));
        var args = new List<string> { parse.CommandResult.Command.Name };
        foreach (var child in parse.CommandResult.Children)
        {
            switch (child)
            {
                case OptionResult { Implicit: false } o when !skip.Contains(o.Option):
                    Append(args, o);
                    break;
                case ArgumentResult a when !skip.Contains(a.Argument):
                    args.AddRange(a.Tokens.Select(t => t.Value));
                    break;
            }
        }
        args.AddRange(extra);
        return args;
    }
}
