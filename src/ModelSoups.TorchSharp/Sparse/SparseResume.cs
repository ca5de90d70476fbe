namespace ModelSoups.TorchSharp.Sparse;

/// <summary>
/// What <see cref="SparseSoup.Run"/> does with the phases an earlier run finished in its output folder (each one's
/// <c>phase-P/phase.json</c> carries the fingerprint of the settings it was made with).
/// </summary>
public enum SparseResume
{
    /// <summary>Reuse a phase finished with the same settings; refuse one finished with other settings, naming them (<c>soup sparse --resume</c>, the library's default).</summary>
    Resume,
    /// <summary>Reuse a phase finished with the same settings; make one finished with other settings again in place (the demo, whose folder is a cache of its own runs).</summary>
    RedoChanged,
    /// <summary>Make every phase again (<c>soup sparse --overwrite</c>).</summary>
    RedoAll,
}
