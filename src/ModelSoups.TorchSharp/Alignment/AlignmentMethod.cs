namespace ModelSoups.TorchSharp.Alignment;

/// <summary>How units are matched across two models.</summary>
public enum AlignmentMethod
{
    /// <summary>Git Re-Basin weight matching (<see cref="WeightMatching"/>): data-free.</summary>
    Weight,
    /// <summary>Correlation of pre-activations on data (<see cref="ActivationMatching"/>), as PLeaS does.</summary>
    Activation,
}
