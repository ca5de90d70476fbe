namespace ModelSoups.TorchSharp.Training;

/// <summary>
/// Learning rate per step: linear warm-up from 0 to the peak, then cosine (as the model-soups reference
/// code's <c>cosine_lr</c>), linear or no decay to 0 at the last step. Pure.
/// </summary>
public static class LearningRateSchedule
{
    /// <summary>The rate for 0-based <paramref name="step"/> of <paramref name="totalSteps"/>.</summary>
    public static double At(int step, int totalSteps, double peak, double warmupFraction, string schedule)
    {
        int warmup = (int)Math.Round(warmupFraction * totalSteps);
        if (step < warmup) return peak * (step + 1) / warmup;
        double progress = totalSteps - warmup <= 1 ? 0 : (double)(step - warmup) / (totalSteps - warmup);
        return schedule switch
        {
            "cosine" => 0.5 * peak * (1 + Math.Cos(Math.PI * progress)),
            "linear" => peak * (1 - progress),
            "constant" => peak,
            _ => throw new ArgumentOutOfRangeException(nameof(schedule), schedule, "cosine, linear or constant"),
        };
    }
}
