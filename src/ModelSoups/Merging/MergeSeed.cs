using System.Runtime.CompilerServices;
using System.Text;

namespace ModelSoups.Merging;

/// <summary>
/// Deterministic randomness owned by this library, so merges never depend on .NET's
/// <see cref="Random"/>: FNV-1a 64 for names, SplitMix64 (Steele, Lea, Flood 2014) for mixing, used
/// as a counter-based generator — value j is a pure function of (seed, j), which makes DARE
/// independent of how the engine splits a tensor into blocks.
/// </summary>
public static class MergeSeed
{
    const ulong Golden = 0x9E37_79B9_7F4A_7C15;

    /// <summary>The per-tensor seed: mixes the recipe's random_seed with the tensor name.</summary>
    public static ulong ForTensor(ulong randomSeed, string tensorName) => Mix(randomSeed ^ Mix(Fnv1a64(tensorName)));

    /// <summary>A stream for input model <paramref name="model"/> derived from the tensor seed.</summary>
    public static ulong ForModel(ulong tensorSeed, int model) => Mix(tensorSeed + (ulong)(model + 1) * 0xD1B5_4A32_D192_ED03);

    /// <summary>FNV-1a 64-bit hash of the UTF-8 bytes of <paramref name="text"/>.</summary>
    public static ulong Fnv1a64(string text)
    {
        ulong h = 0xCBF2_9CE4_8422_2325;
        foreach (byte b in Encoding.UTF8.GetBytes(text)) { h ^= b; h *= 0x0000_0100_0000_01B3; }
        return h;
    }

    /// <summary>The SplitMix64 output function.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB;
        return z ^ (z >> 31);
    }

    /// <summary>The j-th 64-bit value of the SplitMix64 stream started at <paramref name="seed"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong At(ulong seed, long j) => Mix(seed + (ulong)(j + 1) * Golden);

    /// <summary>The j-th uniform double in [0, 1) (53 random bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double UniformAt(ulong seed, long j) => (At(seed, j) >> 11) * (1.0 / (1UL << 53));
}
