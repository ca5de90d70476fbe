namespace ModelSoups.Merging;

/// <summary>Whether a merge parameter has one value for the whole merge or one per input model.</summary>
public enum ParameterScope
{
    /// <summary>One value per tensor (e.g. <c>lambda</c>, <c>t</c>, <c>normalize</c>).</summary>
    Global,
    /// <summary>One value per input model per tensor (e.g. <c>weight</c>, <c>density</c>).</summary>
    PerModel,
}
