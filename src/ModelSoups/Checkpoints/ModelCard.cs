using System.Text;

namespace ModelSoups.Checkpoints;

/// <summary>
/// The output's <c>README.md</c> (a Hugging Face model card), as mergekit writes one
/// (<c>mergekit/card.py</c>): front matter with <c>library_name</c> and <c>merge</c> tags, the
/// method, the models merged and the recipe that made it; ours also lists every input file with
/// its SHA-256 and the tool's version. A card copied from the base model is never replaced: the
/// merge section is appended to a copy of it (the base's licence and usage notes stay first).
/// </summary>
public static class ModelCard
{
    /// <summary>The file name of a model card.</summary>
    public const string FileName = "README.md";

    /// <summary>One input as the card lists it.</summary>
    /// <param name="Model">the model as the recipe names it.</param>
    /// <param name="Role">"base" or "model".</param>
    /// <param name="Files">its weight files: name, bytes and SHA-256 (null when hashing was turned off).</param>
    public sealed record Input(string Model, string Role, IReadOnlyList<(string File, long Bytes, string? Sha256)> Files);

    /// <summary>What the card says.</summary>
    /// <param name="Title">the heading: the recipe's name, else "METHOD merge".</param>
    /// <param name="Method">the method's recipe name.</param>
    /// <param name="MethodDescription">one line on what the method does.</param>
    /// <param name="Inputs">the inputs, base first.</param>
    /// <param name="RecipeYaml">the recipe as given.</param>
    /// <param name="Tool">tool name and version.</param>
    public sealed record Content(string Title, string Method, string MethodDescription, IReadOnlyList<Input> Inputs, string RecipeYaml, string Tool);

    /// <summary>The card text: ours when <paramref name="baseCard"/> is null, else the base's card with a "Merge" section appended.</summary>
    public static string Build(Content c, string? baseCard)
    {
        var sb = new StringBuilder();
        if (baseCard is null)
        {
            sb.Append("---\nlibrary_name: transformers\ntags:\n- merge\n- model-soups\n---\n\n");
            sb.Append($"# {c.Title}\n\n");
            sb.Append($"This model is a merge of pre-trained models, made with {c.Tool} (`soup merge`).\n\n");
        }
        else
        {
            sb.Append(baseCard.TrimEnd()).Append("\n\n");
        }
        sb.Append("## Merge\n\n");
        if (baseCard is not null) sb.Append($"This model is a merge made with {c.Tool} (`soup merge`); the text above is the base model's card.\n\n");
        sb.Append("### Method\n\n");
        sb.Append($"`{c.Method}`: {c.MethodDescription}\n\n");
        sb.Append("### Inputs\n\n");
        sb.Append("| model | role | file | bytes | SHA-256 |\n|---|---|---|---:|---|\n");
        foreach (var i in c.Inputs)
            foreach (var (file, bytes, sha) in i.Files)
                sb.Append($"| {Cell(i.Model)} | {i.Role} | {Cell(file)} | {bytes} | {(sha is null ? "not recorded (--no-hash)" : $"`{sha}`")} |\n");
        sb.Append("\n### Recipe\n\n");
        sb.Append("The following recipe (mergekit-compatible YAML) produced this model:\n\n");
        sb.Append("```yaml\n").Append(c.RecipeYaml.TrimEnd()).Append("\n```\n");
        return sb.ToString();
    }

    static string Cell(string s) => s.Replace("|", "\\|", StringComparison.Ordinal);
}
