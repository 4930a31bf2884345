"""nanochat step lines for engine and command tests: made up (`nanochat_line`) or the real
16,704-step run's (`step_lines`), with a NaN planted (`with_nan_at`) or a spike (`with_spike_at`)."""

from __future__ import annotations

from tests.support.paths import FIXTURES


def nanochat_line(i: int, total: int = 100, loss: str | None = None) -> str:
    loss = loss or f"{6 - i / total:.6f}"
    return (f"step {i:05d}/{total:05d} ({100 * i / total:.2f}%) | loss: {loss} | lrm: 1.00 | dt: 650.00ms | "
            f"tok/sec: 806,131 | mfu: 50.38 | epoch: 1 | total time: {i / 90:.2f}m\n")


HEALTHY = FIXTURES / "corpus/raw/nanochat_pr492_speedrun_d24_feb01.training_output.log"


def step_lines() -> list[str]:
    """The run's step lines only: no eval line, so nothing but the records gives the rules a pause."""
    return [ln for ln in HEALTHY.read_text().splitlines() if ln.startswith("step ")]


def with_nan_at(lines: list[str], step: int) -> list[str]:
    out = list(lines)
    i = next(i for i, ln in enumerate(out) if ln.startswith(f"step {step:05d}/"))
    before = out[i]
    out[i] = before.replace("loss: " + before.split("loss: ")[1].split(" ")[0], "loss: nan")
    assert out[i] != before and "loss: nan" in out[i]
    return out


def with_spike_at(lines: list[str], step: int, length: int = 12) -> list[str]:
    """The loss tripled for `length` steps from `step` (real lines, one number changed each)."""
    out = list(lines)
    i = next(i for i, ln in enumerate(out) if ln.startswith(f"step {step:05d}/"))
    for j in range(i, i + length):
        value = out[j].split("loss: ")[1].split(" ")[0]
        out[j] = out[j].replace(f"loss: {value}", f"loss: {float(value) * 3:.6f}")
    return out
