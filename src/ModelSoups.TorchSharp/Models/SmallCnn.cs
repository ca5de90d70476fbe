using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Models;

/// <summary>
/// A small CNN with BatchNorm for 28×28-ish images: two blocks of 3×3 conv → BatchNorm → ReLU → 2×2 max-pool,
/// global average pool, linear head. State names: conv1, bn1, conv2, bn2, fc.
/// </summary>
public sealed class SmallCnn : nn.Module<Tensor, Tensor>, IFunctionalModel, IFeatureClassifier
{
    // Declaration order is state_dict order (RegisterComponents walks the fields), as in PyTorch.
    readonly Conv2d conv1;
    readonly ScalarSafeBatchNorm2d bn1;
    readonly Conv2d conv2;
    readonly ScalarSafeBatchNorm2d bn2;
    readonly Linear fc;

    /// <summary>Blocks of <paramref name="width"/> and <paramref name="width2"/> (default 2·width) channels.</summary>
    public SmallCnn(int inChannels, int classes, int width = 16, int? width2 = null) : base(nameof(SmallCnn))
    {
        int second = width2 ?? 2 * width;
        conv1 = nn.Conv2d(inChannels, width, 3, padding: 1, bias: false);
        bn1 = new ScalarSafeBatchNorm2d(width);
        conv2 = nn.Conv2d(width, second, 3, padding: 1, bias: false);
        bn2 = new ScalarSafeBatchNorm2d(second);
        fc = nn.Linear(second, classes);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return fc.call(Features(input)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public Linear Head => fc;

    /// <inheritdoc/>
    public Tensor Features(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = nn.functional.max_pool2d(nn.functional.relu(bn1.call(conv1.call(input))), 2);
        x = nn.functional.max_pool2d(nn.functional.relu(bn2.call(conv2.call(x))), 2);
        return x.mean([2, 3]).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public Tensor Forward(Tensor input, IReadOnlyDictionary<string, Tensor> state)
    {
        using var scope = NewDisposeScope();
        Tensor Block(Tensor x, string conv, string bn, ScalarSafeBatchNorm2d module)
        {
            var y = nn.functional.conv2d(x, state[$"{conv}.weight"], padding: [1, 1]);
            y = FunctionalBatchNorm.Inference(y, state[$"{bn}.running_mean"], state[$"{bn}.running_var"],
                state[$"{bn}.weight"], state[$"{bn}.bias"], module.Eps);
            return nn.functional.max_pool2d(nn.functional.relu(y), 2);
        }
        var h = Block(Block(input, "conv1", "bn1", bn1), "conv2", "bn2", bn2).mean([2, 3]);
        return nn.functional.linear(h, state["fc.weight"], state["fc.bias"]).MoveToOuterDisposeScope();
    }
}
