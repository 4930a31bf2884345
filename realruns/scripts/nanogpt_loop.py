"""A GPT-style language model in nanoGPT's training loop, printing what nanoGPT's train.py prints:
`iter N: loss X, time Yms, mfu Z%` every `--log-interval` iterations (mfu -100.00% until 5 iterations
have passed, as nanoGPT's running estimate does), `step N: train loss X, val loss Y` every
`--eval-interval`, then `saving checkpoint to out`. `--tensorboard DIR` also writes the scalars with
torch's `SummaryWriter`, as a user adds it. On the CPU (the lab's default: a tiny model) or on one GPU
with bf16 autocast (`--device cuda`, for the device machine: runwatch's real NVML sampler beside a
real GPU run). Random init, synthetic tokens; faults from the environment (lab.faults)."""

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
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--iters", type=int, default=600)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--ctx", type=int, default=64)
    ap.add_argument("--vocab", type=int, default=512)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--log-interval", type=int, default=5)
    ap.add_argument("--eval-interval", type=int, default=200)
    ap.add_argument("--tensorboard", metavar="DIR")
    args = ap.parse_args()
    dev = args.device
    torch.manual_seed(0)
    model = GPT(args.vocab, args.d, args.layers, 16 if args.d >= 256 else 4, args.ctx).to(dev)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"number of parameters: {n_params / 1e6:.2f}M")
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
    data = tokens(4096, args.ctx + 1, args.vocab).to(dev)
    held_out = tokens(256, args.ctx + 1, args.vocab, seed=1).to(dev)
    writer = None
    if args.tensorboard:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(args.tensorboard)
    faults = Faults()
    flops_per_iter = 6 * n_params * args.batch * args.ctx
    peak = 989e12 if dev == "cuda" else 1e12  # H100 SXM dense bf16; a nominal 1 TFLOPS for a CPU
    autocast = torch.autocast(dev, dtype=torch.bfloat16, enabled=dev == "cuda")

    def loss_of(batch: torch.Tensor) -> torch.Tensor:
        x, y = batch[:, :-1], batch[:, 1:]
        with autocast:
            logits = model(x)
            return nn.functional.cross_entropy(logits.view(-1, logits.size(-1)).float(), y.reshape(-1))

    running_mfu = -1.0
    t0 = time.time()
    for it in range(args.iters):
        if it % args.eval_interval == 0 and it > 0:
            with torch.no_grad():
                train_l, val_l = loss_of(data[:64]).item(), loss_of(held_out[:64]).item()
            print(f"step {it}: train loss {train_l:.4f}, val loss {val_l:.4f}")
            if writer is not None:
                writer.add_scalar("val/loss", val_l, it)
            print("saving checkpoint to out")
        faults.step_begin(it)
        for g in opt.param_groups:
            g["lr"] = args.lr * faults.lr_factor(it)
        ix = torch.randint(0, data.shape[0], (args.batch,), device=dev)
        faults.fetch(it)
        loss = loss_of(data[ix]) * faults.loss_factor(it)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        faults.after_backward(it, model.parameters())
        opt.step()
        lossf = loss.item()
        faults.step_end(it)
        faults.truth.step(it, loss=lossf)
        t1 = time.time()
        dt, t0 = t1 - t0, t1
        if writer is not None:
            writer.add_scalar("train/loss", lossf, it)
            writer.add_scalar("train/lr", opt.param_groups[0]["lr"], it)
        if it % args.log_interval == 0:
            if it >= 5:  # nanoGPT's running estimate: skip the first iterations, then smooth
                mfu = flops_per_iter / dt / peak
                running_mfu = mfu if running_mfu == -1.0 else 0.9 * running_mfu + 0.1 * mfu
            print(f"iter {it}: loss {lossf:.4f}, time {dt * 1000:.2f}ms, mfu {running_mfu * 100:.2f}%")
    if writer is not None:
        writer.close()


if __name__ == "__main__":
    main()
