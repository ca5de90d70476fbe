using System.Security.Cryptography;
using System.Text;
using ModelSoups.Recipes;
using YamlDotNet.RepresentationModel;

namespace ModelSoups.Engine;

/// <summary>
/// A recipe file of several YAML documents (mergekit-multi): each document is a merge with a
/// <c>name:</c>, later ones may use an earlier name as a model, and they run in file order. The
/// final merge (the document without a name, else the last one) is written to the output folder;
/// the others to <c>WORK/NAME</c>. A merge whose output already holds the same recipe hash is
/// skipped, so an interrupted chain resumes where it stopped and a finished one reruns for free.
/// The hash covers the document as parsed (methods, parameters, absolute input paths) and the
/// hashes of the earlier merges it uses; it does not re-read input models, so weights changed in
/// place under the same path are not noticed.
/// </summary>
public static class RecipeChain
{
    /// <summary>Provenance key under which a merge's recipe hash is recorded in its soup-recipe.yaml.</summary>
    public const string HashKey = "recipe_sha256";

    /// <summary>One merge of the chain.</summary>
    /// <param name="Recipe">the document as parsed.</param>
    /// <param name="OutputFolder">where it is written.</param>
    /// <param name="RecipeHash">its recipe hash.</param>
    /// <param name="Uses">names of earlier merges it reads.</param>
    public sealed record Step(Recipe Recipe, string OutputFolder, string RecipeHash, IReadOnlyList<string> Uses)
    {
        /// <summary>The document's name, or "final" for the unnamed one.</summary>
        public string Label => Recipe.Name ?? "final";

        /// <summary>True when the output folder already holds a merge with this recipe hash.</summary>
        public bool Done => RecordedHash(OutputFolder) == RecipeHash;
    }

    /// <summary>A step that ran or was skipped.</summary>
    /// <param name="Step">the step.</param>
    /// <param name="Summary">the merge's summary, or null when it was skipped.</param>
    public sealed record StepResult(Step Step, MergeSummary? Summary);

    /// <summary>Parses the chain and works out each merge's output folder and hash.</summary>
    /// <param name="recipePath">the recipe file.</param>
    /// <param name="outputFolder">the final merge's output.</param>
    /// <param name="workFolder">the folder for the other merges' outputs.</param>
    public static IReadOnlyList<Step> Plan(string recipePath, string outputFolder, string workFolder)
    {
        var work = Path.GetFullPath(workFolder);
        var recipes = RecipeParser.ParseChain(recipePath, work);
        var steps = new List<Step>();
        var byPath = new Dictionary<string, Step>(StringComparer.Ordinal);
        for (int i = 0; i < recipes.Count; i++)
        {
            var r = recipes[i];
            bool final = i == recipes.Count - 1;
            var output = final ? Path.GetFullPath(outputFolder) : Path.Combine(work, r.Name!);
            var inputs = r.Models.Select(m => m.Path).Append(r.BaseModel?.Path).Where(p => p is not null).Distinct().ToList();
            var uses = inputs.Where(p => byPath.ContainsKey(p!)).Select(p => byPath[p!]).ToList();
            var text = new StringBuilder(RecipeWriter.ToYaml(r));
            foreach (var u in uses) text.Append('\n').Append(u.Label).Append(' ').Append(u.RecipeHash);
            var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
            var step = new Step(r, output, hash, [.. uses.Select(u => u.Label)]);
            steps.Add(step);
            byPath[output] = step;
        }
        return steps;
    }

    /// <summary>Runs every step not already done, in order.</summary>
    /// <param name="steps">from <see cref="Plan"/>.</param>
    /// <param name="options">merge options; <see cref="MergeOptions.Overwrite"/> applies to the final output (intermediate outputs in the work folder are replaced when their recipe changed).</param>
    /// <param name="onStep">called before each step with the step and whether it will run.</param>
    /// <param name="cancel">stops between and inside merges.</param>
    public static IReadOnlyList<StepResult> Run(IReadOnlyList<Step> steps, MergeOptions options, Action<Step, bool>? onStep = null, CancellationToken cancel = default)
    {
        var results = new List<StepResult>();
        for (int i = 0; i < steps.Count; i++)
        {
            var step = steps[i];
            cancel.ThrowIfCancellationRequested();
            bool done = step.Done;
            onStep?.Invoke(step, !done);
            if (done) { results.Add(new StepResult(step, null)); continue; }
            var provenance = new Dictionary<string, object>(options.Provenance ?? new Dictionary<string, object>()) { [HashKey] = step.RecipeHash };
            if (step.Recipe.Name is { } n) provenance["name"] = n;
            bool final = i == steps.Count - 1;
            var stepOptions = options with { Provenance = provenance, Overwrite = final ? options.Overwrite : true };
            results.Add(new StepResult(step, MergeEngine.Run(step.Recipe, step.OutputFolder, stepOptions, cancel)));
        }
        return results;
    }

    /// <summary>The recipe hash recorded in a merge output's soup-recipe.yaml, or null.</summary>
    public static string? RecordedHash(string outputFolder)
    {
        var path = Path.Combine(outputFolder, MergeEngine.RecipeFileName);
        if (!File.Exists(path)) return null;
        try
        {
            var stream = new YamlStream();
            using (var reader = new StreamReader(path)) stream.Load(reader);
            if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root) return null;
            return root.Children.TryGetValue(new YamlScalarNode("provenance"), out var p) && p is YamlMappingNode prov
                && prov.Children.TryGetValue(new YamlScalarNode(HashKey), out var h) && h is YamlScalarNode { Value: { } v } ? v : null;
        }
        catch (Exception e) when (e is IOException or YamlDotNet.Core.YamlException)
        {
            return null; // unreadable: treat as not done, so the merge runs again
        }
    }
}
