using System.Numerics;

namespace ModelSoups.Merging;

/// <summary>
/// Base class for the built-in methods: common validation (model count, base, parameter ranges) and input shape
/// checks, so each method file holds only its formula. Parameters are planned once per tensor —
/// <see cref="Validate"/> checks them and binds them into the method's typed record
/// (<see cref="MergeMethod{TParameters}"/>, the only way to implement a method) — and
/// <see cref="Merge{T}(MergeInput{T}, Span{T})"/> then only runs the formula: it never validates or binds, and
/// parameters that were not planned are a bug (<see cref="InvalidOperationException"/>), not checked late.
/// </summary>
public abstract class MergeMethod : IMergeMethod
{
    /// <inheritdoc/>
    public abstract string Name { get; }
    /// <inheritdoc/>
    public abstract string Description { get; }
    /// <inheritdoc/>
    public abstract IReadOnlyList<MergeParameterDef> Parameters { get; }
    /// <inheritdoc/>
    public virtual string Definition(MergeParameters parameters) => $"mergekit {Name}.";
    /// <inheritdoc/>
    public abstract BaseModelUse BaseModel { get; }
    /// <inheritdoc/>
    public virtual int MinModels => 1;
    /// <inheritdoc/>
    public virtual int MaxModels => int.MaxValue;
    /// <inheritdoc/>
    public abstract bool IsElementwise(MergeParameters parameters);
    /// <inheritdoc/>
    public virtual long ScratchElements(long elementCount, int modelCount) => 0;

    /// <inheritdoc/>
    public void Validate(MergeParameters parameters, bool hasBase, string? tensorName = null)
    {
        int k = parameters.ModelCount;
        string models = ModelCountText;
        if (k < MinModels || k > MaxModels)
            throw new ModelSoupsException($"{Name} merges {models} model{(MinModels == 1 && MaxModels == 1 ? "" : "s")} besides the base, but the recipe gives {k}.");
        if (BaseModel == BaseModelUse.Required && !hasBase)
            throw new ModelSoupsException($"{Name} needs a base_model: it merges task vectors (model minus base).");
        parameters.Validate(tensorName);
        parameters.Bound = Plan(parameters, hasBase, tensorName is null ? "" : $" (tensor {tensorName})");
        parameters.ValidatedWithBase = hasBase;
    }

    /// <summary>How many models the method takes, as the error for a wrong count says it.</summary>
    protected virtual string ModelCountText =>
        MaxModels == int.MaxValue ? $"at least {MinModels}" : MinModels == MaxModels ? $"exactly {MinModels}" : $"{MinModels} to {MaxModels}";

    /// <summary>The typed record of values that passed the range checks, built and checked as a whole (the planning step).</summary>
    private protected abstract object Plan(MergeParameters parameters, bool hasBase, string where);

    /// <inheritdoc/>
    public void Merge<T>(MergeInput<T> input, Span<T> output) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        RequirePlanned(input);
        if (input.Models.Count != input.Parameters.ModelCount)
            throw new ArgumentException($"{input.Models.Count} input tensors but parameters for {input.Parameters.ModelCount} models.", nameof(input));
        foreach (var m in input.Models)
            if (m.Length != output.Length) throw new ArgumentException("Every input must have the output's length.", nameof(input));
        if (input.HasBase && input.Base.Length != output.Length) throw new ArgumentException("The base must have the output's length.", nameof(input));
        MergeCore(input, output);
    }

    /// <summary>The formula; inputs are validated and have the output's length.</summary>
    private protected abstract void MergeCore<T>(MergeInput<T> input, Span<T> output) where T : unmanaged, IBinaryFloatingPointIeee754<T>;

    /// <summary>
    /// Merging reads what planning made: the parameters must have been validated — and bound — for this base use
    /// (<see cref="Validate"/>, which the plan calls once per tensor). A block never checks or binds them itself.
    /// </summary>
    private protected void RequirePlanned<T>(MergeInput<T> input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Parameters.ValidatedWithBase != input.HasBase || input.Parameters.Bound is null)
            throw NotPlanned(input.TensorName);
    }

    /// <summary>The bug of merging with parameters no plan validated (or changed since).</summary>
    private protected InvalidOperationException NotPlanned(string tensorName) => new(
        $"The {Name} parameters{(tensorName.Length > 0 ? $" of tensor {tensorName}" : "")} were not planned: call Validate with them " +
        "(MergePlan does, once per tensor) before merging; merging never validates or binds parameters itself.");

    // Shared declarations, so every method spells the common parameters the same way.
    internal static MergeParameterDef WeightDef => new("weight", ParameterScope.PerModel, ParameterKind.Number, 1.0, "Mixing weight w_i of this model.");
    internal static MergeParameterDef LambdaDef => new("lambda", ParameterScope.Global, ParameterKind.Number, 1.0, "Scale λ applied to the merged task vector.");
    internal static MergeParameterDef DensityDef(string what) => new("density", ParameterScope.PerModel, ParameterKind.Number, 1.0, what)
    { Min = 0, MinInclusive = false, Max = 1 };
}
