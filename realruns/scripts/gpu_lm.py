"""A GPT-style language model trained on one GPU (bf16 autocast), printing nanoGPT's progress line
(`iter N: loss X, time Yms, mfu Z%`). For the device machine: runwatch's real NVML sampler and a real
GPU run side by side. Random init, synthetic tokens; faults from the environment (lab.faults)."""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from lab.data import tokens
from lab.faults import Faults


class Block(nn.Module):
    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.ln1(x)
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, vocab: int, d: int, layers: int, heads: int, ctx: int) -> None:
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(ctx, d)
        self.blocks = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.head = nn.Linear(d, vocab, bias=False)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        t = idx.shape[1]
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool, device=idx.device), 1)
        x = self.tok(idx) + self.pos(torch.arange(t, device=idx.device))
        for b in self.blocks:
            x = b(x, mask)
        return self.head(x)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=1500)
    ap.add_argument("--d", type=int, default=1024)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--log-interval", type=int, default=10)
    args = ap.parse_args()
    dev = "cuda"
    torch.manual_seed(0)
    model = GPT(args.vocab, args.d, args.layers, 16, args.ctx).to(dev)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"number of parameters: {n_params / 1e6:.2f}M")
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    data = tokens(4096, args.ctx + 1, args.vocab).to(dev)
    faults = Faults()
    flops_per_iter = 6 * n_params * args.batch * args.ctx
    peak = 989e12  # H100 SXM dense bf16
    t0 = time.time()
    for it in range(args.iters):
        faults.step_begin(it)
        for g in opt.param_groups:
            g["lr"] = 3e-4 * faults.lr_factor(it)
        ix = torch.randint(0, data.shape[0], (args.batch,), device=dev)
        x, y = data[ix, :-1], data[ix, 1:]
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(x)
            loss = nn.functional.cross_entropy(logits.view(-1, logits.size(-1)).float(), y.reshape(-1))
        loss = loss * faults.loss_factor(it)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        lossf = loss.item()
        faults.step_end(it)
        faults.truth.step(it, loss=lossf)
        t1 = time.time()
        dt, t0 = t1 - t0, t1
        if it % args.log_interval == 0:
            mfu = flops_per_iter / dt / peak
            print(f"iter {it}: loss {lossf:.4f}, time {dt * 1000:.2f}ms, mfu {mfu * 100:.2f}%")


if __name__ == "__main__":
    main()
