using System.Reflection;
using ModelSoups.Build;

namespace ModelSoups.TorchSharp.Tests.Runtime;

/// <summary>The ELF patch that lets TorchSharp 0.107 load on libstdc++ older than GCC 13's (eng/LibTorchSharpPatch).</summary>
public class ElfVersionNeedTests
{
    const string Needed = "GLIBCXX_3.4.32";
    const string SystemLibstdcxx = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";

    static string ShippedLibrary()
    {
        var root = typeof(ElfVersionNeedTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "NuGetPackageRoot").Value!;
        return Path.Combine(root, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
    }

    static string OutputLibrary() =>
        Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    [Fact]
    public void Shipped_library_needs_the_version_strongly_and_marking_it_weak_changes_two_bytes_once()
    {
        var original = File.ReadAllBytes(ShippedLibrary());
        var need = Assert.Single(ElfVersionNeed.ReadNeeds(original), n => n.Version == Needed);
        Assert.Equal("libstdc++.so.6", need.Library);
        Assert.False(need.IsWeak);

        var patched = (byte[])original.Clone();
        Assert.Equal(1, ElfVersionNeed.MarkWeak(patched, Needed));
        Assert.Equal(0, ElfVersionNeed.MarkWeak(patched, Needed)); // idempotent
        var diff = Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i]).Select(i => (long)i).ToArray();
        Assert.Equal([need.FlagsOffset], diff); // only the low byte of vna_flags: 0 → 2
        Assert.True(Assert.Single(ElfVersionNeed.ReadNeeds(patched), n => n.Version == Needed).IsWeak);
        // Every other need is untouched.
        Assert.All(ElfVersionNeed.ReadNeeds(patched).Where(n => n.Version != Needed), n => Assert.False(n.IsWeak));
    }

    [Fact]
    public void Build_output_copy_is_weak_exactly_when_the_system_libstdcxx_lacks_the_version()
    {
        bool systemHasIt = ElfVersionNeed.DefinesVersion(File.ReadAllBytes(SystemLibstdcxx), Needed);
        var need = Assert.Single(ElfVersionNeed.ReadNeeds(File.ReadAllBytes(OutputLibrary())), n => n.Version == Needed);
        Assert.Equal(!systemHasIt, need.IsWeak);
    }

    [Fact]
    public void Reads_version_definitions_of_the_system_libstdcxx()
    {
        var lib = File.ReadAllBytes(SystemLibstdcxx);
        Assert.True(ElfVersionNeed.DefinesVersion(lib, "GLIBCXX_3.4"));
        Assert.False(ElfVersionNeed.DefinesVersion(lib, "GLIBCXX_9.9.99"));
    }

    [Fact]
    public void Rejects_files_that_are_not_little_endian_elf64()
    {
        Assert.Throws<InvalidDataException>(() => ElfVersionNeed.ReadNeeds(new byte[100]));
        var elf32 = new byte[100];
        elf32[0] = 0x7f; elf32[1] = (byte)'E'; elf32[2] = (byte)'L'; elf32[3] = (byte)'F'; elf32[4] = 1; elf32[5] = 1;
        Assert.Throws<InvalidDataException>(() => ElfVersionNeed.ReadNeeds(elf32));
    }

    [Fact]
    public void Truncated_file_is_rejected_not_read_out_of_bounds()
    {
        var head = File.ReadAllBytes(ShippedLibrary()).AsSpan(0, 4096).ToArray();
        Assert.Throws<InvalidDataException>(() => ElfVersionNeed.ReadNeeds(head));
    }
}
