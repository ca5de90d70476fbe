using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace ModelSoups.Formats.PyTorch;

/// <summary>
/// One <c>torch.save</c> file, opened read-only and memory-mapped, its pickle read by the
/// <see cref="RestrictedUnpickler"/> (nothing in it is executed). Both layouts:
/// <list type="bullet">
/// <item>zip (PyTorch ≥ 1.6): <c>PREFIX/data.pkl</c>, one record <c>PREFIX/data/KEY</c> per storage
/// (stored, so mapped in place), optional <c>PREFIX/byteorder</c>;</item>
/// <item>legacy (<c>_use_new_zipfile_serialization=False</c>): five pickles back to back — magic
/// number, protocol version 1001, sys info (byte order), the object, the storage keys — then each
/// storage as an 8-byte little-endian element count and its bytes.</item>
/// </list>
/// Layouts as <c>torch/serialization.py</c> (<c>_save</c>, <c>_legacy_save</c>, <c>_load</c>, <c>_legacy_load</c>) writes and reads them.
/// </summary>
internal sealed class PyTorchFile : IDisposable
{
    /// <summary>The legacy format's first pickle: <c>MAGIC_NUMBER = 0x1950a86a20f9469cfc6c</c>.</summary>
    static readonly BigInteger LegacyMagic = BigInteger.Parse("1950a86a20f9469cfc6c", System.Globalization.NumberStyles.HexNumber);
    const long LegacyProtocolVersion = 1001;

    readonly FileMapping _file;

    public string Path => _file.Path;
    public long Length => _file.Length;

    /// <summary>The unpickled object (usually a dict).</summary>
    public object Root { get; }

    /// <summary>True when the storages are big-endian (the file's <c>byteorder</c> record or legacy sys info says so).</summary>
    public bool BigEndian { get; }

    /// <summary>"zip" or "legacy".</summary>
    public string Layout { get; }

    PyTorchFile(FileMapping file, object root, bool bigEndian, string layout)
    {
        _file = file;
        Root = root;
        BigEndian = bigEndian;
        Layout = layout;
    }

