using ModelSoups.Checkpoints;
using ModelSoups.Sparse;
using ModelSoups.TorchSharp.Models;

namespace ModelSoups.TorchSharp.Sparse;

/// <summary>
/// Measures a model of a sparse run (ingredients, soups, IMP) for the report. The run recalibrates a soup's BatchNorm
/// statistics before it is scored, so a scorer evaluates the checkpoint as it is. Swap in another OOD suite (e.g. the
/// demo's corruption set) by implementing this.
/// </summary>
public interface ISparseScorer
{
    /// <summary>What is measured, for the report (data, corruptions, sample sizes).</summary>
    string Description { get; }

    /// <summary>The scores of <paramref name="checkpoint"/>, a model of architecture <paramref name="spec"/>.</summary>
    SparseScores Score(ICheckpoint checkpoint, ModelSpec spec, CancellationToken cancel = default);
}
