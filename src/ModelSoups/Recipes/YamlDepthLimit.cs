using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace ModelSoups.Recipes;

/// <summary>
/// Refuses YAML nested deeper than <see cref="MaxDepth"/> before it is loaded: YamlDotNet builds its node tree
/// recursively, so 50,000 nested brackets overflow the stack and kill the process (exit 134, no message).
/// The check walks the parser's events, which is iterative and cannot overflow. Real recipes nest 5 levels deep.
/// </summary>
internal static class YamlDepthLimit
{
    /// <summary>Deepest nesting of mappings and sequences accepted.</summary>
    public const int MaxDepth = 64;

    /// <summary>Throws <see cref="RecipeException"/> naming <paramref name="where"/> when <paramref name="text"/> nests too deep (or cannot be scanned at all).</summary>
    public static void Check(string text, string? where)
    {
        var parser = new Parser(new StringReader(text));
        int depth = 0;
        try
        {
            while (parser.MoveNext())
            {
                switch (parser.Current)
                {
                    case MappingStart or SequenceStart:
                        if (++depth > MaxDepth)
                            throw new RecipeException($"line {parser.Current.Start.Line}: the YAML is nested more than {MaxDepth} levels deep; a recipe needs a handful.", where);
                        break;
                    case MappingEnd or SequenceEnd:
                        depth--;
                        break;
                }
            }
        }
        catch (YamlException)
        {
            // Syntax errors are reported by the real parse, with its message.
        }
        catch (InvalidOperationException e) when (e.Source == "YamlDotNet")
        {
            // YamlDotNet's scanner fails this way on some malformed plain scalars (found by RecipeFuzzTests);
            // the real parse would crash the same way, so this is where it becomes a clean error.
            throw new RecipeException($"invalid YAML: the text cannot be scanned ({e.Message})", where, e);
        }
    }
}
