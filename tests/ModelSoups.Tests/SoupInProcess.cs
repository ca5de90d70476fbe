using ModelSoups.Cli;

namespace ModelSoups.Tests;

/// <summary>Runs the <c>soup</c> command in this process, as a user would from a shell, and captures what it prints.</summary>
static class SoupInProcess
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = SoupApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }
}
