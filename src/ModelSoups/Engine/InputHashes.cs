using System.Security.Cryptography;
using ModelSoups.Recipes;

namespace ModelSoups.Engine;

/// <summary>SHA-256 of input files, for the provenance record of a merge.</summary>
static class InputHashes
{
    /// <summary>Hashes <paramref name="files"/> on up to <paramref name="threads"/> threads; <paramref name="onBytes"/> reports progress.</summary>
    public static IReadOnlyList<RecipeWriter.InputFile> Compute(IReadOnlyList<string> files, int threads, Action<long> onBytes, CancellationToken cancel)
    {
        var result = new RecipeWriter.InputFile[files.Count];
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads), CancellationToken = cancel }, i =>
        {
            using var stream = new FileStream(files[i], FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[1 << 20];
            long total = 0;
            int n;
            while ((n = stream.Read(buffer)) > 0)
            {
                cancel.ThrowIfCancellationRequested();
                hash.AppendData(buffer, 0, n);
                total += n;
                onBytes(n);
            }
            result[i] = new RecipeWriter.InputFile(files[i], total, Convert.ToHexStringLower(hash.GetHashAndReset()));
        });
        return result;
    }
}
