using System.Buffers.Binary;
using System.Text;

namespace ModelSoups.Tests.Formats;

/// <summary>Builds raw safetensors files by hand, so tests can break any rule.</summary>
static class SafetensorsBytes
{
    /// <summary>8-byte length prefix (the true JSON length unless <paramref name="claimedLength"/>), JSON, then <paramref name="dataLength"/> bytes 0,1,2,...</summary>
    public static byte[] Build(string json, long dataLength, ulong? claimedLength = null) => Build(Encoding.UTF8.GetBytes(json), dataLength, claimedLength);

    public static byte[] Build(byte[] json, long dataLength, ulong? claimedLength = null)
    {
        var bytes = new byte[8 + json.Length + dataLength];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, claimedLength ?? (ulong)json.Length);
        json.CopyTo(bytes, 8);
        for (long i = 0; i < dataLength; i++) bytes[8 + json.Length + i] = (byte)i;
        return bytes;
    }
}
