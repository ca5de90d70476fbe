#!/usr/bin/env python3
"""Golden numbers for MergekitGoldenTests.cs, computed with PyTorch (Debian's python3-torch 1.13,
float32 as mergekit computes) from mergekit's method definitions (arcee-ai/mergekit main:
merge_methods/generalized_task_arithmetic.py, sparsify.py, sce.py, nuslerp.py, multislerp.py,
karcher.py, nearswap.py, arcee_fusion.py, slerp.py, model_stock.py), written here from those
definitions. mergekit's random masks (torch.bernoulli) cannot be reproduced, so DARE and DELLA draw
from ModelSoups' own counter-based stream (MergeSeed: SplitMix64), reimplemented below; everything
else about those methods (probabilities, L1 rescale, consensus) is mergekit's.
Re-run to regenerate:
    /usr/bin/python3 make_mergekit_golden.py > mergekit_golden.txt
The numbers are pasted into the C# test; CI does not need PyTorch."""
import math
import torch

M64 = (1 << 64) - 1


def mix(z):  # SplitMix64 output function (MergeSeed.Mix)
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def model_seed(tensor_seed, i):  # MergeSeed.ForModel
    return mix((tensor_seed + (i + 1) * 0xD1B54A32D192ED03) & M64)


def uniform(seed, j):  # MergeSeed.UniformAt
    return (mix((seed + (j + 1) * 0x9E3779B97F4A7C15) & M64) >> 11) * (1.0 / (1 << 53))


SEED = 42  # the tensor seed MergeRunner passes


def our_bernoulli(probs, i):
    flat = probs.reshape(-1)
    s = model_seed(SEED, i)
    return torch.tensor([1.0 if uniform(s, j) < float(flat[j]) else 0.0 for j in range(flat.numel())]).reshape(probs.shape)


# --- mergekit sparsify.py ---------------------------------------------------------------
def rescaled(t, mask, rescale):
    masked = t * mask
    if not rescale:
        return masked
    before, after = t.abs().sum(), masked.abs().sum()
    if before < 1e-7 or after < 1e-7:
        return masked
    return masked * (before / after)


def magnitude(t, density, rescale):
    if density >= 1:
        return t
    k = int(density * t.numel())
    mask = torch.zeros_like(t)
    mask.view(-1)[torch.argsort(t.abs().view(-1), descending=True)[:k]] = 1
    return rescaled(t, mask, rescale)


def magnitude_outliers(t, density, gamma, rescale):
    if density >= 1:
        return t
    n = t.numel()
    target, top = int(density * n), int(gamma * n)
    bot = n - target - top
    if bot < 0:
        top += bot
        bot = 0
    idx = torch.sort(t.abs().view(-1)).indices
    mask = torch.zeros_like(t)
    mask.view(-1)[idx[bot:n - top]] = 1  # mergekit writes indices[n_bot:-n_top]; equal for n_top > 0
    return rescaled(t, mask, rescale)


def bernoulli(t, density, rescale, i):
    if density >= 1:
        return t
    return rescaled(t, our_bernoulli(torch.full_like(t, density), i), rescale)


def della_magprune(t, density, eps, rescale, i):
    if density >= 1:
        return t
    shape = t.shape
    x = t.unsqueeze(0) if t.dim() < 2 else t
    ranks = torch.argsort(torch.argsort(x.abs(), dim=1), dim=1).float() + 1
    lo, hi = ranks.min(dim=1, keepdim=True).values, ranks.max(dim=1, keepdim=True).values
    probs = (density - eps) + ((ranks - lo) / (hi - lo)).clamp(0, 1) * 2 * eps
    return rescaled(x, our_bernoulli(probs, i), rescale).reshape(shape)


def get_mask(delta, method="sum"):
    sign = delta.sign()
    w = delta.sum(dim=0) if method == "sum" else sign.sum(dim=0)
    return sign == ((w >= 0).float() * 2 - 1)


# --- generalized_task_arithmetic.py -----------------------------------------------------
def gta(base, models, weights, sparsify, consensus, normalize, lam=1.0):
    deltas = torch.stack([sparsify(m - base, i) for i, m in enumerate(models)])
    w = torch.tensor(weights, dtype=deltas.dtype)
    while w.dim() < deltas.dim():
        w = w.unsqueeze(-1)
    wd = deltas * w
    if consensus:
        mask = get_mask(wd, consensus).float()
        mixed = (wd * mask).sum(dim=0)
        div = (w * mask).sum(dim=0)
        div[div == 0] = 1
    else:
        mixed = wd.sum(dim=0)
        div = w.sum(dim=0).expand_as(mixed).clone()
        div[div.abs() < 1e-8] = 1
    if normalize:
        mixed = mixed / div
    if lam != 1:
        mixed = mixed * lam
    return base + mixed


