namespace ModelSoups.TorchSharp.Training;

/// <summary>Progress of one run: <paramref name="Step"/> of <paramref name="TotalSteps"/> done, the recent mean loss.</summary>
public sealed record TrainingProgress(int Step, int TotalSteps, double Loss, double LearningRate, TimeSpan Elapsed)
{
    /// <summary>Estimated time left, from the pace so far.</summary>
    public TimeSpan? Eta => Step > 0 ? Elapsed / Step * (TotalSteps - Step) : null;
}
