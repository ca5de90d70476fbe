using ModelSoups.Onnx.Format;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Models;

/// <summary>
/// A sentence classifier in sentence-transformers' form: a <see cref="BertEncoder"/>, mean pooling of the last hidden
/// states over the real (non-padding) tokens, and a new linear head. State names are Hugging Face BertModel's
/// (<c>embeddings.*</c>, <c>encoder.layer.N.*</c>, <c>pooler.*</c>, at the root) plus <c>classifier.weight</c> and
/// <c>classifier.bias</c> (the name BertForSequenceClassification uses). The pooler is kept so checkpoints stay complete
/// BertModel weights; mean pooling does not use it, so fine-tuning leaves it as pre-trained.
/// Input: token ids [N, T] int64, 0 = [PAD].
/// </summary>
public sealed class BertClassifier : nn.Module<Tensor, Tensor>, IFunctionalModel, IFeatureClassifier
{
    readonly BertEncoder _encoder;
    readonly Linear classifier;

    /// <summary>Wraps <paramref name="encoder"/> (its parameters become this module's, at the root) with a <paramref name="classes"/>-way head.</summary>
    public BertClassifier(BertEncoder encoder, int classes) : base(nameof(BertClassifier))
    {
        _encoder = encoder;
        foreach (var (name, child) in encoder.named_children()) register_module(name, child);
        classifier = nn.Linear(encoder.Config.Hidden, classes);
        register_module(nameof(classifier), classifier);
    }

    /// <summary>all-MiniLM-L6-v2 from <see cref="MiniLmPackage"/> with a new <paramref name="classes"/>-way head.</summary>
    public static BertClassifier MiniLm(int classes) =>
        new(BertEncoder.FromOnnx(OnnxModel.Parse(MiniLmPackage.ModelBytes(), MiniLmPackage.DefaultPath), MiniLmPackage.DefaultPath), classes);

    /// <summary>
    /// Stops gradients to the three embedding tables (word, position, token type: 12M of MiniLM's 22.7M parameters), so
    /// fine-tuning trains the transformer layers and the head only. On a CPU this roughly halves a step's optimizer work
    /// and drops the dense 30 522 × 384 word-embedding gradient; averaged models still average the (then equal) tables.
    /// </summary>
    public void FreezeEmbeddings()
    {
        foreach (var (name, p) in named_parameters())
            if (name.StartsWith("embeddings.", StringComparison.Ordinal) && !name.Contains("LayerNorm", StringComparison.Ordinal)) p.requires_grad = false;
    }

    /// <summary>The encoder's shape.</summary>
    public BertConfig Config => _encoder.Config;

    /// <inheritdoc/>
    public Linear Head => classifier;

    /// <inheritdoc/>
    public override Tensor forward(Tensor ids)
    {
        using var features = Features(ids);
        return classifier.call(features);
    }

    /// <summary>Mean-pooled sentence embeddings [N, hidden] (sentence-transformers' pooling: padding excluded).</summary>
    public Tensor Features(Tensor ids) => Pool(ids, _encoder.Forward(ids, OwnParameters()).Hidden);

    /// <inheritdoc/>
    public Tensor Forward(Tensor ids, IReadOnlyDictionary<string, Tensor> state)
    {
        Tensor Lookup(string name) => state.TryGetValue(name, out var t) ? t
            : throw new ArgumentException($"the state has no tensor '{name}'", nameof(state));
        using var pooled = Pool(ids, _encoder.Forward(ids, Lookup).Hidden);
        return nn.functional.linear(pooled, Lookup("classifier.weight"), Lookup("classifier.bias"));
    }

    Func<string, Tensor> OwnParameters()
    {
        var map = named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter, StringComparer.Ordinal);
        return name => map[name];
    }

    /// <summary>Σ_t mask·h / max(Σ_t mask, 1e-9), the sentence-transformers mean pooling; disposes <paramref name="hidden"/>.</summary>
    static Tensor Pool(Tensor ids, Tensor hidden)
    {
        using var h = hidden;
        using var scope = NewDisposeScope();
        using var zero = 0L.ToScalar();
        using var tiny = 1e-9.ToScalar();
        var mask = ids.ne(zero).to(hidden.dtype).unsqueeze(-1);   // [N, T, 1]
        var sum = hidden.mul(mask).sum(1);
        var count = mask.sum(1).clamp_min(tiny);
        return sum.div(count).MoveToOuterDisposeScope();
    }
}
