namespace ModelSoups.TorchSharp.Training;

/// <summary>
/// What a sweep is doing: preparing the common start (<paramref name="Run"/> index −1, name <c>_init</c>) or
/// run <paramref name="Run"/> of <paramref name="Runs"/>; <paramref name="Step"/> while it trains,
/// <paramref name="Done"/> when it is done, with its record in <paramref name="Finished"/> for runs (<paramref name="Skipped"/>: done by an earlier invocation).
/// </summary>
public sealed record SweepProgress(int Run, int Runs, string Name, TrainingProgress? Step, IngredientRecord? Finished = null, bool Skipped = false, bool Done = false);
