using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Models;

/// <summary>
/// The input the DnnImageFeaturizer ResNet-18 expects, as its ResNetPreprocess.onnx computes it:
/// RGB pixels in 0..255 are reordered to BGR and a 224×224 mean image is subtracted. That mean image
/// is, per channel, nearly constant (the Caffe ImageNet mean); its channel averages are used here so
/// any resolution works. Gray images (Fashion-MNIST) are repeated over the three channels.
/// </summary>
public static class ResNet18Preprocessing
{
    /// <summary>Per-channel averages (B, G, R) of ResNetPreprocess.onnx's MeanImage initializer.</summary>
    public static readonly float[] MeanBgr = [103.062624f, 115.902882f, 123.151631f];

    /// <summary>
    /// [N,1,h,w] gray in [0,1] → [N,3,size,size] network input: bilinear resize (align_corners=false),
    /// ×255, three channels, minus <see cref="MeanBgr"/>. 32 px keeps CPU training cheap (the backbone's
    /// last stage is then 1×1); 64 px keeps more spatial detail at ~4× the compute.
    /// </summary>
    public static Tensor FromGray(Tensor gray, int size)
    {
        if (gray.dim() != 4 || gray.shape[1] != 1) throw new ArgumentException($"expected [N,1,H,W], got [{string.Join(", ", gray.shape)}]");
        using var scope = NewDisposeScope();
        var x = gray.shape[2] == size && gray.shape[3] == size
            ? gray
            : nn.functional.interpolate(gray, [size, size], mode: InterpolationMode.Bilinear, align_corners: false);
        var mean = tensor(MeanBgr).reshape(1, 3, 1, 1);
        // × a tensor, not `* 255f`: TorchSharp's operator turns the float into a Scalar left to the finalizer, which can
        // free it while the native call still reads it ("Unknown scalar type"; dotnet/TorchSharp#1434).
        return (x.expand(-1, 3, -1, -1) * tensor(255f) - mean).MoveToOuterDisposeScope();
    }

    /// <summary>[N,3,h,w] RGB in [0,1] → [N,3,size,size] network input: bilinear resize, ×255, RGB → BGR, minus <see cref="MeanBgr"/>.</summary>
    public static Tensor FromRgb(Tensor rgb, int size)
    {
        if (rgb.dim() != 4 || rgb.shape[1] != 3) throw new ArgumentException($"expected [N,3,H,W], got [{string.Join(", ", rgb.shape)}]");
        using var scope = NewDisposeScope();
        var x = rgb.shape[2] == size && rgb.shape[3] == size
            ? rgb
            : nn.functional.interpolate(rgb, [size, size], mode: InterpolationMode.Bilinear, align_corners: false);
        var mean = tensor(MeanBgr).reshape(1, 3, 1, 1);
        return (x.flip(1) * tensor(255f) - mean).MoveToOuterDisposeScope();
    }
}
