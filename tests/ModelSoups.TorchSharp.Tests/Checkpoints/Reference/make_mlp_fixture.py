#!/usr/bin/python3
"""Writes the PyTorch checkpoint fixture of the TorchSharp end-to-end tests (eval, finetune, sparse).

Run with Debian's python3-torch (1.13 here), from anywhere:

    /usr/bin/python3 tests/ModelSoups.TorchSharp.Tests/Checkpoints/Reference/make_mlp_fixture.py

mlp-bin/ is a checkpoint folder as research code leaves it: pytorch_model.bin written by torch.save
(zip layout) plus the soup-model.json that names the architecture (an mlp: 8x8 gray input, hidden
[16], 4 classes, the shape of the tests' SyntheticImages). Its state dict uses the names of
ModelSoups.TorchSharp.Models.Mlp (layers.{1,3}.{weight,bias}, Sequential indices counting Flatten
and ReLU) and two kinds of view, so the tests also exercise strides and offsets end to end:
layers.3.weight is the transpose of a (16, 4) tensor, layers.3.bias a slice at offset 2 of a longer
storage. mlp.expected.safetensors holds the same values as PyTorch shows them (contiguous,
little-endian): the tests' safetensors twin. Seeded, so reruns give the same tensors (with torch
1.13 here, the same bytes too). About 5 KB each. mlp-lightning.ckpt holds the same
weights as a Lightning checkpoint (state_dict, names prefixed model.).
"""
import collections
import json
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(20261201)


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        b = tensors[name].detach().contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    inputs, hidden, classes = 8 * 8, 16, 4
    # Kaiming-uniform-like ranges as nn.Linear initialises, so training from here behaves like a fresh model.
    w1 = (torch.rand(hidden, inputs) * 2 - 1) / inputs ** 0.5
    b1 = (torch.rand(hidden) * 2 - 1) / inputs ** 0.5
    head_t = (torch.rand(hidden, classes) * 2 - 1) / hidden ** 0.5   # stored transposed: a strided view
    longer = (torch.rand(classes + 4) * 2 - 1) / hidden ** 0.5       # the bias is a slice at offset 2
    sd = collections.OrderedDict([
        ("layers.1.weight", w1),
        ("layers.1.bias", b1),
        ("layers.3.weight", head_t.t()),
        ("layers.3.bias", longer[2:2 + classes]),
    ])
    assert not sd["layers.3.weight"].is_contiguous() and sd["layers.3.bias"].storage_offset() == 2
    folder = os.path.join(HERE, "mlp-bin")
    os.makedirs(folder, exist_ok=True)
    torch.save(sd, os.path.join(folder, "pytorch_model.bin"))
    with open(os.path.join(folder, "soup-model.json"), "w") as f:
        json.dump({"architecture": "mlp", "classes": classes, "image_size": 8, "channels": 1, "hidden": [hidden]}, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(HERE, "mlp.expected.safetensors"), sd)
    # The same weights as a Lightning module saves them: under state_dict, each name prefixed by the
    # LightningModule's attribute (model.), beside training state. For --state-dict-key / --strip-prefix.
    lightning = {"epoch": 2, "global_step": 30, "state_dict": collections.OrderedDict(("model." + k, v) for k, v in sd.items())}
    torch.save(lightning, os.path.join(HERE, "mlp-lightning.ckpt"))


if __name__ == "__main__":
    main()
