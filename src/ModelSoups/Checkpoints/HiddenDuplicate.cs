namespace ModelSoups.Checkpoints;

/// <summary>
/// A tensor stored in a shard other than the one the shard index names for it. Readers disagree on which copy
/// they see (the index's or the last file's), so such a checkpoint is refused unless both copies are the same
/// tensor byte for byte; then the index's copy is read and the other is set aside with a note.
/// </summary>
internal static class HiddenDuplicate
{
    const int Slice = 1 << 20;

    /// <summary>Same dtype, shape and bytes (compared by positional reads, in slices).</summary>
    public static bool SameTensor(TensorRef a, TensorRef b)
    {
        if (a.DType != b.DType || !a.Info.SameShape(b.Info) || a.ByteLength != b.ByteLength) return false;
        var x = new byte[(int)Math.Min(Slice, a.ByteLength)];
        var y = new byte[x.Length];
        for (long off = 0; off < a.ByteLength; off += Slice)
        {
            int n = (int)Math.Min(Slice, a.ByteLength - off);
            a.ReadInto(off, x.AsSpan(0, n));
            b.ReadInto(off, y.AsSpan(0, n));
            if (!x.AsSpan(0, n).SequenceEqual(y.AsSpan(0, n))) return false;
        }
        return true;
    }
}
