namespace ModelSoups.Soups;

/// <summary>When a greedy soup keeps an ingredient.</summary>
public enum AcceptRule
{
    /// <summary>Keep it when the candidate scores at least as well as the soup (Wortsman et al. 2022, Recipe 1). Default.</summary>
    GreaterOrEqual,

    /// <summary>Keep it only when the candidate scores strictly better (the official mlfoundations/model-soups main.py).</summary>
    Greater,
}
