namespace ModelSoups.Formats.PyTorch;

/// <summary>A <c>torch.save</c> file that breaks one rule of the reader; <see cref="Kind"/> says which.</summary>
public sealed class PyTorchFormatException : ModelSoupsException
{
    /// <summary>The rule that was broken.</summary>
    public PyTorchErrorKind Kind { get; }

    /// <summary>Creates the exception; <paramref name="message"/> is one sentence, <paramref name="path"/> the file.</summary>
    public PyTorchFormatException(PyTorchErrorKind kind, string message, string path, Exception? inner = null)
        : base(message, path, inner) => Kind = kind;
}
