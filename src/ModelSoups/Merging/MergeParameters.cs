using System.Globalization;

namespace ModelSoups.Merging;

/// <summary>
/// The parameter values for one tensor, already resolved from the recipe's schedules
/// (see <see cref="ParameterSchedule"/>): global values and one set per input model.
/// Values are double (Number/Integer), bool (Flag) or string (Choice). Unset entries take the
/// method's declared defaults.
/// </summary>
public sealed class MergeParameters
{
    readonly Dictionary<string, object> _global = new(StringComparer.Ordinal);
    readonly Dictionary<string, object>[] _perModel;
    readonly IMergeMethod _method;
    readonly Dictionary<string, MergeParameterDef> _defs;
    static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IMergeMethod, Dictionary<string, MergeParameterDef>> DefsByMethod = new();

    /// <summary>Empty parameters (defaults everywhere) for <paramref name="method"/> with <paramref name="modelCount"/> inputs.</summary>
    public MergeParameters(IMergeMethod method, int modelCount)
    {
        _method = method;
        // Declarations by name, built once per method: reads are dictionary lookups, not linear searches.
        _defs = DefsByMethod.GetValue(method, m => m.Parameters.ToDictionary(d => d.Name, StringComparer.Ordinal));
        _perModel = new Dictionary<string, object>[modelCount];
        for (int i = 0; i < modelCount; i++) _perModel[i] = new(StringComparer.Ordinal);
    }

    /// <summary>Number of input models (excluding the base).</summary>
    public int ModelCount => _perModel.Length;

    /// <summary>Sets a global value. Returns this for chaining.</summary>
    public MergeParameters Set(string name, object value) { _global[name] = Normalise(value); Changed(); return this; }

    /// <summary>Sets a per-model value for input <paramref name="model"/>. Returns this for chaining.</summary>
    public MergeParameters Set(string name, int model, object value) { _perModel[model][name] = Normalise(value); Changed(); return this; }

    void Changed()
    {
        ValidatedWithBase = null;
        Bound = null;
    }

    /// <summary>
    /// Set by <see cref="MergeMethod.Validate"/> when these values passed every check (with or without a
    /// base); any later <c>Set</c> clears it. The plan validates once per tensor; merging a block requires it and
    /// never validates itself.
    /// </summary>
    internal bool? ValidatedWithBase { get; set; }

    /// <summary>
    /// The method's typed record of these values (<see cref="MergeMethod{TParameters}"/>), built once when they are
    /// validated at planning; any later <c>Set</c> clears it (and the values must be planned again before merging).
    /// </summary>
    internal object? Bound { get; set; }

    /// <summary>Sets a per-model value for every input model.</summary>
    public MergeParameters SetAll(string name, object value)
    {
        for (int i = 0; i < _perModel.Length; i++) Set(name, i, value);
        return this;
    }

    // Recipes may hand ints or floats; numbers are stored as double so accessors stay simple.
    static object Normalise(object v) => v switch
    {
        int i => (double)i,
        long l => (double)l,
        float f => (double)f,
        decimal m => (double)m,
        _ => v,
    };

    /// <summary>The explicitly set global value, or null.</summary>
    public object? GetGlobal(string name) => _global.GetValueOrDefault(name);

    /// <summary>The explicitly set value for one model, or null.</summary>
    public object? GetPerModel(string name, int model) => _perModel[model].GetValueOrDefault(name);

    /// <summary>Global number (or the default).</summary>
    public double Number(string name) => (double)Value(name, null);
    /// <summary>Per-model number (or the default).</summary>
    public double Number(string name, int model) => (double)Value(name, model);
    /// <summary>Global flag (or the default).</summary>
    public bool Flag(string name) => (bool)Value(name, null);
    /// <summary>Global choice (or the default).</summary>
    public string Choice(string name) => (string)Value(name, null);
    /// <summary>Global whole number (or the default).</summary>
    public int Integer(string name) => checked((int)Number(name));

    object Value(string name, int? model)
    {
        object? v = model is int m ? _perModel[m].GetValueOrDefault(name) : _global.GetValueOrDefault(name);
        v ??= Def(name).Default;
        return v ?? throw new InvalidOperationException($"Parameter '{name}' has no value; validate parameters before merging.");
    }

    MergeParameterDef Def(string name) =>
        _defs.GetValueOrDefault(name) ?? throw new InvalidOperationException($"{_method.Name} declares no parameter '{name}'.");

    /// <summary>
    /// Checks every value against the method's declarations: unknown names, wrong scope, missing
    /// required values, types and ranges. Throws <see cref="ModelSoupsException"/> naming the first problem.
    /// </summary>
    public void Validate(string? tensorName = null)
    {
        string where = tensorName is null ? "" : $" (tensor {tensorName})";
        foreach (var key in _global.Keys)
        {
            var def = _defs.GetValueOrDefault(key)
                ?? throw new ModelSoupsException($"Method {_method.Name} has no parameter '{key}'{where}; it takes: {Known()}.");
            if (def.Scope != ParameterScope.Global)
                throw new ModelSoupsException($"Parameter '{key}' of {_method.Name} is set per model, not globally{where}.");
        }
        for (int i = 0; i < _perModel.Length; i++)
            foreach (var key in _perModel[i].Keys)
            {
                var def = _defs.GetValueOrDefault(key)
                    ?? throw new ModelSoupsException($"Method {_method.Name} has no parameter '{key}'{where}; it takes: {Known()}.");
                if (def.Scope != ParameterScope.PerModel)
                    throw new ModelSoupsException($"Parameter '{key}' of {_method.Name} is global and cannot be set for model {i}{where}.");
            }
        foreach (var def in _method.Parameters)
        {
            if (def.Scope == ParameterScope.Global) Check(def, _global.GetValueOrDefault(def.Name), null, where);
            else for (int i = 0; i < _perModel.Length; i++) Check(def, _perModel[i].GetValueOrDefault(def.Name), i, where);
        }
    }

    string Known() => string.Join(", ", _method.Parameters.Select(p => p.Name));

    void Check(MergeParameterDef def, object? value, int? model, string where)
    {
        string who = model is int m ? $" of model {m}" : "";
        if (value is null)
        {
            if (def.Required) throw new ModelSoupsException($"{_method.Name} needs parameter '{def.Name}'{who}{where}: {def.Description}");
            return;
        }
        var problem = def.Check(value);
        if (problem is not null)
            throw new ModelSoupsException($"Parameter '{def.Name}'{who} is {Show(value)}{where}; for {_method.Name} it {problem}.");
    }

    static string Show(object v) => v switch
    {
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        string s => $"\"{s}\"",
        _ => v.ToString() ?? "?",
    };
}
