namespace ModelSoups.Formats.PyTorch;

/// <summary>Every way a <c>torch.save</c> file can be refused, one value per rule.</summary>
public enum PyTorchErrorKind
{
    /// <summary>The file does not exist or cannot be opened or mapped.</summary>
    Unreadable,
    /// <summary>The file is neither a <c>torch.save</c> zip nor a legacy <c>torch.save</c> pickle (the message says what it looks like).</summary>
    NotPyTorch,
    /// <summary>A zip archive without its end-of-central-directory record, or with records running past the end of the file.</summary>
    TruncatedZip,
    /// <summary>A zip structure that is inconsistent: bad signatures, sizes, offsets, names, duplicates, encryption, or a compression method other than stored/deflate.</summary>
    InvalidZip,
    /// <summary>The pickle is cut short or breaks the pickle format (stack underflow, unknown memo index, bad UTF-8...).</summary>
    InvalidPickle,
    /// <summary>A pickle opcode outside the subset <c>torch.save</c> writes (protocols 2–5).</summary>
    UnsupportedOpcode,
    /// <summary>The pickle names a global that is not on the allow-list; nothing was called.</summary>
    ForbiddenGlobal,
    /// <summary>A limit of <see cref="PickleLimits"/> was exceeded (memo, stack, nesting, lengths, operations).</summary>
    LimitExceeded,
    /// <summary>An allowed global was used with arguments of the wrong shape (e.g. a shape that is not a tuple of integers).</summary>
    InvalidTensor,
    /// <summary>A storage or tensor dtype this toolkit does not read (complex, quantized, uint16...).</summary>
    UnsupportedDType,
    /// <summary>A storage record shorter (or longer) than its declared element count needs, or missing.</summary>
    StorageSizeMismatch,
    /// <summary>A tensor's offset, shape and strides reach outside its storage.</summary>
    ViewOutOfRange,
    /// <summary>A tensor kind this reader does not support (sparse, quantized, meta, a whole pickled module).</summary>
    UnsupportedTensorKind,
    /// <summary>No state dict could be found, or the requested <c>--state-dict-key</c> does not exist.</summary>
    NoStateDict,
    /// <summary>Two tensors end up with the same name (e.g. after <c>--strip-prefix</c>).</summary>
    DuplicateName,
}
