using System.Security.Cryptography;
using ModelSoups.Recipes;

namespace ModelSoups.Engine;

/// <summary>SHA-256 of input files, for the provenance record of a merge.</summary>
static class InputHashes
{
    /// <summary>Bytes hashed between progress reports and cancellation checks.</summary>
    const int Slice = 4 << 20;

    /// <summary>The same records with a placeholder of the digest's length (64 hex digits), to reserve header space.</summary>
    public static IReadOnlyList<RecipeWriter.InputFile> Placeholders(IReadOnlyList<string> files) =>
        files.Select(f => new RecipeWriter.InputFile(f, new FileInfo(f).Length, new string('f', 64))).ToList();

    /// <summary>Hashes <paramref name="files"/> on up to <paramref name="threads"/> threads; <paramref name="onBytes"/> reports progress.</summary>
    /// <remarks>Each read goes into a buffer rented from <paramref name="budget"/> (the merge's own, so hashing
    /// counts against the cap; at most a quarter of it per thread) and given back right after, so the workers never wait
    /// long for it. The files are read with positional reads (pread), from the same
    /// page cache the merge maps, so the disk is read once for both. Not through a mapping: another process
    /// truncating an input would then fault this thread (SIGBUS) instead of giving a short read we can report.</remarks>
    /// <exception cref="EnvironmentFaultException">An input's length changed while it was hashed.</exception>
    public static IReadOnlyList<RecipeWriter.InputFile> Compute(IReadOnlyList<string> files, int threads, MemoryBudget budget, Action<long> onBytes, CancellationToken cancel)
    {
        var result = new RecipeWriter.InputFile[files.Count];
        long slice = Math.Clamp(budget.Capacity / (4L * Math.Max(1, threads)), 1, Slice);
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads), CancellationToken = cancel }, i =>
        {
            var (length, digest) = Hash(files[i], (int)slice, budget, onBytes, cancel);
            result[i] = new RecipeWriter.InputFile(files[i], length, digest);
        });
        return result;
    }

    static (long Length, string Digest) Hash(string path, int slice, MemoryBudget budget, Action<long> onBytes, CancellationToken cancel)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.SequentialScan);
        long length = RandomAccess.GetLength(handle);
        for (long off = 0; off < length;)
        {
            cancel.ThrowIfCancellationRequested();
            int want = (int)Math.Min(slice, length - off);
            var buffer = budget.Rent(want, cancel);
            int n;
            try
            {
                var span = buffer.AsSpan<byte>(0, want);
                n = RandomAccess.Read(handle, span, off);
                if (n == 0)
                    throw new EnvironmentFaultException(
                        $"the input changed while being read (it was {length:N0} bytes and ended at {off:N0}); nothing was written. Rerun once no other process is writing it.", path);
                hash.AppendData(span[..n]);
            }
            finally { budget.Return(buffer); }
            onBytes(n);
            off += n;
        }
        return (length, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }
}
