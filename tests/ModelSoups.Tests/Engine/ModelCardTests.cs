using System.Security.Cryptography;
using ModelSoups.Checkpoints;
using ModelSoups.Engine;
using ModelSoups.Recipes;
using ModelSoups.Tensors;
using ModelSoups.Tests.Formats;

namespace ModelSoups.Tests.Engine;

/// <summary>The README.md model card written beside a merge.</summary>
public sealed class ModelCardTests : IDisposable
{
    readonly TempDir _tmp = new();
    public void Dispose() => _tmp.Dispose();

    static readonly MergeOptions Options = new() { Threads = 2, MemoryBudgetBytes = 16 << 20 };

    const string Recipe = """
        merge_method: task_arithmetic
        base_model: ./base
        models:
          - model: ./x
            parameters: {weight: 0.5}
        dtype: bfloat16
        """;

    string Run(bool hash = true)
    {
        File.WriteAllText(_tmp.File("recipe.yaml"), Recipe);
        MergeEngine.Run(RecipeParser.ParseFile(_tmp.File("recipe.yaml")), _tmp.File("out"), Options with { HashInputs = hash });
        return File.ReadAllText(_tmp.File("out/README.md"));
    }

    static string Sha(string file) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));

    [Fact]
    public void Without_a_base_card_ours_lists_method_inputs_with_hashes_tool_and_the_recipe()
    {
        TinyLlama.Write(_tmp.File("base"), 2, 1);
        TinyLlama.Write(_tmp.File("x"), 2, 2);
        var card = Run();
        Assert.StartsWith("---\nlibrary_name: transformers\ntags:\n- merge\n- model-soups\n---\n\n# task_arithmetic merge\n", card);
        Assert.Contains("## Merge", card);
        Assert.Contains("`task_arithmetic`: ", card);
        Assert.Contains($"| ./base | base | model.safetensors | {new FileInfo(_tmp.File("base/model.safetensors")).Length} | `{Sha(_tmp.File("base/model.safetensors"))}` |", card);
        Assert.Contains($"| ./x | model | model.safetensors | {new FileInfo(_tmp.File("x/model.safetensors")).Length} | `{Sha(_tmp.File("x/model.safetensors"))}` |", card);
        Assert.Contains("```yaml\n" + Recipe + "\n```\n", card);
        Assert.Contains("ModelSoups " + typeof(MergeEngine).Assembly.GetName().Version!.ToString(3), card);
    }

    [Fact]
    public void A_base_card_is_kept_first_and_the_merge_section_appended_to_a_copy()
    {
        TinyLlama.Write(_tmp.File("base"), 2, 1);
        TinyLlama.Write(_tmp.File("x"), 2, 2);
        const string BaseCard = "---\nlicense: apache-2.0\n---\n# Base model\n\nUse it well.\n";
        File.WriteAllText(_tmp.File("base/README.md"), BaseCard);
        var card = Run(hash: false);
        Assert.StartsWith(BaseCard.TrimEnd() + "\n\n## Merge\n", card);
        Assert.Contains("the text above is the base model's card", card);
        Assert.Contains("not recorded (--no-hash)", card);
        Assert.Equal(BaseCard, File.ReadAllText(_tmp.File("base/README.md")));   // the input is never modified
    }
}
