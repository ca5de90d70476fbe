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
    /// <remarks>The files are read with positional reads (pread) into one reused buffer per file, from the same
    /// page cache the merge maps, so the disk is read once for both. Not through a mapping: another process
    /// truncating an input would then fault this thread (SIGBUS) instead of giving a short read we can report.</remarks>
    /// <exception cref="EnvironmentFaultException">An input's length changed while it was hashed.</exception>
    public static IReadOnlyList<RecipeWriter.InputFile> Compute(IReadOnlyList<string> files, int threads, Action<long> onBytes, CancellationToken cancel)
    {
        var result = new RecipeWriter.InputFile[files.Count];
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads), CancellationToken = cancel }, i =>
        {
            var (length, digest) = Hash(files[i], onBytes, cancel);
            result[i] = new RecipeWriter.InputFile(files[i], length, digest);
        });
        return result;
    }

    static (long Length, string Digest) Hash(string path, Action<long> onBytes, CancellationToken cancel)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.SequentialScan);
        long length = RandomAccess.GetLength(handle);
        var buffer = new byte[Math.Min(Slice, Math.Max(length, 1))];
        for (long off = 0; off < length;)
        {
            cancel.ThrowIfCancellationRequested();
            int n = RandomAccess.Read(handle, buffer.AsSpan(0, (int)Math.Min(buffer.Length, length - off)), off);
            if (n == 0)
                throw new EnvironmentFaultException(
                    $"the input changed while being read (it was {length:N0} bytes and ended at {off:N0}); nothing was written. Rerun once no other process is writing it.", path);
            hash.AppendData(buffer.AsSpan(0, n));
            onBytes(n);
            off += n;
        }
        return (length, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }
}
