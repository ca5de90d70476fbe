using System.Numerics;
using System.Runtime.CompilerServices;

namespace ModelSoups.Formats.PyTorch;

// The Python values the restricted unpickler builds. Only data: nothing here can run code.
// str → string, int → long (BigInteger beyond 64 bits), float → double, bool → bool,
// bytes/bytearray → byte[], list → List<object>, and the types below.

/// <summary>Python's None (a value, so it can be a dict key and sit on the stack).</summary>
internal sealed class PyNone
{
    public static readonly PyNone Value = new();
    PyNone() { }
    public override string ToString() => "None";
}

/// <summary>An immutable tuple; equality and hash are structural (tuples can be dict keys), depth-bounded at construction.</summary>
internal sealed class PyTuple : IEquatable<PyTuple>
{
    public object[] Items { get; }

    /// <summary>1 + the deepest tuple inside (bounded by <see cref="PickleLimits.MaxNestingDepth"/>, so hashing cannot recurse without end).</summary>
    public int Depth { get; }

    public PyTuple(object[] items)
    {
        Items = items;
        int d = 0;
        foreach (var i in items) if (i is PyTuple t && t.Depth > d) d = t.Depth;
        Depth = d + 1;
    }

    public int Count => Items.Length;
    public object this[int i] => Items[i];

    public bool Equals(PyTuple? other)
    {
        if (other is null || other.Items.Length != Items.Length) return false;
        for (int i = 0; i < Items.Length; i++)
            if (!PyEquality.Instance.Equals(Items[i], other.Items[i])) return false;
        return true;
    }

    public override bool Equals(object? obj) => obj is PyTuple t && Equals(t);

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var i in Items) h.Add(PyEquality.Instance.GetHashCode(i));
        return h.ToHashCode();
    }
}

/// <summary>Key equality as Python has it for the hashable values a checkpoint holds; mutable containers compare by reference.</summary>
internal sealed class PyEquality : IEqualityComparer<object>
{
    public static readonly PyEquality Instance = new();

    public new bool Equals(object? a, object? b) => (a, b) switch
    {
        (byte[] x, byte[] y) => x.AsSpan().SequenceEqual(y),
        (string or long or double or bool or BigInteger or PyTuple, _) => a.Equals(b),
        _ => ReferenceEquals(a, b),
    };

    public int GetHashCode(object o) => o switch
    {
        byte[] b => b.Length,
        string or long or double or bool or BigInteger or PyTuple => o.GetHashCode(),
        _ => RuntimeHelpers.GetHashCode(o),
    };
}

/// <summary>A dict or OrderedDict: insertion order kept, a later SETITEM of the same key replaces the value in place (as Python does).</summary>
internal sealed class PyDict
{
    readonly List<KeyValuePair<object, object>> _items = [];
    readonly Dictionary<object, int> _index = new(PyEquality.Instance);

    /// <summary>Instance attributes set by BUILD (a state dict's <c>_metadata</c>); kept, never used for tensors.</summary>
    public object? State { get; set; }

    public IReadOnlyList<KeyValuePair<object, object>> Items => _items;
    public int Count => _items.Count;

    public void Set(object key, object value)
    {
        if (_index.TryGetValue(key, out int at)) _items[at] = new(key, value);
        else
        {
            _index.Add(key, _items.Count);
            _items.Add(new(key, value));
        }
    }

    public object? Get(object key) => _index.TryGetValue(key, out int at) ? _items[at].Value : null;
}

/// <summary>A set or frozenset (items in pickle order).</summary>
internal sealed class PySet(bool frozen)
{
    public List<object> Items { get; } = [];
    public bool Frozen { get; } = frozen;
}

/// <summary>An allowed global, resolved by name against <see cref="AllowedGlobals"/>; calling it is interpreted, never executed.</summary>
internal sealed class PyGlobal(string module, string name, GlobalKind kind, Tensors.DType? dtype)
{
    public string Module { get; } = module;
    public string Name { get; } = name;
    public GlobalKind Kind { get; } = kind;

    /// <summary>For storage types and dtypes: the element type, or null when it is one this toolkit does not read.</summary>
    public Tensors.DType? DType { get; } = dtype;

    public string FullName => $"{Module}.{Name}";
    public override string ToString() => FullName;
}

/// <summary>
/// A numpy scalar or dtype (<c>numpy.core.multiarray.scalar</c>, <c>numpy.dtype</c>) as Lightning
/// checkpoints keep them in callback state: kept as data (dtype code and raw bytes), never a tensor.
/// </summary>
internal sealed class PyNumpyValue(string what, object[] args)
{
    public string What { get; } = what;
    public object[] Args { get; } = args;
    public object? State { get; set; }
    public override string ToString() => $"numpy {What}";
}
