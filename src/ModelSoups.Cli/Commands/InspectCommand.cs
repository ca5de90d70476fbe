using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelSoups.Checkpoints;
using ModelSoups.Formats.PyTorch;
using ModelSoups.Tensors;
using Spectre.Console;

namespace ModelSoups.Cli.Commands;

/// <summary>
/// <c>soup inspect PATH... [--json]</c>: tensors, dtypes, shapes, sizes, metadata and shard layout
/// of checkpoints; with two or more, whether they can be merged. Reads headers and maps files only;
/// no tensor data is touched.
/// </summary>
public static class InspectCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var paths = new Argument<string[]>("path")
        {
            Description = "Checkpoint folders (model.safetensors or pytorch_model.bin, sharded or not), index files, .safetensors files or PyTorch .bin/.pt/.pth files.",
            Arity = ArgumentArity.OneOrMore,
        };
        var json = new Option<bool>("--json") { Description = "Print the same information as JSON." };
        var open = new CheckpointOpenCliOptions();
        var check = new Option<bool>("--check")
        {
            Description = "Also read every float tensor and report NaN/Inf values by tensor and count; exit code 0 when every value is finite, 1 when some are not, 2 for bad input.",
        };
        var command = new Command("inspect", "Show the tensors, dtypes, shapes, sizes, metadata and shards of checkpoints; with several, check they can be merged.")
        {
            paths,
            json,
            check,
        };
        open.AddTo(command);
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            return Run(parse.GetValue(paths)!, parse.GetValue(json), open.Read(parse), output, parse.GetValue(check));
        });
        return command;
    }

    /// <summary>Exit code for <c>--check</c> finding non-finite values (2 stays "bad input").</summary>
    public const int NonFiniteFound = 1;

    static int Run(string[] paths, bool asJson, CheckpointOpenOptions openOptions, TextWriter output, bool check)
    {
        var checkpoints = new List<ICheckpoint>();
        try
        {
            foreach (var p in paths) checkpoints.Add(Checkpoint.Open(p, openOptions));
            var compat = checkpoints.Count >= 2 ? CheckpointCompatibility.Compare(checkpoints.Cast<ICheckpoint>().ToList()) : null;
            if (asJson) WriteJson(checkpoints, compat, output);
            else if (Progress.Terminal.ConsoleFor(output) is { } console) WriteRich(checkpoints, compat, console);
            else WritePlain(checkpoints, compat, output);
            bool allFinite = true;
            if (check)
                foreach (var c in checkpoints) allFinite &= WriteCheck(c, output);
            return allFinite ? 0 : NonFiniteFound;
        }
        finally
        {
            foreach (var c in checkpoints) c.Dispose();
        }
    }

    /// <summary>--check: counts non-finite values in every float tensor (read in slices by positional reads); true when there are none.</summary>
    static bool WriteCheck(ICheckpoint c, TextWriter o)
    {
        const int Slice = 1 << 24;
        var stage = new byte[(int)Math.Min(Slice, Math.Max(1, c.Tensors.Values.Select(t => t.ByteLength).DefaultIfEmpty(1).Max()))];
        var found = new List<(string Name, long Count)>();
        foreach (var t in c.Tensors.Values.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            if (!t.DType.IsFloat()) continue;
            long n = 0;
            int size = t.DType.Size();
            for (long off = 0; off < t.ByteLength; off += Slice / size * size)
            {
                var bytes = stage.AsSpan(0, (int)Math.Min(Slice / size * size, t.ByteLength - off));
                t.ReadInto(off, bytes);
                n += NonFiniteCount.Count(t.DType, bytes);
            }
            if (n > 0) found.Add((t.Name, n));
        }
        o.WriteLine(found.Count == 0
            ? $"check: {PrintableName.Of(c.Location)}: every float value is finite"
            : $"check: {PrintableName.Of(c.Location)}: {found.Sum(f => f.Count):N0} non-finite value(s) (NaN or ±Inf) in {found.Count} tensor(s): " +
              string.Join(", ", found.Select(f => $"{PrintableName.Of(f.Name)} ({f.Count:N0})")));
        return found.Count == 0;
    }

    sealed record Total(int Tensors, long Parameters, long Bytes);

    sealed record WeightFile(string Path, int Tensors, long Bytes);

    /// <summary>The weight files with their tensor counts and sizes, whatever the format.</summary>
    static List<WeightFile> FilesOf(ICheckpoint c) =>
        c.Files.Select(f => new WeightFile(f, c.Tensors.Values.Count(t => t.SourcePath == f), new FileInfo(f).Length)).ToList();

    static bool IsSharded(ICheckpoint c) =>
        c.Files.Count > 1 || c is SafetensorsCheckpoint { Index: not null } || c is PyTorchCheckpoint { Index: not null };

    static string Format(ICheckpoint c) => c is PyTorchCheckpoint p
        ? "pytorch (" + string.Join(", ", p.Layouts.Select(l => l.Layout + (l.BigEndian ? ", big-endian" : "")).Distinct()) + " torch.save, read without executing its pickle)"
        : "safetensors";

    static (Total All, SortedDictionary<string, Total> ByDType) Totals(ICheckpoint c)
    {
        var by = new SortedDictionary<string, Total>(StringComparer.Ordinal);
        foreach (var t in c.Tensors.Values)
        {
            string d = t.DType.SafetensorsName();
            var old = by.GetValueOrDefault(d, new Total(0, 0, 0));
            by[d] = new Total(old.Tensors + 1, old.Parameters + t.ElementCount, old.Bytes + t.ByteLength);
        }
        var all = new Total(by.Values.Sum(v => v.Tensors), by.Values.Sum(v => v.Parameters), by.Values.Sum(v => v.Bytes));
        return (all, by);
    }

    static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    static string Describe(TensorInfo? t) => t is null ? "missing" : $"{t.DType.SafetensorsName()} {t.ShapeText}";

    static void WritePlain(List<ICheckpoint> checkpoints, CheckpointCompatibility? compat, TextWriter o)
    {
        foreach (var c in checkpoints)
        {
            o.WriteLine($"checkpoint: {c.Location}");
            o.WriteLine($"format: {Format(c)}");
            if (IsSharded(c))
            {
                var files = FilesOf(c);
                o.WriteLine($"shards ({files.Count}):");
                foreach (var s in files)
                    o.WriteLine($"  {PrintableName.Of(Path.GetFileName(s.Path))}  {s.Tensors} tensors  {N(s.Bytes)} bytes");
            }
            else o.WriteLine($"file: {c.Files[0]}");
            foreach (var n in c.Notes) o.WriteLine($"note: {PrintableName.Of(n)}");
            if (c.Metadata.Count > 0)
            {
                o.WriteLine("metadata:");
                foreach (var (k, v) in c.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal)) o.WriteLine($"  {PrintableName.Of(k)} = {PrintableName.Text(v)}");
            }
            var rows = c.Tensors.Values.Select(t => new[] { PrintableName.Of(t.Name), t.DType.SafetensorsName(), t.Info.ShapeText, N(t.ElementCount), N(t.ByteLength) }).ToList();
            string[] head = ["name", "dtype", "shape", "parameters", "bytes"];
            var widths = Enumerable.Range(0, head.Length).Select(i => rows.Select(r => r[i].Length).Append(head[i].Length).Max()).ToArray();
            string Line(string[] cells) => string.Join("  ", cells.Select((x, i) => i >= 3 ? x.PadLeft(widths[i]) : x.PadRight(widths[i]))).TrimEnd();
            o.WriteLine(Line(head));
            foreach (var r in rows) o.WriteLine(Line(r));
            var (all, by) = Totals(c);
            o.WriteLine($"total: {N(all.Tensors)} tensors, {N(all.Parameters)} parameters, {N(all.Bytes)} bytes");
            foreach (var (d, t) in by) o.WriteLine($"  {d}: {N(t.Tensors)} tensors, {N(t.Parameters)} parameters, {N(t.Bytes)} bytes");
            o.WriteLine();
        }
        if (compat is not null) WriteCompatPlain(checkpoints, compat, o);
    }

    static void WriteCompatPlain(List<ICheckpoint> checkpoints, CheckpointCompatibility compat, TextWriter o)
    {
        o.WriteLine(compat.IsCompatible
            ? $"compatible: yes, {checkpoints.Count} checkpoints share the same tensor names and shapes"
            : $"compatible: no, {compat.Differences.Count(d => d.Kind != TensorDifferenceKind.DTypeDifference)} tensors are missing somewhere or differ in shape");
        foreach (var d in compat.Differences)
        {
            string kind = d.Kind switch
            {
                TensorDifferenceKind.Missing => "missing",
                TensorDifferenceKind.ShapeMismatch => "shape mismatch",
                _ => "dtype differs (compatible)",
            };
            o.WriteLine($"  {PrintableName.Of(d.Name)}: {kind}: " + string.Join("; ", d.PerCheckpoint.Select((t, i) => $"#{i + 1} {Describe(t)}")));
        }
    }

    static void WriteRich(List<ICheckpoint> checkpoints, CheckpointCompatibility? compat, IAnsiConsole console)
    {
        foreach (var c in checkpoints)
        {
            console.MarkupLine($"[bold]{Markup.Escape(c.Location)}[/]  {Markup.Escape(Format(c))}");
            foreach (var n in c.Notes) console.MarkupLine($"note: {Markup.Escape(n)}");
            if (IsSharded(c))
            {
                var shards = new Table().AddColumns("shard", "tensors", "bytes");
                foreach (var s in FilesOf(c)) shards.AddRow(Markup.Escape(PrintableName.Of(Path.GetFileName(s.Path))), N(s.Tensors), N(s.Bytes));
                console.Write(shards);
            }
            if (c.Metadata.Count > 0)
            {
                var meta = new Table().AddColumns("metadata", "value");
                foreach (var (k, v) in c.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal)) meta.AddRow(Markup.Escape(PrintableName.Of(k)), Markup.Escape(PrintableName.Text(v)));
                console.Write(meta);
            }
            var table = new Table().AddColumns("name", "dtype", "shape", "parameters", "bytes");
            table.Columns[3].RightAligned();
            table.Columns[4].RightAligned();
            foreach (var t in c.Tensors.Values)
                table.AddRow(Markup.Escape(PrintableName.Of(t.Name)), t.DType.SafetensorsName(), Markup.Escape(t.Info.ShapeText), N(t.ElementCount), N(t.ByteLength));
            var (all, by) = Totals(c);
            table.AddRow($"[bold]total ({N(all.Tensors)} tensors)[/]", "", "", N(all.Parameters), N(all.Bytes));
            foreach (var (d, t) in by) table.AddRow($"  {d} ({N(t.Tensors)} tensors)", d, "", N(t.Parameters), N(t.Bytes));
            console.Write(table);
        }
        if (compat is not null)
        {
            var w = new StringWriter();
            WriteCompatPlain(checkpoints, compat, w);
            console.WriteLine(w.ToString().TrimEnd());
        }
    }

    static void WriteJson(List<ICheckpoint> checkpoints, CheckpointCompatibility? compat, TextWriter o)
    {
        var list = new JsonArray();
        foreach (var c in checkpoints)
        {
            var (all, by) = Totals(c);
            var byDType = new JsonObject();
            foreach (var (d, t) in by) byDType[d] = new JsonObject { ["tensors"] = t.Tensors, ["parameters"] = t.Parameters, ["bytes"] = t.Bytes };
            var meta = new JsonObject();
            foreach (var (k, v) in c.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal)) meta[k] = v;
            list.Add(new JsonObject
            {
                ["location"] = c.Location,
                ["format"] = c is PyTorchCheckpoint ? "pytorch" : "safetensors",
                ["notes"] = new JsonArray(c.Notes.Select(n => (JsonNode)JsonValue.Create(n)).ToArray()),
                ["files"] = new JsonArray(FilesOf(c).Select(s => (JsonNode)new JsonObject
                {
                    ["path"] = s.Path,
                    ["tensors"] = s.Tensors,
                    ["bytes"] = s.Bytes,
                }).ToArray()),
                ["metadata"] = meta,
                ["tensors"] = new JsonArray(c.Tensors.Values.Select(t => (JsonNode)new JsonObject
                {
                    ["name"] = t.Name,
                    ["dtype"] = t.DType.SafetensorsName(),
                    ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode)JsonValue.Create(d)).ToArray()),
                    ["parameters"] = t.ElementCount,
                    ["bytes"] = t.ByteLength,
                    ["file"] = Path.GetFileName(t.SourcePath),
                }).ToArray()),
                ["totals"] = new JsonObject { ["tensors"] = all.Tensors, ["parameters"] = all.Parameters, ["bytes"] = all.Bytes, ["by_dtype"] = byDType },
            });
        }
        var root = new JsonObject { ["checkpoints"] = list };
        if (compat is not null)
        {
            root["compatibility"] = new JsonObject
            {
                ["compatible"] = compat.IsCompatible,
                ["differences"] = new JsonArray(compat.Differences.Select(d => (JsonNode)new JsonObject
                {
                    ["name"] = d.Name,
                    ["kind"] = d.Kind switch
                    {
                        TensorDifferenceKind.Missing => "missing",
                        TensorDifferenceKind.ShapeMismatch => "shape_mismatch",
                        _ => "dtype_difference",
                    },
                    ["per_checkpoint"] = new JsonArray(d.PerCheckpoint.Select(t => t is null ? null : (JsonNode)new JsonObject
                    {
                        ["dtype"] = t.DType.SafetensorsName(),
                        ["shape"] = new JsonArray(t.Shape.Select(x => (JsonNode)JsonValue.Create(x)).ToArray()),
                    }).ToArray()),
                }).ToArray()),
            };
        }
        o.WriteLine(root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
    }
}
