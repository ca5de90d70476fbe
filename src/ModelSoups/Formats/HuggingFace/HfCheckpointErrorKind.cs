namespace ModelSoups.Formats.HuggingFace;

/// <summary>Every way a Hugging Face checkpoint folder or shard index can be wrong.</summary>
public enum HfCheckpointErrorKind
{
    /// <summary>The path does not exist.</summary>
    NotFound,
    /// <summary>A folder with no <c>.safetensors</c> weights.</summary>
    NoWeights,
    /// <summary>Several candidate weight files or indexes and no way to choose.</summary>
    Ambiguous,
    /// <summary>The index is not valid JSON, or not shaped like <c>{"metadata": {...}, "weight_map": {...}}</c>.</summary>
    InvalidIndex,
    /// <summary>The index names a shard outside its folder (<c>../x</c>, an absolute path).</summary>
    ShardOutsideFolder,
    /// <summary>The index names a shard file that does not exist.</summary>
    MissingShard,
    /// <summary>The index lists a tensor its shard does not contain.</summary>
    TensorMissingFromShard,
    /// <summary>A shard holds a tensor the index does not list (strict: transformers would only warn).</summary>
    TensorNotInIndex,
    /// <summary>The same tensor name in two files.</summary>
    DuplicateTensor,
}
