using ModelSoups.TorchSharp.Data;

namespace ModelSoups.TorchSharp.Tests.Data;

public class WordPieceTokenizerTests
{
    // Expected ids are line numbers (from 0) in the MiniLM vocab.txt (bert-base-uncased's), looked up with
    // `grep -n -x -F TOKEN vocab.txt` minus 1: [PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102, "!" 999, "," 1010,
    // hello 7592, world 2088, cafe 7668, free 2489, money 2769, una 14477, ##ffa 20961, ##ble 3468.
    static readonly WordPieceTokenizer Tokenizer = WordPieceTokenizer.MiniLm();

    [Fact]
    public void Lower_cases_and_splits_punctuation()
    {
        Assert.Equal([101, 7592, 1010, 2088, 999, 102, 0, 0], Tokenizer.Encode("Hello, World!", 8));
        Assert.Equal([2489, 2769, 999, 999, 999], Tokenizer.Pieces("FREE money!!!"));
    }

    [Fact]
    public void Strips_accents_and_splits_unknown_words_into_longest_pieces()
    {
        Assert.Equal([7668], Tokenizer.Pieces("Café"));
        Assert.Equal(Tokenizer.Pieces("naive"), Tokenizer.Pieces("naïve"));
        Assert.Equal(Tokenizer.Pieces("cafe"), Tokenizer.Pieces("cafe\u0301")); // decomposed é
        // Greedy longest match: "una" is the longest vocabulary prefix of "unaffable", then "##ffa", then "##ble".
        Assert.Equal([14477, 20961, 3468], Tokenizer.Pieces("unaffable"));
    }

    [Fact]
    public void Truncates_keeping_sep_and_reads_the_whole_vocabulary()
    {
        Assert.Equal([101, 2489, 2769, 999, 102], Tokenizer.Encode("free money!!! now", 5));
        Assert.Equal(30522, Tokenizer.Count);
        Assert.Equal((0, 101, 102), (Tokenizer.Padding, Tokenizer.Classification, Tokenizer.Separator));
    }

    [Fact]
    public void Crlf_and_lf_vocabularies_give_the_same_ids()
    {
        var lf = new WordPieceTokenizer("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nspam\n##s\nham\n");
        var crlf = new WordPieceTokenizer("[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n[MASK]\r\nspam\r\n##s\r\nham\r\n");
        Assert.Equal([2, 5, 6, 7, 1, 3], lf.Encode("Spams ham eggs", 6));
        Assert.Equal(lf.Encode("Spams ham eggs", 6), crlf.Encode("Spams ham eggs", 6));
    }
}
