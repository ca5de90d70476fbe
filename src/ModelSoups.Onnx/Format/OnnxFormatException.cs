namespace ModelSoups.Onnx.Format;

/// <summary>An ONNX file that cannot be read: truncated, not protobuf, or not an ONNX model.</summary>
public sealed class OnnxFormatException(string message, string? path = null) : ModelSoupsException(message, path);
