using ModelSoups.Checkpoints;
using ModelSoups.Recipes;

namespace ModelSoups.Engine;

/// <summary>
/// The files a merge writes beside the weights: the base's (else the first model's) config and tokenizer files
/// (<see cref="MergeEngine.SideFiles"/>; config.json rewritten where the merge changed the layer count, dtype or
/// vocabulary), a merged tokenizer's files, the model card (<c>README.md</c>) and <c>soup-recipe.yaml</c>.
/// </summary>
internal static class OutputSideFiles
{
    /// <summary>Writes them into the (uncommitted) output.</summary>
    public static void Write(MergePlan plan, CheckpointWriter writer, IReadOnlyList<RecipeWriter.InputFile>? hashes, MergeProvenance provenance)
    {
        string? baseCard = null;
        if (plan.ConfigSource is { } folder)
        {
            foreach (var name in MergeEngine.SideFiles)
            {
                var path = Path.Combine(folder, name);
                if (!File.Exists(path)) continue;
                if (plan.Tokenizer is not null && OutputTokenizer.FileNames.Contains(name)) continue;   // written below
                // config.json gets what the merge changed (layer count, dtype, vocabulary size); the rest is copied as is.
                int? vocab = plan.OutputVocabSize;
                if (name == "config.json" && (plan.OutputLayerCount is not null || plan.Recipe.OutDType is not null || vocab is not null))
                    writer.WriteText(name, OutputConfig.Rewrite(File.ReadAllText(path), plan.OutputLayerCount, plan.Recipe.OutDType, path, vocab));
                else writer.CopyFile(path, name);
            }
            var card = Path.Combine(folder, ModelCard.FileName);
            if (File.Exists(card)) baseCard = File.ReadAllText(card);
        }
        foreach (var (name, copyFrom, text) in plan.Tokenizer?.Files ?? [])
        {
            if (copyFrom is not null) writer.CopyFile(copyFrom, name);
            else writer.WriteText(name, text!);
        }
        writer.WriteText(ModelCard.FileName, ModelCard.Build(CardContent(plan, hashes, provenance.Tool), baseCard));
        writer.WriteText(MergeEngine.RecipeFileName, provenance.RecipeYaml);
    }

    static ModelCard.Content CardContent(MergePlan plan, IReadOnlyList<RecipeWriter.InputFile>? hashes, string tool)
    {
        var basePath = plan.HasBase ? plan.InputModels[0].Path : plan.LayerMap is not null ? plan.Recipe.BaseModel?.Path : null;
        var inputs = plan.Inputs.Zip(plan.InputModels).Select(p =>
        {
            var files = p.First.Files.Select(f =>
            {
                var h = hashes?.FirstOrDefault(x => x.Path == f);
                return (Path.GetFileName(f), h?.Bytes ?? new FileInfo(f).Length, h?.Sha256);
            }).ToList();
            return new ModelCard.Input(p.Second.Spelled, p.Second.Path == basePath ? "base" : "model", files);
        }).ToList();
        var recipe = plan.Recipe.SourceText ?? RecipeWriter.ToYaml(plan.Recipe);
        // The title does not name the output folder (mergekit does): the same merge gives the same bytes wherever it is written.
        return new ModelCard.Content(plan.Recipe.Name ?? $"{plan.Method.Name} merge", plan.Method.Name, plan.Method.Description, inputs, recipe, tool);
    }
}
