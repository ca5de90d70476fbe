using ModelSoups.Soups;

namespace ModelSoups.Tests.Soups;

public class EvaluationKeyTests
{
    [Fact]
    public void Keys_keep_the_stored_spelling_and_their_typed_parts()
    {
        // The text is what journals written before this type hold, so it must not change.
        var i = EvaluationKey.Ingredient(3);
        Assert.Equal("ingredient:3", i.ToString());
        Assert.Equal(EvaluationKind.Ingredient, i.Kind);
        Assert.Equal(3, i.IngredientIndex);

        var s = EvaluationKey.Soup([5, 0, 2]);
        Assert.Equal("soup:0,2,5", s.ToString());
        Assert.Equal([0, 2, 5], s.Members);
        Assert.Throws<InvalidOperationException>(() => s.IngredientIndex);

        Assert.Equal("uniform:all", EvaluationKey.Baseline("uniform:all").ToString());
        Assert.Equal(EvaluationKind.Baseline, EvaluationKey.Baseline("uniform:all").Kind);
    }

    [Fact]
    public void Equal_sets_are_equal_keys()
    {
        Assert.Equal(EvaluationKey.Soup([2, 1]), EvaluationKey.Soup([1, 2]));
        Assert.Equal(EvaluationKey.Soup([1, 2]).GetHashCode(), EvaluationKey.Soup([2, 1]).GetHashCode());
        Assert.NotEqual(EvaluationKey.Soup([1]), EvaluationKey.Ingredient(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => EvaluationKey.Ingredient(-1));
    }
}
