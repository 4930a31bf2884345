"""The truth log: what the training loop itself knew, step by step, written beside the log.

Each optimizer step writes one JSON line (`{"t", "rank", "step", "loss", ...}`) and each planted
fault one `{"event": "fault", "what": ...}` line, to the file named by `RUNWATCH_LAB_TRUTH`
(with `{rank}` replaced by the rank). The recorder keeps it outside the run's directory, so
runwatch never sees it; `truth.py` reads it back with the recorded log to state the ground truth.
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import IO


def _num(v: object) -> object:
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)  # "nan", "inf", "-inf": strict JSON
    return v


class TruthLog:
    def __init__(self, path: str | None, rank: int = 0) -> None:
        self.rank = rank
        self._f: IO[str] | None = open(path, "a", buffering=1) if path else None

    @classmethod
    def from_env(cls, rank: int = 0) -> TruthLog:
        path = os.environ.get("RUNWATCH_LAB_TRUTH")
        return cls(path.replace("{rank}", str(rank)) if path else None, rank)

    def _write(self, obj: dict[str, object]) -> None:
        if self._f is not None:
            obj = {"t": round(time.time(), 4), "rank": self.rank, **obj}
            self._f.write(json.dumps({k: _num(v) for k, v in obj.items()}) + "\n")

    def step(self, step: int, **metrics: float | int | None) -> None:
        """One optimizer step as the framework counts it, with what the loop knew of it."""
        self._write({"step": step, **{k: (float(v) if v is not None else None) for k, v in metrics.items()}})

    def fault(self, what: str, step: int, **info: object) -> None:
        self._write({"event": "fault", "what": what, "step": step, **info})

    def flush(self) -> None:
        if self._f is not None:
            self._f.flush()
            os.fsync(self._f.fileno())
