using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Models;

/// <summary>
/// A classifier made of a feature extractor and a final linear head, so the head can be fitted alone on
/// frozen features (the linear probe that Wortsman et al. 2022 and LP-FT use as the fine-tuning start).
/// </summary>
public interface IFeatureClassifier
{
    /// <summary>The input to the head: [N, features].</summary>
    Tensor Features(Tensor input);

    /// <summary>The final linear layer.</summary>
    Linear Head { get; }
}
