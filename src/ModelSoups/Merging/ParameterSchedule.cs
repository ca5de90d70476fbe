namespace ModelSoups.Merging;

/// <summary>
/// How one recipe parameter varies over tensors, with mergekit's semantics (<c>config.py</c>
/// <c>evaluate_setting</c>, <c>plan.py</c>): a constant; a gradient — a list of numbers spread evenly
/// over the position t ∈ [0, 1] and linearly interpolated; or a list of {filter, value} entries where
/// the first entry whose filter is a substring of the tensor name (or has no filter / "*") wins.
/// Pure: no I/O, no state.
/// </summary>
public abstract record ParameterSchedule
{
    /// <summary>The value for a tensor at position <paramref name="t"/>; null when no filter entry matches.</summary>
    public abstract object? ValueAt(string tensorName, double t);

    /// <summary>The value for a tensor in layer <paramref name="layerIndex"/> of <paramref name="layerCount"/> (null for non-layer tensors).</summary>
    public object? ValueFor(string tensorName, int? layerIndex, int layerCount) => ValueAt(tensorName, Position(tensorName, layerIndex, layerCount));

    /// <summary>
    /// The gradient position t. Layer i of a stack of n layers: i / (n − 1), and 1 when n = 1
    /// (mergekit <c>plan_slice</c>). Tensors outside the layer stack — embeddings before it, the final
    /// norm and <c>lm_head</c> after it — take t = 0: mergekit's <c>plan_module</c> reads the pre- and
    /// post-layer weights' parameters with a <c>ConfigReader</c> built with t = 0.
    /// </summary>
    public static double Position(string tensorName, int? layerIndex, int layerCount)
    {
        if (layerIndex is not int i) return 0;
        if (layerCount <= 1) return 1;
        return Math.Clamp(i / (double)(layerCount - 1), 0, 1);
    }

    /// <summary>A value that is the same for every tensor (number, bool or string).</summary>
    public static ParameterSchedule Constant(object value) => new ConstantSchedule(value is int n ? (double)n : value);

    /// <summary>A gradient over the layer stack.</summary>
    public static ParameterSchedule Gradient(params double[] values) => values.Length == 0
        ? throw new ModelSoupsException("A gradient needs at least one value.")
        : new GradientSchedule(values);

    /// <summary>Filter entries, tried in order; a null or "*" filter matches every tensor.</summary>
    public static ParameterSchedule Filtered(params (string? Filter, ParameterSchedule Value)[] entries) => new FilteredSchedule(entries);

    /// <summary>Every value this schedule can produce, for up-front range checks (gradient end points suffice: interpolation stays between them).</summary>
    public abstract IEnumerable<object> PossibleValues();

    sealed record ConstantSchedule(object Value) : ParameterSchedule
    {
        public override object? ValueAt(string tensorName, double t) => Value;
        public override IEnumerable<object> PossibleValues() => [Value];
    }

    sealed record GradientSchedule(double[] Values) : ParameterSchedule
    {
        public override object? ValueAt(string tensorName, double t)
        {
            // mergekit: scaled = t·(n−1); i0 = ⌊scaled⌋; blend values[i0] and values[i0+1].
            double scaled = t * (Values.Length - 1);
            int i0 = (int)scaled;
            int i1 = Math.Min(Values.Length - 1, i0 + 1);
            double frac = scaled - i0;
            return (1 - frac) * Values[i0] + frac * Values[i1];
        }
        public override IEnumerable<object> PossibleValues() => Values.Cast<object>();
    }

    sealed record FilteredSchedule((string? Filter, ParameterSchedule Value)[] Entries) : ParameterSchedule
    {
        public override object? ValueAt(string tensorName, double t)
        {
            foreach (var (filter, value) in Entries)
                if (filter is null || filter == "*" || tensorName.Contains(filter, StringComparison.Ordinal))
                    return value.ValueAt(tensorName, t);
            return null;
        }
        public override IEnumerable<object> PossibleValues() => Entries.SelectMany(e => e.Value.PossibleValues());
    }
}
