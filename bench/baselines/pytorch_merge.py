#!/usr/bin/env python3
"""Plain PyTorch baseline for the merge benchmark: what a careful Python user writes.

Reads each .safetensors input with numpy memmap (zero-copy), averages every tensor with torch in
float32 (linear: uniform soup) or applies TIES (PEFT's ties(): per-tensor magnitude trim, sign
election from the sum, disjoint mean), converts back to the input dtype and writes one
.safetensors file. Single process, tensor by tensor, as the usual scripts do.

usage: pytorch_merge.py linear|ties OUT.safetensors [--base BASE] IN1 IN2 ...
"""
import json, os, struct, sys, time
import numpy as np
import torch

DT = {"BF16": (np.int16, torch.bfloat16), "F16": (np.float16, torch.float16), "F32": (np.float32, torch.float32)}


def read_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return header, 8 + n


def load(path, name, header, start):
    info = header[name]
    b, e = info["data_offsets"]
    np_dtype, t_dtype = DT[info["dtype"]]
    arr = np.memmap(path, dtype=np.uint8, mode="r", offset=start + b, shape=(e - b,)) if e > b else np.zeros(0, np.uint8)
    t = torch.from_numpy(np.asarray(arr).view(np_dtype))
    if t_dtype == torch.bfloat16:
        t = t.view(torch.bfloat16)
    return t.reshape(info["shape"]).float()


def ties(base, models, density=0.5):
    deltas = []
    for m in models:
        d = (m - base).flatten()
        k = int(density * d.numel())
        mask = torch.zeros_like(d)
        if k > 0:
            mask[torch.topk(d.abs(), k).indices] = 1
        deltas.append(d * mask)
    stacked = torch.stack(deltas)
    sign = torch.sign(stacked.sum(0))
    sign[sign == 0] = 1
    agree = (torch.sign(stacked) == sign).float()
    merged = (stacked * agree).sum(0) / agree.sum(0).clamp(min=1)
    return base + merged.reshape(base.shape)


def main():
    method, out = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    base_path = None
    if args[0] == "--base":
        base_path, args = args[1], args[2:]
    t0 = time.perf_counter()
    headers = [read_header(p) for p in args]
    base_header = read_header(base_path) if base_path else None
    names = sorted(headers[0][0])
    # The output layout is known from the first input's header, so tensors stream straight to disk.
    out_header, offset = {}, 0
    for name in names:
        info = headers[0][0][name]
        size = info["data_offsets"][1] - info["data_offsets"][0]
        out_header[name] = {"dtype": info["dtype"], "shape": info["shape"], "data_offsets": [offset, offset + size]}
        offset += size
    hb = json.dumps(out_header, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for name in names:
            tensors = [load(p, name, h, s) for p, (h, s) in zip(args, headers)]
            if method == "linear":
                r = torch.stack(tensors).mean(0)
            else:
                r = ties(load(base_path, name, *base_header), tensors)
            dtype = out_header[name]["dtype"]
            r = r.to(DT[dtype][1])
            f.write((r.view(torch.int16) if dtype == "BF16" else r).numpy().tobytes())
        # Durable like the toolkit's output (it fsyncs before renaming into place).
        f.flush()
        os.fsync(f.fileno())
    print(json.dumps({"seconds": time.perf_counter() - t0}))


if __name__ == "__main__":
    main()
