using System.IO.Compression;
using System.Text;

namespace ModelSoups.Tests.Formats.PyTorch;

/// <summary>
/// Emits pickle opcodes by hand (protocol 2, as torch.save writes), so tests can build exactly the
/// hostile or malformed pickles they need — including ones Python would refuse to write.
/// </summary>
sealed class PickleWriter
{
    readonly MemoryStream _s = new();

    public PickleWriter Proto(int p = 2) => Op(0x80).Raw((byte)p);
    public PickleWriter Op(byte op) { _s.WriteByte(op); return this; }
    public PickleWriter Op(char op) => Op((byte)op);
    public PickleWriter Raw(params byte[] b) { _s.Write(b); return this; }
    public PickleWriter Global(string module, string name) => Op('c').Raw(Encoding.UTF8.GetBytes($"{module}\n{name}\n"));
    public PickleWriter Str(string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        return Op('X').Raw(BitConverter.GetBytes((uint)b.Length)).Raw(b);
    }
    public PickleWriter Int(int v) => Op('J').Raw(BitConverter.GetBytes(v));
    public PickleWriter Mark() => Op('(');
    public PickleWriter Tuple() => Op('t');
    public PickleWriter Reduce() => Op('R');
    public PickleWriter EmptyDict() => Op('}');
    public PickleWriter SetItem() => Op('s');
    public PickleWriter SetItems() => Op('u');
    public PickleWriter Stop() => Op('.');

    /// <summary>collections.OrderedDict() on the stack.</summary>
    public PickleWriter OrderedDict() => Global("collections", "OrderedDict").Op(')').Reduce();

    /// <summary>A persistent id ('storage', torch.TYPE, key, 'cpu', numel) and BINPERSID.</summary>
    public PickleWriter Storage(string type, string key, int numel) =>
        Mark().Str("storage").Global("torch", type).Str(key).Str("cpu").Int(numel).Tuple().Op('Q');

    /// <summary>_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()).</summary>
    public PickleWriter Tensor(string storageType, string key, int numel, int offset, int[] size, int[] stride)
    {
        Global("torch._utils", "_rebuild_tensor_v2").Mark();
        Storage(storageType, key, numel).Int(offset);
        Mark(); foreach (var d in size) Int(d); Tuple();
        Mark(); foreach (var d in stride) Int(d); Tuple();
        Op(0x89).OrderedDict().Tuple().Reduce();
        return this;
    }

    public byte[] ToArray() => _s.ToArray();

    /// <summary>A state dict {name: tensor} pickle, each tensor a view of its own storage "0", "1", ...</summary>
    public static byte[] StateDict(params (string Name, string StorageType, int Numel, int Offset, int[] Size, int[] Stride)[] tensors)
    {
        var w = new PickleWriter().Proto().OrderedDict().Mark();
        for (int i = 0; i < tensors.Length; i++)
        {
            var t = tensors[i];
            w.Str(t.Name).Tensor(t.StorageType, i.ToString(), t.Numel, t.Offset, t.Size, t.Stride);
        }
        return w.SetItems().Stop().ToArray();
    }
}

/// <summary>Writes a zip in torch.save's layout (archive/data.pkl, archive/data/KEY, archive/version), records stored.</summary>
static class TorchZip
{
    public static void Write(string path, byte[] pickle, IReadOnlyDictionary<string, byte[]>? storages = null, IReadOnlyDictionary<string, byte[]>? extra = null)
    {
        using var fs = File.Create(path);
        using var zip = new ZipArchive(fs, ZipArchiveMode.Create);
        void Add(string name, byte[] data)
        {
            var e = zip.CreateEntry(name, CompressionLevel.NoCompression);
            using var s = e.Open();
            s.Write(data);
        }
        Add("archive/data.pkl", pickle);
        foreach (var (k, v) in storages ?? new Dictionary<string, byte[]>()) Add("archive/data/" + k, v);
        Add("archive/version", "3\n"u8.ToArray());
        foreach (var (k, v) in extra ?? new Dictionary<string, byte[]>()) Add(k, v);
    }
}
