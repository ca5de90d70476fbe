using CsCheck;
using ModelSoups.Checkpoints;
using ModelSoups.Formats.Safetensors;
using ModelSoups.Tensors;

namespace ModelSoups.Tests.Formats;

public class SafetensorsPropertyTests
{
    static readonly DType[] Writable = Enum.GetValues<DType>().Where(d => d.IsWritable()).ToArray();

    // Names include dots, quotes, backslashes, control characters, non-ASCII and a non-BMP character.
    static readonly Gen<string> GenName = Gen.String[Gen.Char["ab.z_0\"\\\n\u00e9\u4e2d"], 0, 6].Select(s => s + (s.Length % 3 == 0 ? "\U0001F600" : ""));

    static readonly Gen<(TensorInfo Info, int Seed)> GenTensor =
        Gen.Select(Gen.OneOf(Writable), Gen.Long[0, 4].Array[0, 3], GenName, Gen.Int)
           .Select((d, shape, name, seed) => (new TensorInfo(name, d, shape), seed));

    static readonly Gen<Dictionary<string, string>?> GenMetadata =
        Gen.Dictionary(GenName, GenName)[0, 3].Select(m => m.Count == 0 ? null : m);

    static byte[] Bytes(TensorInfo info, int seed)
    {
        var b = new byte[info.ByteLength];
        new Random(seed).NextBytes(b);
        return b;
    }

    [Fact]
    public void Write_then_read_gives_identical_bytes_shapes_dtypes_and_metadata()
    {
        using var dir = new TempDir();
        Gen.Select(GenTensor.Array[0, 6], GenMetadata).Sample((tensors, metadata) =>
        {
            var unique = tensors.DistinctBy(t => t.Info.Name).Where(t => t.Info.Name != SafetensorsHeader.MetadataKey)
                .Select(t => (t.Info, Data: Bytes(t.Info, t.Seed))).ToList();
            string p = dir.File("p.safetensors");
            SafetensorsFile.Write(p, unique, metadata);
            using var f = SafetensorsFile.Open(p);
            Assert.Equal(0, f.Header.DataStart % 8);
            Assert.Equal(unique.Count, f.Tensors.Count);
            foreach (var (info, data) in unique)
            {
                var t = f.Find(info.Name)!;
                Assert.Equal(info.DType, t.DType);
                Assert.Equal(info.Shape, t.Shape);
                Assert.True(t.GetBytes().SequenceEqual(data));
            }
            Assert.Equal(metadata ?? new Dictionary<string, string>(), f.Metadata.ToDictionary());
        }, iter: 150, threads: 1);
    }

    [Fact]
    public void Sharded_write_then_read_round_trips_through_a_folder()
    {
        using var dir = new TempDir();
        int round = 0;
        Gen.Select(GenTensor.Array[1, 12], Gen.Long[1, 64]).Sample((tensors, maxShard) =>
        {
            var unique = tensors.DistinctBy(t => t.Info.Name).Where(t => t.Info.Name != SafetensorsHeader.MetadataKey)
                .Select(t => (t.Info, Data: Bytes(t.Info, t.Seed))).ToList();
            string output = dir.File($"out{round++}");
            using (var source = new InMemoryCheckpoint(unique))
                Checkpoint.Save(source, output, new CheckpointWriterOptions(maxShard, new Dictionary<string, string> { ["format"] = "pt" }));
            using var back = Checkpoint.Open(output);
            Assert.Equal(unique.Count, back.Tensors.Count);
            foreach (var (info, data) in unique)
                Assert.True(back.Tensors[info.Name].GetBytes().SequenceEqual(data));
            Assert.Equal("pt", back.Metadata["format"]);
            Directory.Delete(output, recursive: true);
        }, iter: 60, threads: 1);
    }
}
