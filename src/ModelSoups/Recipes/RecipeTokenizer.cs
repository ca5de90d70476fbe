namespace ModelSoups.Recipes;

/// <summary>Where the output vocabulary comes from (mergekit <c>tokenizer_source</c> / <c>tokenizer.source</c>).</summary>
public enum TokenizerSourceKind
{
    /// <summary>The base model's tokenizer (else the first model's).</summary>
    Base,

    /// <summary>The union of every input's vocabulary.</summary>
    Union,

    /// <summary>One named model's tokenizer.</summary>
    Model,
}

/// <summary>One entry of <c>tokenizer.tokens</c>: where token's embedding rows come from.</summary>
/// <param name="Model">take the row of this model (null with <paramref name="Zero"/>).</param>
/// <param name="Zero">use zeros (<c>source: {kind: zero}</c>).</param>
/// <param name="SourceToken">with <c>kind: model_token</c>: the token of <paramref name="Model"/> whose row is taken (null: the same token).</param>
/// <param name="SourceTokenId">with <c>kind: model_token</c>: the row id of <paramref name="Model"/> (null: by token).</param>
/// <param name="Force">use this row for every input, even one that has the token.</param>
public sealed record RecipeTokenEmbedding(RecipeModel? Model, bool Zero, string? SourceToken, int? SourceTokenId, bool Force);

/// <summary>
/// The recipe's tokenizer settings: <c>tokenizer_source: union | base | PATH</c>, or the newer
/// <c>tokenizer: {source, tokens, pad_to_multiple_of}</c> block, plus <c>chat_template</c>.
/// </summary>
/// <param name="Kind">where the vocabulary comes from; null when only a chat template is set.</param>
/// <param name="Model">with <see cref="TokenizerSourceKind.Model"/>: the model.</param>
/// <param name="Tokens">per-token embedding sources (token → source).</param>
/// <param name="PadToMultipleOf">pad the vocabulary (embedding rows) to a multiple of this; null for none.</param>
/// <param name="ChatTemplate">
/// <c>auto</c> (the template most inputs share), the name of a template an input defines (a
/// <c>tokenizer_config.json</c> list of <c>{name, template}</c>), or a literal Jinja template; null to keep the source's.
/// </param>
public sealed record RecipeTokenizer(
    TokenizerSourceKind? Kind,
    RecipeModel? Model,
    IReadOnlyDictionary<string, RecipeTokenEmbedding> Tokens,
    int? PadToMultipleOf,
    string? ChatTemplate);
