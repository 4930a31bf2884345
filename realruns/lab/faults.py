"""Planted faults: what goes wrong in a recorded run, when, and on which rank.

A scenario names its fault in the environment (`RUNWATCH_LAB_FAULT`, e.g. `nan@60`,
`spike@80+3x1000`, `hang@120~75`, `slow@100+60x20`, `raise@50r1`); each training script asks the
plan at the matching point of its loop and the plan records, in the truth log, the moment it
acted. The faults are real: a NaN loss is a tensor multiplied by NaN and propagated by backward
and the optimizer, an OOM is a real allocation the allocator refuses, a hang is a rank that stops
while the others wait in a real collective, a kill is a real SIGKILL.

Spec grammar: KIND[@STEP][+STEPS][~SECONDS][xFACTOR][rRANK]
  nan@S, inf@S        the loss at step S becomes NaN / +Inf (then propagates)
  gradnan@S           one gradient becomes NaN after backward at step S (loss itself finite)
  spike@S+N xF        learning rate ×F for N steps from S, then the schedule resumes
  diverge@S xF        learning rate ×F from step S on
  hang@S~T            the step S stalls for T seconds (rank R only in a multi-rank run)
  dlhang@S~T          the data loader stalls T seconds while fetching the batch of step S
  slow@S xF           every step from S on takes F times as long (a sleep after the step)
  slowfor@S+N xF      steps S..S+N-1 take F times as long, then the run recovers
  oom@S               a host allocation of 64 TiB at step S (the CPU allocator refuses)
  cudaoom@S           a GPU allocation of 64 TiB at step S (the CUDA caching allocator refuses:
                      torch.OutOfMemoryError, 'CUDA out of memory'); GPU scenarios only
  devassert@S         a device-side assert at step S: cross_entropy on the GPU with a class index out of
                      range (the kernel's `Assertion ... failed` lines, then 'CUDA error: device-side
                      assert triggered'); GPU scenarios only
  raise@S             an IndexError at step S (rank R only)
  kill@S              SIGKILL to the process at step S (rank R only), as the kernel's OOM killer does
"""

from __future__ import annotations

import os
import re
import signal
import time
from dataclasses import dataclass
from enum import Enum

from lab.truth_log import TruthLog


class FaultKind(Enum):
    NONE = "none"
    NAN = "nan"
    INF = "inf"
    GRAD_NAN = "gradnan"
    SPIKE = "spike"
    DIVERGE = "diverge"
    HANG = "hang"
    DATALOADER_HANG = "dlhang"
    SLOW = "slow"
    SLOW_FOR = "slowfor"
    HOST_OOM = "oom"
    CUDA_OOM = "cudaoom"
    DEVICE_ASSERT = "devassert"
    RAISE = "raise"
    KILL = "kill"


_SPEC = re.compile(
    r"^(?P<kind>[a-z]+)(?:@(?P<step>\d+))?(?:\+(?P<steps>\d+))?(?:~(?P<secs>[\d.]+))?"
    r"(?:x(?P<factor>[\d.]+))?(?:r(?P<rank>\d+))?$"
)


@dataclass(frozen=True)
class FaultPlan:
    """One planted fault. `step` is the framework's own global step (0- or 1-based as it counts)."""

    kind: FaultKind = FaultKind.NONE
    step: int = 0
    steps: int = 1
    seconds: float = 0.0
    factor: float = 1.0
    rank: int | None = None

    @classmethod
    def parse(cls, spec: str) -> FaultPlan:
        m = _SPEC.match(spec.strip())
        if not m:
            raise ValueError(f"bad fault spec {spec!r}")
        return cls(
            kind=FaultKind(m["kind"]),
            step=int(m["step"] or 0),
            steps=int(m["steps"] or 1),
            seconds=float(m["secs"] or 0.0),
            factor=float(m["factor"] or 1.0),
            rank=int(m["rank"]) if m["rank"] is not None else None,
        )

    @classmethod
    def from_env(cls) -> FaultPlan:
        return cls.parse(os.environ.get("RUNWATCH_LAB_FAULT", "none"))


