using System.IO.MemoryMappedFiles;
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
    /// <remarks>The files are read through a read-only mapping — the same page-cache pages the merge maps — so
    /// hashing copies nothing and the disk is read once for both.</remarks>
    public static IReadOnlyList<RecipeWriter.InputFile> Compute(IReadOnlyList<string> files, int threads, Action<long> onBytes, CancellationToken cancel)
    {
        var result = new RecipeWriter.InputFile[files.Count];
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads), CancellationToken = cancel }, i =>
            result[i] = new RecipeWriter.InputFile(files[i], new FileInfo(files[i]).Length, Hash(files[i], onBytes, cancel)));
        return result;
    }

    static unsafe string Hash(string path, Action<long> onBytes, CancellationToken cancel)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long length = new FileInfo(path).Length;
        if (length > 0)
        {
            using var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            using var view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            try
            {
                p += view.PointerOffset;
                for (long off = 0; off < length; off += Slice)
                {
                    cancel.ThrowIfCancellationRequested();
                    int n = (int)Math.Min(Slice, length - off);
                    hash.AppendData(new ReadOnlySpan<byte>(p + off, n));
                    onBytes(n);
                }
            }
            finally
            {
                view.SafeMemoryMappedViewHandle.ReleasePointer();
            }
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
