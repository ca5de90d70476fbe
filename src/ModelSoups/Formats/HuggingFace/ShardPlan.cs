using ModelSoups.Tensors;

namespace ModelSoups.Formats.HuggingFace;

/// <summary>
/// Splits tensors into shards the way huggingface_hub's <c>split_state_dict_into_shards_factory</c>
/// does (used by transformers' <c>save_pretrained</c>): greedily in the given order; a tensor
/// larger than the limit gets a shard of its own (emitted at once, before the shard being filled);
/// otherwise a new shard starts when the next tensor would push the current one over the limit.
/// Files are <c>model-0000i-of-0000N.safetensors</c>, or <c>model.safetensors</c> when there is one.
/// </summary>
public static class ShardPlan
{
    /// <summary>The single-file name transformers uses.</summary>
    public const string SingleFileName = "model.safetensors";

    /// <summary>Groups of tensors, one per shard, with their file names.</summary>
    public static IReadOnlyList<(string FileName, IReadOnlyList<TensorInfo> Tensors)> Plan(IReadOnlyList<TensorInfo> tensors, long maxShardBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxShardBytes, 1);
        var shards = new List<List<TensorInfo>>();
        var current = new List<TensorInfo>();
        long currentSize = 0;
        foreach (var t in tensors)
        {
            long size = t.ByteLength;
            if (size > maxShardBytes)
            {
                shards.Add([t]);
                continue;
            }
            if (currentSize + size > maxShardBytes)
            {
                shards.Add(current);
                current = [];
                currentSize = 0;
            }
            current.Add(t);
            currentSize += size;
        }
        if (current.Count > 0 || shards.Count == 0) shards.Add(current);

        int n = shards.Count;
        return shards.Select((s, i) => (n == 1 ? SingleFileName : ShardFileName(i + 1, n), (IReadOnlyList<TensorInfo>)s)).ToList();
    }

    /// <summary><c>model-00001-of-00003.safetensors</c> (1-based, 5 digits as transformers).</summary>
    public static string ShardFileName(int index, int count) => $"model-{index:D5}-of-{count:D5}.safetensors";
}
