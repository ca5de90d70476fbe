using ModelSoups.TorchSharp.Training;

namespace ModelSoups.Experiments.Vision;

/// <summary>What the demo is doing: a stage (data, ingredients, evaluate, uniform_soup, …) and either a message or, while training, the sweep's progress.</summary>
public sealed record DemoProgress(string Stage, string? Message, SweepProgress? Training = null);
