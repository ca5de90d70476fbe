using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using ModelSoups.Tensors;

namespace ModelSoups.Formats.PyTorch;

/// <summary>
/// A pickle interpreter for the subset of protocols 2–5 that <c>torch.save</c> writes. It builds
/// plain data (PyValues.cs): a GLOBAL is looked up in <see cref="AllowedGlobals"/> and
/// refused on the spot when absent, and REDUCE/NEWOBJ/BUILD on an allowed global are interpreted
/// here (a tensor record, an OrderedDict...) — nothing from the file is ever called. Opcodes that
/// construct arbitrary objects (INST, OBJ, EXT*), out-of-band buffers and the text protocol 0/1
/// opcodes are refused. Every resource is capped by <see cref="PickleLimits"/>.
/// </summary>
/// <remarks>
/// Semantics follow CPython's <c>Lib/pickle.py</c> (<c>_Unpickler</c>); the allow-list idea and the
/// interpreted rebuild functions follow PyTorch's <c>torch/_weights_only_unpickler.py</c>.
/// </remarks>
internal sealed class RestrictedUnpickler
{
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    readonly string _path;
    readonly Func<PyTuple, object> _persistentLoad;
    readonly List<object> _stack = [];
    readonly List<int> _marks = [];
    readonly Dictionary<long, object> _memo = [];
    long _operations;

    /// <summary>Every tensor the pickle built, in order (the file validates them once storages are located).</summary>
    public List<TorchTensor> Tensors { get; } = [];

    RestrictedUnpickler(string path, Func<PyTuple, object> persistentLoad)
    {
        _path = path;
        _persistentLoad = persistentLoad;
    }

    /// <summary>
    /// Reads one pickle from the start of <paramref name="data"/> up to its STOP opcode.
    /// <paramref name="consumed"/> is the number of bytes it occupied.
    /// </summary>
    public static object Load(ReadOnlySpan<byte> data, string path, Func<PyTuple, object>? persistentLoad, out int consumed, List<TorchTensor>? tensors = null)
    {
        var u = new RestrictedUnpickler(path, persistentLoad ?? (pid => throw new PyTorchFormatException(PyTorchErrorKind.InvalidPickle,
            "the pickle has a persistent id where none is expected.", path)));
        if (data.Length > PickleLimits.MaxPickleBytes) data = data[..PickleLimits.MaxPickleBytes];
        var result = u.Run(data, out consumed);
        tensors?.AddRange(u.Tensors);
        return result;
    }

    PyTorchFormatException Error(PyTorchErrorKind kind, string message) => new(kind, message, _path);

    PyTorchFormatException Truncated(int at) => Error(PyTorchErrorKind.InvalidPickle, $"the pickle ends at byte {at} before its STOP opcode (truncated?).");

