namespace ModelSoups.TorchSharp.Sparse;

/// <summary>Which soup of a phase's ingredients starts the next phase.</summary>
public enum SparseSoupMerge
{
    /// <summary>The uniform average of all m ingredients (SMS's default).</summary>
    Uniform,

    /// <summary>The greedy soup (Wortsman et al. 2022, accept rule ≥ as the SMS code), chosen on held-out accuracy after BatchNorm recalibration.</summary>
    Greedy,
}
