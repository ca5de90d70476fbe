using System.Runtime.InteropServices;
using ModelSoups.Formats.Safetensors;
using ModelSoups.Tensors;

namespace ModelSoups.TestSupport;

/// <summary>Small Hugging Face folders for soup tests: a.weight (f32), b.bias (bf16), c.count (i64).</summary>
public static class SoupFixtures
{
    /// <summary>Writes DIR/NAME/model.safetensors (+ config.json); <paramref name="w"/> is a.weight[0].</summary>
    public static string Folder(string dir, string name, float w, int seed, long count = 7)
    {
        var folder = Path.Combine(dir, name);
        Directory.CreateDirectory(folder);
        var rng = new Random(seed);
        var a = new float[6];
        a[0] = w;
        for (int i = 1; i < a.Length; i++) a[i] = (float)(rng.NextDouble() * 4 - 2) * MathF.Pow(10, rng.Next(-3, 3));
        a[5] = -0.0f;
        var b = new ushort[4];
        for (int i = 0; i < b.Length; i++) b[i] = (ushort)(BitConverter.SingleToUInt32Bits((float)(rng.NextDouble() - 0.5)) >> 16);
        SafetensorsFile.Write(Path.Combine(folder, "model.safetensors"),
        [
            (new TensorInfo("a.weight", DType.F32, [2, 3]), MemoryMarshal.AsBytes(a.AsSpan()).ToArray()),
            (new TensorInfo("b.bias", DType.BF16, [4]), MemoryMarshal.AsBytes(b.AsSpan()).ToArray()),
            (new TensorInfo("c.count", DType.I64, [1]), BitConverter.GetBytes(count)),
        ], new Dictionary<string, string> { ["format"] = "pt" });
        File.WriteAllText(Path.Combine(folder, "config.json"), "{\"model_type\": \"test\"}");
        return folder;
    }

    /// <summary>
    /// A /bin/sh scoring script: score = −(a.weight[0] − 1)², read from the candidate's model.safetensors with od.
    /// Each call appends the folder to LOG; with <paramref name="failAt"/> the call with that number exits 1.
    /// </summary>
    public static string Script(string dir, string log, int? failAt = null)
    {
        var path = Path.Combine(dir, "eval.sh");
        File.WriteAllText(path, $$$"""
            #!/bin/sh
            f="$1/model.safetensors"
            echo "$1" >> '{{{log}}}'
            calls=$(wc -l < '{{{log}}}')
            {{{(failAt is { } n ? $"if [ \"$calls\" -eq {n} ]; then echo 'simulated crash' >&2; exit 1; fi" : "")}}}
            n=$(od -An -tu8 -N8 "$f" | tr -d ' ')
            off=$(head -c $((8 + n)) "$f" | tail -c "$n" | sed 's/.*"a.weight":{[^}]*"data_offsets":\[\([0-9]*\),.*/\1/')
            w=$(od -An -tf4 -j $((8 + n + off)) -N4 "$f" | tr -d ' ')
            awk -v w="$w" 'BEGIN { printf "{\"score\": %.9f, \"metrics\": {\"w\": %.9f}}\n", -(w-1)*(w-1), w }'
            """.Replace("\r", ""));
        return path;
    }
}
