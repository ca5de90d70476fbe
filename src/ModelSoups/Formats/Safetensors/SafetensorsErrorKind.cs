namespace ModelSoups.Formats.Safetensors;

/// <summary>
/// Every way a safetensors file can be wrong, one value per rule. Mirrors the error variants of
/// huggingface/safetensors <c>tensor.rs</c> (<c>HeaderTooSmall</c>, <c>HeaderTooLarge</c>,
/// <c>InvalidHeaderLength</c>, <c>InvalidHeader</c>, <c>InvalidHeaderDeserialization</c>,
/// <c>InvalidOffset</c>, <c>TensorInvalidInfo</c>, <c>ValidationOverflow</c>,
/// <c>MetadataIncompleteBuffer</c>), split finer where that makes the message clearer.
/// </summary>
public enum SafetensorsErrorKind
{
    /// <summary>The file does not exist or cannot be opened.</summary>
    Unreadable,
    /// <summary>Shorter than the 8-byte header length prefix.</summary>
    FileTooShort,
    /// <summary>The header length exceeds <see cref="SafetensorsHeader.MaxHeaderBytes"/>.</summary>
    HeaderTooLarge,
    /// <summary>The header length runs past the end of the file.</summary>
    HeaderBeyondFile,
    /// <summary>The header bytes are not valid UTF-8.</summary>
    InvalidUtf8,
    /// <summary>The header is not valid JSON (syntax, or nested too deeply).</summary>
    InvalidJson,
    /// <summary>The header JSON is valid but not shaped like a safetensors header.</summary>
    InvalidSchema,
    /// <summary>Two entries with the same tensor name (or metadata key).</summary>
    DuplicateName,
    /// <summary>A dtype name the format defines but this toolkit does not read (e.g. U16).</summary>
    UnsupportedDType,
    /// <summary>A dtype name the format does not define.</summary>
    UnknownDType,
    /// <summary>A shape dimension that is negative, fractional or too large.</summary>
    InvalidShape,
    /// <summary>Element count × dtype size overflows 64 bits.</summary>
    Overflow,
    /// <summary>Offsets not contiguous: reversed, overlapping, gapped, or not starting at 0.</summary>
    InvalidOffsets,
    /// <summary>A tensor's byte range does not match its dtype × shape.</summary>
    SizeMismatch,
    /// <summary>A tensor's byte range runs past the end of the file.</summary>
    DataOutOfRange,
    /// <summary>Bytes after the last tensor: the data section is longer than the tensors.</summary>
    TrailingBytes,
    /// <summary>The path is a FIFO, a device, a socket or a folder: refused before opening (a FIFO would block forever).</summary>
    NotARegularFile,
}
