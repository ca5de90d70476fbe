using ModelSoups.Sparse;

namespace ModelSoups.TorchSharp.Sparse;

/// <summary>
/// What a sparse run is doing in phase <paramref name="Phase"/> of <paramref name="Phases"/>: <paramref name="Stage"/> is
/// <c>prune</c>, <c>retrain</c> (model <paramref name="Name"/>, with <paramref name="Step"/> while it trains), <c>soup</c>,
/// or <c>scored</c> (with the model's <paramref name="Row"/>).
/// </summary>
public sealed record SparseProgress(int Phase, int Phases, string Stage, string? Name = null, Training.TrainingProgress? Step = null, SparseRow? Row = null, string? Message = null);
