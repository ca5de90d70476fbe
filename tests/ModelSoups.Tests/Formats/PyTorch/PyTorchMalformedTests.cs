using ModelSoups.Checkpoints;
using ModelSoups.Formats.PyTorch;

namespace ModelSoups.Tests.Formats.PyTorch;

/// <summary>One test per rule of the PyTorch reader: each malformed input fails with its own <see cref="PyTorchErrorKind"/>.</summary>
public sealed class PyTorchMalformedTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    PyTorchFormatException Refused(string path, PyTorchErrorKind kind)
    {
        var e = Assert.Throws<PyTorchFormatException>(() => Checkpoint.Open(path).Dispose());
        Assert.True(kind == e.Kind, $"expected {kind}, got {e.Kind}: {e.Message}");
        Assert.Equal(path, e.Path);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    string Zip(byte[] pickle, Dictionary<string, byte[]>? storages = null, Dictionary<string, byte[]>? extra = null, string name = "m.pt")
    {
        string p = _dir.File(name);
        TorchZip.Write(p, pickle, storages, extra);
        return p;
    }

    static byte[] F32(int n) => new byte[n * 4];

    [Fact]
    public void Hand_built_zip_reads()   // the builder itself is right, so the failures below are about the rule they break
    {
        var p = Zip(PickleWriter.StateDict(("w", "FloatStorage", 6, 0, [2, 3], [3, 1])), new() { ["0"] = F32(6) });
        using var c = Checkpoint.Open(p);
        Assert.Equal([2L, 3], c.Tensors["w"].Shape);
    }

    [Fact]
    public void Zip64_archive_reads()
    {
        // Checkpoints over 4 GiB are zip64: sizes and offsets live in extra fields and a zip64 end record.
        var pickle = PickleWriter.StateDict(("w", "FloatStorage", 3, 1, [2], [1]));
        byte[] data = [.. BitConverter.GetBytes(1.5f), .. BitConverter.GetBytes(2.5f), .. BitConverter.GetBytes(-4f)];
        string p = _dir.File("zip64.pt");
        Zip64Writer.Write(p, [("archive/data.pkl", pickle), ("archive/data/0", data), ("archive/version", "3\n"u8.ToArray())]);
        using var c = Checkpoint.Open(p);
        // offset 1, size 2: elements 2.5 and -4.
        Assert.Equal([2.5f, -4f], System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(c.Tensors["w"].GetBytes()).ToArray());
    }

    [Fact]
    public void Zip64_end_record_missing()
    {
        var pickle = PickleWriter.StateDict(("w", "FloatStorage", 1, 0, [1], [1]));
        string p = _dir.File("zip64.pt");
        Zip64Writer.Write(p, [("archive/data.pkl", pickle), ("archive/data/0", new byte[4])]);
        byte[] b = File.ReadAllBytes(p);
        b[^42] ^= 0xFF;   // break the zip64 locator's signature (20 + 22 bytes from the end)
        File.WriteAllBytes(p, b);
        var e = Refused(p, PyTorchErrorKind.InvalidZip);
        Assert.Contains("zip64", e.Message);
    }

    [Fact]
    public void Truncated_zip()
    {
        byte[] all = File.ReadAllBytes(PyTorchFixtures.Fixture("views.pt"));
        string p = _dir.File("cut.pt");
        File.WriteAllBytes(p, all[..(all.Length / 2)]);
        var e = Refused(p, PyTorchErrorKind.TruncatedZip);
        Assert.Contains("end-of-central-directory", e.Message);
    }

    [Fact]
    public void Bytes_appended_after_a_zip_are_tolerated()
    {
        string p = _dir.File("appended.pt");
        File.WriteAllBytes(p, [.. File.ReadAllBytes(PyTorchFixtures.Fixture("views.pt")), .. new byte[100]]);
        using var c = Checkpoint.Open(p);
        PyTorchFixtures.AssertSameTensors(PyTorchFixtures.Expected("views.pt"), c);
    }

    [Fact]
    public void Zip_entry_running_past_the_central_directory()
    {
        // Grow the first entry's compressed size in its central header so it overlaps the directory.
        byte[] b = File.ReadAllBytes(PyTorchFixtures.Fixture("views.pt"));
        int cd = IndexOf(b, [0x50, 0x4b, 0x01, 0x02]);
        BitConverter.TryWriteBytes(b.AsSpan(cd + 20), 1_000_000u);
        BitConverter.TryWriteBytes(b.AsSpan(cd + 24), 1_000_000u);
        string p = _dir.File("big-entry.pt");
        File.WriteAllBytes(p, b);
        Refused(p, PyTorchErrorKind.TruncatedZip);
    }

    [Fact]
    public void Zip_entry_name_escaping_the_archive()
    {
        var p = Zip(PickleWriter.StateDict(("w", "FloatStorage", 1, 0, [1], [1])), new() { ["0"] = F32(1) }, new() { ["../evil"] = [1] });
        var e = Refused(p, PyTorchErrorKind.InvalidZip);
        Assert.Contains("escapes the archive", e.Message);
    }

    [Fact]
    public void Storage_record_shorter_than_its_elements()
    {
        var p = Zip(PickleWriter.StateDict(("w", "FloatStorage", 6, 0, [2, 3], [3, 1])), new() { ["0"] = F32(5) });
        var e = Refused(p, PyTorchErrorKind.StorageSizeMismatch);
        Assert.Contains("holds 20 bytes but 6 elements of torch.FloatStorage need 24", e.Message);
    }

    [Fact]
    public void Storage_record_missing()
    {
        var p = Zip(PickleWriter.StateDict(("w", "FloatStorage", 6, 0, [2, 3], [3, 1])));
        Refused(p, PyTorchErrorKind.StorageSizeMismatch);
    }

    [Fact]
    public void Legacy_storage_data_cut_short()
    {
        byte[] all = File.ReadAllBytes(PyTorchFixtures.Fixture("views_legacy.pt"));
        string p = _dir.File("cut_legacy.pt");
        File.WriteAllBytes(p, all[..^10]);
        Refused(p, PyTorchErrorKind.StorageSizeMismatch);
    }

    [Theory]
    [InlineData(4, new[] { 2, 3 }, new[] { 3, 1 })]   // offset 4 + (1·3 + 2·1) = element 9 of 6
    [InlineData(0, new[] { 2, 3 }, new[] { 1, 3 })]   // strides (1, 3): last element 1 + 6 = 7 of 6
    [InlineData(0, new[] { 7 }, new[] { 1 })]         // 7 elements in a storage of 6
    public void View_reaching_outside_its_storage(int offset, int[] size, int[] stride)
    {
        var p = Zip(PickleWriter.StateDict(("w", "FloatStorage", 6, offset, size, stride)), new() { ["0"] = F32(6) });
        var e = Refused(p, PyTorchErrorKind.ViewOutOfRange);
        Assert.Contains("tensor 'w'", e.Message);
    }

    [Fact]
    public void Negative_stride_or_offset()
    {
        Refused(Zip(PickleWriter.StateDict(("w", "FloatStorage", 6, 0, [2, 3], [3, -1])), new() { ["0"] = F32(6) }), PyTorchErrorKind.ViewOutOfRange);
        Refused(Zip(PickleWriter.StateDict(("w", "FloatStorage", 6, -1, [2], [1])), new() { ["0"] = F32(6) }, name: "neg.pt"), PyTorchErrorKind.ViewOutOfRange);
    }

    [Fact]
    public void Strides_overflowing_64_bits()
    {
        var p = Zip(PickleWriter.StateDict(("w", "FloatStorage", 6, 0, [int.MaxValue, int.MaxValue, int.MaxValue], [int.MaxValue, int.MaxValue, int.MaxValue])), new() { ["0"] = F32(6) });
        Refused(p, PyTorchErrorKind.ViewOutOfRange);
    }

    [Fact]
    public void Broadcast_view_claiming_far_more_bytes_than_its_storage()
    {
        // One f32 element viewed with stride 0 as 2^26 elements: 256 MiB of tensor from 4 bytes of file.
        var p = Zip(PickleWriter.StateDict(("w", "FloatStorage", 1, 0, [1 << 26], [0])), new() { ["0"] = F32(1) });
        var e = Refused(p, PyTorchErrorKind.ViewOutOfRange);
        Assert.Contains("expands 4 bytes of storage into 268435456 bytes", e.Message);
    }

    [Fact]
    public void Unsupported_dtype()
    {
        // complex64 storage: allowed by PyTorch's weights-only list, but not a dtype this toolkit reads.
        var p = Zip(PickleWriter.StateDict(("w", "ComplexFloatStorage", 2, 0, [2], [1])), new() { ["0"] = new byte[16] });
        var e = Refused(p, PyTorchErrorKind.UnsupportedDType);
        Assert.Contains("torch.ComplexFloatStorage", e.Message);
    }

    [Fact]
    public void Unknown_storage_type_is_a_refused_global()
    {
        var p = Zip(PickleWriter.StateDict(("w", "Float128Storage", 2, 0, [2], [1])), new() { ["0"] = new byte[32] });
        var e = Refused(p, PyTorchErrorKind.ForbiddenGlobal);
        Assert.Contains("'torch.Float128Storage'", e.Message);
    }

    [Theory]
    [InlineData((byte)'i')]   // INST: protocol 0 class instantiation
    [InlineData((byte)'o')]   // OBJ
    [InlineData((byte)0x82)]  // EXT1: the copyreg extension registry
    [InlineData((byte)0x97)]  // NEXT_BUFFER: protocol 5 out-of-band data
    [InlineData((byte)'S')]   // STRING: text protocol 0
    public void Opcode_outside_the_subset(byte op)
    {
        var p = Zip(new PickleWriter().Proto().Op(op).Stop().ToArray());
        var e = Refused(p, PyTorchErrorKind.UnsupportedOpcode);
        Assert.Contains("outside the subset torch.save writes", e.Message);
    }

    [Fact]
    public void Pickle_protocol_0_or_1_is_refused()
    {
        Refused(Zip(new PickleWriter().Proto(1).Op('N').Stop().ToArray()), PyTorchErrorKind.UnsupportedOpcode);
    }

    [Fact]
    public void Truncated_pickle()
    {
        var full = PickleWriter.StateDict(("w", "FloatStorage", 1, 0, [1], [1]));
        var e = Refused(Zip(full[..(full.Length - 5)], new() { ["0"] = F32(1) }), PyTorchErrorKind.InvalidPickle);
        Assert.Contains("before its STOP opcode", e.Message);
    }

    [Fact]
    public void Stack_underflow_and_bad_memo_reference()
    {
        Refused(Zip(new PickleWriter().Proto().Op('t').Stop().ToArray()), PyTorchErrorKind.InvalidPickle);                                  // TUPLE without MARK
        Refused(Zip(new PickleWriter().Proto().Op('h').Raw(7).Stop().ToArray(), name: "memo.pt"), PyTorchErrorKind.InvalidPickle);          // BINGET 7, never stored
        Refused(Zip(new PickleWriter().Proto().Op('s').Stop().ToArray(), name: "setitem.pt"), PyTorchErrorKind.InvalidPickle);              // SETITEM on nothing
        Refused(Zip(new PickleWriter().Proto().Str("a").Op('X').Raw(0x00, 0x01, 0x00, 0x00).ToArray(), name: "len.pt"), PyTorchErrorKind.InvalidPickle);  // length past the end
    }

    [Fact]
    public void String_that_is_not_utf8()
    {
        Refused(Zip(new PickleWriter().Proto().Op('X').Raw(2, 0, 0, 0, 0xC3, 0x28).Stop().ToArray()), PyTorchErrorKind.InvalidPickle);
    }

    [Fact]
    public void Allowed_global_with_the_wrong_arguments()
    {
        // _rebuild_tensor_v2('not a storage', 0, (1,), (1,), False, OrderedDict())
        var w = new PickleWriter().Proto().OrderedDict().Str("w").Global("torch._utils", "_rebuild_tensor_v2").Mark()
            .Str("oops").Int(0).Mark().Int(1).Tuple().Mark().Int(1).Tuple().Op(0x89).OrderedDict().Tuple().Reduce().SetItem().Stop();
        var e = Refused(Zip(w.ToArray()), PyTorchErrorKind.InvalidTensor);
        Assert.Contains("not (storage, offset, size, stride)", e.Message);
    }

    [Fact]
    public void Sparse_or_quantized_tensor_is_named()
    {
        var w = new PickleWriter().Proto().Global("torch._utils", "_rebuild_qtensor").Op(')').Reduce().Stop();
        var e = Refused(Zip(w.ToArray()), PyTorchErrorKind.UnsupportedTensorKind);
        Assert.Contains("torch._utils._rebuild_qtensor", e.Message);
    }

    [Fact]
    public void No_state_dict()
    {
        var w = new PickleWriter().Proto().EmptyDict().Str("epoch").Int(3).SetItem().Stop();
        var e = Refused(Zip(w.ToArray()), PyTorchErrorKind.NoStateDict);
        Assert.Contains("'epoch'", e.Message);
    }

    [Fact]
    public void Duplicate_name_after_stripping_the_prefix()
    {
        var p = Zip(PickleWriter.StateDict(("module.w", "FloatStorage", 1, 0, [1], [1]), ("w", "FloatStorage", 1, 0, [1], [1])),
            new() { ["0"] = F32(1), ["1"] = F32(1) });
        var e = Assert.Throws<PyTorchFormatException>(() => Checkpoint.Open(p, new CheckpointOpenOptions { StripPrefix = "module." }));
        Assert.Equal(PyTorchErrorKind.DuplicateName, e.Kind);
    }

    [Theory]
    [InlineData("GGUF\u0003\0\0\0\0\0\0\0\0\0\0\0", "a GGUF file (llama.cpp)")]
    [InlineData("\u0008\u0007\u0012\u0004test", "an ONNX model")]
    [InlineData("hello, this is text and no checkpoint", "no format this tool knows")]
    public void Neither_format_says_what_the_file_looks_like(string content, string looksLike)
    {
        string p = _dir.File("weights.bin");
        File.WriteAllBytes(p, content.Select(ch => (byte)ch).ToArray());
        var e = Refused(p, PyTorchErrorKind.NotPyTorch);
        Assert.Equal($"is neither a safetensors file nor a torch.save file: it looks like {looksLike}.", e.Message);
        Assert.DoesNotContain("header claims", e.Message);
    }

    [Fact]
    public void Zip_that_is_not_torch_save()
    {
        string p = _dir.File("other.zip.bin");
        using (var fs = File.Create(p))
        using (var zip = new System.IO.Compression.ZipArchive(fs, System.IO.Compression.ZipArchiveMode.Create))
            using (var s = zip.CreateEntry("readme.txt").Open()) s.Write("hi"u8);
        var e = Refused(p, PyTorchErrorKind.NotPyTorch);
        Assert.Contains("without a data.pkl", e.Message);
    }

    [Fact]
    public void TorchScript_archive_is_named()
    {
        string ts = _dir.File("ts2.pt");
        // torch.jit.save writes code/ and constants.pkl records beside its pickles.
        using (var fs = File.Create(ts))
        using (var zip = new System.IO.Compression.ZipArchive(fs, System.IO.Compression.ZipArchiveMode.Create))
        {
            using (var s = zip.CreateEntry("model/code/__torch__.py").Open()) s.Write("def forward(self): pass"u8);
            using (var s = zip.CreateEntry("model/constants.pkl").Open()) s.Write([0x80, 2, (byte)'N', (byte)'.']);
        }
        var e = Refused(ts, PyTorchErrorKind.NotPyTorch);
        Assert.Contains("TorchScript", e.Message);
    }

    [Fact]
    public void Plain_pickle_that_is_not_torch_save()
    {
        string p = _dir.File("plain.pkl");
        File.WriteAllBytes(p, new PickleWriter().Proto().Int(5).Stop().ToArray());
        var e = Refused(p, PyTorchErrorKind.NotPyTorch);
        Assert.Contains("magic number", e.Message);
    }

    static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i <= haystack.Length - needle.Length; i++)
            if (haystack.AsSpan(i, needle.Length).SequenceEqual(needle)) return i;
        throw new InvalidOperationException("not found");
    }
}
