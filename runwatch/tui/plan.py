"""Which metrics get a full chart and which a sparkline: a pure decision.

Key metrics of a training run get a braille chart each (loss with val_loss
overlaid, lr, grad_norm, throughput or step time, MFU); every other metric a
sparkline. A format with none of the canonical names (a generic `key: value`
log) still gets charts: its first metrics are promoted, those named for a loss first, and
where no `loss` is logged the first two named for one (`box_loss`, `d_loss`) take its place (the first, beside
a `val_loss`, charted before it). A
reinforcement-learning run's reward (SB3's `ep_rew_mean`, an episode's `return`) is its key curve: it is
charted next to the loss, with its evaluation's over it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from runwatch import patterns
from runwatch.model import CLOCK_METRICS, SPLIT_METRICS, is_eval_metric, other_losses

PALETTE = ("cyan", "yellow", "magenta", "green", "blue", "bright_red", "bright_cyan", "bright_yellow")
"""Line colours; named ANSI colours so that a 16-colour terminal shows them as meant."""

_THROUGHPUT = ("tokens_per_sec", "samples_per_sec", "step_time")
_SPLITS = tuple(sorted(SPLIT_METRICS, key=("train", "learn", "val", "valid", "validation", "test").index))
"""Values named by their split alone (`model.SPLIT_METRICS`), training's first: where no `loss` is logged, the
first two share the first chart, as `loss` and `val_loss` do."""
_REWARD = patterns.compile(r"(?:^|_)(?:rew|rewards?|returns?)(?:_|$)")
"""A reward or return by name, as a word of it (`ep_rew_mean`, `eval_mean_reward`, `episodic_return`): an RL run's
news, which sat among the sparklines of an SB3 run (a review), below its PPO losses and `approx_kl`."""
MIN_CHARTS = 2
PROMOTED_CHARTS = 4


SCHEDULES = frozenset({"lr", "lrm", "loss_scale", "epoch"})
COUNTERS = frozenset({"epoch", "epochs"})
"""The run's own count of its epochs and the count it plans (`Epoch 3/35`: the generic parser's `epoch` and
`epochs`): the header's progress says them, and a ramp and a flat line are no news. They are never promoted to a
chart (the `g` grid draws them as it draws every metric) unless the run logs nothing else: a CIFAR-10 loop's two of
three charts were these, its test accuracy the third (a new user's review)."""


@dataclass(frozen=True, slots=True)
class ChartSpec:
    """One chart panel: its metrics, the first being the main one."""

    metrics: tuple[str, ...]

    @property
    def key(self) -> str:
        return self.metrics[0]

    @property
    def schedule(self) -> bool:
        """A set schedule (learning rate, its multiplier, loss scale): its warm-up ramp is the picture,
        so its y axis always spans every value (see LineChart's warm-up scaling)."""
        return self.key in SCHEDULES

    def matches(self, needle: str) -> bool:
        return not needle or any(needle.lower() in m.lower() for m in self.metrics)


def plan_charts(metrics: Iterable[str], needle: str = "", *, every: bool = False) -> tuple[list[ChartSpec], list[str]]:
    """(charts, sparkline metrics) for a run that logs `metrics`, filtered by `needle`; `every` (the `g`
    grid): a chart for every metric, the key ones first, and no sparklines."""
    have = [m for m in dict.fromkeys(metrics) if m not in CLOCK_METRICS]
    present = set(have)
    charts: list[ChartSpec] = []
    if "loss" in present:
        charts.append(ChartSpec(("loss", "val_loss") if "val_loss" in present else ("loss",)))
    elif "val_loss" in present:  # a training loss of another name first (HiFi-TSE's `loss_G`: a review saw it a sparkline)
        charts += [ChartSpec((m,)) for m in other_losses(have) if not is_eval_metric(m)][:1]
        charts.append(ChartSpec(("val_loss",)))
    elif split := [m for m in _SPLITS if m in present]:  # `Train: 0.0962 | Val: 0.0991`: the loss chart's place
        charts.append(ChartSpec(tuple(split[:2])))
    else:  # YOLO's `box_loss`, a GAN's `d_loss` and `g_loss`: a chart each, before the schedule (lr drew first)
        charts += [ChartSpec((m,)) for m in other_losses(have)]
    if rewards := [m for m in have if _REWARD.search(m)]:  # training's first, its evaluation's over it
        train = [m for m in rewards if not is_eval_metric(m)]
        evals = [m for m in rewards if is_eval_metric(m)]
        charts.append(ChartSpec(tuple((train[:1] + evals[:1]) if train and evals else rewards[:1])))
    charts += [ChartSpec((m,)) for m in ("lr", "grad_norm") if m in present]
    throughput = next((m for m in _THROUGHPUT if m in present), None)
    if throughput:
        charts.append(ChartSpec((throughput,)))
    if "mfu" in present:
        charts.append(ChartSpec(("mfu",)))
    charted = {m for c in charts for m in c.metrics}
    rest = sorted((m for m in have if m not in charted), key=_loss_first)
    if len(charts) < MIN_CHARTS or every:
        measured = [m for m in rest if m not in COUNTERS]
        promote = rest if every or not (charts or measured) else measured[: PROMOTED_CHARTS - len(charts)]
        charts += [ChartSpec((m,)) for m in promote]
        rest = [m for m in rest if m not in promote]
    needle = needle.strip()
    return [c for c in charts if c.matches(needle)], [m for m in rest if not needle or needle.lower() in m.lower()]


def _loss_first(name: str) -> tuple[bool, str]:
    """Metrics named for a loss first, then by name: a run that logs no `loss` (JAX ncflow's `loss_trajs` beside
    `contexts_norm`) promotes its loss to the first chart, not what sorts before it."""
    return "loss" not in name or name == "loss_scale", name


ZOOMS: tuple[float | None, ...] = (None, 10_000, 1_000, 100)
"""The zoom cycle of `z`: the whole run, then the last N steps."""


def zoom_label(last_steps: float | None) -> str:
    if last_steps is None:
        return "all steps"
    n = int(last_steps)
    return f"last {n // 1000}k steps" if n >= 1000 and n % 1000 == 0 else f"last {n} steps"
