using System.Numerics;

namespace ModelSoups.Merging;

/// <summary>
/// A method whose formula reads a typed record of its parameters (<typeparamref name="TParameters"/>, e.g.
/// <see cref="TaskVectorParameters"/>; <see cref="NoParameters"/> for a method without any) instead of values looked
/// up by name. Planning builds the record once per tensor: <see cref="MergeMethod.Validate"/> checks the declared
/// ranges, calls <see cref="Bind"/>, checks the record as a whole (<see cref="ValidateParameters"/>) and keeps it with
/// the parameters; every block's <see cref="MergeCore{T}(MergeInput{T}, TParameters, Span{T})"/> receives that record.
/// Nothing binds at merge time.
/// </summary>
/// <typeparam name="TParameters">The method's parameters, typed.</typeparam>
public abstract class MergeMethod<TParameters> : MergeMethod where TParameters : class
{
    /// <summary>Reads the method's resolved values (defaults filled in) into its record; called once per tensor, at planning.</summary>
    protected abstract TParameters Bind(MergeParameters parameters);

    /// <summary>
    /// The record planning built for <paramref name="parameters"/> (<see cref="MergeMethod.Validate"/>); parameters no
    /// plan validated, or changed since, throw <see cref="InvalidOperationException"/> — they are never bound here.
    /// </summary>
    public TParameters Typed(MergeParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return parameters.Bound as TParameters ?? throw NotPlanned("");
    }

    /// <summary>Checks the record as a whole (relations between values; ranges were checked per value before).</summary>
    protected virtual void ValidateParameters(TParameters parameters, bool hasBase, string where) { }

    private protected sealed override object Plan(MergeParameters parameters, bool hasBase, string where)
    {
        var typed = Bind(parameters);
        ValidateParameters(typed, hasBase, where);
        return typed;
    }

    private protected sealed override void MergeCore<T>(MergeInput<T> input, Span<T> output) => MergeCore(input, Typed(input.Parameters), output);

    /// <summary>The formula, with the typed parameters; inputs are validated and have the output's length.</summary>
    protected abstract void MergeCore<T>(MergeInput<T> input, TParameters parameters, Span<T> output) where T : unmanaged, IBinaryFloatingPointIeee754<T>;
}
