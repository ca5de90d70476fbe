using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Alignment;

/// <summary>What <see cref="ModelAlignment.Align"/> did.</summary>
/// <param name="Method">The matching used.</param>
/// <param name="Groups">Per permutation group: name, size, and how many units moved.</param>
/// <param name="Output">The aligned checkpoint folder.</param>
public sealed record AlignmentResult(AlignmentMethod Method, IReadOnlyList<(string Name, int Size, int Moved)> Groups, string Output);

/// <summary>
/// <c>soup align</c>: permutes the units of one model onto another's (same architecture, e.g. trained from a different
/// random initialisation) and writes the permuted model as a normal checkpoint folder. The result computes exactly the
/// function of the model it came from; only its unit order changes, so averaging it with the reference
/// (<c>soup merge --method linear</c>) is the "permute, then average" baseline.
/// </summary>
public static class ModelAlignment
{
    /// <summary>Both models' state with the chain's permutation spec checked against both (feed-forward architectures).</summary>
    public static (LayerChain Chain, PermutationSpec Spec) Prepare(ModelSpec reference, ModelSpec model,
        IReadOnlyDictionary<string, Tensor> referenceState, IReadOnlyDictionary<string, Tensor> modelState, string referencePath, string modelPath)
    {
        CheckSameArchitecture(reference, model, modelPath);
        var chain = LayerChain.For(model, modelPath);
        var spec = PermutationSpec.FromChain(chain, StateTensors.Shapes(modelState), modelPath);
        spec.Validate(StateTensors.Shapes(referenceState), referencePath);
        return (chain, spec);
    }

    /// <summary>The permutable network of <paramref name="module"/> (any supported architecture, residual included), its spec checked against both states.</summary>
    public static PermutableNetwork PrepareNetwork(ModelSpec reference, ModelSpec model, nn.Module module,
        IReadOnlyDictionary<string, Tensor> referenceState, IReadOnlyDictionary<string, Tensor> modelState, string referencePath, string modelPath)
    {
        CheckSameArchitecture(reference, model, modelPath);
        var network = PermutableNetwork.For(model, module, StateTensors.Shapes(modelState), modelPath);
        network.Spec.Validate(StateTensors.Shapes(referenceState), referencePath);
        return network;
    }

    static void CheckSameArchitecture(ModelSpec reference, ModelSpec model, string modelPath)
    {
        if (reference.Architecture != model.Architecture || reference.Channels != model.Channels || reference.ImageSize != model.ImageSize)
            throw new ModelSoupsException($"the two models have different architectures ({reference.Describe()} vs {model.Describe()}); alignment needs one architecture", modelPath);
    }

    /// <summary>The permutations of <paramref name="model"/> onto <paramref name="reference"/> by <paramref name="method"/>.</summary>
    public static int[][] Match(AlignmentMethod method, LayerChain chain, PermutationSpec spec,
        IReadOnlyDictionary<string, Tensor> reference, IReadOnlyDictionary<string, Tensor> model, IEnumerable<Tensor>? inputs, ulong seed = 0) =>
        Match(method, PermutableNetwork.FromChain(chain, StateTensors.Shapes(model)), reference, model, inputs, seed);

    /// <summary>The permutations of <paramref name="model"/> onto <paramref name="reference"/> by <paramref name="method"/>.</summary>
    public static int[][] Match(AlignmentMethod method, PermutableNetwork network,
        IReadOnlyDictionary<string, Tensor> reference, IReadOnlyDictionary<string, Tensor> model, IEnumerable<Tensor>? inputs, ulong seed = 0) => method switch
    {
        AlignmentMethod.Weight => WeightMatching.Match(network.Spec, reference, model, seed),
        AlignmentMethod.Activation => ActivationMatching.Match(network, reference, model,
            inputs ?? throw new ModelSoupsException("activation matching needs data: give --data")),
        _ => throw new ArgumentOutOfRangeException(nameof(method)),
    };

    /// <summary>
    /// Seeded batches of <paramref name="samples"/> training images, prepared as model input
    /// (labels unused: matching and PLeaS are label-free).
    /// </summary>
    public static List<Tensor> Inputs(ModelSpec spec, ImageDataset data, int samples, int batchSize, ulong seed)
    {
        if (samples < 1) throw new ModelSoupsException("--samples must be at least 1");
        var sample = data.Sample(Math.Min(samples, data.Count), seed);
        var result = new List<Tensor>();
        for (int start = 0; start < sample.Count; start += batchSize)
        {
            var idx = Enumerable.Range(start, Math.Min(batchSize, sample.Count - start)).ToArray();
            using var scope = NewDisposeScope();
            var (x, _) = sample.Batch(idx);
            result.Add(spec.Prepare(x).MoveToOuterDisposeScope());
        }
        return result;
    }

    /// <summary>Aligns the model in folder <paramref name="modelPath"/> onto <paramref name="referencePath"/> and writes it to <paramref name="output"/>.</summary>
    public static AlignmentResult Align(string referencePath, string modelPath, string output, AlignmentMethod method,
        ImageDataset? data, int samples = 512, int batchSize = 128, ulong seed = 0, bool overwrite = false)
    {
        var (referenceModule, referenceSpec) = ModuleFolder.Load(referencePath);
        var (module, spec) = ModuleFolder.Load(modelPath);
        using var _ = no_grad();
        var referenceState = StateTensors.Of(referenceModule);
        var state = StateTensors.Of(module);
        var network = PrepareNetwork(referenceSpec, spec, module, referenceState, state, referencePath, modelPath);
        var permutationSpec = network.Spec;
        var inputs = method == AlignmentMethod.Activation
            ? Inputs(spec, data ?? throw new ModelSoupsException("activation matching needs data: give --data"), samples, batchSize, seed)
            : null;
        var perm = Match(method, network, referenceState, state, inputs, seed);
        var aligned = permutationSpec.Apply(state, perm);
        StateTensors.Into(module, aligned);
        ModuleFolder.Save(module, spec, output, overwrite: overwrite);
        return new AlignmentResult(method,
            permutationSpec.Groups.Select((g, i) => (g.Name, g.Size, perm[i].Where((p, j) => p != j).Count())).ToList(), output);
    }
}
