namespace ModelSoups.TorchSharp.Soups;

/// <summary>Settings of <see cref="LearnedSoup.Run"/>; defaults are the reference code's (lr 0.05, 5 epochs, AdamW without weight decay).</summary>
public sealed record LearnedSoupOptions
{
    /// <summary>One α per tensor per ingredient (softmax over ingredients per tensor) instead of one per ingredient.</summary>
    public bool ByLayer { get; init; }
    public int Epochs { get; init; } = 5;
    public double LearningRate { get; init; } = 0.05;
    public int BatchSize { get; init; } = 256;
    /// <summary>Seed of the data order.</summary>
    public ulong Seed { get; init; }
}
