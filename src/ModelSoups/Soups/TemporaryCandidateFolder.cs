namespace ModelSoups.Soups;

/// <summary>
/// The one temporary folder a soup builder keeps a candidate in, for evaluators that need folders: each new candidate
/// folder deletes the one before, and <see cref="Discard"/> (the builder's) deletes the last.
/// </summary>
internal sealed class TemporaryCandidateFolder
{
    string? _path;

    /// <summary>Deletes the previous candidate folder and returns a new path <c>ROOT/PREFIX-GUID</c> (ROOT created, the path not).</summary>
    public string Next(string root, string prefix)
    {
        Discard();
        Directory.CreateDirectory(root);
        return _path = Path.Combine(root, prefix + Guid.NewGuid().ToString("N"));
    }

    /// <summary>Deletes the current candidate folder, if any.</summary>
    public void Discard()
    {
        if (_path is null) return;
        if (Directory.Exists(_path)) Directory.Delete(_path, recursive: true);
        _path = null;
    }
}
