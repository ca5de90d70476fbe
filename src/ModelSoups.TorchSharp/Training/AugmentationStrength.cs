using ModelSoups.TorchSharp.Data;

namespace ModelSoups.TorchSharp.Training;

/// <summary>
/// One number for a sweep's augmentation axis: 0 none, 1 the strongest used here (random crop after
/// padding by 1/7 of the side, i.e. 4 px on 28 px, horizontal flips, Gaussian noise σ = 0.05 on [0,1] inputs).
/// Strength scales padding and noise; flips start at 0.5.
/// </summary>
public static class AugmentationStrength
{
    /// <summary>The augmentation for <paramref name="strength"/> ∈ [0,1] on images of side <paramref name="side"/>.</summary>
    public static Augmentation For(double strength, int side)
    {
        if (strength <= 0) return Augmentation.None;
        int padding = (int)Math.Round(strength * side / 7.0);
        return new Augmentation(padding, Flip: strength >= 0.5, NoiseStd: (float)(0.05 * strength));
    }
}
