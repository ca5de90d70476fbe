using System.Reflection;

namespace ModelSoups.Execution;

/// <summary>
/// How to start the <c>soup</c> program that is running now, by absolute path, so that workers (child processes,
/// Slurm tasks) run exactly this build: the apphost (<c>/…/soup</c>) or <c>dotnet /…/soup.dll</c> (what the
/// <c>./soup</c> launcher runs: the published <c>.build/cli/soup.dll</c>). The worker subcommand is appended.
/// </summary>
/// <param name="Prefix">The program and the arguments before the subcommand, all absolute.</param>
public sealed record WorkerCommand(IReadOnlyList<string> Prefix)
{
    /// <summary>The hidden subcommand that runs one unit.</summary>
    public const string Subcommand = "__worker";

    /// <summary>The full command line for the unit file <paramref name="unitFile"/>.</summary>
    public IReadOnlyList<string> For(string unitFile) => [.. Prefix, Subcommand, "--unit", unitFile];

    /// <summary>
    /// The program running now: <see cref="Environment.ProcessPath"/> when it is the app itself (apphost), or the
    /// <c>dotnet</c> host plus the entry assembly when it is run as <c>dotnet soup.dll</c>.
    /// </summary>
    /// <param name="entryAssembly">The CLI's assembly (default: the entry assembly); tests pass the CLI's.</param>
    /// <exception cref="ModelSoupsException">The program's path cannot be found (single-file or unusual hosts).</exception>
    public static WorkerCommand Current(Assembly? entryAssembly = null)
    {
        var process = Environment.ProcessPath;
        if (string.IsNullOrEmpty(process) || !Path.IsPathFullyQualified(process))
            throw new ModelSoupsException("cannot find the path of the running soup program, needed to start workers; run the published CLI (./soup).");
        var assembly = (entryAssembly ?? Assembly.GetEntryAssembly())?.Location;
        var processName = Path.GetFileNameWithoutExtension(process);
        if (processName is "dotnet")
        {
            if (string.IsNullOrEmpty(assembly) || !Path.IsPathFullyQualified(assembly))
                throw new ModelSoupsException("cannot find the soup.dll this dotnet host runs, needed to start workers; run the published CLI (./soup).");
            return new WorkerCommand([process, assembly]);
        }
        // An apphost (soup) — or a test host running the CLI in process: then the CLI's own apphost beside its dll.
        if (!string.IsNullOrEmpty(assembly) && Path.GetFileNameWithoutExtension(assembly) != processName)
        {
            var apphost = Path.Combine(Path.GetDirectoryName(assembly)!, Path.GetFileNameWithoutExtension(assembly));
            if (File.Exists(apphost)) return new WorkerCommand([apphost]);
            // No apphost beside it: the dotnet host of this runtime (DOTNET_ROOT/shared/Microsoft.NETCore.App/VERSION/ → DOTNET_ROOT/dotnet).
            var dotnet = Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "..", "..", "..", "dotnet");
            if (File.Exists(dotnet)) return new WorkerCommand([Path.GetFullPath(dotnet), assembly]);
        }
        return new WorkerCommand([process]);
    }
}