# --- the other methods --------------------------------------------------------------------
def sce(base, models, topk):
    tv = torch.stack([m - base for m in models])
    if topk < 1:
        var = torch.var(tv, dim=0, unbiased=False)
        k = int(torch.count_nonzero(var) * topk)
        mask = torch.zeros_like(var)
        if k > 0:
            mask.view(-1)[torch.topk(var.abs().view(-1), k=k).indices] = 1
        tv = tv * mask.unsqueeze(0)
    erase = get_mask(tv, "sum").float()
    wts = torch.mean(tv ** 2, dim=list(range(1, tv.dim())))
    s = wts.sum().item()
    wts = torch.ones_like(wts) / wts.shape[0] if abs(s) < 1e-6 else wts / s
    while wts.dim() < tv.dim():
        wts = wts.unsqueeze(-1)
    ew = wts * erase
    return base + (tv * ew).sum(dim=0) / ew.sum(dim=0).clamp(min=1e-6)


def nuslerp(t, v0, v1, dim=-1, flatten=False, eps=1e-8):
    shape = v0.shape
    if flatten:
        v0, v1 = v0.reshape(-1), v1.reshape(-1)
    elif dim != -1:
        v0, v1 = v0.transpose(dim, -1), v1.transpose(dim, -1)
    u0 = v0 / torch.norm(v0, dim=-1, keepdim=True).clamp(min=1e-7)
    u1 = v1 / torch.norm(v1, dim=-1, keepdim=True).clamp(min=1e-7)
    theta = torch.acos(torch.sum(u0 * u1, dim=-1, keepdim=True).clamp(-1, 1))
    sin = torch.sin(theta)
    res = (torch.sin((1 - t) * theta) * v0 + torch.sin(t * theta) * v1) / sin
    col = (sin.abs() < eps).squeeze(-1)
    res[col] = (1 - t) * v0[col] + t * v1[col]
    if dim != -1 and not flatten:
        res = res.transpose(dim, -1)
    return res.reshape(shape)


def multislerp(models, weights, base=None, normalize_weights=True, eps=1e-8):
    x = torch.stack(models)
    if base is not None:
        x = x - base
    flat = x.view(x.shape[0], -1)
    w = torch.tensor(weights, dtype=x.dtype)
    if normalize_weights:
        w = w / w.sum()
    norms = torch.norm(flat, dim=-1, keepdim=True)
    unit = flat / (norms + eps)
    mean = (unit * w.view(-1, 1)).sum(0)
    mean = mean / torch.norm(mean)
    tangent = unit - (unit * mean).sum(-1, keepdim=True) * mean
    g = (tangent * w.view(-1, 1)).sum(0)
    tn = torch.norm(g) + eps
    res = (mean * torch.cos(tn) + g * (torch.sin(tn) / tn)) * (norms.squeeze(-1) * w).sum()
    res = res.view(x.shape[1:])
    return res + base if base is not None else res


def karcher(tensors, max_iter=10, tol=1e-5):
    alphas = [1.0 / len(tensors)] * len(tensors)
    norms, units = [], []
    for t in tensors:
        n = torch.linalg.norm(t).item()
        norms.append(n)
        units.append(torch.zeros_like(t) if n == 0 else t / n)
    valid = [i for i, n in enumerate(norms) if n > tol]
    a = [alphas[i] for i in valid]
    a = [x / sum(a) for x in a]
    us = [units[i] for i in valid]
    u = sum(ai * ui for ai, ui in zip(a, us))
    nu = torch.linalg.norm(u).item()
    u = us[0].clone() if nu < tol else u / nu
    for _ in range(max_iter):
        T = torch.zeros_like(u)
        for ai, ui in zip(a, us):
            dot = torch.clamp(torch.dot(u.flatten(), ui.flatten()), -1.0, 1.0)
            th = torch.arccos(dot)
            if th.item() < tol:
                continue
            T += ai * (th / torch.sin(th)) * (ui - dot * u)
        nT = torch.linalg.norm(T)
        if nT.item() < tol:
            break
        u = torch.cos(nT) * u + torch.sin(nT) * (T / nT)
        un = torch.linalg.norm(u)
        if un.item() > tol:
            u = u / un
    return sum(al * n for al, n in zip(alphas, norms)) * u


def nearswap(a, b, t):
    w = (t / (a - b).abs().clamp(min=1e-6)).clamp(0, 1)
    return w * b + (1 - w) * a


