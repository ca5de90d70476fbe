using ModelSoups.TorchSharp.Models;

namespace ModelSoups.TorchSharp.Alignment;

/// <summary>
/// The merged model's shape: one <see cref="GroupPlan"/> per hidden permutation group, and the head's outputs
/// (<see cref="LabelSpace.Shared"/>: all merged; <see cref="LabelSpace.Separate"/>: A's classes kept, then B's).
/// </summary>
/// <param name="Groups">Per hidden group, in forward order.</param>
/// <param name="Head">The last layer's outputs.</param>
/// <param name="LabelSpace">Shared or separate heads.</param>
public sealed record MergePlan(IReadOnlyList<GroupPlan> Groups, GroupPlan Head, LabelSpace LabelSpace)
{
    /// <summary>Every group merged completely (budget 1.0): permute-then-average, or naive averaging without alignment.</summary>
    public static MergePlan AllMerged(PermutationSpec spec, LabelSpace labelSpace, int classesA, int classesB) =>
        new(spec.Groups.Select(g => GroupPlan.AllMerged(g.Name, g.Size)).ToList(), HeadPlan(labelSpace, classesA, classesB), labelSpace);

    /// <summary>The head's layout for a label space.</summary>
    public static GroupPlan HeadPlan(LabelSpace labelSpace, int classesA, int classesB)
    {
        if (labelSpace == LabelSpace.Shared)
        {
            if (classesA != classesB) throw new ModelSoupsException($"a shared label space needs heads of one size, not {classesA} and {classesB} classes; use separate heads");
            return GroupPlan.AllMerged("head", classesA);
        }
        return new GroupPlan("head", [], Enumerable.Range(0, classesA).ToArray(), Enumerable.Range(0, classesB).ToArray());
    }

    /// <summary>The merged widths of the hidden groups.</summary>
    public int[] Widths => Groups.Select(g => g.Width).ToArray();

    /// <summary>The merged model's <c>soup-model.json</c>: the reference's spec with the merged widths and head size.</summary>
    public ModelSpec MergedSpec(ModelSpec reference) => reference.Architecture switch
    {
        ModelSpec.MlpName => reference with { Hidden = Widths, Classes = Head.Width },
        ModelSpec.Cnn => reference with { Widths = Widths, Width = null, Classes = Head.Width },
        ModelSpec.ResNet18 => reference with { Widths = Widths, Classes = Head.Width },
        _ => throw new ModelSoupsException($"no merged widths for architecture {reference.Architecture}"),
    };
}