class Faults:
    """The plan bound to one process: asked at each point of the loop, acts once, logs when."""

    def __init__(self, plan: FaultPlan | None = None, truth: TruthLog | None = None, rank: int = 0) -> None:
        self.plan = plan or FaultPlan.from_env()
        self.truth = truth or TruthLog.from_env(rank)
        self.rank = rank
        self._done: set[str] = set()
        self._step_started = 0.0

    def _mine(self) -> bool:
        return self.plan.rank is None or self.plan.rank == self.rank

    def _once(self, what: str, step: int, **info: object) -> bool:
        if what in self._done:
            return False
        self._done.add(what)
        self.truth.fault(what, step, **info)
        return True

    # -- the loss and the gradients -------------------------------------------------------
    def loss_factor(self, step: int) -> float:
        """Multiply the loss by this before backward: NaN or Inf at the planted step, else 1."""
        k = self.plan.kind
        if k in (FaultKind.NAN, FaultKind.INF) and step == self.plan.step and self._mine():
            self._once(k.value, step)
            return float("nan") if k is FaultKind.NAN else float("inf")
        return 1.0

    def after_backward(self, step: int, params: object) -> None:
        """`gradnan`: poison one gradient after backward (the loss of this step stays finite)."""
        if self.plan.kind is FaultKind.GRAD_NAN and step == self.plan.step and self._mine():
            for p in params:  # type: ignore[attr-defined]
                if getattr(p, "grad", None) is not None:
                    p.grad.view(-1)[0] = float("nan")
                    self._once("gradnan", step)
                    return

    def lr_factor(self, step: int) -> float:
        """Learning-rate multiplier for this step: the spike window, or divergence from its start."""
        p = self.plan
        if p.kind is FaultKind.SPIKE and p.step <= step < p.step + p.steps:
            if step == p.step:
                self._once("spike_start", step, factor=p.factor, steps=p.steps)
            return p.factor
        if p.kind is FaultKind.SPIKE and step == p.step + p.steps:
            self._once("spike_end", step)
        if p.kind is FaultKind.DIVERGE and step >= p.step:
            self._once("diverge_start", step, factor=p.factor)
            return p.factor
        return 1.0

    # -- the step itself -----------------------------------------------------------------
    def step_begin(self, step: int) -> None:
        """Hangs, kills, exceptions and OOMs happen at the start of the planted step."""
        self._step_started = time.monotonic()
        p = self.plan
        if step != p.step or not self._mine():
            return
        if p.kind is FaultKind.HANG and self._once("hang_start", step, seconds=p.seconds):
            time.sleep(p.seconds)
            self.truth.fault("hang_end", step)
        elif p.kind is FaultKind.HOST_OOM and self._once("oom", step):
            import torch

            torch.empty(1 << 46, dtype=torch.uint8)  # 64 TiB: the CPU allocator refuses
        elif p.kind is FaultKind.CUDA_OOM and self._once("cudaoom", step):
            import torch

            torch.empty(1 << 46, dtype=torch.uint8, device="cuda")  # 64 TiB: the CUDA allocator refuses
        elif p.kind is FaultKind.DEVICE_ASSERT and self._once("devassert", step):
            import torch

            logits = torch.zeros(4, 10, device="cuda")
            bad = torch.tensor([1, 2, 10, 3], device="cuda")  # class 10 of 10: the kernel asserts
            torch.nn.functional.cross_entropy(logits, bad).item()
        elif p.kind is FaultKind.RAISE and self._once("raise", step):
            import torch

            torch.zeros(4)[step + 4]  # IndexError from torch, in this rank only
        elif p.kind is FaultKind.KILL and self._once("kill", step):
            self.truth.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    def step_end(self, step: int) -> None:
        """Slowdowns: sleep so the step takes `factor` times as long as it did."""
        p = self.plan
        slow = (p.kind is FaultKind.SLOW and step >= p.step) or (
            p.kind is FaultKind.SLOW_FOR and p.step <= step < p.step + p.steps
        )
        if p.kind in (FaultKind.SLOW, FaultKind.SLOW_FOR) and step == p.step:
            self._once("slow_start", step, factor=p.factor)
        if p.kind is FaultKind.SLOW_FOR and step == p.step + p.steps:
            self._once("slow_end", step)
        if slow and self._mine():
            took = time.monotonic() - self._step_started
            time.sleep(max(0.0, took * (p.factor - 1.0)))

    def fetch(self, step: int) -> None:
        """`dlhang`: the data loader stalls while fetching the batch of the planted step."""
        p = self.plan
        if p.kind is FaultKind.DATALOADER_HANG and step == p.step and self._once("dlhang_start", step):
            time.sleep(p.seconds)
            self.truth.fault("dlhang_end", step)
