using ModelSoups.Checkpoints;
using ModelSoups.Formats.Safetensors;
using ModelSoups.Tensors;
using ModelSoups.TorchSharp.Checkpoints;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Soups;
using ModelSoups.TorchSharp.Sparse;
using ModelSoups.TorchSharp.Tests.Data;
using ModelSoups.TorchSharp.Training;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Tests.Sparse;

public class SparsityMaskTests
{
    static readonly ModelSpec Spec = ModelSpec.ForArchitecture(ModelSpec.Cnn, SyntheticImages.Classes, 1, SyntheticImages.Side);

    static SmallCnn Cnn(int seed)
    {
        manual_seed(seed);
        return new SmallCnn(1, SyntheticImages.Classes, width: 16);
    }

    [Fact]
    public void Prunable_weights_are_conv_and_linear_weights_only()
    {
        using var cnn = Cnn(1);
        Assert.Equal(["conv1.weight", "conv2.weight", "fc.weight"], SparsityMask.PrunableNames(cnn));
        using var mlp = new Mlp(64, [16, 8], 4);
        Assert.Equal(["layers.1.weight", "layers.3.weight", "layers.5.weight"], SparsityMask.PrunableNames(mlp));
    }

    [Fact]
    public void Global_pruning_hits_the_count_and_the_mask_survives_retraining_and_averaging()
    {
        using var t = new TempFolder();
        var data = SyntheticImages.Create(200, 3);
        using var start = Cnn(1);
        using var mask = SparsityMask.Prune(start, 0.7, PruningScope.Global);
        long total = 16 * 9 + 32 * 16 * 9 + 4 * 32;
        Assert.Equal(total, mask.Total);
        Assert.Equal(PruneSchedule.ZeroCount(total, 0.7), mask.PrunedCount);
        Assert.Equal((mask.PrunedCount, total), SparsityMask.CountZeros(start));
        Assert.Equal(0, mask.Violations(start));

        // Two ingredients retrained with different data orders; SGD momentum and weight decay would revive pruned weights without the mask.
        var state = ModuleState.ToCheckpoint(start);
        var trained = new List<SmallCnn>();
        foreach (ulong seed in new ulong[] { 0, 1 })
        {
            var m = Cnn(9);
            ModuleState.Load(m, state);
            var hp = new TrainingHyperparameters { Optimizer = "sgd", LearningRate = 0.05, WeightDecay = 0.01, Steps = 6, BatchSize = 16, Schedule = "linear", Warmup = 0.1, DataSeed = seed };
            SparseSoup.Retrain(m, Spec, mask, data, data, hp);
            Assert.Equal(0, mask.Violations(m));
            var (zeros, _) = SparsityMask.CountZeros(m);
            Assert.Equal(mask.PrunedCount, zeros);   // nothing else became zero by chance
            trained.Add(m);
        }
        Assert.False(trained[0].state_dict()["conv2.weight"].equal(trained[1].state_dict()["conv2.weight"]).all().item<bool>());   // they did train apart
        using var soup = Cnn(5);
        ModuleSoup.Uniform(soup, trained);
        Assert.Equal(0, mask.Violations(soup));
        Assert.Equal(mask.PrunedCount, SparsityMask.CountZeros(soup).Zeros);

        // Without the mask hooks the same retraining revives pruned weights.
        using var unmasked = Cnn(9);
        ModuleState.Load(unmasked, state);
        FineTune.Run(unmasked, Spec, data, data, new TrainingHyperparameters { Optimizer = "sgd", LearningRate = 0.05, Steps = 6, BatchSize = 16 });
        Assert.True(mask.Violations(unmasked) > 0);
        foreach (var m in trained) m.Dispose();
    }

    [Fact]
    public void Mask_file_holds_bool_tensors_named_after_the_weights_true_where_kept()
    {
        using var t = new TempFolder();
        using var cnn = Cnn(2);
        using var mask = SparsityMask.Prune(cnn, 0.5, PruningScope.PerLayer);
        var path = t["mask.safetensors"];
        mask.Write(path);
        using var file = Checkpoint.Open(path);
        Assert.Equal(["conv1.weight.mask", "conv2.weight.mask", "fc.weight.mask"], file.Tensors.Keys.Order(StringComparer.Ordinal));
        var conv1 = file.Tensors["conv1.weight.mask"];
        Assert.Equal(DType.Bool, conv1.DType);
        Assert.Equal(new long[] { 16, 1, 3, 3 }, conv1.Shape);
        var bytes = conv1.GetBytes().ToArray();
        Assert.Equal(72, bytes.Count(b => b == 1));   // per-layer: half of 144 kept
        using var w = cnn.state_dict()["conv1.weight"].flatten();
        var values = w.data<float>().ToArray();
        for (int i = 0; i < values.Length; i++) Assert.Equal(bytes[i] == 0, values[i] == 0);
    }

    [Fact]
    public void A_written_mask_reads_back_equal_and_a_mask_of_another_shape_or_with_bad_bytes_is_refused_naming_the_file()
    {
        using var t = new TempFolder();
        using var cnn = Cnn(3);
        using var mask = SparsityMask.Prune(cnn, 0.7, PruningScope.Global);
        var path = t["mask.safetensors"];
        mask.Write(path);
        using (var read = SparsityMask.Read(path, cnn))
        {
            Assert.Equal(mask.Names, read.Names);
            Assert.Equal(mask.PrunedCount, read.PrunedCount);
            foreach (var name in mask.Names) Assert.Equal(mask.Keep(name), read.Keep(name));
            Assert.Equal(0, read.Violations(cnn));
        }

        // A mask written for another architecture (an MLP) does not fit the CNN.
        using var mlp = ModelSpec.ForArchitecture(ModelSpec.MlpName, SyntheticImages.Classes, 1, SyntheticImages.Side).Create();
        using (var other = SparsityMask.Prune(mlp, 0.5, PruningScope.Global)) other.Write(t["mlp.safetensors"]);
        var e = Assert.Throws<ModelSoupsException>(() => SparsityMask.Read(t["mlp.safetensors"], cnn));
        Assert.Equal(t["mlp.safetensors"], e.Path);

        // A BOOL byte other than 0 or 1.
        var tensors = mask.ToTensors().ToList();
        tensors[0].Data[5] = 7;
        SafetensorsFile.Write(t["bad.safetensors"], tensors);
        e = Assert.Throws<ModelSoupsException>(() => SparsityMask.Read(t["bad.safetensors"], cnn));
        Assert.Contains("byte 7 at 5", e.Message);
        Assert.Equal(t["bad.safetensors"], e.Path);

        // A tensor of the wrong type.
        tensors = mask.ToTensors().Select(x => x.Info.Name == "fc.weight.mask" ? (x.Info with { DType = DType.U8 }, x.Data) : x).ToList();
        SafetensorsFile.Write(t["u8.safetensors"], tensors);
        e = Assert.Throws<ModelSoupsException>(() => SparsityMask.Read(t["u8.safetensors"], cnn));
        Assert.Contains("'fc.weight.mask'", e.Message);
    }
}
