namespace ModelSoups.Merging;

/// <summary>How a merge method uses the recipe's base model.</summary>
public enum BaseModelUse
{
    /// <summary>The method ignores a base model (linear, passthrough, layer_swap).</summary>
    None,
    /// <summary>Used when given, changes the formula (slerp: interpolates task vectors).</summary>
    Optional,
    /// <summary>The method cannot run without one (task vectors τ = θ − θ₀).</summary>
    Required,
}
