using System.Text.Json;

namespace ModelSoups;

/// <summary>Reads the JSON documents the toolkit writes (results.json, pleas.json, soup-model.json) back into their records.</summary>
public static class JsonFile
{
    /// <summary>
    /// The document at <paramref name="path"/> as a <typeparamref name="T"/>; malformed JSON, or <c>null</c>, is a
    /// <see cref="ModelSoupsException"/> "not a valid <paramref name="what"/>: …" naming the file.
    /// </summary>
    /// <param name="path">the file.</param>
    /// <param name="options">the serializer options the document was written with.</param>
    /// <param name="what">the document's name for the message, e.g. <c>pleas.json</c>.</param>
    public static T Read<T>(string path, JsonSerializerOptions options, string what) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), options) ?? throw new ModelSoupsException($"not a valid {what}: null", path);
        }
        catch (JsonException e) { throw new ModelSoupsException($"not a valid {what}: {e.Message}", path, e); }
    }
}