def arcee_fusion(a, b):
    p = torch.softmax(b, dim=-1) + 1e-8
    q = torch.softmax(a, dim=-1) + 1e-8
    imp = (b - a).abs() * torch.sum(p * torch.log(p / q), dim=-1).unsqueeze(-1)
    s = torch.sort(imp.view(-1)).values
    qi = lambda q: s[int(q * (s.numel() - 1))]
    thr = qi(0.5) + 1.5 * (qi(0.75) - qi(0.25))
    return a + (b - a) * (imp >= thr).float()


def slerp(t, v0, v1, thr=0.9995, eps=1e-8):  # mergekit slerp (float32 numpy)
    import numpy as np
    a, b = v0.numpy().astype(np.float32), v1.numpy().astype(np.float32)
    na = a / np.linalg.norm(a) if np.linalg.norm(a) > eps else a
    nb = b / np.linalg.norm(b) if np.linalg.norm(b) > eps else b
    dot = np.sum(na * nb)
    if abs(dot) > thr:
        return torch.from_numpy((1 - t) * a + t * b)
    th = np.arccos(dot)
    return torch.from_numpy(np.sin(th - th * t) / np.sin(th) * a + np.sin(th * t) / np.sin(th) * b)


def model_stock_rows(w0, ws):  # filter_wise: one t per row
    off = [w - w0 for w in ws]
    cos = []
    for i in range(len(off)):
        for j in range(i + 1, len(off)):
            nprod = torch.norm(off[i], dim=-1) * torch.norm(off[j], dim=-1)
            cos.append(((off[i] * off[j]).sum(dim=-1) / nprod.clamp(min=1e-6)).clamp(-1, 1))
    c = torch.stack(cos).mean(dim=0).unsqueeze(-1)
    n = len(ws)
    t = (n * c) / (1 + (n - 1) * c)
    return t * (sum(ws) / n) + (1 - t) * w0


def ram_parts(base, models, eps):
    tv = torch.stack([m - base for m in models]).view(len(models), -1)
    nz = tv.abs() > eps
    counts = nz.sum(dim=0, keepdim=True)
    return tv, nz, counts, counts > 1, counts == 1


def ram(base, models, eps=1e-5):  # mergekit ram
    tv, nz, counts, overlap, unique = ram_parts(base, models, eps)
    z = tv * nz
    return base + ((z * unique) + (z * overlap / counts.clamp(min=1))).sum(dim=0, keepdim=True).reshape_as(base)


def ramplus_tl(base, models, r=0.1, alpha=0.2, eps=1e-5):  # mergekit ramplus_tl
    tv, nz, counts, overlap, unique = ram_parts(base, models, eps)
    shared_n = (nz & overlap).sum(dim=1).float()
    unique_n = (nz & unique).sum(dim=1).float()
    lam = 1 + r * (shared_n / unique_n.clamp(min=eps)).clamp(min=0, max=alpha)
    z = tv * nz
    return base + ((z * unique * lam.unsqueeze(-1)) + (z * overlap / counts.clamp(min=1))).sum(dim=0, keepdim=True).reshape_as(base)


f = lambda *v: torch.tensor(v, dtype=torch.float32)
base = f(0.10, -0.20, 0.30, -0.40, 0.50, -0.60, 0.70, -0.80)
a = f(0.35, -0.17, 0.04, -0.93, 0.46, -0.11, 0.72, -0.37)
b = f(-0.26, -0.62, 0.33, 0.21, 0.97, -0.58, 0.19, -0.83)
c = f(0.12, 0.41, 0.92, -0.44, 0.08, -1.23, 0.68, -0.06)
W = [1.0, 0.7, 0.5]
sparse = [f(0.2, 0, 0, -0.1, 0, 0.3, 0, 0), f(0, 0.4, 0, 0.2, 0, 0, 0, -0.5), f(0, 0, 0.1, 0.1, 0, 0.3, 0, 0)]
spiky = f(0.01, 0.02, -0.01, 0.9, 0.01, -0.02, 0.015, -0.6)
for t in (a - base, b - base, c - base):  # distinct magnitudes: no ties for sorts to break differently
    assert len(set(t.abs().tolist())) == t.numel()

