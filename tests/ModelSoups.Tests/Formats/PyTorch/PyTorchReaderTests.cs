using System.Runtime.InteropServices;
using ModelSoups.Checkpoints;
using ModelSoups.Formats.PyTorch;
using ModelSoups.Tensors;
using static ModelSoups.Tests.Formats.PyTorch.PyTorchFixtures;

namespace ModelSoups.Tests.Formats.PyTorch;

/// <summary>
/// The torch.save fixtures written by Debian's python3-torch 1.13 (Reference/make_fixtures.py) read
/// exactly as PyTorch shows them: every tensor compared byte for byte with the safetensors file the
/// same script wrote from <c>t.contiguous()</c>.
/// </summary>
public sealed class PyTorchReaderTests
{
    [Theory]
    [InlineData("dtypes.pt")]            // zip, protocol 2: f64 f32 f16 bf16 i64 i32 i16 i8 u8 bool, a scalar, an empty tensor
    [InlineData("dtypes_legacy.pt")]     // legacy (_use_new_zipfile_serialization=False)
    [InlineData("dtypes_p4.pt")]         // zip, pickle protocol 4 (FRAME, MEMOIZE, STACK_GLOBAL, SHORT_BINUNICODE)
    [InlineData("views.pt")]             // offsets, slices, transposes, steps, a stride-0 broadcast, tied weights
    [InlineData("views_legacy.pt")]
    [InlineData("views_deflated.pt")]    // the same records deflated instead of stored
    [InlineData("bigendian.pt")]         // byteorder record "big", elements byte-swapped
    [InlineData("bigendian_legacy.pt")]  // legacy sys info little_endian=False, elements byte-swapped
    [InlineData("tiny_a.bin")]           // a module.state_dict(): OrderedDict with _metadata (BUILD), bf16, an int64 counter
    [InlineData("dataparallel.pth")]
    [InlineData("lightning.ckpt")]       // state_dict beside optimizer state, hyperparameters, bytes and a numpy scalar
    [InlineData("nested_model_legacy.pth")]
    [InlineData("hf-sharded")]           // pytorch_model.bin.index.json + two shards
    public void Fixture_reads_exactly_as_pytorch_shows_it(string fixture)
    {
        using var c = Checkpoint.Open(Fixture(fixture));
        Assert.IsType<PyTorchCheckpoint>(c);
        AssertSameTensors(Expected(fixture), c);
    }

    [Fact]
    public void Views_resolve_offsets_and_strides_to_the_values_a_user_sees()
    {
        // base = arange(24).reshape(4, 6): element [r, c] is 6r + c.
        using var c = Checkpoint.Open(Fixture("views.pt"));
        float[] F(string name) => MemoryMarshal.Cast<byte, float>(c.Tensors[name].GetBytes()).ToArray();
        Assert.Equal([8f, 9, 10, 14, 15, 16], F("slice"));                      // base[1:3, 2:5]: offset 8, strides (6, 1)
        Assert.Equal([12f, 13, 14, 15, 16, 17], F("row"));                      // base[2]: offset 12
        Assert.Equal([0f, 6, 12, 18, 1, 7], F("transpose")[..6]);                // base.t(): strides (1, 6)
        Assert.Equal([0f, 2, 4, 6, 8, 10], F("stepped")[..6]);                   // base[:, ::2]: strides (6, 2)
        Assert.Equal([0L, 1, 2, 0, 1, 2], MemoryMarshal.Cast<byte, long>(c.Tensors["broadcast"].GetBytes()).ToArray());  // stride 0
        // A block read from the middle of a gathered view: bytes [4, 12) of the transpose are elements 1 and 2 = 6, 12.
        Assert.Equal([6f, 12], MemoryMarshal.Cast<byte, float>(c.Tensors["transpose"].GetBytes(4, 8)).ToArray());
    }

    [Fact]
    public void Tied_weights_are_one_storage_mapped_once_not_copied()
    {
        using var c = Checkpoint.Open(Fixture("views.pt"));
        var a = c.Tensors["embed.weight"].GetBytes();
        var b = c.Tensors["lm_head.weight"].GetBytes();
        // Same address: both names view the same bytes of the mapped file (no copy per name, no copy per call).
        Assert.True(Unsafe_SameAddress(a, b));
        Assert.True(Unsafe_SameAddress(a, c.Tensors["embed.weight"].GetBytes()));
        // The row-major slice at offset 12 is a view 48 bytes into base's storage.
        unsafe
        {
            fixed (byte* pb = c.Tensors["base"].GetBytes())
            fixed (byte* pr = c.Tensors["row"].GetBytes())
                Assert.Equal(48, pr - pb);
        }
    }

    static unsafe bool Unsafe_SameAddress(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        fixed (byte* pa = a) fixed (byte* pb = b) return pa == pb;
    }

    [Fact]
    public void Lightning_checkpoint_takes_state_dict_and_says_so()
    {
        using var c = Checkpoint.Open(Fixture("lightning.ckpt"));
        Assert.Contains(c.Notes, n => n.Contains("key 'state_dict' (auto-detected", StringComparison.Ordinal));
        Assert.All(c.Tensors.Keys, k => Assert.StartsWith("model.", k));
    }

    [Fact]
    public void State_dict_key_and_strip_prefix_choose_and_rename()
    {
        using var c = Checkpoint.Open(Fixture("lightning.ckpt"), new CheckpointOpenOptions { StateDictKey = "state_dict", StripPrefix = "model." });
        AssertSameTensors(Expected("lightning.ckpt"), c, n => n["model.".Length..]);
        Assert.Contains(c.Notes, n => n == "stripped 'model.' from 8 of 8 names");
        Assert.DoesNotContain(c.Notes, n => n.Contains("auto-detected", StringComparison.Ordinal));

        using var dp = Checkpoint.Open(Fixture("dataparallel.pth"), new CheckpointOpenOptions { StripPrefix = "module." });
        Assert.Contains("fc.weight", dp.Tensors.Keys);
        Assert.DoesNotContain(dp.Tensors.Keys, k => k.StartsWith("module.", StringComparison.Ordinal));
    }

