"""Keras 3 `model.fit` on the torch backend: an MLP on synthetic classification data with a
validation split, `--verbose 1` (the progress bar Keras draws on a pipe) or `--verbose 2` (one line
per epoch), or `--tqdm` (Keras silent, tqdm's `TqdmCallback` drawing a bar over the epochs and one over each
epoch's batches, their counts as `1.00/200`, as users swap in), then `model.evaluate` on the validation set;
`--terminate-on-nan` adds Keras's `TerminateOnNaN`, as users guard a fit, and `--checkpoint FILE` its
`ModelCheckpoint` keeping the best model by validation loss, saying each save. Faults come from the environment (lab.faults), acted on through a Keras Callback; the
NaN/Inf loss is a real multiplication inside the loss function, by a factor the callback sets."""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np

from lab.data import classification
from lab.faults import Faults


class LabCallback(keras.callbacks.Callback):
    """Faults at Keras's own hooks. Keras counts `batch` per epoch from 0; the truth log and the
    fault plan use the global optimizer step, 1-based (what `model.optimizer.iterations` reads
    after the step), as a user reading the bar's `n/N` across epochs would count."""

    def __init__(self, faults: Faults, lr: float, factor: keras.Variable) -> None:
        super().__init__()
        self.faults, self.lr, self.factor = faults, lr, factor

    def _step(self) -> int:
        return int(self.model.optimizer.iterations.numpy()) + 1  # the step about to be taken

    def on_train_batch_begin(self, batch: int, logs: dict[str, float] | None = None) -> None:
        step = self._step()
        self.faults.fetch(step)
        self.faults.step_begin(step)
        self.model.optimizer.learning_rate.assign(self.lr * self.faults.lr_factor(step))
        self.factor.assign(self.faults.loss_factor(step))

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        step = self._step() - 1  # the step just taken
        # `logs["loss"]` is Keras's running mean over the epoch; the truth is this batch's factor.
        self.faults.truth.step(step, loss=(logs or {}).get("loss"))
        self.faults.step_end(step)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--verbose", type=int, choices=[1, 2], default=1)
    ap.add_argument("--tqdm", action="store_true", help="fit with verbose=0 and tqdm.keras.TqdmCallback")
    ap.add_argument("--checkpoint", metavar="FILE",
                    help="add keras.callbacks.ModelCheckpoint(FILE, save_best_only=True, verbose=1) on val_loss")
    ap.add_argument("--terminate-on-nan", action="store_true",
                    help="add keras.callbacks.TerminateOnNaN, which stops the fit at the first NaN/Inf batch loss")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--samples", type=int, default=6400)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-4)
    args = ap.parse_args()
    keras.utils.set_random_seed(0)
    x, y = classification(args.samples, dim=64)
    xv, yv = classification(640, dim=64, split=1)
    factor = keras.Variable(1.0, trainable=False, name="lab_loss_factor")
    base = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def loss(y_true: object, y_pred: object) -> object:
        return base(y_true, y_pred) * factor

    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.Adam(args.lr), loss=loss, metrics=["accuracy"])
    faults = Faults()
    callbacks: list[keras.callbacks.Callback] = [LabCallback(faults, args.lr, factor)]
    if args.tqdm:
        from tqdm.keras import TqdmCallback

        callbacks.append(TqdmCallback(verbose=1))
    if args.checkpoint:
        callbacks.append(keras.callbacks.ModelCheckpoint(args.checkpoint, monitor="val_loss", save_best_only=True,
                                                         verbose=1))
    if args.terminate_on_nan:
        callbacks.append(keras.callbacks.TerminateOnNaN())
    model.fit(x.numpy(), y.numpy().astype(np.int64), validation_data=(xv.numpy(), yv.numpy().astype(np.int64)),
              epochs=args.epochs, batch_size=args.batch_size, verbose=0 if args.tqdm else args.verbose,
              callbacks=callbacks)
    model.evaluate(xv.numpy(), yv.numpy().astype(np.int64), verbose=0 if args.tqdm else args.verbose)  # the held-out score, as users end


if __name__ == "__main__":
    main()
