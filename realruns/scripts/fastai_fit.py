"""fastai 2 `Learner.fit_one_cycle`: an MLP on synthetic classification data with a validation set and the
`accuracy` metric. The user's log holds fastprogress's bar frames (drawn on a pipe too) and fastai's epoch table:
a header of the recorder's names padded to 8 (`epoch     train_loss  valid_loss  accuracy  time    `), then one
row an epoch, each float `.6f` (`nan` once the loss is), the epoch's time `mm:ss`; with `--no-bar` (fastai's
`learn.no_bar()`) no frame and no header, each epoch's values printed as the recorder's Python list. Faults come from the
environment (lab.faults), acted on through a fastai Callback; the NaN/Inf loss is a real multiplication of the
loss that backward and the optimizer then carry."""

from __future__ import annotations

import argparse
import contextlib

import fastai.callback.schedule  # noqa: F401  (adds Learner.fit_one_cycle, as `from fastai.basics import *` does)
import torch
from fastai.callback.core import Callback
from fastai.data.core import DataLoaders
from fastai.learner import Learner
from fastai.metrics import accuracy
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lab.data import classification
from lab.faults import Faults


class LabCallback(Callback):
    """Faults at fastai's own events. fastai counts `train_iter` over the whole fit from 0 before a batch; the
    truth log and the fault plan use the global optimizer step, 1-based, as the other scripts do."""

    order = 51
    """After the recorder (50), which smooths the loss after each batch: the truth logs the smoothed loss too, the
    value fastai's table prints as the epoch's `train_loss` (its value after the epoch's last batch)."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults

    def _step(self) -> int:
        return int(self.learn.train_iter) + 1

    def before_batch(self) -> None:
        if not self.training:
            return
        step = self._step()
        self.faults.fetch(step)
        self.faults.step_begin(step)

    def after_loss(self) -> None:
        if not self.training:
            return
        factor = self.faults.loss_factor(self._step())
        if factor != 1.0:
            self.learn.loss_grad = self.learn.loss_grad * factor
            self.learn.loss = self.learn.loss_grad.clone()

    def after_batch(self) -> None:
        if not self.training:
            return
        step = self._step() - 1  # fastai has counted the batch by now
        self.faults.truth.step(step, loss=float(self.learn.loss.detach()), epoch=self.epoch,
                               shown_loss=float(self.learn.smooth_loss))
        self.faults.step_end(step)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--samples", type=int, default=25600)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--no-bar", action="store_true",
                    help="fit inside `learn.no_bar()`, as scripts that keep bars out of their logs do: no frames, no "
                         "header, the recorder's list printed an epoch (`[2, nan, nan, 0.1, '00:01']`)")
    args = ap.parse_args()
    torch.manual_seed(0)
    x, y = classification(args.samples, dim=64)
    xv, yv = classification(640, dim=64, split=1)
    train = DataLoader(TensorDataset(x, y), batch_size=args.batch_size, shuffle=True)
    valid = DataLoader(TensorDataset(xv, yv), batch_size=args.batch_size)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    learn = Learner(DataLoaders(train, valid), model, loss_func=nn.CrossEntropyLoss(), metrics=accuracy,
                    cbs=[LabCallback(Faults())])
    with learn.no_bar() if args.no_bar else contextlib.nullcontext():
        learn.fit_one_cycle(args.epochs, args.lr)


if __name__ == "__main__":
    main()