    [Fact]
    public void Dataparallel_prefix_is_pointed_out_when_not_stripped()
    {
        using var c = Checkpoint.Open(Fixture("dataparallel.pth"));
        Assert.Contains(c.Notes, n => n.Contains("--strip-prefix module.", StringComparison.Ordinal));
    }

    [Fact]
    public void Nested_state_dict_key_path_reaches_a_deeper_dict()
    {
        // lightning.ckpt's callbacks/ModelCheckpoint holds no tensors: asking for it names the problem.
        var e = Assert.Throws<PyTorchFormatException>(() => Checkpoint.Open(Fixture("lightning.ckpt"), new CheckpointOpenOptions { StateDictKey = "callbacks/ModelCheckpoint" }));
        Assert.Equal(PyTorchErrorKind.NoStateDict, e.Kind);
        var missing = Assert.Throws<PyTorchFormatException>(() => Checkpoint.Open(Fixture("lightning.ckpt"), new CheckpointOpenOptions { StateDictKey = "weights" }));
        Assert.Contains("'state_dict'", missing.Message);   // lists the keys that do exist
        Assert.Contains("'optimizer_states'", missing.Message);
    }

    [Fact]
    public void Hf_folder_with_pytorch_model_bin_opens_like_its_safetensors_equivalent()
    {
        using var c = Checkpoint.Open(Fixture("hf-single"));
        Assert.Equal(Fixture("hf-single"), c.Location);
        Assert.Equal(Fixture("hf-single"), c.Folder);
        AssertSameTensors(Expected("tiny_a.bin"), c);

        using var sharded = Checkpoint.Open(Fixture("hf-sharded/pytorch_model.bin.index.json"));
        Assert.Equal(2, sharded.Files.Count);
        AssertSameTensors(Expected("hf-sharded"), sharded);
    }

    [Fact]
    public void A_safetensors_file_named_bin_is_read_as_safetensors()
    {
        using var dir = new TempDir();
        string p = dir.File("weights.bin");
        System.IO.File.Copy(Expected("views.pt"), p);
        using var c = Checkpoint.Open(p);
        Assert.IsType<SafetensorsCheckpoint>(c);
        AssertSameTensors(Expected("views.pt"), c);
    }

    [Fact]
    public void Docs_list_every_allowed_global()
    {
        // docs/formats.md is the user's view of the allow-list; it must name exactly these globals.
        string root = AppContext.BaseDirectory;
        while (!System.IO.File.Exists(Path.Combine(root, "ModelSoups.slnx"))) root = Path.GetDirectoryName(root)!;
        string doc = System.IO.File.ReadAllText(Path.Combine(root, "docs", "formats.md"));
        foreach (var g in AllowedGlobals.Names) Assert.Contains($"`{g}`", doc);
    }

    [Fact]
    public void Float8_through_rebuild_tensor_v3()
    {
        // PyTorch >= 2.1 saves f8 as an UntypedStorage (numel in bytes) plus a dtype argument:
        // _rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, torch.float8_e4m3fn).
        // Built by hand because Debian's torch 1.13 predates f8.
        var w = new PickleWriter().Proto().OrderedDict().Str("w").Global("torch._utils", "_rebuild_tensor_v3").Mark()
            .Storage("UntypedStorage", "0", 4).Int(1).Mark().Int(3).Tuple().Mark().Int(1).Tuple()
            .Op(0x89).OrderedDict().Global("torch", "float8_e4m3fn").Tuple().Reduce().SetItem().Stop();
        using var dir = new TempDir();
        string p = dir.File("f8.pt");
        TorchZip.Write(p, w.ToArray(), new Dictionary<string, byte[]> { ["0"] = [0x00, 0x38, 0x40, 0xC8] });
        using var c = Checkpoint.Open(p);
        var t = c.Tensors["w"];
        Assert.Equal(DType.F8_E4M3, t.DType);
        Assert.Equal([3L], t.Shape);
        // Offset 1: bytes 0x38, 0x40, 0xC8 = 1.0, 2.0, -4.0 in e4m3fn (bias 7: 0x38 = 0 0111 000 → 2^0).
        Assert.Equal([0x38, 0x40, 0xC8], t.GetBytes().ToArray());
    }

    [Fact]
    public void Every_fixture_dtype_maps_to_the_toolkit_dtype()
    {
        using var c = Checkpoint.Open(Fixture("dtypes.pt"));
        var expected = new Dictionary<string, DType>
        {
            ["f64"] = DType.F64, ["f32"] = DType.F32, ["f16"] = DType.F16, ["bf16"] = DType.BF16, ["i64"] = DType.I64, ["i32"] = DType.I32,
            ["i16"] = DType.I16, ["i8"] = DType.I8, ["u8"] = DType.U8, ["bool"] = DType.Bool, ["scalar"] = DType.F32, ["empty"] = DType.F32,
        };
        foreach (var (name, dtype) in expected) Assert.Equal(dtype, c.Tensors[name].DType);
        // torch.tensor(3.25): rank 0, one element; zeros(0, 4): no bytes.
        Assert.Empty(c.Tensors["scalar"].Shape);
        Assert.Equal(3.25f, BitConverter.ToSingle(c.Tensors["scalar"].GetBytes()));
        Assert.Equal(0, c.Tensors["empty"].ByteLength);
    }
}
