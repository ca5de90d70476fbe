namespace ModelSoups.Checkpoints;

/// <summary>
/// A checkpoint someone else opened and will close, lent to a reader that disposes what it holds (a merge plan):
/// every member is the lender's; <see cref="Dispose"/> does nothing.
/// </summary>
public sealed class BorrowedCheckpoint(ICheckpoint lender) : ICheckpoint
{
    /// <inheritdoc/>
    public string Location => lender.Location;
    /// <inheritdoc/>
    public string? Folder => lender.Folder;
    /// <inheritdoc/>
    public IReadOnlyDictionary<string, TensorRef> Tensors => lender.Tensors;
    /// <inheritdoc/>
    public IReadOnlyDictionary<string, string> Metadata => lender.Metadata;
    /// <inheritdoc/>
    public IReadOnlyList<string> Files => lender.Files;
    /// <inheritdoc/>
    public IReadOnlyList<string> Notes => lender.Notes;

    /// <summary>Leaves the checkpoint open: its lender closes it.</summary>
    public void Dispose() { }
}
