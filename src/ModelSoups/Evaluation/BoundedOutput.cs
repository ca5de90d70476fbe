namespace ModelSoups.Evaluation;

/// <summary>
/// What is kept of an evaluation command's output: its last non-empty line and the end of the stream, each
/// at most <see cref="Limit"/> characters, however much the command prints (a command printing one 1.2 GB line
/// costs 64 KiB, not the gigabyte). Filled by a reader thread; read at any time, also while the reader is still
/// blocked on a pipe that a background child of the command keeps open.
/// </summary>
internal sealed class BoundedOutput(int limit = BoundedOutput.DefaultLimit)
{
    /// <summary>64 KiB of characters.</summary>
    public const int DefaultLimit = 64 * 1024;

    readonly object _gate = new();
    readonly CharWindow _current = new(limit);
    readonly CharWindow _tail = new(limit);
    string? _last;
    bool _lastCut;

    /// <summary>The most characters kept of one line and of the tail.</summary>
    public int Limit => limit;

    /// <summary>The last non-empty line so far (its end when it was longer than <see cref="Limit"/>).</summary>
    public string? LastLine
    {
        get
        {
            lock (_gate) return !_current.IsBlank ? _current.Text : _last;
        }
    }

    /// <summary>True when <see cref="LastLine"/> is only the end of a longer line.</summary>
    public bool LastLineCut
    {
        get
        {
            lock (_gate) return !_current.IsBlank ? _current.Cut : _lastCut;
        }
    }

    /// <summary>The last <see cref="Limit"/> characters of the stream, with "…" in front when more came before.</summary>
    public string Tail
    {
        get
        {
            lock (_gate) return (_tail.Cut ? "…" : "") + _tail.Text;
        }
    }

    /// <summary>True when the stream was longer than the tail kept.</summary>
    public bool TailCut
    {
        get { lock (_gate) return _tail.Cut; }
    }

    /// <summary>Reads <paramref name="reader"/> to its end (or until it throws because the pipe was closed).</summary>
    public void Pump(TextReader reader)
    {
        var buffer = new char[8192];
        int n;
        try
        {
            while ((n = reader.Read(buffer, 0, buffer.Length)) > 0) Add(buffer.AsSpan(0, n));
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The pipe was closed under us (the evaluator was killed): keep what arrived.
        }
    }

    void Add(ReadOnlySpan<char> chunk)
    {
        lock (_gate)
        {
            _tail.Append(chunk);
            while (!chunk.IsEmpty)
            {
                int nl = chunk.IndexOf('\n');
                _current.Append(nl < 0 ? chunk : chunk[..nl]);
                if (nl < 0) break;
                if (!_current.IsBlank)
                {
                    _last = _current.Text;
                    _lastCut = _current.Cut;
                }
                _current.Clear();
                chunk = chunk[(nl + 1)..];
            }
        }
    }

    /// <summary>The last <c>capacity</c> characters appended, in a fixed buffer (twice the capacity, compacted when full).</summary>
    sealed class CharWindow(int capacity)
    {
        readonly char[] _buffer = new char[2 * capacity];
        int _length;

        public bool Cut { get; private set; }

        public string Text => new(_buffer, Math.Max(0, _length - capacity), Math.Min(_length, capacity));

        public bool IsBlank => _buffer.AsSpan(Math.Max(0, _length - capacity), Math.Min(_length, capacity)).IsWhiteSpace();

        public void Append(ReadOnlySpan<char> text)
        {
            if (text.Length >= capacity)
            {
                text[^capacity..].CopyTo(_buffer);
                Cut |= text.Length > capacity || _length > 0;
                _length = capacity;
                return;
            }
            if (_length + text.Length > _buffer.Length)
            {
                int keep = capacity - text.Length;
                Array.Copy(_buffer, _length - keep, _buffer, 0, keep);
                _length = keep;
                Cut = true;
            }
            text.CopyTo(_buffer.AsSpan(_length));
            _length += text.Length;
            if (_length > capacity) Cut = true;
        }

        public void Clear()
        {
            _length = 0;
            Cut = false;
        }
    }
}
