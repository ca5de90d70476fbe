using ModelSoups.Cli;
using ModelSoups.TorchSharp.Alignment;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Tests.Data;
using ModelSoups.TorchSharp.Training;
using static TorchSharp.torch;
using static ModelSoups.TorchSharp.Tests.Alignment.AlignmentFixtures;

namespace ModelSoups.TorchSharp.Tests.Alignment;

public class AlignCommandTests
{
    [Theory]
    [InlineData(ModelSpec.MlpName, "weight")]
    [InlineData(ModelSpec.Cnn, "activation")]
    public void Soup_align_writes_a_checkpoint_with_the_models_function(string architecture, string method)
    {
        using var t = new TempFolder();
        var data = SyntheticImages.WriteFile(t, 100);
        var spec = ModelSpec.ForArchitecture(architecture, SyntheticImages.Classes, 1, SyntheticImages.Side);
        using (var a = Model(spec, 1)) ModuleFolder.Save(a, spec, t["a"]);
        using (var b = Model(spec, 2)) ModuleFolder.Save(b, spec, t["b"]);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.Equal(0, SoupApp.Run(["align", "--reference", t["a"], "--model", t["b"], "--out", t["aligned"], "--method", method, "--data", data, "--samples", "64"], stdout, stderr));
        Assert.Contains("moved", stdout.ToString());

        var (original, _) = ModuleFolder.Load(t["b"]);
        var (aligned, alignedSpec) = ModuleFolder.Load(t["aligned"]);
        Assert.Equal(spec.ToJson(), alignedSpec.ToJson());
        var (x, _) = DatasetSplits.Load(data).Train.Batch(Enumerable.Range(0, 16).ToArray());
        using var _ = no_grad();
        Assert.True(MaxAbsDifference(original.call(spec.Prepare(x)), aligned.call(spec.Prepare(x))) < 1e-5);
        Assert.False(StateTensors.Of(original).All(p => p.Value.eq(StateTensors.Of(aligned)[p.Key]).all().item<bool>()));
    }

    [Theory]
    [InlineData("weight")]
    [InlineData("activation")]
    public void Soup_align_recovers_a_permuted_ImageNet_ResNet18_bit_for_bit(string method)
    {
        // B is A with every residual stream and block channel group shuffled; aligning B onto A must give A back exactly.
        using var t = new TempFolder();
        var data = SyntheticImages.WriteFile(t, 40);
        var spec = ModelSpec.ForArchitecture(ModelSpec.ResNet18, SyntheticImages.Classes, 1, SyntheticImages.Side);
        using var a = (ResNet18Classifier)spec.Create();
        a.eval();
        ModuleFolder.Save(a, spec, t["a"]);
        var state = StateTensors.Of(a);
        var network = PermutableNetwork.FromResNet(a, StateTensors.Shapes(state));
        StateTensors.Into(a, network.Spec.Apply(state, RandomPermutation(network.Spec, 1)));
        ModuleFolder.Save(a, spec, t["b"]);
        var stdout = new StringWriter();
        Assert.Equal(0, SoupApp.Run(["align", "--reference", t["a"], "--model", t["b"], "--out", t["aligned"], "--method", method, "--data", data, "--samples", "32"],
            stdout, new StringWriter()));
        Assert.Contains("moved", stdout.ToString());
        var (aligned, _) = ModuleFolder.Load(t["aligned"]);
        AssertBitEqual(state, StateTensors.Of(aligned));
    }

    [Fact]
    public void Soup_align_rejects_different_architectures_and_a_bad_method_with_exit_2()
    {
        using var t = new TempFolder();
        var mlp = ModelSpec.ForArchitecture(ModelSpec.MlpName, SyntheticImages.Classes, 1, SyntheticImages.Side);
        var cnn = ModelSpec.ForArchitecture(ModelSpec.Cnn, SyntheticImages.Classes, 1, SyntheticImages.Side);
        using (var a = Model(mlp, 1)) ModuleFolder.Save(a, mlp, t["a"]);
        using (var b = Model(cnn, 2)) ModuleFolder.Save(b, cnn, t["b"]);
        var err = new StringWriter();
        Assert.Equal(2, SoupApp.Run(["align", "--reference", t["a"], "--model", t["b"], "--out", t["o"]], new StringWriter(), err));
        Assert.Contains("different architectures", err.ToString());
        Assert.Single(err.ToString().Trim().Split('\n'));
        err = new StringWriter();
        Assert.Equal(2, SoupApp.Run(["align", "--reference", t["a"], "--model", t["a"], "--out", t["o"], "--method", "magic"], new StringWriter(), err));
        Assert.Contains("--method must be weight or activation", err.ToString());
        err = new StringWriter();
        Assert.Equal(2, SoupApp.Run(["align", "--reference", t["a"], "--model", t["a"], "--out", t["o"], "--method", "activation"], new StringWriter(), err));
        Assert.Contains("needs data", err.ToString());
        Assert.False(Directory.Exists(t["o"]));
    }
}
