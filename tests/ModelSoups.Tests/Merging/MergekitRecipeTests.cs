using ModelSoups.Engine;
using ModelSoups.Recipes;
using ModelSoups.Tensors;
using ModelSoups.Tests.Engine;
using ModelSoups.TestSupport;

namespace ModelSoups.Tests.Merging;

/// <summary>
/// Whole mergekit recipes (as mergekit users write them) on bf16 model folders: the output is
/// mergekit's weights within one bf16 ulp. Expected values: Reference/make_mergekit_golden.py
/// ("recipe_*": inputs rounded to bf16, mergekit's formula in f32, rounded once to bf16).
/// </summary>
public sealed class MergekitRecipeTests : IDisposable
{
    readonly TempDir _tmp = new();
    public void Dispose() => _tmp.Dispose();

    static readonly float[] Base = [0.10f, -0.20f, 0.30f, -0.40f, 0.50f, -0.60f, 0.70f, -0.80f];
    static readonly float[] A = [0.35f, -0.17f, 0.04f, -0.93f, 0.46f, -0.11f, 0.72f, -0.37f];
    static readonly float[] B = [-0.26f, -0.62f, 0.33f, 0.21f, 0.97f, -0.58f, 0.19f, -0.83f];
    static readonly float[] C = [0.12f, 0.41f, 0.92f, -0.44f, 0.08f, -1.23f, 0.68f, -0.06f];
    const string Tensor = "model.layers.0.mlp.up_proj.weight";

    float[] Merge(string recipe)
    {
        foreach (var (name, values) in new[] { ("base", Base), ("a", A), ("b", B), ("c", C) })
            if (!Directory.Exists(_tmp.File(name)))
                ModelFolders.Write(_tmp.File(name), [(new TensorInfo(Tensor, DType.BF16, [8]), ModelFolders.Bytes(DType.BF16, values))]);
        var path = _tmp.File($"recipe-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, recipe + "dtype: float32\nout_dtype: bfloat16\n");
        var output = _tmp.File($"out-{Guid.NewGuid():N}");
        MergeEngine.Run(RecipeParser.ParseFile(path), output, new MergeOptions());
        return ModelFolders.ReadFloats(output)[Tensor];
    }

    static void WithinOneBf16Ulp(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            // bf16 keeps 8 significant bits: one ulp at x is 2^(⌊log2 |x|⌋ − 7).
            double ulp = Math.Pow(2, Math.Floor(Math.Log2(Math.Abs(expected[i]))) - 7);
            Assert.True(Math.Abs(expected[i] - actual[i]) <= ulp, $"element {i}: expected {expected[i]:R}, got {actual[i]:R} (ulp {ulp})");
        }
    }

    [Fact]
    public void Ties() => WithinOneBf16Ulp(
        [0.10009765625f, 0.41015625f, 0.921875f, -0.9296875f, 0.96875f, -0.10986328125f, 0.1904296875f, -0.265625f],
        Merge("merge_method: ties\nbase_model: ./base\nmodels:\n    - model: ./a\n      parameters: {weight: 1.0, density: 0.5}\n    - model: ./b\n      parameters: {weight: 0.7, density: 0.5}\n    - model: ./c\n      parameters: {weight: 0.5, density: 0.5}\n"));

    [Fact]
    public void Ties_normalize_false() => WithinOneBf16Ulp(
        [0.10009765625f, 0.10498046875f, 0.609375f, -0.9296875f, 0.828125f, -0.10986328125f, 0.34375f, 0.001220703125f],
        Merge("merge_method: ties\nbase_model: ./base\nmodels:\n    - model: ./a\n      parameters: {weight: 1.0, density: 0.5}\n    - model: ./b\n      parameters: {weight: 0.7, density: 0.5}\n    - model: ./c\n      parameters: {weight: 0.5, density: 0.5}\nparameters: {normalize: false}\n"));

    [Fact]
    public void Breadcrumbs() => WithinOneBf16Ulp(
        [0.09765625f, -0.189453125f, 0.3515625f, -0.400390625f, 0.6171875f, -0.421875f, 0.34375f, -0.369140625f],
        Merge("merge_method: breadcrumbs\nbase_model: ./base\nmodels:\n    - model: ./a\n      parameters: {weight: 1.0, density: 0.5, gamma: 0.2}\n    - model: ./b\n      parameters: {weight: 0.7, density: 0.5, gamma: 0.2}\n    - model: ./c\n      parameters: {weight: 0.5, density: 0.5, gamma: 0.2}\n"));

    [Fact]
    public void Task_arithmetic_with_density_ignored() => WithinOneBf16Ulp(
        [0.10400390625f, -0.1796875f, 0.3359375f, -0.4609375f, 0.5390625f, -0.50390625f, 0.52734375f, -0.41015625f],
        Merge("merge_method: task_arithmetic\nbase_model: ./base\nmodels:\n    - model: ./a\n      parameters: {weight: 1.0, density: 0.5}\n    - model: ./b\n      parameters: {weight: 0.7, density: 0.5}\n    - model: ./c\n      parameters: {weight: 0.5, density: 0.5}\nparameters: {lambda: 0.5}\n"));

    [Fact]
    public void Sce() => WithinOneBf16Ulp(
        [0.10009765625f, 0.212890625f, 0.73046875f, 0.2099609375f, 0.5f, -1.2265625f, 0.69921875f, -0.80078125f],
        Merge("merge_method: sce\nbase_model: ./base\nmodels:\n  - model: ./a\n  - model: ./b\n  - model: ./c\nparameters: {select_topk: 0.5}\n"));

    [Fact]
    public void Slerp_with_the_base_listed() => WithinOneBf16Ulp(
        [0.185546875f, -0.2001953125f, 0.2314453125f, -0.58984375f, 0.51171875f, -0.47265625f, 0.73828125f, -0.69921875f],
        Merge("merge_method: slerp\nbase_model: ./base\nmodels:\n  - model: ./base\n  - model: ./a\nparameters: {t: 0.3}\n"));

    [Fact]
    public void Karcher() => WithinOneBf16Ulp(
        [0.1083984375f, -0.197265625f, 0.5234375f, -0.546875f, 0.6875f, -0.78515625f, 0.70703125f, -0.5703125f],
        Merge("merge_method: karcher\nmodels:\n  - model: ./a\n  - model: ./b\n  - model: ./c\n"));

    [Fact]
    public void Multislerp() => WithinOneBf16Ulp(
        [0.1552734375f, -0.2216796875f, 0.25390625f, -0.63671875f, 0.6328125f, -0.2099609375f, 0.31640625f, 0.07568359375f],
        Merge("merge_method: multislerp\nbase_model: ./base\nmodels:\n    - model: ./a\n      parameters: {weight: 1.0}\n    - model: ./b\n      parameters: {weight: 0.7}\n    - model: ./c\n      parameters: {weight: 0.5}\n"));
}
