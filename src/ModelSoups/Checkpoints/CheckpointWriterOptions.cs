using ModelSoups.Formats.HuggingFace;

namespace ModelSoups.Checkpoints;

/// <summary>How <see cref="CheckpointWriter"/> lays out and publishes a checkpoint.</summary>
/// <param name="MaxShardBytes">Largest shard (tensor bytes), as transformers' <c>max_shard_size</c>; default 5GB (10^9 units).</param>
/// <param name="Metadata">The <c>__metadata__</c> written into every shard header (e.g. <c>format: pt</c>).</param>
/// <param name="Overwrite">Replace a non-empty output folder (the old one is moved aside, then deleted after the new one is in place).</param>
public sealed record CheckpointWriterOptions(long MaxShardBytes = ShardSize.Default, IReadOnlyDictionary<string, string>? Metadata = null, bool Overwrite = false);
