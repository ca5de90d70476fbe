// Marks one symbol-version requirement of an ELF64 shared library as weak.
//
// Why: TorchSharp 0.107.0's libLibTorchSharp.so is built with GCC 13 and records that it needs
// GLIBCXX_3.4.32 from libstdc++.so.6, for one marker symbol only (_ZSt21ios_base_library_initv,
// which GCC 13 emits and nothing calls). Debian 12's libstdc++ stops at GLIBCXX_3.4.30, so
// dlopen refuses the library and TorchSharp reports a misleading TypeInitializationException
// on the first tensor operation. glibc treats a version need whose Elf64_Vernaux has
// VER_FLG_WEAK (0x2) set as optional (elf/dl-version.c, match_symbol's `weak` argument): a
// missing weak version is not an error. That one bit in a copy of the library is the whole fix.
// (`patchelf --clear-symbol-version` does not help: it edits .gnu.version of symbols, not the
// .gnu.version_r need that dl-version.c checks.)
//
// This file is compiled twice: by MSBuild's RoslynCodeTaskFactory (LibTorchSharpPatch.targets,
// which includes the task class at the bottom) and by the tests (which define
// ELF_VERSION_NEED_NO_MSBUILD). It is therefore written in plain, older C# with no dependencies.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace ModelSoups.Build
{
    /// <summary>One Elf64_Vernaux entry: a version needed from a library, and where its flags live.</summary>
    public sealed class ElfVersionNeedEntry
    {
        public ElfVersionNeedEntry(string library, string version, ushort flags, long flagsOffset)
        {
            Library = library; Version = version; Flags = flags; FlagsOffset = flagsOffset;
        }
        public string Library { get; private set; }
        public string Version { get; private set; }
        public ushort Flags { get; private set; }
        /// <summary>File offset of the 2-byte vna_flags field.</summary>
        public long FlagsOffset { get; private set; }
        public bool IsWeak { get { return (Flags & ElfVersionNeed.VerFlgWeak) != 0; } }
    }

    /// <summary>Reads .gnu.version_r / .gnu.version_d of little-endian ELF64 files and marks needs weak.</summary>
    public static class ElfVersionNeed
    {
        public const ushort VerFlgWeak = 0x2;           // elf.h VER_FLG_WEAK
        const uint ShtGnuVerdef = 0x6ffffffd;           // elf.h SHT_GNU_verdef
        const uint ShtGnuVerneed = 0x6ffffffe;          // elf.h SHT_GNU_verneed
        const int MaxEntries = 1 << 16;                 // guards against looping on a corrupt chain

        /// <summary>Every version need of the file (empty when it has no .gnu.version_r).</summary>
        public static List<ElfVersionNeedEntry> ReadNeeds(byte[] elf)
        {
            var result = new List<ElfVersionNeedEntry>();
            foreach (var sec in Sections(elf))
            {
                if (sec.Type != ShtGnuVerneed) continue;
                var strtab = Section(elf, sec.Link);
                long vn = sec.Offset;
                for (int i = 0; i < sec.Info && i < MaxEntries; i++)
                {
                    Check(elf, vn, 16);
                    int count = U16(elf, vn + 2);
                    string file = Str(elf, strtab, U32(elf, vn + 4));
                    long aux = vn + U32(elf, vn + 8);
                    for (int j = 0; j < count; j++)
                    {
                        Check(elf, aux, 16);
                        string name = Str(elf, strtab, U32(elf, aux + 8));
                        result.Add(new ElfVersionNeedEntry(file, name, (ushort)U16(elf, aux + 4), aux + 4));
                        aux += U32(elf, aux + 12);
                    }
                    uint next = U32(elf, vn + 12);
                    if (next == 0) break;
                    vn += next;
                }
            }
            return result;
        }

        /// <summary>True when the file (a library) defines the given symbol version in .gnu.version_d.</summary>
        public static bool DefinesVersion(byte[] elf, string version)
        {
            foreach (var sec in Sections(elf))
            {
                if (sec.Type != ShtGnuVerdef) continue;
                var strtab = Section(elf, sec.Link);
                long vd = sec.Offset;
                for (int i = 0; i < sec.Info && i < MaxEntries; i++)
                {
                    Check(elf, vd, 20);
                    int count = U16(elf, vd + 6);
                    long aux = vd + U32(elf, vd + 12);
                    if (count > 0)
                    {
                        Check(elf, aux, 8);
                        if (Str(elf, strtab, U32(elf, aux)) == version) return true;
                    }
                    uint next = U32(elf, vd + 16);
                    if (next == 0) break;
                    vd += next;
                }
            }
            return false;
        }

        /// <summary>
        /// Sets VER_FLG_WEAK on every need named <paramref name="version"/>, in place.
        /// Returns how many entries changed (0 when absent or already weak: idempotent).
        /// </summary>
        public static int MarkWeak(byte[] elf, string version)
        {
            int changed = 0;
            foreach (var need in ReadNeeds(elf))
            {
                if (need.Version != version || need.IsWeak) continue;
                ushort flags = (ushort)(need.Flags | VerFlgWeak);
                elf[need.FlagsOffset] = (byte)flags;
                elf[need.FlagsOffset + 1] = (byte)(flags >> 8);
                changed++;
            }
            return changed;
        }

        /// <summary>
        /// Patches a file: rewrites it through a temporary file and a rename (so a hard link into
        /// the NuGet cache is never modified), keeping its timestamp so incremental copies stay quiet.
        /// Returns the number of entries changed.
        /// </summary>
        public static int MarkWeakInFile(string path, string version)
        {
            byte[] bytes = File.ReadAllBytes(path);
            int changed = MarkWeak(bytes, version);
            if (changed == 0) return 0;
            DateTime stamp = File.GetLastWriteTimeUtc(path);
            string temp = path + ".weak-version.tmp";
            File.WriteAllBytes(temp, bytes);
            File.SetLastWriteTimeUtc(temp, stamp);
            File.Copy(temp, path, true);  // Copy+delete, not Move: File.Move(overwrite) needs netstandard2.1.
            File.SetLastWriteTimeUtc(path, stamp);
            File.Delete(temp);
            return changed;
        }

        struct Sec { public uint Type; public long Offset; public long Size; public uint Link; public uint Info; }

        static List<Sec> Sections(byte[] elf)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException("not an ELF file");
            if (elf[4] != 2 || elf[5] != 1)
                throw new InvalidDataException("not a little-endian ELF64 file");
            long shoff = (long)U64(elf, 0x28);
            int shentsize = U16(elf, 0x3A);
            int shnum = U16(elf, 0x3C);
            if (shentsize < 64) throw new InvalidDataException("bad section header size");
            var list = new List<Sec>(shnum);
            for (int i = 0; i < shnum; i++)
            {
                long h = shoff + (long)i * shentsize;
                Check(elf, h, 64);
                var s = new Sec();
                s.Type = U32(elf, h + 4);
                s.Offset = (long)U64(elf, h + 24);
                s.Size = (long)U64(elf, h + 32);
                s.Link = U32(elf, h + 40);
                s.Info = U32(elf, h + 44);
                if (s.Type != 8 /* SHT_NOBITS */ && s.Type != 0) Check(elf, s.Offset, s.Size);
                list.Add(s);
            }
            return list;
        }

        static Sec Section(byte[] elf, uint index)
        {
            var all = Sections(elf);
            if (index >= all.Count) throw new InvalidDataException("section link out of range");
            return all[(int)index];
        }

        static string Str(byte[] elf, Sec strtab, uint offset)
        {
            if (offset >= strtab.Size) throw new InvalidDataException("string offset out of range");
            long start = strtab.Offset + offset, end = start;
            long limit = strtab.Offset + strtab.Size;
            while (end < limit && elf[end] != 0) end++;
            return Encoding.ASCII.GetString(elf, (int)start, (int)(end - start));
        }

        static void Check(byte[] elf, long offset, long size)
        {
            if (offset < 0 || size < 0 || offset > elf.Length || size > elf.Length - offset)
                throw new InvalidDataException("ELF structure points outside the file");
        }

        static int U16(byte[] b, long o) { Check(b, o, 2); return b[o] | (b[o + 1] << 8); }
        static uint U32(byte[] b, long o) { Check(b, o, 4); return (uint)(b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)); }
        static ulong U64(byte[] b, long o) { return U32(b, o) | ((ulong)U32(b, o + 4) << 32); }
    }

