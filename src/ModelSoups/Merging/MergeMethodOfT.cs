using System.Numerics;

namespace ModelSoups.Merging;

/// <summary>
/// A method whose formula reads a typed record of its parameters (<typeparamref name="TParameters"/>, e.g.
/// <see cref="TaskVectorParameters"/>) instead of values looked up by name: the record is built from the recipe's
/// resolved values once per tensor, when the plan validates them (after the declared ranges are checked), checked
/// as a whole there (<see cref="ValidateParameters"/>), and handed to every block's <see cref="MergeCore{T}(MergeInput{T}, TParameters, Span{T})"/>.
/// </summary>
/// <typeparam name="TParameters">The method's parameters, typed.</typeparam>
public abstract class MergeMethod<TParameters> : MergeMethod where TParameters : class
{
    /// <summary>Reads the method's resolved values (defaults filled in) into its record.</summary>
    protected abstract TParameters Bind(MergeParameters parameters);

    /// <summary>The record of <paramref name="parameters"/>: the one built when they were validated, else built now.</summary>
    public TParameters Typed(MergeParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return parameters.Bound as TParameters ?? Bind(parameters);
    }

    /// <summary>Checks the record as a whole (relations between values; ranges were checked per value before).</summary>
    protected virtual void ValidateParameters(TParameters parameters, bool hasBase, string where) { }

    /// <inheritdoc/>
    protected sealed override void ValidateMore(MergeParameters parameters, bool hasBase, string where)
    {
        var typed = Bind(parameters);
        ValidateParameters(typed, hasBase, where);
        parameters.Bound = typed;
    }

    /// <inheritdoc/>
    protected sealed override void MergeCore<T>(MergeInput<T> input, Span<T> output) => MergeCore(input, Typed(input.Parameters), output);

    /// <summary>The formula, with the typed parameters; inputs are validated and have the output's length.</summary>
    protected abstract void MergeCore<T>(MergeInput<T> input, TParameters parameters, Span<T> output) where T : unmanaged, IBinaryFloatingPointIeee754<T>;
}
