using System.Text.Json.Nodes;
using ModelSoups.Engine;
using ModelSoups.Recipes;
using ModelSoups.Tensors;
using ModelSoups.Tests.Engine;
using ModelSoups.Tests.Formats;
using ModelSoups.Tokenizers;

namespace ModelSoups.Tests.Tokenizers;

/// <summary>tokenizer_source / tokenizer: / chat_template: vocabularies built, embedding rows mapped per token as mergekit does.</summary>
public sealed class TokenizerMergeTests : IDisposable
{
    readonly TempDir _tmp = new();
    public void Dispose() => _tmp.Dispose();

    static readonly MergeOptions Options = new() { Threads = 2, MemoryBudgetBytes = 16 << 20 };
    const int Width = 3;

    /// <summary>A one-layer model whose tokenizer has <paramref name="tokens"/> (ids in order; "&lt;s&gt;" as a special added token).</summary>
    string Model(string name, string[] tokens, int seed, string? chatTemplate = null)
    {
        var rng = new Random(seed);
        byte[] Values(int n) => ModelFolders.Bytes(DType.F32, Enumerable.Range(0, n).Select(_ => (float)Math.Round(rng.NextDouble() * 4 - 2, 2)).ToArray());
        var folder = ModelFolders.Write(_tmp.File(name), [
            (new TensorInfo("model.embed_tokens.weight", DType.F32, [tokens.Length, Width]), Values(tokens.Length * Width)),
            (new TensorInfo("model.layers.0.mlp.up_proj.weight", DType.F32, [2, Width]), Values(2 * Width)),
            (new TensorInfo("model.norm.weight", DType.F32, [Width]), Values(Width)),
            (new TensorInfo("lm_head.weight", DType.F32, [tokens.Length, Width]), Values(tokens.Length * Width)),
        ], config: $"{{\"model_type\": \"llama\", \"num_hidden_layers\": 1, \"vocab_size\": {tokens.Length}}}");
        var vocab = new JsonObject();
        for (int i = 0; i < tokens.Length; i++) vocab[tokens[i]] = i;
        var tokenizer = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(new JsonObject { ["id"] = 0, ["content"] = "<s>", ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true }),
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = new JsonArray() },
        };
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), tokenizer.ToJsonString());
        var config = new JsonObject { ["tokenizer_class"] = "LlamaTokenizer", ["added_tokens_decoder"] = new JsonObject { ["0"] = new JsonObject { ["content"] = "<s>", ["special"] = true } } };
        if (chatTemplate is not null) config["chat_template"] = chatTemplate;
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), config.ToJsonString());
        return folder;
    }

    Recipe Recipe(string yaml)
    {
        File.WriteAllText(_tmp.File("recipe.yaml"), yaml);
        return RecipeParser.ParseFile(_tmp.File("recipe.yaml"));
    }

    static float[] Row(float[] t, int row) => t.AsSpan(row * Width, Width).ToArray();

    const string T1 = "{% for m in messages %}{{ m.content }}{% endfor %}";
    const string T2 = "{% for m in messages %}[{{ m.role }}] {{ m.content }}{% endfor %}";

    void ThreeModels()
    {
        Model("base", ["<s>", "a", "b", "c"], 1, T1);
        Model("x", ["<s>", "a", "c", "d"], 2, T1);
        Model("y", ["<s>", "b", "e", "a"], 3, T2);
    }

    const string UnionRecipe = """
        merge_method: task_arithmetic
        base_model: ./base
        models:
          - {model: ./x, parameters: {weight: 1.0}}
          - {model: ./y, parameters: {weight: 1.0}}
        tokenizer_source: union
        chat_template: auto
        """;

    [Fact]
    public void Union_appends_the_missing_tokens_and_maps_each_row_by_mergekits_rule()
    {
        ThreeModels();
        MergeEngine.Run(Recipe(UnionRecipe), _tmp.File("out"), Options);
        var b = ModelFolders.ReadFloats(_tmp.File("base"));
        var x = ModelFolders.ReadFloats(_tmp.File("x"));
        var y = ModelFolders.ReadFloats(_tmp.File("y"));
        var o = ModelFolders.ReadFloats(_tmp.File("out"));

        // Output vocabulary: the base's <s> a b c, then x's d, then y's e (ids 4, 5).
        var v = Vocabulary.Read(_tmp.File("out"), null);
        Assert.Equal(["<s>", "a", "b", "c", "d", "e"], v.Tokens);
        Assert.Equal(6, (int)JsonNode.Parse(File.ReadAllText(_tmp.File("out/config.json")))!["vocab_size"]!);
        var decoder = JsonNode.Parse(File.ReadAllText(_tmp.File("out/tokenizer_config.json")))!["added_tokens_decoder"]!.AsObject();
        Assert.Equal(["0", "4", "5"], decoder.Select(p => p.Key));
        // chat_template: auto takes the one two of the three inputs share.
        Assert.Equal(T1, (string)JsonNode.Parse(File.ReadAllText(_tmp.File("out/tokenizer_config.json")))!["chat_template"]!);

        foreach (var name in new[] { "model.embed_tokens.weight", "lm_head.weight" })
        {
            Assert.Equal(6 * Width, o[name].Length);
            // task_arithmetic, weights 1: out = B' + (X' - B') + (Y' - B') on the permuted rows.
            // <s>, a: every input has them: X + Y - B of their own rows (rows differ: y's a is row 3).
            for (int c = 0; c < Width; c++)
            {
                Assert.Equal((float)(x[name][0 * Width + c] + (double)y[name][0 * Width + c] - b[name][0 * Width + c]), o[name][0 * Width + c], 1e-6f);
                Assert.Equal((float)(x[name][1 * Width + c] + (double)y[name][3 * Width + c] - b[name][1 * Width + c]), o[name][1 * Width + c], 1e-6f);
            }
            // b: base and y have it, x not: x's stand-in is the base's row (several have it, the base among them),
            // so x adds nothing and out = y's b (row 1). c likewise: out = x's c (row 2).
            Assert.Equal(Row(y[name], 1), Row(o[name], 2), new ToleranceComparer());
            Assert.Equal(Row(x[name], 2), Row(o[name], 3), new ToleranceComparer());
            // d: only x has it, so every input lacking it uses x's row: out = x's d (row 3). e: y's (row 2).
            Assert.Equal(Row(x[name], 3), Row(o[name], 4), new ToleranceComparer());
            Assert.Equal(Row(y[name], 2), Row(o[name], 5), new ToleranceComparer());
        }
        // Tensors outside the vocabulary merge as usual.
        var up = "model.layers.0.mlp.up_proj.weight";
        Assert.Equal((float)(x[up][0] + (double)y[up][0] - b[up][0]), o[up][0], 1e-6f);
    }

    sealed class ToleranceComparer : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= 1e-6f;
        public int GetHashCode(float f) => 0;
    }

    [Fact]
    public void A_model_source_pads_forces_and_zeroes_tokens_as_the_tokenizer_block_says()
    {
        ThreeModels();
        MergeEngine.Run(Recipe("""
            merge_method: task_arithmetic
            base_model: ./base
            models:
              - {model: ./x, parameters: {weight: 1.0}}
              - {model: ./y, parameters: {weight: 1.0}}
            tokenizer:
              source: ./y
              pad_to_multiple_of: 8
              tokens:
                a: {source: {kind: zero}, force: true}
                b: {source: {kind: model_token, model: ./x, token: d}}
            """), _tmp.File("out"), Options);
        var x = ModelFolders.ReadFloats(_tmp.File("x"));
        var y = ModelFolders.ReadFloats(_tmp.File("y"));
        var o = ModelFolders.ReadFloats(_tmp.File("out"))["model.embed_tokens.weight"];
        var xe = x["model.embed_tokens.weight"];
        var ye = y["model.embed_tokens.weight"];
        // y's vocabulary: <s> b e a, padded to 8 rows (rows 4-7 zero); vocab_size 8.
        Assert.Equal(8 * Width, o.Length);
        Assert.All(o[(4 * Width)..], v => Assert.Equal(0f, v));
        Assert.Equal(8, (int)JsonNode.Parse(File.ReadAllText(_tmp.File("out/config.json")))!["vocab_size"]!);
        Assert.Equal(File.ReadAllText(_tmp.File("y/tokenizer.json")), File.ReadAllText(_tmp.File("out/tokenizer.json")));
        // a: forced to zeros for every input: 0 + (0 - 0) + (0 - 0).
        Assert.All(Row(o, 3), v => Assert.Equal(0f, v));
        // b: x lacks it; its stand-in is x's row of d (row 3); the base's b is its row 2, y's its row 1:
        // out = B_b + (X_d - B_b) + (Y_b - B_b).
        var be = ModelFolders.ReadFloats(_tmp.File("base"))["model.embed_tokens.weight"];
        for (int c = 0; c < Width; c++)
            Assert.Equal((float)(be[2 * Width + c] + (xe[3 * Width + c] - (double)be[2 * Width + c]) + (ye[1 * Width + c] - (double)be[2 * Width + c])), o[1 * Width + c], 1e-6f);
        // e: only y has it: out = y's e.
        Assert.Equal(Row(ye, 2), Row(o, 2), new ToleranceComparer());
    }

    [Fact]
    public void Stacked_slices_take_embeddings_from_the_first_slice_and_the_head_from_the_last_in_the_union_vocabulary()
    {
        Model("a", ["<s>", "p", "q"], 1);
        Model("b", ["<s>", "q", "r"], 2);
        MergeEngine.Run(Recipe("""
            slices:
              - sources: [{model: ./a, layer_range: [0, 1]}]
              - sources: [{model: ./b, layer_range: [0, 1]}]
            merge_method: passthrough
            tokenizer_source: union
            """), _tmp.File("out"), Options);
        var a = ModelFolders.ReadFloats(_tmp.File("a"));
        var b = ModelFolders.ReadFloats(_tmp.File("b"));
        var o = ModelFolders.ReadFloats(_tmp.File("out"));
        Assert.Equal(["<s>", "p", "q", "r"], Vocabulary.Read(_tmp.File("out"), null).Tokens);
        // Embeddings: slice 1 has a alone; r is in no input of that slice: zeros (mergekit: "not found in any model").
        var embed = o["model.embed_tokens.weight"];
        Assert.Equal(a["model.embed_tokens.weight"], embed[..(3 * Width)]);
        Assert.All(Row(embed, 3), v => Assert.Equal(0f, v));
        // lm_head: slice 2 has b alone: <s> row 0, q row 1, r row 2, p zeros.
        var head = o["lm_head.weight"];
        Assert.Equal(Row(b["lm_head.weight"], 0), Row(head, 0));
        Assert.All(Row(head, 1), v => Assert.Equal(0f, v));
        Assert.Equal(Row(b["lm_head.weight"], 1), Row(head, 2));
        Assert.Equal(Row(b["lm_head.weight"], 2), Row(head, 3));
        Assert.Equal(2, (int)JsonNode.Parse(File.ReadAllText(_tmp.File("out/config.json")))!["num_hidden_layers"]!);
    }

    [Fact]
    public void Union_output_is_bit_identical_for_any_thread_count_and_block_size()
    {
        ThreeModels();
        MergeEngine.Run(Recipe(UnionRecipe), _tmp.File("one"), new MergeOptions { Threads = 1, MemoryBudgetBytes = 64 << 20 });
        MergeEngine.Run(Recipe(UnionRecipe), _tmp.File("many"), new MergeOptions { Threads = 3, MemoryBudgetBytes = 4096, MaxBlockElements = 2 });
        var one = ModelFolders.ReadBytes(_tmp.File("one"));
        var many = ModelFolders.ReadBytes(_tmp.File("many"));
        Assert.Equal(one.Keys.Order(), many.Keys.Order());
        foreach (var k in one.Keys) Assert.True(one[k].AsSpan().SequenceEqual(many[k]), k);
    }

    [Theory]
    [InlineData("tokenizer_source: union", "x", "has no tokenizer.json")]
    [InlineData("chat_template: chatml", null, "chat_template 'chatml' is not a template any input defines")]
    [InlineData("chat_template: \"{{ x }}\"", null, "chat_template is neither auto, a template name, nor a Jinja template")]
    [InlineData("tokenizer: {source: union, tokens: {zz: {source: ./c}}}", null, "./c is not one of the models merged here")]
    public void Tokenizer_problems_fail_in_planning_naming_the_file(string line, string? dropTokenizerOf, string message)
    {
        ThreeModels();
        Model("c", ["<s>", "a"], 4);
        if (dropTokenizerOf is not null) File.Delete(_tmp.File($"{dropTokenizerOf}/tokenizer.json"));
        var e = Assert.ThrowsAny<ModelSoupsException>(() => MergeEngine.Run(Recipe("""
            merge_method: task_arithmetic
            base_model: ./base
            models: [{model: ./x, parameters: {weight: 1}}, {model: ./y, parameters: {weight: 1}}]

            """ + line + "\n"), _tmp.File("out"), Options));
        Assert.Contains(message, e.Message);
        Assert.False(Directory.Exists(_tmp.File("out")));
    }

    [Fact]
    public void Embedding_rows_follow_mergekits_rule_for_present_missing_base_and_mean()
    {
        // Pure unit: inputs 0 (base), 1, 2; tokens t0..t4.
        var out_ = Vocabulary.FromTokens(["all", "base+1", "only2", "1+2", "none"]);
        var v0 = Vocabulary.FromTokens(["all", "base+1"]);
        var v1 = Vocabulary.FromTokens(["1+2", "all", "base+1"]);
        var v2 = Vocabulary.FromTokens(["only2", "all", "1+2"]);
        var rows = EmbeddingRows.Plan(out_, [v0, v1, v2], baseInput: 0);
        EmbeddingRows.SourceRow R(int i, int r) => new(i, r);
        Assert.Equal([R(2, 1)], rows.RowsFor(2, 0).ToArray());            // own row
        Assert.Equal([R(0, 1)], rows.RowsFor(2, 1).ToArray());            // 2 lacks it; base and 1 have it: the base's row
        Assert.Equal([R(2, 0)], rows.RowsFor(0, 2).ToArray());            // only 2 has it: its row for everyone
        Assert.Equal([R(1, 0), R(2, 2)], rows.RowsFor(0, 3).ToArray());   // several have it, not the base: their mean
        Assert.Empty(rows.RowsFor(1, 4).ToArray());                       // nobody: zeros
        Assert.True(EmbeddingRows.Plan(v0, [v0], null).IsIdentity(0));
        Assert.False(rows.IsIdentity(1));
    }
}
