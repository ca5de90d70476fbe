using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Models;

/// <summary>A multi-layer perceptron: flatten, then Linear + ReLU per hidden layer, then a Linear classifier.</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    readonly Sequential layers;

    /// <summary>State names are <c>layers.{i}.weight</c> / <c>.bias</c>, i counting the flatten and ReLU steps as PyTorch's Sequential does.</summary>
    public Mlp(int inputs, IReadOnlyList<int> hidden, int classes) : base(nameof(Mlp))
    {
        var steps = new List<nn.Module<Tensor, Tensor>> { nn.Flatten() };
        int width = inputs;
        foreach (int h in hidden)
        {
            steps.Add(nn.Linear(width, h));
            steps.Add(nn.ReLU());
            width = h;
        }
        steps.Add(nn.Linear(width, classes));
        layers = nn.Sequential(steps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => layers.call(input);
}
