using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Models;

/// <summary>A multi-layer perceptron: flatten, then Linear + ReLU per hidden layer, then a Linear classifier.</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>, IFunctionalModel, IFeatureClassifier
{
    readonly Sequential layers;
    readonly int[] _linearIndices;

    /// <summary>State names are <c>layers.{i}.weight</c> / <c>.bias</c>, i counting the flatten and ReLU steps as PyTorch's Sequential does.</summary>
    public Mlp(int inputs, IReadOnlyList<int> hidden, int classes) : base(nameof(Mlp))
    {
        var steps = new List<nn.Module<Tensor, Tensor>> { nn.Flatten() };
        var linear = new List<int>();
        int width = inputs;
        foreach (int h in hidden)
        {
            linear.Add(steps.Count);
            steps.Add(nn.Linear(width, h));
            steps.Add(nn.ReLU());
            width = h;
        }
        linear.Add(steps.Count);
        steps.Add(nn.Linear(width, classes));
        _linearIndices = [.. linear];
        layers = nn.Sequential(steps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => layers.call(input);

    /// <inheritdoc/>
    // Not a field: RegisterComponents would register it a second time under its own name.
    public Linear Head => (Linear)layers[_linearIndices[^1]];

    /// <inheritdoc/>
    public Tensor Features(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input.flatten(1);
        for (int i = 1; i < _linearIndices[^1]; i++) x = ((nn.Module<Tensor, Tensor>)layers[i]).call(x);
        return x.MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public Tensor Forward(Tensor input, IReadOnlyDictionary<string, Tensor> state)
    {
        using var scope = NewDisposeScope();
        var x = input.flatten(1);
        foreach (var i in _linearIndices)
        {
            x = nn.functional.linear(x, state[$"layers.{i}.weight"], state[$"layers.{i}.bias"]);
            if (i != _linearIndices[^1]) x = nn.functional.relu(x);
        }
        return x.MoveToOuterDisposeScope();
    }
}
