namespace ModelSoups.Merging;

/// <summary>The parameters of <see cref="Passthrough"/> for one tensor, typed.</summary>
/// <param name="Source">The model copied (<c>source</c>, 0-based).</param>
/// <param name="Scale">Its scale (<c>scale</c> of that model; 1 when the source does not exist, which validation refuses).</param>
/// <param name="ModelCount">Input models the source must be among.</param>
public sealed record PassthroughParameters(int Source, double Scale, int ModelCount);
