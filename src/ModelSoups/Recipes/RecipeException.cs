namespace ModelSoups.Recipes;

/// <summary>A recipe that cannot be run as written: unknown key, bad value, missing path.</summary>
public sealed class RecipeException(string message, string? path = null, Exception? inner = null)
    : ModelSoupsException(message, path, inner);
