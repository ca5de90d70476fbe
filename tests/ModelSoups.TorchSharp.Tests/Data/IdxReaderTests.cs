using System.IO.Compression;
using ModelSoups.TorchSharp.Data;

namespace ModelSoups.TorchSharp.Tests.Data;

public sealed class IdxReaderTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("idx-tests").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    static byte[] Idx(byte type, int[] dims, byte[] data)
    {
        var b = new List<byte> { 0, 0, type, (byte)dims.Length };
        foreach (var d in dims) b.AddRange(BitConverter.GetBytes(d).Reverse()); // big-endian
        b.AddRange(data);
        return b.ToArray();
    }

    static byte[] Gzip(byte[] bytes)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(bytes);
        return ms.ToArray();
    }

    string Write(string name, byte[] bytes)
    {
        var p = Path.Combine(_dir, name);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    [Fact]
    public void Reads_plain_and_gzipped_files_identically()
    {
        var data = Enumerable.Range(0, 2 * 3 * 4).Select(i => (byte)(i * 7)).ToArray();
        var raw = Idx(0x08, [2, 3, 4], data);
        foreach (var path in new[] { Write("a-idx3-ubyte", raw), Write("a-idx3-ubyte.gz", Gzip(raw)) })
        {
            var a = IdxReader.Read(path);
            Assert.Equal([2, 3, 4], a.Dims);
            Assert.Equal(2, a.Count);
            Assert.Equal(data, a.Data);
        }
    }

    [Fact]
    public void Empty_first_dimension_is_valid()
    {
        Assert.Empty(IdxReader.Parse(Idx(0x08, [0, 28, 28], [])).Data);
    }

    static void Rejects(byte[] bytes, string fragment)
    {
        var e = Assert.Throws<ModelSoupsException>(() => IdxReader.Parse(bytes, "f.idx"));
        Assert.Contains(fragment, e.Message);
        Assert.Equal("f.idx", e.Path);
    }

    [Fact] public void Rejects_file_shorter_than_magic() => Rejects([0, 0, 8], "shorter than the 4-byte magic");
    [Fact] public void Rejects_bad_magic() => Rejects([1, 0, 8, 1, 0, 0, 0, 0], "magic");
    [Fact] public void Rejects_other_element_types() => Rejects(Idx(0x0D, [1], new byte[4]), "0x0D");
    [Fact] public void Rejects_rank_zero() => Rejects([0, 0, 8, 0], "rank 0");
    [Fact] public void Rejects_rank_above_limit() => Rejects(Idx(0x08, [1, 1, 1, 1, 1], [1]), "rank 5");
    [Fact] public void Rejects_truncated_header() => Rejects([0, 0, 8, 3, 0, 0, 0, 1, 0, 0], "header is truncated");
    [Fact] public void Rejects_negative_dimension() => Rejects(Idx(0x08, [-1], []), "negative");
    [Fact] public void Rejects_truncated_data() => Rejects(Idx(0x08, [2, 2], [1, 2, 3]), "truncated");
    [Fact] public void Rejects_trailing_bytes() => Rejects(Idx(0x08, [2], [1, 2, 3]), "trailing");
    [Fact] public void Rejects_oversized_dimensions() => Rejects(Idx(0x08, [65536, 65536], []), "more than");
    [Fact] public void Rejects_corrupt_gzip() => Rejects([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0x07, 0, 0], "gzip"); // deflate block type 3 is reserved

    [Fact]
    public void Missing_fashion_mnist_names_the_apt_command()
    {
        var e = Assert.Throws<ModelSoupsException>(() => FashionMnist.Locate(_dir));
        Assert.Contains("apt-get install -y dataset-fashion-mnist", e.Message);
    }

    [Fact]
    public void Images_and_labels_must_agree()
    {
        var images = Write("i", Idx(0x08, [2, 2, 2], new byte[8]));
        var labels = Write("l", Idx(0x08, [3], [0, 1, 2]));
        Assert.Contains("3 labels for 2 images", Assert.Throws<ModelSoupsException>(() => FashionMnist.Load(images, labels)).Message);
        var badLabel = Write("l2", Idx(0x08, [2], [0, 10]));
        Assert.Contains("label 10", Assert.Throws<ModelSoupsException>(() => FashionMnist.Load(images, badLabel)).Message);
        Assert.Contains("3 dimensions", Assert.Throws<ModelSoupsException>(() => FashionMnist.Load(labels, labels)).Message);
    }

    [Fact]
    public void Reads_the_installed_fashion_mnist()
    {
        // scripts/setup-system-deps --for-tests installs dataset-fashion-mnist (Debian).
        var files = FashionMnist.Locate();
        var train = FashionMnist.Load(files, train: true);
        var test = FashionMnist.Load(files, train: false);
        Assert.Equal(60000, train.Count);
        Assert.Equal(10000, test.Count);
        Assert.Equal((28, 28), (train.Height, train.Width));
        Assert.All(train.Labels.GroupBy(l => l), g => Assert.Equal(6000, g.Count())); // balanced classes
        Assert.Equal(9, train.Labels[0]); // the first training image is an ankle boot
        var (x, y) = train.Batch([0, 1]);
        using (x) using (y)
        {
            Assert.Equal([2L, 1, 28, 28], x.shape);
            Assert.InRange(x.max().item<float>(), 0.9f, 1f);
            Assert.Equal(9L, y[0].item<long>());
        }
    }
}
