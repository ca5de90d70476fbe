using ModelSoups.Tensors;

namespace ModelSoups.Formats.PyTorch;

/// <summary>What an allowed global is, so the unpickler knows how to interpret calling it.</summary>
internal enum GlobalKind
{
    OrderedDict,
    Counter,
    RebuildTensor,
    RebuildTensorV2,
    RebuildTensorV3,
    RebuildParameter,
    RebuildParameterWithState,
    RebuildFromTypeV2,
    ParameterClass,
    TensorClass,
    StorageType,
    DTypeValue,
    TorchSize,
    TorchDevice,
    CodecsEncode,
    Set,
    FrozenSet,
    ByteArray,
    NumpyScalar,
    NumpyDType,
    /// <summary>On PyTorch's own weights-only list but not a dense tensor (sparse, quantized, meta...): refused with its own message when called.</summary>
    UnsupportedTensorRebuild,
}

/// <summary>
/// The only Python globals a <c>torch.save</c> file may name: the ones a state dict needs, the same
/// idea as PyTorch's <c>weights_only=True</c> unpickler (<c>torch/_weights_only_unpickler.py</c>,
/// <c>_get_allowed_globals</c>). Any other global — <c>os.system</c>, <c>builtins.eval</c>,
/// <c>subprocess.Popen</c>, a model class — is refused when its GLOBAL opcode is read, before
/// anything could be called; and even allowed globals are never called, only interpreted.
/// docs/formats.md lists them (a test keeps that list and this one equal).
/// </summary>
public static class AllowedGlobals
{
    static readonly Dictionary<string, (GlobalKind Kind, DType? DType)> Table = Build();

    /// <summary>Every allowed global as <c>module.name</c>, sorted.</summary>
    public static IReadOnlyList<string> Names { get; } = Table.Keys.Order(StringComparer.Ordinal).ToList();

    static Dictionary<string, (GlobalKind, DType?)> Build()
    {
        var t = new Dictionary<string, (GlobalKind, DType?)>(StringComparer.Ordinal)
        {
            ["collections.OrderedDict"] = (GlobalKind.OrderedDict, null),
            ["collections.Counter"] = (GlobalKind.Counter, null),
            ["torch._utils._rebuild_tensor"] = (GlobalKind.RebuildTensor, null),
            ["torch._utils._rebuild_tensor_v2"] = (GlobalKind.RebuildTensorV2, null),
            ["torch._utils._rebuild_tensor_v3"] = (GlobalKind.RebuildTensorV3, null),
            ["torch._utils._rebuild_parameter"] = (GlobalKind.RebuildParameter, null),
            ["torch._utils._rebuild_parameter_with_state"] = (GlobalKind.RebuildParameterWithState, null),
            ["torch._tensor._rebuild_from_type_v2"] = (GlobalKind.RebuildFromTypeV2, null),
            ["torch.nn.parameter.Parameter"] = (GlobalKind.ParameterClass, null),
            ["torch.Tensor"] = (GlobalKind.TensorClass, null),
            ["torch.Size"] = (GlobalKind.TorchSize, null),
            ["torch.device"] = (GlobalKind.TorchDevice, null),
            ["_codecs.encode"] = (GlobalKind.CodecsEncode, null),
            ["builtins.set"] = (GlobalKind.Set, null),
            ["builtins.frozenset"] = (GlobalKind.FrozenSet, null),
            ["builtins.bytearray"] = (GlobalKind.ByteArray, null),
            // numpy scalars in Lightning callback state (numpy 1 and numpy 2 module names).
            ["numpy.core.multiarray.scalar"] = (GlobalKind.NumpyScalar, null),
            ["numpy._core.multiarray.scalar"] = (GlobalKind.NumpyScalar, null),
            ["numpy.dtype"] = (GlobalKind.NumpyDType, null),
        };
        foreach (var name in new[] { "_rebuild_qtensor", "_rebuild_sparse_tensor", "_rebuild_meta_tensor_no_storage", "_rebuild_wrapper_subclass",
                     "_rebuild_device_tensor_from_numpy", "_rebuild_device_tensor_from_cpu_tensor" })
            t["torch._utils." + name] = (GlobalKind.UnsupportedTensorRebuild, null);

        // Storage types as torch.save names them in persistent ids (torch/storage.py, _dtype_to_storage_type_map).
        (string, DType?)[] storages =
        [
            ("DoubleStorage", DType.F64), ("FloatStorage", DType.F32), ("HalfStorage", DType.F16), ("BFloat16Storage", DType.BF16),
            ("LongStorage", DType.I64), ("IntStorage", DType.I32), ("ShortStorage", DType.I16), ("CharStorage", DType.I8),
            ("ByteStorage", DType.U8), ("BoolStorage", DType.Bool), ("UntypedStorage", DType.U8),
            ("ComplexDoubleStorage", null), ("ComplexFloatStorage", null), ("QInt8Storage", null), ("QInt32Storage", null),
            ("QUInt8Storage", null), ("QUInt4x2Storage", null), ("QUInt2x4Storage", null),
        ];
        foreach (var (name, d) in storages) t["torch." + name] = (GlobalKind.StorageType, d);

        // dtypes (torch.float32 ...): arguments of _rebuild_tensor_v3, which newer PyTorch uses for f8 and uint16+.
        (string, DType?)[] dtypes =
        [
            ("float64", DType.F64), ("float32", DType.F32), ("float16", DType.F16), ("bfloat16", DType.BF16),
            ("int64", DType.I64), ("int32", DType.I32), ("int16", DType.I16), ("int8", DType.I8), ("uint8", DType.U8), ("bool", DType.Bool),
            ("float8_e4m3fn", DType.F8_E4M3), ("float8_e5m2", DType.F8_E5M2),
            ("float8_e4m3fnuz", null), ("float8_e5m2fnuz", null), ("float8_e8m0fnu", null), ("complex32", null), ("complex64", null), ("complex128", null),
            ("uint16", null), ("uint32", null), ("uint64", null), ("qint8", null), ("qint32", null), ("quint8", null), ("quint4x2", null), ("quint2x4", null),
        ];
        foreach (var (name, d) in dtypes) t["torch." + name] = (GlobalKind.DTypeValue, d);
        return t;
    }

    /// <summary>The allowed global for <paramref name="module"/>.<paramref name="name"/>, or null when it is refused.</summary>
    internal static PyGlobal? Resolve(string module, string name)
    {
        // Pickles written by Python 2 (protocol 2) spell builtins "__builtin__".
        if (module == "__builtin__") module = "builtins";
        return Table.TryGetValue(module + "." + name, out var e) ? new PyGlobal(module, name, e.Kind, e.DType) : null;
    }
}
