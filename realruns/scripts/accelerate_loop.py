"""A training loop under `accelerate launch --num_processes 2` (gloo on the CPU): the
`Accelerator` prepares model, optimizer and data loader, the main process draws a tqdm bar
(`disable=not accelerator.is_local_main_process`, the pattern of accelerate's examples) with the
loss as its postfix, and `accelerate.logging` logs an evaluation every `--eval-every` steps. Faults
from the environment (lab.faults), acted on the rank they name."""

from __future__ import annotations

import argparse
import logging

import torch
from accelerate import Accelerator
from accelerate.logging import get_logger
from torch import nn
from tqdm.auto import tqdm

from lab.data import classification
from lab.faults import Faults

logger = get_logger(__name__)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--samples", type=int, default=6400)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--lr", type=float, default=1e-3)
    args = ap.parse_args()
    logging.basicConfig(format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
                        datefmt="%m/%d/%Y %H:%M:%S", level=logging.INFO)
    accelerator = Accelerator(cpu=True)
    rank = accelerator.process_index
    torch.manual_seed(0)
    x, y = classification(args.samples, dim=64)
    xv, yv = classification(640, dim=64, split=1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=args.batch_size, shuffle=True)
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    model, opt, loader = accelerator.prepare(model, opt, loader)
    faults = Faults(rank=rank)
    steps = args.epochs * len(loader)
    bar = tqdm(range(steps), disable=not accelerator.is_local_main_process)
    step = 0
    for _epoch in range(args.epochs):
        model.train()
        for xb, yb in loader:
            step += 1
            faults.fetch(step)
            faults.step_begin(step)
            for g in opt.param_groups:
                g["lr"] = args.lr * faults.lr_factor(step)
            loss = nn.functional.cross_entropy(model(xb), yb) * faults.loss_factor(step)
            accelerator.backward(loss)
            faults.after_backward(step, model.parameters())
            opt.step()
            opt.zero_grad()
            faults.truth.step(step, loss=loss.item())
            faults.step_end(step)
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.4f}")
            if step % args.eval_every == 0:
                model.eval()
                with torch.no_grad():
                    val = nn.functional.cross_entropy(model(xv), yv).item()
                logger.info(f"step {step}: val_loss {val:.4f}", main_process_only=True)
                model.train()
    accelerator.wait_for_everyone()
    logger.info(f"training finished after {step} steps", main_process_only=True)


if __name__ == "__main__":
    main()
