using ModelSoups.Checkpoints;

namespace ModelSoups.Formats.PyTorch;

/// <summary>
/// Finds the state dict inside an unpickled <c>torch.save</c> object and flattens it to
/// name → tensor: a plain state dict as is; a nested checkpoint (<c>{"state_dict": ...}</c>,
/// Lightning's <c>state_dict</c> beside <c>optimizer_states</c>, <c>{"model": ...}</c>) under
/// <see cref="CheckpointOpenOptions.StateDictKey"/> or the first of <see cref="CommonKeys"/> that
/// holds tensors. Nested dicts inside the chosen one are joined with '.' (as
/// <c>nn.Module.state_dict</c> names them); non-tensor entries are skipped and reported.
/// </summary>
public static class StateDictSelector
{
    /// <summary>Keys tried, in order, when the top level holds no tensors itself.</summary>
    public static IReadOnlyList<string> CommonKeys { get; } = ["state_dict", "model_state_dict", "model", "module", "net", "network", "weights", "params"];

    /// <summary>The tensors found, the key they were under (null: the top level), and notes for the user.</summary>
    internal sealed record Selection(List<(string Name, TorchTensor Tensor)> Tensors, string? Key, List<string> Notes);

    internal static Selection Select(object root, CheckpointOpenOptions options, string path)
    {
        var notes = new List<string>();
        if (root is TorchTensor)
            throw new PyTorchFormatException(PyTorchErrorKind.NoStateDict, "holds a single tensor, not a state dict (a dict of named tensors).", path);
        if (root is not PyDict top)
            throw new PyTorchFormatException(PyTorchErrorKind.NoStateDict, $"holds {RestrictedUnpickler.Describe(root)}, not a state dict (a dict of named tensors).", path);

        PyDict chosen;
        string? key = null;
        if (options.StateDictKey is { } requested)
        {
            chosen = top;
            foreach (var part in requested.Split('/'))
            {
                if (chosen.Get(part) is not PyDict next)
                    throw new PyTorchFormatException(PyTorchErrorKind.NoStateDict,
                        $"has no dict under key '{part}' (of --state-dict-key '{requested}'); the keys there are {KeyList(chosen)}.", path);
                chosen = next;
            }
            key = requested;
        }
        else (chosen, key) = AutoDetect(top, path, "", 0);
        if (key is not null && options.StateDictKey is null)
            notes.Add($"tensors taken from key '{key}' (auto-detected; --state-dict-key chooses another)");

        var tensors = new List<(string, TorchTensor)>();
        var skipped = new List<string>();
        Flatten(chosen, "", 0, tensors, skipped, path);
        if (tensors.Count == 0)
            throw new PyTorchFormatException(PyTorchErrorKind.NoStateDict,
                key is null ? $"holds no tensors; its keys are {KeyList(top)}." : $"holds no tensors under key '{key}'.", path);
        if (skipped.Count > 0)
            notes.Add($"skipped {skipped.Count} non-tensor entr{(skipped.Count == 1 ? "y" : "ies")} ({string.Join(", ", skipped.Take(5))}{(skipped.Count > 5 ? ", ..." : "")})");

        if (options.StripPrefix is { Length: > 0 } prefix)
        {
            int stripped = 0;
            for (int i = 0; i < tensors.Count; i++)
                if (tensors[i].Item1.StartsWith(prefix, StringComparison.Ordinal))
                {
                    tensors[i] = (tensors[i].Item1[prefix.Length..], tensors[i].Item2);
                    stripped++;
                }
            notes.Add(stripped == 0 ? $"no tensor name starts with '{prefix}'; nothing was stripped" : $"stripped '{prefix}' from {stripped} of {tensors.Count} names");
        }
        else if (tensors.All(t => t.Item1.StartsWith("module.", StringComparison.Ordinal)))
            notes.Add("every name starts with 'module.' (saved from DataParallel); --strip-prefix module. removes it");

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, _) in tensors)
            if (!seen.Add(name))
                throw new PyTorchFormatException(PyTorchErrorKind.DuplicateName, $"two tensors are both named '{name}'{(options.StripPrefix is null ? "" : " after stripping the prefix")}.", path);
        return new Selection(tensors, key, notes);
    }

    static (PyDict Dict, string? Key) AutoDetect(PyDict dict, string path, string keyPrefix, int depth)
    {
        if (dict.Items.Any(kv => kv.Value is TorchTensor) || depth >= 3)
            return (dict, keyPrefix.Length == 0 ? null : keyPrefix.TrimEnd('/'));
        foreach (var k in CommonKeys)
            if (dict.Get(k) is PyDict inner && ContainsTensor(inner, 0, path))
                return AutoDetect(inner, path, keyPrefix + k + "/", depth + 1);
        var withTensors = dict.Items.Where(kv => kv.Key is string && kv.Value is PyDict d && ContainsTensor(d, 0, path)).ToList();
        if (withTensors.Count == 1 && dict.Items.All(kv => kv.Value is not List<object> l || !ContainsTensor(l, 0, path)))
            return AutoDetect((PyDict)withTensors[0].Value, path, keyPrefix + (string)withTensors[0].Key + "/", depth + 1);
        return (dict, keyPrefix.Length == 0 ? null : keyPrefix.TrimEnd('/'));
    }

    /// <summary>
    /// Whether any tensor is reachable from <paramref name="v"/>. Each container is visited once (the memo
    /// lets a pickle share one list many times over, which a naive walk would explore exponentially) and
    /// the walk stops at <see cref="PickleLimits.MaxNestingDepth"/>.
    /// </summary>
    static bool ContainsTensor(object v, int depth, string path, HashSet<object>? seen = null)
    {
        if (depth > PickleLimits.MaxNestingDepth)
            throw new PyTorchFormatException(PyTorchErrorKind.LimitExceeded, $"the checkpoint nests dicts and lists more than {PickleLimits.MaxNestingDepth} deep.", path);
        if (v is TorchTensor) return true;
        if (v is not (PyDict or List<object> or PyTuple)) return false;
        seen ??= new HashSet<object>(ReferenceEqualityComparer.Instance);
        if (!seen.Add(v)) return false;
        IEnumerable<object> children = v switch
        {
            PyDict d => d.Items.Select(kv => kv.Value),
            List<object> l => l,
            _ => ((PyTuple)v).Items,
        };
        foreach (var c in children)
            if (ContainsTensor(c, depth + 1, path, seen)) return true;
        return false;
    }

    static void Flatten(PyDict dict, string prefix, int depth, List<(string, TorchTensor)> tensors, List<string> skipped, string path)
    {
        if (depth > PickleLimits.MaxNestingDepth)
            throw new PyTorchFormatException(PyTorchErrorKind.LimitExceeded, $"the state dict nests dicts more than {PickleLimits.MaxNestingDepth} deep.", path);
        foreach (var (k, v) in dict.Items)
        {
            // One dict shared under many keys (through the memo) would multiply the names without bound.
            if (tensors.Count + skipped.Count >= PickleLimits.MaxStateDictEntries)
                throw new PyTorchFormatException(PyTorchErrorKind.LimitExceeded, $"the state dict has more than {PickleLimits.MaxStateDictEntries} entries.", path);
            string name = prefix + (k is string s ? s : RestrictedUnpickler.Describe(k));
            if (k is string && v is TorchTensor t) tensors.Add((name, t));
            else if (k is string && v is PyDict inner) Flatten(inner, name + ".", depth + 1, tensors, skipped, path);
            else skipped.Add(name);
        }
    }

    static string KeyList(PyDict d)
    {
        var keys = d.Items.Select(kv => kv.Key is string s ? $"'{s}'" : RestrictedUnpickler.Describe(kv.Key)).ToList();
        return keys.Count == 0 ? "(none)" : string.Join(", ", keys.Take(12)) + (keys.Count > 12 ? $", ... ({keys.Count} in all)" : "");
    }
}