#if !ELF_VERSION_NEED_NO_MSBUILD
    /// <summary>
    /// MSBuild task: marks <see cref="Version"/> weak in each of <see cref="Files"/>, unless the
    /// system libstdc++ already defines that version (then the library loads as shipped).
    /// </summary>
    public class MarkElfVersionNeedWeak : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; }
        [Microsoft.Build.Framework.Required]
        public string Version { get; set; }
        /// <summary>Semicolon-separated candidates for the system library that should define Version.</summary>
        public string SystemLibraries { get; set; }

        public override bool Execute()
        {
            foreach (var candidate in (SystemLibraries ?? "").Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries))
            {
                if (!File.Exists(candidate)) continue;
                if (ElfVersionNeed.DefinesVersion(File.ReadAllBytes(candidate), Version))
                {
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, "{0} defines {1}; leaving LibTorchSharp as shipped.", candidate, Version);
                    return true;
                }
                break;  // the first existing candidate is the one the loader uses
            }
            foreach (var item in Files)
            {
                string path = item.GetMetadata("FullPath");
                try
                {
                    int changed = ElfVersionNeed.MarkWeakInFile(path, Version);
                    if (changed > 0)
                        Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, "Marked {0} weak in {1} (system libstdc++ lacks it).", Version, path);
                }
                catch (Exception e)
                {
                    Log.LogError("Could not patch {0}: {1}", path, e.Message);
                }
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
