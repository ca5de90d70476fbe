using ModelSoups.Cli;
using ModelSoups.Formats.PyTorch;

namespace ModelSoups.Tests.Formats.PyTorch;

/// <summary>
/// Hostile pickles in torch.save's own layout. Each would create a marker file if anything in it ran
/// (as <c>torch.load</c> without <c>weights_only</c> would run it); <c>soup inspect</c> must refuse each
/// with one line and exit code 2, and the marker must never appear.
/// </summary>
public sealed class MaliciousPickleTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    string Marker => _dir.File("PWNED");

    static (int Code, string Out, string Err) Soup(params string[] args) => SoupInProcess.Run(args);

    void AssertRefused(byte[] pickle, string expected)
    {
        string p = _dir.File("evil.bin");
        TorchZip.Write(p, pickle, new Dictionary<string, byte[]> { ["0"] = new byte[8] });
        foreach (var command in new[] { "inspect", "convert" })
        {
            var args = command == "convert" ? new[] { command, p, "--out", _dir.File("out") } : new[] { command, p };
            var (code, stdout, stderr) = Soup(args);
            Assert.Equal(2, code);
            Assert.Equal("", stdout);
            Assert.StartsWith($"soup: {p}: ", stderr);
            Assert.Contains(expected, stderr);
            Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        }
        Assert.False(File.Exists(Marker), "the payload ran");
        Assert.False(Directory.Exists(_dir.File("out")));
    }

    /// <summary>A state dict with one real tensor and, under "x", the payload built by <paramref name="payload"/>.</summary>
    static byte[] StateDictWith(Action<PickleWriter> payload)
    {
        var w = new PickleWriter().Proto().OrderedDict().Mark()
            .Str("weight").Tensor("FloatStorage", "0", 2, 0, [2], [1])
            .Str("x");
        payload(w);
        return w.SetItems().Stop().ToArray();
    }

    [Theory]
    [InlineData("os", "system")]
    [InlineData("posix", "system")]   // how os.system pickles on Linux
    [InlineData("nt", "system")]
    public void Os_system_reduce(string module, string name)
    {
        AssertRefused(StateDictWith(w => w.Global(module, name).Str($"touch {Marker}").Op(0x85).Reduce()),
            $"refused: the pickle names the global '{module}.{name}', which is not on the allow-list of a state dict (nothing was executed).");
    }

    [Fact]
    public void Builtins_eval()
    {
        AssertRefused(StateDictWith(w => w.Global("builtins", "eval").Str($"open('{Marker}', 'w').close()").Op(0x85).Reduce()), "'builtins.eval'");
    }

    [Fact]
    public void Python2_builtin_exec()
    {
        AssertRefused(StateDictWith(w => w.Global("__builtin__", "exec").Str($"open('{Marker}', 'w').close()").Op(0x85).Reduce()), "'__builtin__.exec'");
    }

    [Fact]
    public void Subprocess_popen()
    {
        AssertRefused(StateDictWith(w => w.Global("subprocess", "Popen").Op(']').Mark().Str("touch").Str(Marker).Op('e').Op(0x85).Reduce()), "'subprocess.Popen'");
    }

    [Fact]
    public void A_model_class_from_an_unexpected_module()
    {
        // torch.save(model) pickles the class by name; NEWOBJ would construct it, BUILD would set its state.
        AssertRefused(StateDictWith(w => w.Global("mymodels.resnet", "ResNet").Op(')').Op(0x81).EmptyDict().Op('b')), "'mymodels.resnet.ResNet'");
    }

    [Fact]
    public void Protocol_4_stack_global()
    {
        AssertRefused(StateDictWith(w => w.Op(0x8c).Raw(5).Raw("posix"u8.ToArray()).Op(0x8c).Raw(6).Raw("system"u8.ToArray()).Op(0x93)
            .Str($"touch {Marker}").Op(0x85).Reduce()), "'posix.system'");
    }

    [Fact]
    public void A_global_smuggled_inside_an_allowed_call()
    {
        // _rebuild_from_type_v2(func, type, args, state) with func = os.system: refused at the GLOBAL, before the call.
        AssertRefused(StateDictWith(w => w.Global("torch._tensor", "_rebuild_from_type_v2").Mark()
            .Global("os", "system").Global("torch.nn.parameter", "Parameter").Str($"touch {Marker}").Op(0x85).EmptyDict().Tuple().Reduce()), "'os.system'");
    }

    [Fact]
    public void Deep_nesting_bomb()
    {
        var w = new PickleWriter().Proto();
        for (int i = 0; i < 100_000; i++) w.Mark();
        AssertRefused(w.Stop().ToArray(), $"nests more than {PickleLimits.MaxMarkDepth} levels deep");
    }

    [Fact]
    public void Deep_tuple_nesting()
    {
        var w = new PickleWriter().Proto().Op(')');
        for (int i = 0; i < 10_000; i++) w.Op(0x85);   // ((((),),),) ...
        AssertRefused(w.Stop().ToArray(), $"nests tuples more than {PickleLimits.MaxNestingDepth} deep");
    }

    [Fact]
    public void Deep_dict_nesting()
    {
        // {"a": {"a": {"a": ...}}} 100 000 deep, built without MARK: dicts and keys pushed first, then SETITEM after SETITEM.
        const int Depth = 100_000;
        var w = new PickleWriter().Proto();
        for (int i = 0; i < Depth; i++) w.EmptyDict().Str("a");
        w.EmptyDict();
        for (int i = 0; i < Depth; i++) w.SetItem();
        AssertRefused(w.Stop().ToArray(), "more than 100 deep");
    }

    [Fact]
    public void Shared_list_explosion()
    {
        // {"state_dict": {"k": L60}} where L_i = [L_{i-1}, L_{i-1}] through the memo: 2^60 paths if walked
        // naively while looking for tensors; each list is visited once here.
        var w = new PickleWriter().Proto().EmptyDict().Str("state_dict").EmptyDict().Str("k").Op(']').Op('q').Raw(0);
        for (int i = 1; i <= 60; i++)
        {
            w.Op('0');                                                       // drop L_{i-1} from the stack (it stays in the memo)
            w.Op(']').Mark().Op('h').Raw((byte)(i - 1)).Op('h').Raw((byte)(i - 1)).Op('e').Op('q').Raw((byte)i);
        }
        w.SetItem().SetItem();
        AssertRefused(w.Stop().ToArray(), "holds no tensors");
    }

    [Fact]
    public void Memo_bomb()
    {
        var w = new PickleWriter().Proto().Op('N');
        for (int i = 0; i <= PickleLimits.MaxMemoEntries; i++) w.Op('r').Raw(BitConverter.GetBytes((uint)i));
        AssertRefused(w.Op('0').Stop().ToArray(), $"more than {PickleLimits.MaxMemoEntries} memo entries");
    }

    [Fact]
    public void Python_written_payload_fixture_is_refused_unrun()
    {
        // Reference/malicious_os_system.pt: written by torch.save with a __reduce__ returning os.system("touch /tmp/...").
        const string pythonMarker = "/tmp/modelsoups-pytorch-fixture-pwned";
        if (File.Exists(pythonMarker)) File.Delete(pythonMarker);
        string p = PyTorchFixtures.Fixture("malicious_os_system.pt");
        var (code, _, stderr) = Soup("inspect", p);
        Assert.Equal(2, code);
        Assert.Equal($"soup: {p}: refused: the pickle names the global 'posix.system', which is not on the allow-list of a state dict (nothing was executed).\n", stderr.Replace("\r", ""));
        Assert.False(File.Exists(pythonMarker), "the payload ran");
    }
}
