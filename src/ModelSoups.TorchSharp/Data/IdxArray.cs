namespace ModelSoups.TorchSharp.Data;

/// <summary>An unsigned-byte IDX array (the MNIST / Fashion-MNIST file format): dimensions and row-major data.</summary>
public sealed record IdxArray(int[] Dims, byte[] Data)
{
    /// <summary>Number of items: the first dimension.</summary>
    public int Count => Dims[0];
}
