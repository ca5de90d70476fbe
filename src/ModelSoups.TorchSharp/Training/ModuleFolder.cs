using ModelSoups.Checkpoints;
using ModelSoups.TorchSharp.Checkpoints;
using ModelSoups.TorchSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Training;

/// <summary>
/// A module saved as a Hugging Face-layout checkpoint folder (<c>model.safetensors</c> with PyTorch state names)
/// plus <c>soup-model.json</c>, written through <see cref="CheckpointWriter"/>: into a temporary folder, renamed
/// into place when complete (with overwrite, replacing a half-written earlier attempt).
/// </summary>
public static class ModuleFolder
{
    /// <summary>Writes <paramref name="module"/>'s state and <paramref name="spec"/>; <paramref name="extraFiles"/> (name → text) go in too.</summary>
    public static void Save(nn.Module module, ModelSpec spec, string folder, IReadOnlyDictionary<string, string>? extraFiles = null, bool overwrite = false) =>
        Save(ModuleState.ToCheckpoint(module), spec, folder, extraFiles, overwrite);

    /// <summary>Writes a checkpoint and its spec into <paramref name="folder"/>; an existing non-empty folder is replaced only with <paramref name="overwrite"/>.</summary>
    public static void Save(ICheckpoint checkpoint, ModelSpec spec, string folder, IReadOnlyDictionary<string, string>? extraFiles = null, bool overwrite = false)
    {
        var infos = checkpoint.Tensors.Values.Select(t => t.Info).ToList();
        using var writer = CheckpointWriter.Create(folder, infos, new CheckpointWriterOptions(Overwrite: overwrite));
        foreach (var t in checkpoint.Tensors.Values)
            writer.Write(t.Name, 0, t.GetBytes());
        writer.WriteText(ModelSpec.FileName, spec.ToJson());
        if (extraFiles is not null)
            foreach (var (name, text) in extraFiles) writer.WriteText(name, text);
        writer.Commit();
    }

    /// <summary>Builds the module a folder's <c>soup-model.json</c> describes and loads its weights.</summary>
    public static (nn.Module<Tensor, Tensor> Module, ModelSpec Spec) Load(string folder)
    {
        var spec = ModelSpec.Read(folder);
        var module = spec.Create();
        using var checkpoint = Checkpoint.Open(folder);
        ModuleState.Load(module, checkpoint);
        return (module, spec);
    }
}