out = {
    "ties_d05": gta(base, [a, b, c], W, lambda t, i: magnitude(t, 0.5, False), "sum", True),
    "ties_d05_nonorm": gta(base, [a, b, c], W, lambda t, i: magnitude(t, 0.5, False), "sum", False),
    "ties_d05_rescale_lambda": gta(base, [a, b, c], W, lambda t, i: magnitude(t, 0.5, True), "sum", True, 0.8),
    "dare_linear_d05": gta(base, [a, b, c], W, lambda t, i: bernoulli(t, 0.5, True, i), None, False),
    "dare_ties_d05": gta(base, [a, b, c], W, lambda t, i: bernoulli(t, 0.5, True, i), "sum", False),
    "dare_linear_d05_norescale": gta(base, [a, b, c], W, lambda t, i: bernoulli(t, 0.5, False, i), None, False),
    "breadcrumbs_d05_g02": gta(base, [a, b, c], W, lambda t, i: magnitude_outliers(t, 0.5, 0.2, False), None, False),
    "breadcrumbs_ties_d05_g02": gta(base, [a, b, c], W, lambda t, i: magnitude_outliers(t, 0.5, 0.2, False), "sum", False),
    "task_arithmetic_normalize": gta(base, [a, b, c], W, lambda t, i: t, None, True, 0.5),
    # DELLA on a [2, 4] tensor: probabilities ranked within each row of 4.
    "della_d05_e02": gta(base.view(2, 4), [m.view(2, 4) for m in (a, b, c)], W,
                         lambda t, i: della_magprune(t, 0.5, 0.2, True, i), "sum", True).view(-1),
    "della_linear_d05_e02": gta(base.view(2, 4), [m.view(2, 4) for m in (a, b, c)], W,
                                lambda t, i: della_magprune(t, 0.5, 0.2, True, i), None, False).view(-1),
    "sce_topk1": sce(base, [a, b, c], 1.0),
    "sce_topk05": sce(base, [a, b, c], 0.5),
    "nuslerp_w_1_3": nuslerp(3 / 4, a, b, flatten=True),
    "nuslerp_base_rows": base + nuslerp(3 / 4, (a - base).view(2, 4), (b - base).view(2, 4), dim=-1).view(-1),
    "nuslerp_columns": nuslerp(3 / 4, a.view(2, 4), b.view(2, 4), dim=0).view(-1),
    "multislerp_3": multislerp([a, b, c], W),
    "multislerp_base": multislerp([a, b, c], W, base=base),
    "karcher_3": karcher([a, b, c]),
    "karcher_base_iter2": karcher([a, b, base], max_iter=2),
    "nearswap_t01": nearswap(base, a, 0.1),
    # Small changes everywhere and two large ones: only elements whose importance is an outlier move.
    "arcee_fusion_rows": arcee_fusion(base.view(2, 4), (base + spiky).view(2, 4)).view(-1),
    "slerp_base_t03": slerp(0.3, base, a),
    # Sparse task vectors: some entries changed by one model, some by several, some by none.
    "ram": ram(base, [base + sparse[0], base + sparse[1], base + sparse[2]]),
    "ramplus_tl": ramplus_tl(base, [base + sparse[0], base + sparse[1], base + sparse[2]], r=0.5, alpha=0.8),
    "model_stock_filter_wise": model_stock_rows(base.view(2, 4), [m.view(2, 4) for m in (a, b, c)]).view(-1),
}
for k, v in out.items():
    print(k, "[" + ", ".join(repr(float(x)) + "f" for x in v.tolist()) + "]")

# --- whole recipes on bf16 folders (MergekitRecipeTests): inputs rounded to bf16, mergekit's
# formula in f32, output rounded to bf16 once (mergekit with dtype float32, out_dtype bfloat16).
bf = lambda t: t.bfloat16().float()
B16 = [bf(x) for x in (base, a, b, c)]
rb, ra, rbb, rc = B16
recipes = {
    "recipe_ties": gta(rb, [ra, rbb, rc], W, lambda t, i: magnitude(t, 0.5, False), "sum", True),
    "recipe_ties_nonorm": gta(rb, [ra, rbb, rc], W, lambda t, i: magnitude(t, 0.5, False), "sum", False),
    "recipe_breadcrumbs": gta(rb, [ra, rbb, rc], W, lambda t, i: magnitude_outliers(t, 0.5, 0.2, False), None, False),
    "recipe_task_arithmetic": gta(rb, [ra, rbb, rc], W, lambda t, i: t, None, False, 0.5),
    "recipe_sce": sce(rb, [ra, rbb, rc], 0.5),
    "recipe_slerp": slerp(0.3, rb, ra),
    "recipe_karcher": karcher([ra, rbb, rc]),
    "recipe_multislerp": multislerp([ra, rbb, rc], W, base=rb),
}
for k, v in recipes.items():
    print(k, "[" + ", ".join(repr(float(x)) + "f" for x in bf(v.float()).tolist()) + "]")
