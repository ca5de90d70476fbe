namespace ModelSoups.TorchSharp.Sparse;

/// <summary>Over which weights magnitude pruning ranks.</summary>
public enum PruningScope
{
    /// <summary>One ranking over every prunable weight of the model (the SMS paper's default: global unstructured L1).</summary>
    Global,

    /// <summary>Each tensor pruned to the same sparsity on its own ("uniform" in the SMS code).</summary>
    PerLayer,
}
