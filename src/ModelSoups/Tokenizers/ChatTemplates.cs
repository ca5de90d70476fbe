using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelSoups.Tokenizers;

/// <summary>
/// The recipe's <c>chat_template</c> (mergekit <c>merge.py</c>, <c>_set_chat_template</c>): <c>auto</c>
/// takes the template most inputs share (their <c>default</c> one when they define several; the
/// first seen wins a tie; none at all keeps the source's); a short single-line name without
/// <c>{</c> names a template one of the inputs defines in its <c>tokenizer_config.json</c> list of
/// <c>{name, template}</c>; anything else with a <c>{</c> and at least 20 characters is the template
/// itself. mergekit also bundles named templates of its own (<c>chatml</c>, <c>llama3</c>, …); we do not,
/// so such a name is refused unless an input defines it, with a message saying to give the text.
/// </summary>
public static class ChatTemplates
{
    /// <summary>The template text to write, or null to keep the source's.</summary>
    /// <param name="setting">the recipe's value, or null.</param>
    /// <param name="inputFolders">the recipe's models (base first), for <c>auto</c> and names.</param>
    /// <param name="where">the recipe file, for messages.</param>
    public static string? Resolve(string? setting, IReadOnlyList<string> inputFolders, string? where)
    {
        if (setting is null) return null;
        if (setting == "auto")
        {
            var templates = inputFolders.Select(f => Templates(f).GetValueOrDefault("default")?.Trim()).Where(t => !string.IsNullOrEmpty(t)).Select(t => t!).ToList();
            if (templates.Count == 0) return null;
            return templates.GroupBy(t => t, StringComparer.Ordinal).OrderByDescending(g => g.Count()).First().Key;   // OrderBy is stable: first seen wins ties
        }
        if (setting.Length < 256 && !setting.Contains('\n') && !setting.Contains('{'))
        {
            foreach (var f in inputFolders)
                if (Templates(f).TryGetValue(setting, out var named)) return named;
            throw new ModelSoupsException(
                $"chat_template '{setting}' is not a template any input defines (they define: {string.Join(", ", inputFolders.SelectMany(f => Templates(f).Keys).Distinct().DefaultIfEmpty("none"))}); " +
                "mergekit's bundled templates are not included here, so give the template text itself", where);
        }
        if (setting.Length < 20 || !setting.Contains('{'))
            throw new ModelSoupsException("chat_template is neither auto, a template name, nor a Jinja template (at least 20 characters with '{')", where);
        return setting;
    }

    /// <summary>An input's chat templates by name ("default" for a single one): chat_template.jinja, else tokenizer_config.json.</summary>
    public static IReadOnlyDictionary<string, string> Templates(string folder)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!Directory.Exists(folder)) return result;
        var jinja = Path.Combine(folder, "chat_template.jinja");
        if (File.Exists(jinja)) result["default"] = File.ReadAllText(jinja);
        var config = Path.Combine(folder, "tokenizer_config.json");
        if (!File.Exists(config)) return result;
        JsonNode? template;
        try { template = (JsonNode.Parse(File.ReadAllText(config)) as JsonObject)?["chat_template"]; }
        catch (JsonException e) { throw new ModelSoupsException($"tokenizer_config.json is not valid JSON: {e.Message.Split('\n')[0]}", config, e); }
        switch (template)
        {
            case JsonValue v when v.TryGetValue<string>(out var text):
                result.TryAdd("default", text);
                break;
            case JsonArray list:
                foreach (var item in list)
                    if (item is JsonObject o && o["name"] is JsonValue n && n.TryGetValue<string>(out var name) && o["template"] is JsonValue tv && tv.TryGetValue<string>(out var t))
                        result.TryAdd(name, t);
                break;
        }
        return result;
    }
}
