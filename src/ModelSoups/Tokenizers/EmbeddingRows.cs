namespace ModelSoups.Tokenizers;

/// <summary>
/// Where each row of a merged embedding (or <c>lm_head</c>) comes from, for every input, once the
/// output vocabulary differs from an input's (mergekit <c>tokenizer/embed.py</c>,
/// <c>PermutedEmbeddings</c>): input k's row for output token t is its own row for t when it has t;
/// otherwise a stand-in shared by all inputs lacking t — the one input's row when only one input has
/// t, the base's row when several have it and the base is one of them, the mean of their rows when
/// several have it and the base does not, and zeros when none has it. The method then merges these
/// permuted rows as it would any tensor. A <c>tokens:</c> entry of the recipe's <c>tokenizer:</c>
/// block replaces the stand-in (and with <c>force</c>, every input's row) for one token. Rows past
/// the vocabulary (<c>pad_to_multiple_of</c>) are zeros. Pure: ids in, ids out.
/// </summary>
public sealed class EmbeddingRows
{
    /// <summary>One source row: input <paramref name="Input"/>'s row <paramref name="Row"/>.</summary>
    public readonly record struct SourceRow(int Input, int Row);

    /// <summary>How the recipe overrides one token's rows.</summary>
    /// <param name="Rows">the rows averaged for it (one row: copied; none: zeros).</param>
    /// <param name="Force">true: every input uses these rows, even one that has the token.</param>
    public sealed record Override(IReadOnlyList<SourceRow> Rows, bool Force);

    readonly int[][] _own;
    readonly SourceRow[][] _standIn;
    readonly bool[] _force;

    EmbeddingRows(int rows, int[][] own, SourceRow[][] standIn, bool[] force)
    {
        RowCount = rows;
        _own = own;
        _standIn = standIn;
        _force = force;
    }

    /// <summary>Rows of the output tensor (the output vocabulary, padded).</summary>
    public int RowCount { get; }

    /// <summary>Number of inputs.</summary>
    public int InputCount => _own.Length;

    /// <summary>Input <paramref name="input"/>'s own row for output row <paramref name="row"/>, or -1 when it uses the stand-in rows.</summary>
    public int OwnRow(int input, int row) => row < _own[input].Length && !_force[row] ? _own[input][row] : -1;

    /// <summary>The stand-in rows of output row <paramref name="row"/>, averaged for every input without its own (none: zeros).</summary>
    public ReadOnlySpan<SourceRow> StandIn(int row) => _standIn[row];

    /// <summary>
    /// The rows input <paramref name="input"/> contributes to output row <paramref name="row"/>:
    /// its own row, or the stand-in rows to average (possibly from other inputs; none means zeros).
    /// </summary>
    public ReadOnlySpan<SourceRow> RowsFor(int input, int row)
    {
        if (row >= _own[input].Length) return [];
        int own = _own[input][row];
        if (own >= 0 && !_force[row]) return new[] { new SourceRow(input, own) };
        return _standIn[row];
    }

    /// <summary>Whether every output row r of input <paramref name="input"/> is its own row r (nothing to gather).</summary>
    public bool IsIdentity(int input) => _own[input].Length == RowCount && !_force.Any(f => f)
        && _own[input].Select((r, i) => r == i).All(x => x);

    /// <summary>Plans the rows.</summary>
    /// <param name="output">the output vocabulary.</param>
    /// <param name="inputs">each input's vocabulary, in the order the method sees the inputs.</param>
    /// <param name="baseInput">index of the base among <paramref name="inputs"/>, or null.</param>
    /// <param name="overrides">per-token overrides from the recipe.</param>
    /// <param name="padTo">pad the row count up to a multiple of this (1: no padding).</param>
    public static EmbeddingRows Plan(Vocabulary output, IReadOnlyList<Vocabulary> inputs, int? baseInput,
        IReadOnlyDictionary<string, Override>? overrides = null, int padTo = 1)
    {
        int n = output.Count;
        for (int i = 0; i < n; i++)
            if (output.Tokens[i] is var t && output.IdOf(t) != i)
                throw new ArgumentException("the output vocabulary's ids must be 0..n-1", nameof(output));
        int rows = padTo > 1 && n % padTo != 0 ? n + padTo - n % padTo : n;
        var own = new int[inputs.Count][];
        for (int k = 0; k < inputs.Count; k++)
        {
            own[k] = new int[rows];
            Array.Fill(own[k], -1);
            for (int r = 0; r < n; r++) own[k][r] = inputs[k].IdOf(output.Tokens[r]);
        }
        var standIn = new SourceRow[rows][];
        var force = new bool[rows];
        for (int r = 0; r < rows; r++)
        {
            if (r >= n) { standIn[r] = []; continue; }
            if (overrides is not null && overrides.TryGetValue(output.Tokens[r], out var o))
            {
                standIn[r] = [.. o.Rows];
                force[r] = o.Force;
                continue;
            }
            var present = Enumerable.Range(0, inputs.Count).Where(k => own[k][r] >= 0).ToList();
            standIn[r] = present.Count switch
            {
                0 => [],
                1 => [new SourceRow(present[0], own[present[0]][r])],
                _ when baseInput is int b && own[b][r] >= 0 => [new SourceRow(b, own[b][r])],
                _ => [.. present.Select(k => new SourceRow(k, own[k][r]))],
            };
        }
        return new EmbeddingRows(rows, own, standIn, force);
    }
}
