"""How long a sink waits after a failed try: exponential, capped, jittered.

Jitter spreads the retries of many runwatch daemons (one per node) that lost
the same Slack workspace at the same moment. Tests pass tiny delays and a
fixed `rng`, so retry paths run in milliseconds.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay after the n-th consecutive failure: `initial × factor^(n-1)`, at most `cap`, ± `jitter`."""

    initial: float = 1.0
    factor: float = 2.0
    cap: float = 60.0
    """The longest wait between tries of the queue's head (README: 60 s); a new notification tries at once."""
    jitter: float = 0.2
    """Fraction of the delay added or removed at random."""
    rng: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.factor < 1 or self.cap < self.initial or not 0 <= self.jitter < 1:
            raise ValueError(f"bad backoff settings: {self!r}")

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        """Seconds to wait; a receiver's `Retry-After` lengthens it (never past `cap`)."""
        base = min(self.cap, self.initial * self.factor ** min(max(failures - 1, 0), 64))
        wait = min(self.cap, base * (1.0 + self.jitter * (2.0 * self.rng() - 1.0)))
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.cap))
        return wait
