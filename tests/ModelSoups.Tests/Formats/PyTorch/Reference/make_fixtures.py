#!/usr/bin/python3
"""Writes the torch.save fixtures of the PyTorch reader tests, and what they must read as.

Run with Debian's python3-torch (1.13 here), from anywhere:

    /usr/bin/python3 tests/ModelSoups.Tests/Formats/PyTorch/Reference/make_fixtures.py

Every fixture NAME.{pt,bin,pth,ckpt} gets NAME.expected.safetensors beside it, written by the small
safetensors writer below (no safetensors package needed): for every tensor the reader must
produce, the bytes of `t.contiguous()` as PyTorch shows the tensor to a user (views resolved,
little-endian). Tests compare the reader's bytes to these exactly. The files are small and
committed; rerunning this script gives the same tensors (seeded), though not the same bytes for
every file: legacy storage keys are object addresses and zip records carry timestamps, so commit
only the files whose tests need them. PyTorch 1.13 itself ignores byte order on load (the
big-endian fixtures show swapped values there); their expected files hold the true values, as
PyTorch >= 2.1 reads them.
"""
import collections
import json
import os
import pickle
import struct
import sys
import zipfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(20240613)

ST_NAMES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}


def raw_bytes(t):
    """Little-endian bytes of the tensor as a user sees it (bf16 through an int16 view: numpy has no bf16)."""
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def write_safetensors(path, tensors):
    """A safetensors file as the reference writer lays it out (sorted names, 8-byte aligned header)."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        b = raw_bytes(t)
        header[name] = {"dtype": ST_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def save(name, obj, expected, legacy=False, protocol=2):
    path = os.path.join(HERE, name)
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy, pickle_protocol=protocol)
    stem = name.rsplit(".", 1)[0]
    write_safetensors(os.path.join(HERE, stem + ".expected.safetensors"), expected)


def every_dtype():
    d = collections.OrderedDict()
    d["f64"] = torch.tensor([1.5, -2.25, float("inf"), 1e-300], dtype=torch.float64)
    d["f32"] = torch.randn(2, 3)
    d["f16"] = torch.tensor([[0.5, -1.0], [65504.0, 6e-8]], dtype=torch.float16)
    d["bf16"] = torch.tensor([1.0, -0.1, 3.0e38, 1e-38], dtype=torch.bfloat16)
    d["i64"] = torch.tensor([-(2 ** 62), 7, 0], dtype=torch.int64)
    d["i32"] = torch.tensor([[-(2 ** 31), 2 ** 31 - 1]], dtype=torch.int32)
    d["i16"] = torch.tensor([-32768, 32767, 5], dtype=torch.int16)
    d["i8"] = torch.tensor([-128, 127], dtype=torch.int8)
    d["u8"] = torch.tensor([0, 255, 17], dtype=torch.uint8)
    d["bool"] = torch.tensor([True, False, True])
    d["scalar"] = torch.tensor(3.25)
    d["empty"] = torch.zeros(0, 4)
    return d


def views():
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    emb = torch.randn(5, 3)
    d = collections.OrderedDict()
    d["base"] = base
    d["row"] = base[2]                # offset 12, contiguous
    d["slice"] = base[1:3, 2:5]       # offset 8, strides (6, 1): not contiguous
    d["transpose"] = base.t()         # strides (1, 6)
    d["stepped"] = base[:, ::2]       # strides (6, 2)
    d["broadcast"] = torch.arange(3, dtype=torch.int64).expand(2, 3)  # stride 0
    d["embed.weight"] = emb           # tied: two names, one storage
    d["lm_head.weight"] = emb
    d["half_t"] = torch.arange(6, dtype=torch.float16).reshape(2, 3).t()
    return d


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(6, 4)
        self.fc = torch.nn.Linear(4, 3)
        self.norm = torch.nn.BatchNorm1d(3)


def tiny_state(seed, dtype=torch.float32):
    torch.manual_seed(seed)
    m = Tiny().to(dtype)
    with torch.no_grad():
        m.norm.running_mean.uniform_(-1, 1)
    return m.state_dict()


def rezip(src, dst, compression, swap=None, byteorder=None):
    """Copies a torch.save archive record by record: recompressed, optionally with data records byte-swapped."""
    with zipfile.ZipFile(os.path.join(HERE, src)) as zin, zipfile.ZipFile(os.path.join(HERE, dst), "w", compression) as zout:
        prefix = None
        for info in zin.infolist():
            data = zin.read(info.filename)
            top, rest = info.filename.split("/", 1)
            prefix = top
            if swap and rest.startswith("data/"):
                data = np.frombuffer(data, dtype="<u%d" % swap).byteswap().tobytes()
            zout.writestr(dst.rsplit(".", 1)[0] + "/" + rest, data)
        if byteorder:
            zout.writestr(dst.rsplit(".", 1)[0] + "/byteorder", byteorder)
    stem_src, stem_dst = src.rsplit(".", 1)[0], dst.rsplit(".", 1)[0]
    exp = os.path.join(HERE, stem_src + ".expected.safetensors")
    if not swap and os.path.exists(exp):
        with open(exp, "rb") as f, open(os.path.join(HERE, stem_dst + ".expected.safetensors"), "wb") as g:
            g.write(f.read())


def legacy_to_big_endian(src, dst, element_size):
    """Rewrites a legacy torch.save file as a big-endian machine writes it (one element size throughout)."""
    with open(os.path.join(HERE, src), "rb") as f:
        magic, proto, sysinfo = pickle.load(f), pickle.load(f), pickle.load(f)
        start = f.tell()
        class Skipper(pickle.Unpickler):   # only to find where the object pickle ends; builds nothing real
            def find_class(self, module, name):
                return lambda *a, **k: collections.OrderedDict()

            def persistent_load(self, pid):
                return None

        Skipper(f).load()
        obj_bytes_end = f.tell()
        keys = pickle.load(f)
        keys_end = f.tell()
        body = f.read()
    with open(os.path.join(HERE, src), "rb") as f:
        raw = f.read()
    sysinfo["little_endian"] = False
    out = [pickle.dumps(magic, protocol=2), pickle.dumps(proto, protocol=2), pickle.dumps(sysinfo, protocol=2),
           raw[start:keys_end]]
    pos = 0
    for _ in keys:
        (numel,) = struct.unpack("<q", body[pos:pos + 8])
        data = body[pos + 8:pos + 8 + numel * element_size]
        out.append(body[pos:pos + 8])   # the element count stays little-endian, as torch writes it
        out.append(np.frombuffer(data, dtype="<u%d" % element_size).byteswap().tobytes())
        pos += 8 + numel * element_size
    with open(os.path.join(HERE, dst), "wb") as g:
        g.write(b"".join(out))


def main():
    d = every_dtype()
    save("dtypes.pt", d, d)
    save("dtypes_legacy.pt", d, d, legacy=True)
    save("dtypes_p4.pt", d, d, protocol=4)

    v = views()
    save("views.pt", v, v)
    save("views_legacy.pt", v, v, legacy=True)

    # A model.state_dict(): an OrderedDict with a _metadata attribute (BUILD), bf16 weights, an int64 counter.
    a = tiny_state(1, torch.bfloat16)
    save("tiny_a.bin", a, a)

    # DataParallel: every name starts with "module.".
    dp = torch.nn.DataParallel(Tiny())
    dp_sd = dp.state_dict()
    save("dataparallel.pth", dp_sd, dp_sd)

    # Lightning-style checkpoint: state_dict next to optimizer state (tensors too), hyperparameters,
    # and a numpy scalar (numpy.core.multiarray.scalar) as callbacks keep them.
    model = Tiny()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    out = model.fc(model.embed(torch.tensor([1, 2])))
    out.sum().backward()
    opt.step()
    sd = collections.OrderedDict(("model." + k, v) for k, v in model.state_dict().items())
    lightning = {
        "epoch": 3,
        "global_step": 120,
        "pytorch-lightning_version": "1.9.0",
        "state_dict": sd,
        "optimizer_states": [opt.state_dict()],
        "lr_schedulers": [],
        "callbacks": {"ModelCheckpoint": {"best_model_score": np.float64(0.875), "monitor": "val_acc"}},
        "hyper_parameters": {"lr": 1e-3, "name": "tiny", "layers": [4, 3], "extra": b"\x00\x01bytes"},
    }
    save("lightning.ckpt", lightning, sd)

    # {"model": state_dict} as research code saves it, legacy format.
    m = tiny_state(3)
    save("nested_model_legacy.pth", {"model": m, "epoch": 7}, m, legacy=True)

    # Hugging Face folders: one pytorch_model.bin (model A), and model B in two shards with an index.
    for sub in ("hf-single", "hf-sharded"):
        os.makedirs(os.path.join(HERE, sub), exist_ok=True)
    with open(os.path.join(HERE, "hf-single", "config.json"), "w") as f:
        json.dump({"model_type": "tiny", "hidden_size": 4}, f)
    torch.save(a, os.path.join(HERE, "hf-single", "pytorch_model.bin"))
    b = tiny_state(2, torch.bfloat16)
    names = list(b.keys())
    first = collections.OrderedDict((k, b[k]) for k in names[:3])
    second = collections.OrderedDict((k, b[k]) for k in names[3:])
    torch.save(first, os.path.join(HERE, "hf-sharded", "pytorch_model-00001-of-00002.bin"))
    torch.save(second, os.path.join(HERE, "hf-sharded", "pytorch_model-00002-of-00002.bin"))
    weight_map = {k: "pytorch_model-00001-of-00002.bin" for k in first}
    weight_map.update({k: "pytorch_model-00002-of-00002.bin" for k in second})
    total = sum(t.numel() * t.element_size() for t in b.values())
    with open(os.path.join(HERE, "hf-sharded", "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
    with open(os.path.join(HERE, "hf-sharded", "config.json"), "w") as f:
        json.dump({"model_type": "tiny", "hidden_size": 4}, f)
    write_safetensors(os.path.join(HERE, "hf-sharded.expected.safetensors"), b)

    # The same archive with every record deflated (torch.save stores them; other zip tools may not).
    rezip("views.pt", "views_deflated.pt", zipfile.ZIP_DEFLATED)

    # A big-endian archive as PyTorch >= 2.1 writes on big-endian machines: a byteorder record
    # saying "big" and every element byte-swapped. One dtype (f32) so every record swaps in 4s.
    w = torch.arange(6, dtype=torch.float32).reshape(2, 3) - 2.5
    be = collections.OrderedDict([("w", w), ("wt", w.t()), ("row", w[1])])
    save("be_source.pt", be, be)
    rezip("be_source.pt", "bigendian.pt", zipfile.ZIP_STORED, swap=4, byteorder="big")
    os.remove(os.path.join(HERE, "be_source.pt"))
    os.rename(os.path.join(HERE, "be_source.expected.safetensors"), os.path.join(HERE, "bigendian.expected.safetensors"))

    # The legacy layout from a big-endian machine: sys info says little_endian=False, storages byte-swapped.
    save("be_legacy_source.pt", be, be, legacy=True)
    legacy_to_big_endian("be_legacy_source.pt", "bigendian_legacy.pt", 4)
    os.remove(os.path.join(HERE, "be_legacy_source.pt"))
    os.rename(os.path.join(HERE, "be_legacy_source.expected.safetensors"), os.path.join(HERE, "bigendian_legacy.expected.safetensors"))

    # A hostile file in torch.save's own zip layout: unpickling it with pickle/torch.load (without
    # weights_only) would run `touch` on the marker path. The reader must refuse it unrun.
    class Payload:
        def __reduce__(self):
            return (os.system, ("touch /tmp/modelsoups-pytorch-fixture-pwned",))

    torch.save({"weight": torch.zeros(2), "x": Payload()}, os.path.join(HERE, "malicious_os_system.pt"))
    print("fixtures written to", HERE, file=sys.stderr)


if __name__ == "__main__":
    main()
