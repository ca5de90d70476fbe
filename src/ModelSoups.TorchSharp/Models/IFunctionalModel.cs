using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Models;

/// <summary>
/// A model whose forward pass can run on tensors it is given instead of its own parameters and buffers
/// (PyTorch's torch.func.functional_call). Learned soups need it: the weights are Σ softmax(α)_i θ_i,
/// computed with gradient to α, and copying them into the module's parameters would cut the graph.
/// </summary>
public interface IFunctionalModel
{
    /// <summary>
    /// The model's output for <paramref name="input"/> computed from <paramref name="state"/> (every state_dict
    /// name: parameters and float buffers). Inference semantics: BatchNorm normalises with the given running statistics.
    /// </summary>
    Tensor Forward(Tensor input, IReadOnlyDictionary<string, Tensor> state);
}
