namespace ModelSoups.Merging;

/// <summary>The parameters of <see cref="LayerSwap"/> for one tensor, typed.</summary>
/// <param name="LanguageModel">Which of the two models is the language model (<c>language_model</c>, 0 or 1).</param>
/// <param name="Bottom">Layers at the bottom taken from the language model (<c>bottom</c>).</param>
/// <param name="Top">Layers at the top taken from the language model (<c>top</c>).</param>
/// <param name="Transition">Layers over which the share changes linearly (<c>transition</c>).</param>
/// <param name="NonLayerShare">The language model's share of tensors outside the layers (<c>non_layer_source</c>:
/// language 1, average ½, task 0).</param>
public sealed record LayerSwapParameters(int LanguageModel, int Bottom, int Top, int Transition, double NonLayerShare);