    object Run(ReadOnlySpan<byte> d, out int consumed)
    {
        int pos = 0;
        while (true)
        {
            if (pos >= d.Length) throw Truncated(pos);
            if (++_operations > PickleLimits.MaxOperations)
                throw Error(PyTorchErrorKind.LimitExceeded, $"the pickle runs more than {PickleLimits.MaxOperations} operations.");
            int at = pos;
            byte op = d[pos++];
            switch (op)
            {
                case 0x80: // PROTO
                {
                    int proto = Byte(d, ref pos);
                    if (proto is < 2 or > 5)
                        throw Error(PyTorchErrorKind.UnsupportedOpcode, $"the pickle uses protocol {proto}; torch.save writes protocols 2 to 5.");
                    break;
                }
                case 0x95: // FRAME: a length prefix for buffering; the bytes that follow are ordinary opcodes
                {
                    ulong n = BinaryPrimitives.ReadUInt64LittleEndian(Take(d, ref pos, 8));
                    if (n > (ulong)(d.Length - pos)) throw Truncated(d.Length);
                    break;
                }
                case (byte)'.': // STOP
                {
                    if (_marks.Count != 0) throw Error(PyTorchErrorKind.InvalidPickle, "the pickle stops with a MARK still open.");
                    if (_stack.Count != 1) throw Error(PyTorchErrorKind.InvalidPickle, $"the pickle stops with {_stack.Count} values on the stack instead of 1.");
                    consumed = pos;
                    return _stack[0];
                }
                case (byte)'(': // MARK
                    if (_marks.Count >= PickleLimits.MaxMarkDepth)
                        throw Error(PyTorchErrorKind.LimitExceeded, $"the pickle nests more than {PickleLimits.MaxMarkDepth} levels deep (MARK).");
                    _marks.Add(_stack.Count);
                    break;
                case (byte)'0': Pop(); break;                 // POP
                case (byte)'1': PopMark(); break;             // POP_MARK
                case (byte)'2': Push(Peek()); break;          // DUP
                case (byte)'N': Push(PyNone.Value); break;    // NONE
                case 0x88: Push(true); break;                 // NEWTRUE
                case 0x89: Push(false); break;                // NEWFALSE
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(d, ref pos, 4))); break;   // BININT
                case (byte)'K': Push((long)Byte(d, ref pos)); break;                                                // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(d, ref pos, 2))); break;   // BININT2
                case 0x8a: Push(Long(Take(d, ref pos, Byte(d, ref pos)))); break;                                   // LONG1
                case 0x8b: // LONG4
                {
                    int n = BinaryPrimitives.ReadInt32LittleEndian(Take(d, ref pos, 4));
                    if (n < 0 || n > PickleLimits.MaxLongBytes)
                        throw Error(PyTorchErrorKind.LimitExceeded, $"the pickle has a {n}-byte integer (limit {PickleLimits.MaxLongBytes}).");
                    Push(Long(Take(d, ref pos, n)));
                    break;
                }
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Take(d, ref pos, 8))); break;   // BINFLOAT
                case (byte)'X': Push(Utf8(Take(d, ref pos, Length(BinaryPrimitives.ReadUInt32LittleEndian(Take(d, ref pos, 4)), d, pos)))); break;  // BINUNICODE
                case 0x8c: Push(Utf8(Take(d, ref pos, Byte(d, ref pos)))); break;                                  // SHORT_BINUNICODE
                case 0x8d: Push(Utf8(Take(d, ref pos, Length(BinaryPrimitives.ReadUInt64LittleEndian(Take(d, ref pos, 8)), d, pos)))); break;  // BINUNICODE8
                case (byte)'B': Push(Take(d, ref pos, Length(BinaryPrimitives.ReadUInt32LittleEndian(Take(d, ref pos, 4)), d, pos)).ToArray()); break;  // BINBYTES
                case (byte)'C': Push(Take(d, ref pos, Byte(d, ref pos)).ToArray()); break;                         // SHORT_BINBYTES
                case 0x8e or 0x96: Push(Take(d, ref pos, Length(BinaryPrimitives.ReadUInt64LittleEndian(Take(d, ref pos, 8)), d, pos)).ToArray()); break;  // BINBYTES8, BYTEARRAY8
                case (byte)'U': Push(Latin1(Take(d, ref pos, Byte(d, ref pos)))); break;                           // SHORT_BINSTRING (Python 2 str)
                case (byte)'T': // BINSTRING
                {
                    int n = BinaryPrimitives.ReadInt32LittleEndian(Take(d, ref pos, 4));
                    if (n < 0) throw Error(PyTorchErrorKind.InvalidPickle, "the pickle has a string of negative length.");
                    Push(Latin1(Take(d, ref pos, Length((ulong)n, d, pos))));
                    break;
                }
                case (byte)')': Push(NewTuple([])); break;                                  // EMPTY_TUPLE
                case (byte)'t': Push(NewTuple(PopMark())); break;                           // TUPLE
                case 0x85: Push(NewTuple([Pop()])); break;                                  // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); Push(NewTuple([a, b])); break; } // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(NewTuple([a, b, c])); break; }  // TUPLE3
                case (byte)']': Push(new List<object>()); break;                            // EMPTY_LIST
                case (byte)'a': { var v = Pop(); As<List<object>>(Peek(), "APPEND").Add(v); break; }           // APPEND
                case (byte)'e': { var items = PopMark(); As<List<object>>(Peek(), "APPENDS").AddRange(items); break; }  // APPENDS
                case (byte)'}': Push(new PyDict()); break;                                  // EMPTY_DICT
                case (byte)'s': { var v = Pop(); var k = Pop(); SetItem(As<PyDict>(Peek(), "SETITEM"), k, v); break; }  // SETITEM
                case (byte)'u': // SETITEMS
                {
                    var items = PopMark();
                    if (items.Length % 2 != 0) throw Error(PyTorchErrorKind.InvalidPickle, "SETITEMS has an odd number of items.");
                    var dict = As<PyDict>(Peek(), "SETITEMS");
                    for (int i = 0; i < items.Length; i += 2) SetItem(dict, items[i], items[i + 1]);
                    break;
                }
                case 0x8f: Push(new PySet(frozen: false)); break;                           // EMPTY_SET
                case 0x90: { var items = PopMark(); As<PySet>(Peek(), "ADDITEMS").Items.AddRange(items); break; }  // ADDITEMS
                case 0x91: { var set = new PySet(frozen: true); set.Items.AddRange(PopMark()); Push(set); break; }  // FROZENSET
                case (byte)'h': Push(MemoGet(Byte(d, ref pos))); break;                                             // BINGET
                case (byte)'j': Push(MemoGet(BinaryPrimitives.ReadUInt32LittleEndian(Take(d, ref pos, 4)))); break; // LONG_BINGET
                case (byte)'q': MemoPut(Byte(d, ref pos)); break;                                                   // BINPUT
                case (byte)'r': MemoPut(BinaryPrimitives.ReadUInt32LittleEndian(Take(d, ref pos, 4))); break;       // LONG_BINPUT
                case 0x94: MemoPut(_memo.Count); break;                                                             // MEMOIZE
                case (byte)'c': // GLOBAL "module\nname\n"
                {
                    string module = Line(d, ref pos);
                    string name = Line(d, ref pos);
                    Push(ResolveGlobal(module, name));
                    break;
                }
                case 0x93: // STACK_GLOBAL
                {
                    var name = Pop();
                    var module = Pop();
                    if (module is not string m || name is not string n)
                        throw Error(PyTorchErrorKind.InvalidPickle, "STACK_GLOBAL needs two strings on the stack.");
                    Push(ResolveGlobal(m, n));
                    break;
                }
                case (byte)'R': // REDUCE: callable(*args)
                {
                    var args = As<PyTuple>(Pop(), "REDUCE arguments");
                    var callable = Pop();
                    Push(Call(callable, args));
                    break;
                }
                case 0x81: // NEWOBJ: cls.__new__(cls, *args)
                {
                    var args = As<PyTuple>(Pop(), "NEWOBJ arguments");
                    var cls = Pop();
                    Push(Call(cls, args));
                    break;
                }
                case 0x92: // NEWOBJ_EX: cls.__new__(cls, *args, **kwargs)
                {
                    var kwargs = As<PyDict>(Pop(), "NEWOBJ_EX keyword arguments");
                    var args = As<PyTuple>(Pop(), "NEWOBJ_EX arguments");
                    var cls = Pop();
                    if (kwargs.Count != 0) throw Error(PyTorchErrorKind.UnsupportedOpcode, $"NEWOBJ_EX with keyword arguments for {Describe(cls)} is outside what torch.save writes.");
                    Push(Call(cls, args));
                    break;
                }
                case (byte)'b': Build(Pop(), Peek()); break;  // BUILD: obj.__setstate__(state)
                case (byte)'Q': // BINPERSID
                {
                    var pid = As<PyTuple>(Pop(), "a persistent id");
                    Push(_persistentLoad(pid));
                    break;
                }
                default:
                    throw Error(PyTorchErrorKind.UnsupportedOpcode,
                        $"pickle opcode {OpcodeName(op)} at byte {at} is outside the subset torch.save writes; refusing the file.");
            }
        }
    }

    // ---- stack, marks, memo -------------------------------------------------

    void Push(object v)
    {
        if (_stack.Count >= PickleLimits.MaxStackItems)
            throw Error(PyTorchErrorKind.LimitExceeded, $"the pickle puts more than {PickleLimits.MaxStackItems} values on the stack.");
        _stack.Add(v);
    }

    object Pop()
    {
        int floor = _marks.Count > 0 ? _marks[^1] : 0;
        if (_stack.Count <= floor) throw Error(PyTorchErrorKind.InvalidPickle, "the pickle pops from an empty stack.");
        var v = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return v;
    }

    object Peek()
    {
        int floor = _marks.Count > 0 ? _marks[^1] : 0;
        if (_stack.Count <= floor) throw Error(PyTorchErrorKind.InvalidPickle, "the pickle reads from an empty stack.");
        return _stack[^1];
    }

    object[] PopMark()
    {
        if (_marks.Count == 0) throw Error(PyTorchErrorKind.InvalidPickle, "the pickle closes a MARK that was never opened.");
        int mark = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        var items = _stack.GetRange(mark, _stack.Count - mark).ToArray();
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    object MemoGet(long index) =>
        _memo.TryGetValue(index, out var v) ? v : throw Error(PyTorchErrorKind.InvalidPickle, $"the pickle reads memo entry {index}, which was never stored.");

    void MemoPut(long index)
    {
        if (!_memo.ContainsKey(index) && _memo.Count >= PickleLimits.MaxMemoEntries)
            throw Error(PyTorchErrorKind.LimitExceeded, $"the pickle stores more than {PickleLimits.MaxMemoEntries} memo entries.");
        _memo[index] = Peek();
    }

    PyTuple NewTuple(object[] items)
    {
        var t = new PyTuple(items);
        if (t.Depth > PickleLimits.MaxNestingDepth)
            throw Error(PyTorchErrorKind.LimitExceeded, $"the pickle nests tuples more than {PickleLimits.MaxNestingDepth} deep.");
        return t;
    }

    void SetItem(PyDict dict, object key, object value)
    {
        if (key is List<object> or PyDict or PySet { Frozen: false })
            throw Error(PyTorchErrorKind.InvalidPickle, "the pickle uses an unhashable value (list, dict or set) as a dict key.");
        dict.Set(key, value);
    }

    T As<T>(object v, string what) where T : class =>
        v as T ?? throw Error(PyTorchErrorKind.InvalidPickle, $"{what} must be a {PyName(typeof(T))}, not {Describe(v)}.");

    // ---- reading bytes ------------------------------------------------------

    int Byte(ReadOnlySpan<byte> d, ref int pos) => pos < d.Length ? d[pos++] : throw Truncated(pos);

    ReadOnlySpan<byte> Take(ReadOnlySpan<byte> d, ref int pos, int n)
    {
        if (n > d.Length - pos) throw Truncated(d.Length);
        var s = d.Slice(pos, n);
        pos += n;
        return s;
    }

    /// <summary>A length read from the pickle, checked against the limit and the bytes left before anything is allocated.</summary>
    int Length(ulong n, ReadOnlySpan<byte> d, int pos)
    {
        if (n > PickleLimits.MaxStringBytes)
            throw Error(PyTorchErrorKind.LimitExceeded, $"the pickle has a {n}-byte string or bytes object (limit {PickleLimits.MaxStringBytes}).");
        if (n > (ulong)(d.Length - pos)) throw Truncated(d.Length);
        return (int)n;
    }

    string Line(ReadOnlySpan<byte> d, ref int pos)
    {
        var rest = d[pos..];
        int nl = rest[..Math.Min(rest.Length, PickleLimits.MaxGlobalNameBytes + 1)].IndexOf((byte)'\n');
        if (nl < 0)
            throw rest.Length <= PickleLimits.MaxGlobalNameBytes ? Truncated(d.Length)
                : Error(PyTorchErrorKind.LimitExceeded, $"a GLOBAL name is longer than {PickleLimits.MaxGlobalNameBytes} bytes.");
        string s = Utf8(rest[..nl]);
        pos += nl + 1;
        return s;
    }

    string Utf8(ReadOnlySpan<byte> b)
    {
        try { return StrictUtf8.GetString(b); }
        catch (DecoderFallbackException e) { throw new PyTorchFormatException(PyTorchErrorKind.InvalidPickle, "the pickle has a string that is not valid UTF-8.", _path, e); }
    }

    static string Latin1(ReadOnlySpan<byte> b) => Encoding.Latin1.GetString(b);

    static object Long(ReadOnlySpan<byte> b)
    {
        if (b.Length == 0) return 0L;
        if (b.Length <= 8)
        {
            long v = (sbyte)b[^1];   // sign-extend from the most significant byte
            for (int i = b.Length - 2; i >= 0; i--) v = (v << 8) | b[i];
            return v;
        }
        return new BigInteger(b, isUnsigned: false, isBigEndian: false);
    }

    // ---- globals and calls: interpreted, never executed ----------------------

    PyGlobal ResolveGlobal(string module, string name) =>
        AllowedGlobals.Resolve(module, name) ?? throw Error(PyTorchErrorKind.ForbiddenGlobal,
            $"refused: the pickle names the global '{module}.{name}', which is not on the allow-list of a state dict (nothing was executed).");

    object Call(object callable, PyTuple args)
    {
        if (callable is not PyGlobal g)
            throw Error(PyTorchErrorKind.InvalidPickle, $"the pickle calls {Describe(callable)}, which is not a global.");
        var a = args.Items;
        switch (g.Kind)
        {
            case GlobalKind.OrderedDict or GlobalKind.Counter:
            {
                var dict = new PyDict();
                if (a.Length == 1 && a[0] is PyDict src) foreach (var (k, v) in src.Items) dict.Set(k, v);
                else if (a.Length == 1 && a[0] is List<object> pairs)
                    foreach (var p in pairs)
                    {
                        var kv = As<PyTuple>(p, $"an item of {g.FullName}");
                        if (kv.Count != 2) throw Error(PyTorchErrorKind.InvalidPickle, $"an item of {g.FullName} is not a (key, value) pair.");
                        SetItem(dict, kv[0], kv[1]);
                    }
                else if (a.Length != 0) throw BadArgs(g, args);
                return dict;
            }
            case GlobalKind.RebuildTensor:         // (storage, offset, size, stride)
                if (a.Length != 4) throw BadArgs(g, args);
                return NewTensor(g, a[0], a[1], a[2], a[3], null);
            case GlobalKind.RebuildTensorV2:       // (storage, offset, size, stride, requires_grad, backward_hooks[, metadata])
                if (a.Length is not (6 or 7)) throw BadArgs(g, args);
                return NewTensor(g, a[0], a[1], a[2], a[3], null);
            case GlobalKind.RebuildTensorV3:       // (storage, offset, size, stride, requires_grad, backward_hooks, dtype[, metadata])
                if (a.Length is not (7 or 8) || a[6] is not PyGlobal { Kind: GlobalKind.DTypeValue } dtype) throw BadArgs(g, args);
                return NewTensor(g, a[0], a[1], a[2], a[3], dtype);
            case GlobalKind.RebuildParameter:          // (data, requires_grad, backward_hooks)
            case GlobalKind.RebuildParameterWithState: // (data, requires_grad, backward_hooks, state)
            case GlobalKind.ParameterClass:            // Parameter(data[, requires_grad])
                if (a.Length < 1 || a[0] is not TorchTensor data) throw BadArgs(g, args);
                return data;
            case GlobalKind.RebuildFromTypeV2:     // (func, new_type, args, state): func(*args), then the subclass is dropped
            {
                if (a.Length != 4 || a[1] is not PyGlobal { Kind: GlobalKind.ParameterClass or GlobalKind.TensorClass } || a[2] is not PyTuple inner)
                    throw BadArgs(g, args);
                var t = Call(a[0], inner);
                return t is TorchTensor ? t : throw BadArgs(g, args);
            }
            case GlobalKind.TorchSize:
                if (a.Length == 1 && a[0] is PyTuple size) return size;
                throw BadArgs(g, args);
            case GlobalKind.TorchDevice:
                if (a.Length is 1 or 2 && a[0] is string dev) return a.Length == 2 ? $"{dev}:{a[1]}" : dev;
                throw BadArgs(g, args);
            case GlobalKind.CodecsEncode:          // protocol 2 writes bytes as _codecs.encode(str, "latin1")
            {
                if (a.Length != 2 || a[0] is not string text || a[1] is not string encoding) throw BadArgs(g, args);
                switch (encoding.ToLowerInvariant())
                {
                    case "latin1" or "latin-1" or "iso-8859-1":
                        foreach (char c in text)
                            if (c > 0xFF) throw Error(PyTorchErrorKind.InvalidPickle, "_codecs.encode(..., 'latin1') is given a character above U+00FF.");
                        return Encoding.Latin1.GetBytes(text);
                    case "utf-8" or "utf8":
                        return Encoding.UTF8.GetBytes(text);
                    default:
                        throw Error(PyTorchErrorKind.InvalidPickle, $"_codecs.encode with encoding '{encoding}' is not something torch.save writes.");
                }
            }
            case GlobalKind.Set or GlobalKind.FrozenSet:
            {
                var set = new PySet(g.Kind == GlobalKind.FrozenSet);
                if (a.Length == 1 && a[0] is List<object> items) set.Items.AddRange(items);
                else if (a.Length != 0) throw BadArgs(g, args);
                return set;
            }
            case GlobalKind.ByteArray:
                if (a.Length == 0) return Array.Empty<byte>();
                if (a.Length == 1 && a[0] is byte[] bytes) return bytes;
                throw BadArgs(g, args);
            case GlobalKind.NumpyScalar:           // scalar(dtype, raw bytes)
                if (a.Length is 1 or 2 && a[0] is PyNumpyValue { What: "dtype" }) return new PyNumpyValue("scalar", a);
                throw BadArgs(g, args);
            case GlobalKind.NumpyDType:            // dtype("f8", False, True)
                if (a.Length == 3 && a[0] is string) return new PyNumpyValue("dtype", a);
                throw BadArgs(g, args);
            case GlobalKind.UnsupportedTensorRebuild:
                throw Error(PyTorchErrorKind.UnsupportedTensorKind,
                    $"the file holds a tensor built by {g.FullName} (sparse, quantized, meta or device-specific), which this reader does not support.");
            default:
                throw Error(PyTorchErrorKind.InvalidPickle, $"the pickle calls {g.FullName}, which torch.save never calls.");
        }
    }

    PyTorchFormatException BadArgs(PyGlobal g, PyTuple args) =>
        Error(PyTorchErrorKind.InvalidTensor, $"{g.FullName} is called with ({string.Join(", ", args.Items.Select(Describe))}), not the arguments torch.save writes.");

    TorchTensor NewTensor(PyGlobal g, object storage, object offset, object size, object stride, PyGlobal? dtype)
    {
        if (storage is not TorchStorage s || offset is not long off || size is not PyTuple sz || stride is not PyTuple st)
            throw Error(PyTorchErrorKind.InvalidTensor,
                $"{g.FullName} is called with ({Describe(storage)}, {Describe(offset)}, {Describe(size)}, {Describe(stride)}), not (storage, offset, size, stride).");
        if (sz.Count != st.Count)
            throw Error(PyTorchErrorKind.InvalidTensor, $"a tensor has {sz.Count} sizes but {st.Count} strides.");
        if (sz.Count > PickleLimits.MaxRank)
            throw Error(PyTorchErrorKind.LimitExceeded, $"a tensor has rank {sz.Count} (limit {PickleLimits.MaxRank}).");
        if (off < 0) throw Error(PyTorchErrorKind.ViewOutOfRange, $"a tensor has a negative storage offset ({off}).");
        var shape = new long[sz.Count];
        var strides = new long[st.Count];
        for (int i = 0; i < shape.Length; i++)
        {
            if (sz[i] is not long n || n < 0) throw Error(PyTorchErrorKind.InvalidTensor, $"a tensor has size {Describe(sz[i])} in dimension {i}; sizes are non-negative integers.");
            if (st[i] is not long k || k < 0) throw Error(PyTorchErrorKind.ViewOutOfRange, $"a tensor has stride {Describe(st[i])} in dimension {i}; strides are non-negative integers.");
            shape[i] = n;
            strides[i] = k;
        }
        DType? dt = dtype is null ? s.DType : dtype.DType;
        string dtName = dtype is null ? s.Type.FullName : dtype.FullName;
        var t = new TorchTensor(s, dt, dtName, off, shape, strides);
        Tensors.Add(t);
        return t;
    }

    void Build(object state, object target)
    {
        switch (target)
        {
            case PyDict dict: dict.State = state; break;                // OrderedDict attributes: a state dict's _metadata
            case PyNumpyValue np: np.State = state; break;              // numpy dtype's (version, byteorder, ...) tuple
            case TorchTensor: break;                                    // tensor attributes (requires_grad hooks...): not weights
            default:
                throw Error(PyTorchErrorKind.InvalidPickle, $"the pickle sets the state of {Describe(target)}, which torch.save never does.");
        }
    }

    // ---- descriptions for messages ------------------------------------------

    internal static string Describe(object v) => v switch
    {
        string s => s.Length <= 40 ? $"'{s}'" : $"a {s.Length}-character string",
        long l => l.ToString(System.Globalization.CultureInfo.InvariantCulture),
        BigInteger => "a large integer",
        double => "a float",
        bool b => b ? "True" : "False",
        byte[] b => $"{b.Length} bytes",
        PyNone => "None",
        PyTuple t => $"a {t.Count}-tuple",
        List<object> l => $"a list of {l.Count}",
        PyDict d => $"a dict of {d.Count}",
        PySet => "a set",
        PyGlobal g => g.FullName,
        TorchStorage s => $"storage '{s.Key}'",
        TorchTensor => "a tensor",
        PyNumpyValue n => n.ToString(),
        _ => v.GetType().Name,
    };

    static string PyName(Type t) =>
        t == typeof(PyTuple) ? "tuple" : t == typeof(PyDict) ? "dict" : t == typeof(List<object>) ? "list" : t == typeof(PySet) ? "set" : t.Name;

    static string OpcodeName(byte op) => op switch
    {
        (byte)'i' => "'i' (INST)",
        (byte)'o' => "'o' (OBJ)",
        0x82 => "0x82 (EXT1)",
        0x83 => "0x83 (EXT2)",
        0x84 => "0x84 (EXT4)",
        (byte)'P' => "'P' (PERSID, text)",
        0x97 => "0x97 (NEXT_BUFFER)",
        0x98 => "0x98 (READONLY_BUFFER)",
        (byte)'I' => "'I' (INT, text)",
        (byte)'L' => "'L' (LONG, text)",
        (byte)'F' => "'F' (FLOAT, text)",
        (byte)'S' => "'S' (STRING, text)",
        (byte)'V' => "'V' (UNICODE, text)",
        (byte)'g' => "'g' (GET, text)",
        (byte)'p' => "'p' (PUT, text)",
        (byte)'d' => "'d' (DICT)",
        (byte)'l' => "'l' (LIST)",
        _ when op is >= 0x20 and < 0x7F => $"'{(char)op}' (0x{op:x2})",
        _ => $"0x{op:x2}",
    };
}
