#!/usr/bin/env python3
"""Golden numbers for ReferenceGoldenTests.cs, computed with PyTorch (Debian's python3-torch 1.13)
from the reference definitions: PEFT's utils/merge_utils.py (magnitude_prune, ties,
calculate_majority_sign_mask, disjoint_merge) and mergekit's slerp. Re-run to regenerate:
    /usr/bin/python3 make_golden.py > golden.txt
The numbers are pasted into the C# test; CI does not need PyTorch."""
import torch

torch.set_printoptions(precision=9)
base = torch.tensor([0.10, -0.20, 0.30, -0.40, 0.50, -0.60, 0.70, -0.80], dtype=torch.float32)
a = torch.tensor([0.35, -0.17, 0.04, -0.93, 0.46, -0.11, 0.72, -0.37], dtype=torch.float32)
b = torch.tensor([-0.26, -0.62, 0.33, 0.21, 0.97, -0.58, 0.19, -0.83], dtype=torch.float32)
c = torch.tensor([0.12, 0.41, 0.92, -0.44, 0.08, -1.23, 0.68, -0.06], dtype=torch.float32)


def magnitude_prune(t, density):  # PEFT
    mask = torch.zeros_like(t).reshape(-1)
    k = int(density * t.numel())
    top_k = torch.topk(t.abs().reshape(-1), k=k, largest=True)
    mask[top_k[1]] = 1
    return t * mask.reshape(t.shape)


def majority_sign_mask(tt, method):  # PEFT calculate_majority_sign_mask
    sign = tt.sign()
    mag = tt.sum(dim=0) if method == "total" else sign.sum(dim=0)
    majority = torch.where(mag >= 0, 1, -1)
    return sign == majority


def disjoint_merge(tt, mask):  # PEFT
    mixed = (tt * mask).sum(dim=0)
    kept = mask.sum(dim=0)
    return mixed / torch.clamp(kept, min=1.0)


def ties(taus, weights, density, method):  # PEFT ties()
    tt = torch.stack([magnitude_prune(t, density) for t in taus])
    mask = majority_sign_mask(tt, method)
    w = torch.tensor(weights, dtype=tt.dtype).unsqueeze(1)
    return disjoint_merge(tt * w, mask)


def slerp(t, v0, v1, dot_threshold=0.9995, eps=1e-8):  # mergekit slerp, numpy path
    v0c, v1c = v0.double().numpy(), v1.double().numpy()
    import numpy as np
    n0 = v0c / max(np.linalg.norm(v0c), eps)
    n1 = v1c / max(np.linalg.norm(v1c), eps)
    dot = float(np.sum(n0 * n1))
    if abs(dot) > dot_threshold:
        return torch.from_numpy((1 - t) * v0c + t * v1c).float()
    theta0 = np.arccos(dot)
    s0 = np.sin(theta0 - theta0 * t) / np.sin(theta0)
    s1 = np.sin(theta0 * t) / np.sin(theta0)
    return torch.from_numpy(s0 * v0c + s1 * v1c).float()


def model_stock(w0, ws):  # mergekit model_stock (filter_wise: false: tensors flattened)
    offsets = [w - w0 for w in ws]
    cos = []
    for i in range(len(offsets)):
        for j in range(i + 1, len(offsets)):
            norm = torch.norm(offsets[i], dim=-1) * torch.norm(offsets[j], dim=-1)
            cos.append(((offsets[i] * offsets[j]).sum(dim=-1) / norm.clamp(min=1e-6)).clamp(-1, 1))
    c = torch.stack(cos).mean(dim=0)
    n = len(ws)
    t = (n * c) / (1 + (n - 1) * c)
    return t * (sum(ws) / n) + (1 - t) * w0


taus = [a - base, b - base, c - base]
for t in taus:  # distinct magnitudes: top-k has no ties to break, so every implementation agrees
    assert len(set(t.abs().tolist())) == t.numel(), t
out = {
    "ties_total_d05": base + ties(taus, [1.0, 0.7, 0.5], 0.5, "total"),
    "ties_frequency_d05": base + ties(taus, [1.0, 0.7, 0.5], 0.5, "frequency"),
    "ties_total_d1_lambda06": base + 0.6 * ties(taus, [1.0, 1.0, 1.0], 1.0, "total"),
    "task_arithmetic_d0375": base + sum(w * magnitude_prune(t, 0.375) for w, t in zip([1.0, 0.5, 0.25], taus)),
    "slerp_t03": slerp(0.3, a, b),
    "model_stock": model_stock(base, [a, b, c]),
    "linear_w": (1.0 * a + 2.0 * b + 3.0 * c) / 6.0,
}
for k, v in out.items():
    print(k, "[" + ", ".join(repr(float(x)) + "f" for x in v.tolist()) + "]")
