using ModelSoups.Checkpoints;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Training;

namespace ModelSoups.TorchSharp.Soups;

/// <summary>
/// <c>soup learn</c> as one library call: checks that every ingredient folder describes the same model
/// (<c>soup-model.json</c>), opens them, fits the learned soup (<see cref="LearnedSoup"/>) and saves it with its
/// coefficients beside the weights (<see cref="ResultFileName"/>).
/// </summary>
public static class LearnedSoupRun
{
    /// <summary>The file beside the soup's weights that records the fitted coefficients and the curve.</summary>
    public const string ResultFileName = "learned.json";

    /// <summary>Fits and saves the learned soup of <paramref name="folders"/> on <paramref name="heldOut"/> into <paramref name="outFolder"/>.</summary>
    /// <param name="folders">The ingredient folders (each with its soup-model.json).</param>
    /// <param name="heldOut">The held-out data the coefficients are fitted on.</param>
    /// <param name="options">Epochs, learning rate, batch size, global or by-layer coefficients.</param>
    /// <param name="outFolder">Where the soup is written.</param>
    /// <param name="progress">Hears (epoch, step, loss) after each step.</param>
    /// <param name="cancel">Stops the fit.</param>
    public static LearnedSoupResult Run(IReadOnlyList<string> folders, ImageDataset heldOut, LearnedSoupOptions options, string outFolder,
        Action<int, int, double>? progress = null, CancellationToken cancel = default)
    {
        if (folders.Count == 0) throw new ModelSoupsException("a learned soup needs at least one ingredient folder");
        var spec = ModelSpec.Read(folders[0]);
        foreach (var f in folders.Skip(1))
            if (ModelSpec.Read(f).Describe() != spec.Describe())
                throw new ModelSoupsException($"this ingredient's soup-model.json differs from {folders[0]}'s", f);

        var opened = new List<ICheckpoint>();
        try
        {
            var ingredients = new List<(string, ICheckpoint)>();
            foreach (var f in folders)
            {
                var c = Checkpoint.Open(f);
                opened.Add(c);
                ingredients.Add((Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(f))), c));
            }
            var result = LearnedSoup.Run(spec, ingredients, heldOut, options, progress, cancel);
            ModuleFolder.Save(result.Soup, spec, outFolder, new Dictionary<string, string> { [ResultFileName] = result.ToJson() });
            return result;
        }
        finally
        {
            foreach (var c in opened) c.Dispose();
        }
    }
}
