namespace ModelSoups.TorchSharp.Sparse;

/// <summary>How long IMP's single retrain per phase is, relative to one SMS ingredient's retrain.</summary>
public enum ImpBudget
{
    /// <summary>
    /// The same total budget as the sparse soup (the baseline): IMP's one retrain per phase takes as many
    /// steps (or epochs) as all m ingredients together, so both arms spend the same compute.
    /// </summary>
    TotalCompute,

    /// <summary>As long as one ingredient's retrain: SMS then spends m times IMP's compute.</summary>
    RetrainLength,
}
