using ModelSoups.TorchSharp.Data;

namespace ModelSoups.TorchSharp.Training;

/// <summary>
/// How one hyperparameter of a random sweep is drawn per run (the <c>random:</c> section of a sweep file):
/// a fixed value, a uniform choice among values, or a uniform / log-uniform number in [low, high].
/// </summary>
public abstract record SweepDistribution
{
    private SweepDistribution() { }

    /// <summary>The same value for every run; draws nothing, so it does not shift the other draws.</summary>
    public sealed record Fixed(object Value) : SweepDistribution;

    /// <summary>One of <paramref name="Values"/>, each equally likely.</summary>
    public sealed record Choice(IReadOnlyList<object> Values) : SweepDistribution;

    /// <summary>A number uniform in [low, high].</summary>
    public sealed record Uniform(double Low, double High) : SweepDistribution;

    /// <summary>A number whose logarithm is uniform in [ln low, ln high] (learning rates).</summary>
    public sealed record LogUniform(double Low, double High) : SweepDistribution;

    /// <summary>Draws one value: one <see cref="SplitMix64.NextDouble"/> for every kind but <see cref="Fixed"/>.</summary>
    internal object Draw(ref SplitMix64 rng)
    {
        if (this is Fixed f) return f.Value;
        double u = rng.NextDouble();
        return this switch
        {
            Choice c => c.Values[Math.Min(c.Values.Count - 1, (int)(u * c.Values.Count))],
            Uniform r => r.Low + u * (r.High - r.Low),
            LogUniform l => Math.Exp(Math.Log(l.Low) + u * (Math.Log(l.High) - Math.Log(l.Low))),
            _ => throw new InvalidOperationException("unknown distribution"),
        };
    }
}

/// <summary>One swept hyperparameter: its key (<see cref="TrainingHyperparameters.Keys"/>) and distribution.</summary>
public sealed record SweepAxis(string Key, SweepDistribution Distribution);
