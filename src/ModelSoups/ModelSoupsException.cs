namespace ModelSoups;

/// <summary>
/// A problem with the user's input (a file, folder, recipe or argument), as opposed to a bug.
/// The message is one human sentence naming the path and what is wrong; the CLI prints it on one
/// line of stderr and exits with code 2. Any other exception type is a bug and should crash loudly.
/// </summary>
public class ModelSoupsException : Exception
{
    /// <summary>The file or folder the problem is in, when there is one.</summary>
    public string? Path { get; }

    public ModelSoupsException(string message, string? path = null, Exception? inner = null)
        : base(message, inner) => Path = path;

    /// <summary>The one line shown to the user: "path: message" when a path is known.</summary>
    public string UserMessage => Path is null ? Message : $"{Path}: {Message}";
}
