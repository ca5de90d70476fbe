using ModelSoups.Recipes;

namespace ModelSoups.Tests.Recipes;

public class RecipeFuzzTests
{
    const string Seed = """
        merge_method: ties
        base_model: ./base
        models:
          - model: ./ft-a
            parameters: {weight: 1.0, density: [0.2, 0.8]}
          - model: ./ft-b
            parameters:
              weight: 0.7
              density: [{filter: mlp, value: 0.5}, {value: 0.3}]
        parameters: {majority_sign_method: total, lambda: 1.0}
        dtype: float32
        out_dtype: bfloat16
        random_seed: 3
        """;

    /// <summary>
    /// Mutates a valid recipe (character flips, YAML tokens spliced in, truncations, deep nesting) and parses it:
    /// the result must be a recipe or a clean <see cref="ModelSoupsException"/>. Anything else (a YamlDotNet
    /// exception, a stack overflow, a NullReferenceException) is a bug. Seeded, so failures reproduce.
    /// </summary>
    [Fact]
    public void Mutated_recipes_parse_or_fail_cleanly()
    {
        string[] tokens = [":", "-", "[", "]", "{", "}", ",", "&a", "*a", "!!binary", "!!int", "1e400", "-1", "\t", "'", "\"", "?", "|", ">", "%YAML 1.2\n---\n", "\n---\n", "null", "~", new string('[', 200)];
        var rng = new Random(20261201);
        int parsed = 0, clean = 0;
        for (int iter = 0; iter < 2000; iter++)
        {
            var text = Seed;
            for (int k = rng.Next(1, 4); k > 0; k--)
            {
                int at = rng.Next(text.Length + 1);
                text = rng.Next(4) switch
                {
                    0 => text[..at] + tokens[rng.Next(tokens.Length)] + text[at..],
                    1 when at < text.Length => text[..at] + (char)rng.Next(0, 128) + text[(at + 1)..],
                    2 => text[..at],
                    _ => text[..at] + text[Math.Min(text.Length, at + rng.Next(1, 20))..],
                };
            }
            try
            {
                RecipeParser.Parse(text, "/tmp/fuzz/recipe.yaml");
                parsed++;
            }
            catch (ModelSoupsException)
            {
                clean++;
            }
        }
        Assert.Equal(2000, parsed + clean);
        Assert.True(clean > 500, $"only {clean} mutations were rejected");
    }
}
