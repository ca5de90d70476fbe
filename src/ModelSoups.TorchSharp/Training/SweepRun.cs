namespace ModelSoups.TorchSharp.Training;

/// <summary>One run of a sweep: its folder name (e.g. <c>run-003</c>) and its hyperparameters.</summary>
public sealed record SweepRun(string Name, TrainingHyperparameters Hyperparameters);
