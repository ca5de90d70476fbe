namespace ModelSoups.TorchSharp.Alignment;

/// <summary>The two settings of the PLeaS paper (§4): whether the models classify the same classes.</summary>
public enum LabelSpace
{
    /// <summary>Both heads predict the same classes: the head is merged like any layer (its outputs are all "merged units").</summary>
    Shared,
    /// <summary>
    /// Different classes (e.g. Fashion-MNIST 0–4 and 5–9): the merged body carries both heads, stacked into one
    /// classifier of C_A + C_B outputs (A's classes first); a task is evaluated on its own head's outputs.
    /// </summary>
    Separate,
}
