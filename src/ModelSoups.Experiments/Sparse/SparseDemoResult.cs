using ModelSoups.Sparse;
using ModelSoups.TorchSharp.Sparse;

namespace ModelSoups.Experiments.Sparse;

/// <summary>What <see cref="SparseDemo.Run"/> produced: the results, where they are, and the report fragments for the main demo report.</summary>
/// <param name="Results">The contents of <c>results.json</c>.</param>
/// <param name="Folder"><c>DIR/sparse</c>.</param>
/// <param name="Markdown">The Markdown section (<c>## Sparse Model Soups</c>).</param>
/// <param name="Html">The HTML section (a <c>&lt;section&gt;</c>).</param>
/// <param name="Seconds">Wall-clock seconds, dense training included.</param>
public sealed record SparseDemoResult(SparseSoupResult Results, string Folder, string Markdown, string Html, double Seconds);
