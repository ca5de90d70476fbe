using System.Text.Json.Nodes;

namespace ModelSoups.Tokenizers;

/// <summary>
/// The output vocabulary of <c>tokenizer_source: union</c> (mergekit <c>build_union_tokenizer</c>):
/// the base's tokens with their ids, then every other input's regular tokens the base lacks, then
/// the added tokens (special tokens) the base lacks, each new token taking the next id. mergekit
/// appends them in the order of a hash map's iteration; we append them by input (recipe order) and
/// then by the token's id in that input, so the result is the same set of tokens, deterministic.
/// An added token defined by several inputs keeps the first definition, as in mergekit.
/// </summary>
public static class VocabularyUnion
{
    /// <summary>The union vocabulary and the added-token entries it gains over the base.</summary>
    /// <param name="Vocabulary">the output vocabulary.</param>
    /// <param name="NewRegular">tokens appended as plain added tokens (not special).</param>
    /// <param name="NewAdded">added-token entries appended from other inputs, by content.</param>
    public sealed record Result(Vocabulary Vocabulary, IReadOnlyList<string> NewRegular, IReadOnlyList<JsonObject> NewAdded);

    /// <summary>Builds the union of <paramref name="baseVocabulary"/> and <paramref name="others"/>.</summary>
    public static Result Build(Vocabulary baseVocabulary, IReadOnlyList<Vocabulary> others)
    {
        baseVocabulary.RequireContiguous();
        var tokens = new List<string>(baseVocabulary.Tokens);
        var seen = new HashSet<string>(tokens, StringComparer.Ordinal);
        var newRegular = new List<string>();
        foreach (var v in others)
            foreach (var t in v.Tokens)
                if (!v.Added.ContainsKey(t) && seen.Add(t)) { tokens.Add(t); newRegular.Add(t); }
        var newAdded = new List<JsonObject>();
        foreach (var v in others)
            foreach (var t in v.Tokens)
                if (v.Added.TryGetValue(t, out var entry) && seen.Add(t))
                {
                    tokens.Add(t);
                    newAdded.Add(entry);
                }
        return new Result(Vocabulary.FromTokens(tokens, baseVocabulary.Folder), newRegular, newAdded);
    }
}
