namespace ModelSoups.Merging;

/// <summary>The parameters of <see cref="Ram"/> and <see cref="RamPlusTl"/> for one tensor, typed.</summary>
/// <param name="Epsilon">Below this magnitude a task-vector entry counts as zero (<c>epsilon</c>).</param>
/// <param name="R">RAM+: the overlap ratio r (<c>r</c>); 0 for RAM.</param>
/// <param name="Alpha">RAM+: the rescale strength α (<c>alpha</c>); 0 for RAM.</param>
public sealed record RamParameters(double Epsilon, double R = 0, double Alpha = 0);
