"""Hugging Face Trainer (transformers 5) on a tiny GPT-2 from a config (random init) and synthetic
tokens, on the CPU (or `--cuda`: the GPU in bf16), with its default tqdm progress on a pipe: loss dicts every `--logging-steps`,
evaluation every `--eval-steps` (its nested eval bar), gradient accumulation. `--wandb` reports to
W&B offline and `--save-steps` writes checkpoint-N dirs. Faults through a TrainerCallback."""

from __future__ import annotations

import argparse

import torch
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainerCallback, TrainingArguments

from lab.data import tokens
from lab.faults import Faults


class Tokens(torch.utils.data.Dataset):  # type: ignore[type-arg]
    def __init__(self, data: torch.Tensor) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.data[i], "labels": self.data[i]}


class LabCallback(TrainerCallback):
    """Faults at the Trainer's own hooks; the truth log with `state.global_step` (1-based after the
    step, as the Trainer's logs and its progress bar count)."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.trainer: Trainer | None = None

    def on_step_begin(self, args, state, control, **kw):  # type: ignore[no-untyped-def]
        step = state.global_step + 1
        self.faults.step_begin(step)
        assert self.trainer is not None and self.trainer.optimizer is not None
        for g in self.trainer.optimizer.param_groups:
            g["lr"] = g["lr"] * self.faults.lr_factor(step)

    def on_step_end(self, args, state, control, **kw):  # type: ignore[no-untyped-def]
        self.faults.step_end(state.global_step)

    def on_log(self, args, state, control, logs=None, **kw):  # type: ignore[no-untyped-def]
        logs = logs or {}
        if "loss" in logs:
            self.faults.truth.step(state.global_step, shown_loss=float(logs["loss"]),
                                   grad_norm=float(logs.get("grad_norm", float("nan"))))


class FaultyTrainer(Trainer):
    def compute_loss(self, model, inputs, return_outputs=False, **kw):  # type: ignore[no-untyped-def]
        out = super().compute_loss(model, inputs, return_outputs=return_outputs, **kw)
        factor = self.lab_faults.loss_factor(self.state.global_step + 1)
        if factor == 1.0:
            return out
        return (out[0] * factor, out[1]) if return_outputs else out * factor

    def training_step(self, model, inputs, *a, **kw):  # type: ignore[no-untyped-def]
        loss = super().training_step(model, inputs, *a, **kw)
        self.lab_faults.after_backward(self.state.global_step + 1, model.parameters())
        return loss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=120)
    ap.add_argument("--logging-steps", type=int, default=5)
    ap.add_argument("--eval-steps", type=int, default=40)
    ap.add_argument("--grad-accum", type=int, default=2)
    ap.add_argument("--save-steps", type=int, default=0)
    ap.add_argument("--wandb", action="store_true")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--cuda", action="store_true", help="train on the GPU in bf16 (the device machine)")
    args = ap.parse_args()
    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=256, n_positions=64, n_embd=64, n_layer=2, n_head=4)
    model = GPT2LMHeadModel(cfg)
    faults = Faults()
    train = Tokens(tokens(2048, 64, 256))
    evals = Tokens(tokens(64, 64, 256, seed=1))
    targs = TrainingArguments(
        output_dir="out", max_steps=args.steps, per_device_train_batch_size=8, per_device_eval_batch_size=8,
        gradient_accumulation_steps=args.grad_accum, learning_rate=args.lr, logging_steps=args.logging_steps,
        eval_strategy="steps", eval_steps=args.eval_steps, use_cpu=not args.cuda, bf16=args.cuda, report_to=["wandb"] if args.wandb else [],
        save_strategy="steps" if args.save_steps else "no", save_steps=args.save_steps or 500,
        dataloader_num_workers=0, seed=0, run_name="lab-hf" if args.wandb else None,
    )
    cb = LabCallback(faults)
    trainer = FaultyTrainer(model=model, args=targs, train_dataset=train, eval_dataset=evals, callbacks=[cb])
    trainer.lab_faults = faults  # type: ignore[attr-defined]
    cb.trainer = trainer
    trainer.train()


if __name__ == "__main__":
    main()
