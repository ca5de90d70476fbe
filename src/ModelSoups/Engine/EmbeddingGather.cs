using System.Buffers;
using System.Numerics;
using ModelSoups.Checkpoints;
using ModelSoups.Tensors;
using ModelSoups.Tokenizers;

namespace ModelSoups.Engine;

/// <summary>
/// Fills one input's compute buffer for a block of an embedding whose vocabulary changed: each
/// output row is the input's own row for that token or the stand-in rows (<see cref="EmbeddingRows"/>),
/// averaged in the compute dtype, zeros when there are none. Works on any element range, so
/// element-wise methods can still process the tensor in blocks.
/// </summary>
static class EmbeddingGather
{
    /// <summary>Most elements converted in one call (keeps byte counts within int).</summary>
    const int MaxRun = 1 << 22;

    /// <summary>Fills <paramref name="target"/> with elements [<paramref name="start"/>, start + length) of input <paramref name="input"/>'s permuted tensor; returns the bytes read.</summary>
    public static long Fill<T>(EmbeddingRows rows, int input, IReadOnlyList<TensorRef> sources, long width, long start, Span<T> target)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        long read = 0;
        int done = 0;
        while (done < target.Length)
        {
            long e = start + done;
            int row = checked((int)(e / width));
            int col = (int)(e % width);
            int len = (int)Math.Min(width - col, target.Length - done);
            int own = rows.OwnRow(input, row);
            if (own >= 0)
            {
                // The input's own rows: extend over the following rows while they stay consecutive in
                // the input (the usual case: a shared prefix of the vocabulary), and convert them at once.
                long end = e + len, limit = start + target.Length;
                for (int r = row + 1, o = own + 1; end < limit && end - e < MaxRun && rows.OwnRow(input, r) == o; r++, o++)
                    end = Math.Min(end + width, limit);
                int run = (int)Math.Min(end - e, MaxRun);
                read += Convert(sources[input], own * width + col, target.Slice(done, run));
                done += run;
                continue;
            }
            var segment = target.Slice(done, len);
            var from = rows.StandIn(row);
            if (from.Length == 0) segment.Clear();
            else
            {
                read += Convert(sources[from[0].Input], from[0].Row * width + col, segment);
                if (from.Length > 1)
                {
                    var scratch = ArrayPool<T>.Shared.Rent(len);
                    try
                    {
                        var other = scratch.AsSpan(0, len);
                        for (int k = 1; k < from.Length; k++)
                        {
                            read += Convert(sources[from[k].Input], from[k].Row * width + col, other);
                            for (int j = 0; j < len; j++) segment[j] += other[j];
                        }
                        var count = T.CreateChecked(from.Length);
                        for (int j = 0; j < len; j++) segment[j] /= count;
                    }
                    finally
                    {
                        ArrayPool<T>.Shared.Return(scratch);
                    }
                }
            }
            done += len;
        }
        return read;
    }

    static long Convert<T>(TensorRef source, long element, Span<T> target) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int size = source.DType.Size();
        int bytes = target.Length * size;
        // Positional reads, not the mapping: an input truncated meanwhile is an error naming it, not SIGBUS (one row at a time).
        byte[]? rented = bytes > 16 << 10 ? ArrayPool<byte>.Shared.Rent(bytes) : null;
        try
        {
            Span<byte> stage = rented is null ? stackalloc byte[bytes] : rented.AsSpan(0, bytes);
            source.ReadInto(element * size, stage);
            DTypeConversion.ToCompute(source.DType, stage, target);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
        return bytes;
    }
}
