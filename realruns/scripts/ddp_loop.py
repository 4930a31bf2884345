"""A plain DDP loop launched by `torchrun` (gloo, CPU): every rank prints nanoGPT's progress line
(`iter N: loss X, time Yms`), so torchrun's `--tee 3` prefixes show each rank's progress. Faults come
from the environment (lab.faults) and act on the rank they name: a rank that hangs leaves the other
waiting in the next all-reduce, as a hang in a collective does. `--nccl` runs on the GPUs with NCCL (rank r
on GPU r mod the GPUs there: two ranks on one GPU are refused by NCCL, a real NCCL error)."""

from __future__ import annotations

import argparse
import os
import time

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from lab.data import classification
from lab.faults import Faults


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--every", type=int, default=5)
    ap.add_argument("--nccl", action="store_true", help="NCCL on the GPUs instead of gloo on the CPU")
    args = ap.parse_args()
    dist.init_process_group("nccl" if args.nccl else "gloo")
    rank = dist.get_rank()
    dev = torch.device("cuda", rank % torch.cuda.device_count()) if args.nccl else torch.device("cpu")
    if args.nccl:
        torch.cuda.set_device(dev)
    torch.manual_seed(0)
    x, y = classification(8192, dim=256, split=rank)
    x, y = x.to(dev), y.to(dev)
    net = nn.Sequential(nn.Linear(256, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10))
    model = DDP(net.to(dev), device_ids=[dev.index] if args.nccl else None)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    faults = Faults(rank=rank)
    t0 = time.time()
    for it in range(args.iters):
        faults.step_begin(it)
        for g in opt.param_groups:
            g["lr"] = 1e-3 * faults.lr_factor(it)
        idx = torch.randint(0, len(x), (128,), device=dev)
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx]) * faults.loss_factor(it)
        opt.zero_grad()
        loss.backward()
        opt.step()
        lossf = loss.item()
        faults.step_end(it)
        faults.truth.step(it, loss=lossf)
        t1 = time.time()
        dt, t0 = t1 - t0, t1
        if it % args.every == 0:
            print(f"iter {it}: loss {lossf:.4f}, time {dt * 1000:.2f}ms")
    dist.destroy_process_group()
    if rank == 0:
        print(f"done: {args.iters} iterations on {os.environ.get('WORLD_SIZE')} ranks")


if __name__ == "__main__":
    main()
