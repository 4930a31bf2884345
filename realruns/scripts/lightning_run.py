"""A LightningModule on synthetic classification data: `self.log("train_loss", prog_bar=True)`, a
validation loop logging `val_loss`, CSVLogger beside the console. `--bar tqdm` picks the TQDM bar;
`--bar default` leaves Lightning's own choice (the Rich bar when `rich` is installed). Faults come
from the environment (lab.faults), acted on through a Lightning Callback."""

from __future__ import annotations

import argparse

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger
from torch import nn

from lab.data import classification
from lab.faults import Faults


class Model(L.LightningModule):
    def __init__(self, dim: int, lr: float, faults: Faults) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["faults"])  # as most modules do: the loggers write hparams.yaml
        self.net = nn.Sequential(nn.Linear(dim, 256), nn.ReLU(), nn.Linear(256, 10))
        self.lr, self.faults = lr, faults

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = nn.functional.cross_entropy(self.net(x), y) * self.faults.loss_factor(self.global_step)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", nn.functional.cross_entropy(self.net(x), y), prog_bar=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)


class LabCallback(Callback):
    """Faults at the framework's own hooks; the truth log with `trainer.global_step` (0-based before the
    step, as the CSV logger's `step` column counts)."""

    def __init__(self, faults: Faults, lr: float) -> None:
        self.faults, self.lr = faults, lr

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: object, batch_idx: int) -> None:
        step = trainer.global_step
        self.faults.step_begin(step)
        for g in trainer.optimizers[0].param_groups:
            g["lr"] = self.lr * self.faults.lr_factor(step)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: object, batch: object,
                           batch_idx: int) -> None:
        step = trainer.global_step - 1  # the step just taken
        loss = outputs["loss"].item() if isinstance(outputs, dict) else float("nan")
        self.faults.truth.step(step, loss=loss)
        self.faults.step_end(step)


class Faulty(torch.utils.data.Dataset):  # type: ignore[type-arg]
    def __init__(self, x: torch.Tensor, y: torch.Tensor, faults: Faults, batch: int) -> None:
        self.x, self.y, self.faults, self.batch = x, y, faults, batch
        self.fetched = 0

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        self.faults.fetch(self.fetched // self.batch)
        self.fetched += 1
        return self.x[i], self.y[i]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bar", choices=["tqdm", "default"], default="tqdm")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batches", type=int, default=60)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--accelerator", choices=["cpu", "gpu"], default="cpu")
    ap.add_argument("--precision", default="32-true", help="bf16-mixed on a GPU, as most users run it")
    args = ap.parse_args()
    L.seed_everything(0)
    faults = Faults()
    x, y = classification(args.batches * 32, dim=64)
    xv, yv = classification(640, dim=64, split=1)
    train = torch.utils.data.DataLoader(Faulty(x, y, faults, 32), batch_size=32, shuffle=True)
    val = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xv, yv), batch_size=64)
    callbacks: list[Callback] = [LabCallback(faults, args.lr)]
    if args.bar == "tqdm":
        callbacks.append(TQDMProgressBar())
    trainer = L.Trainer(max_epochs=args.epochs, accelerator=args.accelerator, devices=1,
                        precision=args.precision, callbacks=callbacks,
                        logger=CSVLogger("logs"), log_every_n_steps=10, enable_checkpointing=False)
    trainer.fit(Model(64, args.lr, faults), train, val)


if __name__ == "__main__":
    main()