    /// <summary>Opens, maps and unpickles <paramref name="path"/>.</summary>
    /// <exception cref="PyTorchFormatException">The file is not a torch.save file, or breaks a rule.</exception>
    public static PyTorchFile Open(string path)
    {
        path = System.IO.Path.GetFullPath(path);
        var file = FileMapping.Open(path);
        try
        {
            var kind = FileSignature.Detect(file.Slice(0, (int)Math.Min(FileSignature.PrefixBytes, file.Length)), file.Length);
            return kind switch
            {
                FileKind.Zip => OpenZip(file),
                FileKind.Pickle => OpenLegacy(file),
                _ => throw new PyTorchFormatException(PyTorchErrorKind.NotPyTorch,
                    $"is not a torch.save file: it looks like {FileSignature.Describe(kind)}.", path),
            };
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    static PyTorchFile OpenZip(FileMapping file)
    {
        string path = file.Path;
        var entries = ZipDirectory.Read(file);
        var pickles = entries.Keys.Where(n => n.EndsWith("/data.pkl", StringComparison.Ordinal) && n.IndexOf('/') == n.Length - "/data.pkl".Length).ToList();
        if (pickles.Count == 0)
        {
            bool torchScript = entries.Keys.Any(n => n.EndsWith("/constants.pkl", StringComparison.Ordinal) || n.Contains("/code/", StringComparison.Ordinal));
            throw new PyTorchFormatException(PyTorchErrorKind.NotPyTorch, torchScript
                ? "is a TorchScript archive (torch.jit.save), not a torch.save state dict; save model.state_dict() with torch.save instead."
                : "is a zip archive without a data.pkl record: not a torch.save file.", path);
        }
        if (pickles.Count > 1)
            throw new PyTorchFormatException(PyTorchErrorKind.InvalidZip, $"the archive has {pickles.Count} data.pkl records ({string.Join(", ", pickles)}); torch.save writes one.", path);
        string prefix = pickles[0][..^"data.pkl".Length];

        bool bigEndian = false;
        if (entries.TryGetValue(prefix + "byteorder", out var bo))
        {
            string order = Encoding.ASCII.GetString(EntryBytes(file, bo, 16)).Trim();
            bigEndian = order switch
            {
                "little" => false,
                "big" => true,
                _ => throw new PyTorchFormatException(PyTorchErrorKind.InvalidZip, $"the byteorder record says '{order}', not 'little' or 'big'.", path),
            };
        }

        var storages = new Dictionary<(string, string), TorchStorage>();
        object PersistentLoad(PyTuple pid)
        {
            // ('storage', storage_type, key, location, numel)
            if (pid.Count != 5 || pid[0] is not string tag || tag != "storage" || pid[1] is not PyGlobal { Kind: GlobalKind.StorageType } type
                || pid[2] is not string key || pid[4] is not long numel || numel < 0)
                throw new PyTorchFormatException(PyTorchErrorKind.InvalidPickle,
                    $"a persistent id is ({string.Join(", ", pid.Items.Select(RestrictedUnpickler.Describe))}), not ('storage', type, key, location, numel).", path);
            if (storages.TryGetValue((key, type.FullName), out var known)) return known;
            if (!entries.TryGetValue(prefix + "data/" + key, out var entry))
                throw new PyTorchFormatException(PyTorchErrorKind.StorageSizeMismatch, $"storage record '{prefix}data/{key}' is missing from the archive.", path);
            long need = checked(numel * ElementSize(type));
            if (entry.Size != need)
                throw new PyTorchFormatException(PyTorchErrorKind.StorageSizeMismatch,
                    $"storage record '{entry.Name}' holds {entry.Size} bytes but {numel} elements of {type.FullName} need {need}.", path);
            var s = new TorchStorage(key, type, numel);
            if (entry.IsStored) s.BindMapped(file, entry.DataOffset, entry.Size);
            else s.BindInflated(entry.Size, () => ZipDirectory.Inflate(file, entry));
            storages.Add((key, type.FullName), s);
            return s;
        }

        var pkl = entries[pickles[0]];
        if (pkl.Size > PickleLimits.MaxPickleBytes)
            throw new PyTorchFormatException(PyTorchErrorKind.LimitExceeded, $"data.pkl is {pkl.Size} bytes, more than the limit of {PickleLimits.MaxPickleBytes}.", path);
        object root = pkl.IsStored
            ? RestrictedUnpickler.Load(file.Slice(pkl.DataOffset, (int)pkl.Size), path, PersistentLoad, out _)
            : RestrictedUnpickler.Load(ZipDirectory.Inflate(file, pkl), path, PersistentLoad, out _);
        return new PyTorchFile(file, root, bigEndian, "zip");
    }

    static PyTorchFile OpenLegacy(FileMapping file)
    {
        string path = file.Path;
        long pos = 0;
        object Next(Func<PyTuple, object>? persistentLoad)
        {
            var span = file.Slice(pos, (int)Math.Min(file.Length - pos, PickleLimits.MaxPickleBytes));
            if (span.IsEmpty) throw new PyTorchFormatException(PyTorchErrorKind.InvalidPickle, "the legacy file ends before all of its pickles (truncated?).", path);
            var v = RestrictedUnpickler.Load(span, path, persistentLoad, out int used);
            pos += used;
            return v;
        }

        var magic = Next(null);
        if (!(magic is BigInteger m && m == LegacyMagic))
            throw new PyTorchFormatException(PyTorchErrorKind.NotPyTorch,
                "is a Python pickle but not a torch.save file (it does not start with PyTorch's magic number).", path);
        if (Next(null) is not long version || version != LegacyProtocolVersion)
            throw new PyTorchFormatException(PyTorchErrorKind.InvalidPickle, $"the legacy torch.save protocol version is not {LegacyProtocolVersion}.", path);
        bool bigEndian = Next(null) is PyDict sysInfo && sysInfo.Get("little_endian") is false;

        var storages = new Dictionary<string, TorchStorage>(StringComparer.Ordinal);
        var views = new List<(TorchStorage View, string Root, long Offset)>();
        object PersistentLoad(PyTuple pid)
        {
            if (pid.Count >= 1 && pid[0] is "module")
                throw new PyTorchFormatException(PyTorchErrorKind.UnsupportedTensorKind,
                    "pickles a whole nn.Module (its source code), not a state dict; save model.state_dict() instead.", path);
            // ('storage', storage_type, root_key, location, numel, view_metadata)
            if (pid.Count != 6 || pid[0] is not "storage" || pid[1] is not PyGlobal { Kind: GlobalKind.StorageType } type
                || pid[2] is not string key || pid[4] is not long numel || numel < 0)
                throw new PyTorchFormatException(PyTorchErrorKind.InvalidPickle,
                    $"a persistent id is ({string.Join(", ", pid.Items.Select(RestrictedUnpickler.Describe))}), not ('storage', type, key, location, numel, view).", path);
            if (!storages.TryGetValue(key, out var root))
            {
                root = new TorchStorage(key, type, numel);
                storages.Add(key, root);
            }
            else if (root.Type.FullName != type.FullName || root.DeclaredElements != numel)
                throw new PyTorchFormatException(PyTorchErrorKind.InvalidPickle, $"storage '{key}' is declared twice with different types or sizes.", path);
            if (pid[5] is PyNone) return root;
            // Files from PyTorch < 1.? record views of a storage: (view_key, offset, view_size), in elements.
            if (pid[5] is not PyTuple { Count: 3 } view || view[0] is not string viewKey || view[1] is not long off || view[2] is not long size || off < 0 || size < 0)
                throw new PyTorchFormatException(PyTorchErrorKind.InvalidPickle, "a storage view record is not (key, offset, size).", path);
            var v = new TorchStorage(viewKey, type, size);
            views.Add((v, key, off));
            return v;
        }

        var obj = Next(PersistentLoad);
        if (Next(null) is not List<object> keys || keys.Any(k => k is not string))
            throw new PyTorchFormatException(PyTorchErrorKind.InvalidPickle, "the legacy file's storage key list is not a list of strings.", path);

        foreach (string key in keys.Cast<string>())
        {
            if (!storages.TryGetValue(key, out var s))
                throw new PyTorchFormatException(PyTorchErrorKind.InvalidPickle, $"the legacy file stores storage '{key}', which no tensor uses.", path);
            if (s.IsBound)
                throw new PyTorchFormatException(PyTorchErrorKind.InvalidPickle, $"the legacy file stores storage '{key}' twice.", path);
            if (file.Length - pos < 8)
                throw new PyTorchFormatException(PyTorchErrorKind.StorageSizeMismatch, $"the file ends before the data of storage '{key}' (truncated?).", path);
            ulong count = BinaryPrimitives.ReadUInt64LittleEndian(file.Slice(pos, 8));
            pos += 8;
            long es = ElementSize(s.Type);
            if (count != (ulong)s.DeclaredElements)
                throw new PyTorchFormatException(PyTorchErrorKind.StorageSizeMismatch,
                    $"storage '{key}' is declared with {s.DeclaredElements} elements but its data record says {count}.", path);
            long bytes = checked(s.DeclaredElements * es);
            if (bytes > file.Length - pos)
                throw new PyTorchFormatException(PyTorchErrorKind.StorageSizeMismatch,
                    $"storage '{key}' needs {bytes} bytes but the file has only {file.Length - pos} left (truncated?).", path);
            s.BindMapped(file, pos, bytes);
            pos += bytes;
        }
        foreach (var (view, rootKey, off) in views)
        {
            var root = storages[rootKey];
            if (!root.IsBound) continue;   // reported when a tensor uses it
            long es = ElementSize(root.Type);
            if (off > root.DeclaredElements || view.DeclaredElements > root.DeclaredElements - off)
                throw new PyTorchFormatException(PyTorchErrorKind.ViewOutOfRange,
                    $"storage view '{view.Key}' (offset {off}, {view.DeclaredElements} elements) reaches outside storage '{rootKey}' ({root.DeclaredElements} elements).", path);
            view.BindMapped(file, RootOffset(root) + off * es, view.DeclaredElements * es);
        }
        return new PyTorchFile(file, obj, bigEndian, "legacy");

        long RootOffset(TorchStorage root) => root.FileOffset;
    }

    /// <summary>Bytes per element of a storage type, including the ones whose dtype this toolkit does not read (to skip over them).</summary>
    static long ElementSize(PyGlobal storageType) => storageType.DType is { } d ? Tensors.DTypes.Size(d) : storageType.Name switch
    {
        "ComplexDoubleStorage" => 16,
        "ComplexFloatStorage" => 8,
        "QInt32Storage" => 4,
        _ => 1,   // QInt8, QUInt8, QUInt4x2, QUInt2x4
    };

    static byte[] EntryBytes(FileMapping file, ZipEntry e, int max)
    {
        if (e.Size > max) throw new PyTorchFormatException(PyTorchErrorKind.InvalidZip, $"record '{e.Name}' is {e.Size} bytes; at most {max} expected.", file.Path);
        return e.IsStored ? file.Slice(e.DataOffset, (int)e.Size).ToArray() : ZipDirectory.Inflate(file, e);
    }

    /// <summary>Unmaps the file.</summary>
    public void Dispose() => _file.Dispose();
}
