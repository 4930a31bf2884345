"""`nonfinite`: the run computes garbage (NaN/Inf), in any of the shapes logs hide it in.

The most important rule: once a loss is NaN the rest of the run is wasted
compute, so it fires at the first bad value, with no `for`. Frameworks hide
NaN in their own ways, and each has a check here:

* a NaN/Inf value of a watched metric on any rank (nanochat `loss: nan`,
  Megatron `grad norm: nan`), or one beyond float32's range (`state.series.OVERFLOW`):
  a loop in doubles prints its overflow as a number (LightGBM's `l2: 9.24749e+120`);
* HF Trainer logs a NaN loss as `'loss': 0.0` next to `'grad_norm': nan`,
  so that pair is named in the summary rather than trusting the loss;
* Megatron counts NaN iterations (`number of nan iterations`, per log
  interval) and, in older versions, silently drops the `lm loss` field of a
  NaN step: a loss missing from consecutive step records that always had one
  (and skipped no iteration) counts as NaN;
* an fp16 loss scale that collapsed to its floor (or to 0/NaN) means every
  step overflows: the run no longer learns;
* a run may say so in words where no logged loss is bad (`NaN loss detected! Skipping batch.`, Keras's
  `TerminateOnNaN`, timm's `Loss is nan, stopping training`): the event detector reads them as a `nonfinite`
  event, and the run's state puts its NaN into the loss series at the step the run had reached;
* DeepSpeed says so by counting instead (`step=2000, skipped=1995`: the
  steps fp16 overflow skipped since the start, `skipped_steps`): nearly all
  of the newest steps skipped is the same collapse, also where the loss
  scale is never printed or sits at its floor from the first overflow on.

A bad value stays a finding while it is among the newest `window` points of
its series, until the run has logged `recover` step records past it and its
series a finite value after it (then its alert resolves `resolve_after`
later); and while it is among the run's newest `recover` records, whatever
its step: a series the run's steps have passed before it comes (the HF
Trainer's buffered loss dicts behind its bar) is judged as it comes. Rules
are judged over every record since they last looked (the engine and `check`
widen `window` and `recover` to them), so a NaN that
scrolled by between two ticks is still seen. A one-off NaN loss of a loop
logging every 10th step held its alert for 256 records, 2,560 steps (to the
end of a new user's 2,400-step run), and one NaN val_loss among 600 evals
every 1,000 steps for the 199 finite evals after it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from runwatch.alerts.rules.base import Rule, RuleParams, duration
from runwatch.alerts.rules.tail import Tail, fmt, history, rank_tail, step_at, step_pulse, step_word, tail
from runwatch.alerts.types import Finding
from runwatch.arrays import distinct
from runwatch.model import SPLIT_METRICS, Event, Severity, names_error_measure
from runwatch.state.run import RunTracker
from runwatch.state.series import OVERFLOW, sane

_MODEL_OUTPUTS = ("logps_", "logits_", "rewards_")
"""What a preference trainer logs of the model's own outputs beside its loss (TRL's DPO, ORPO, KTO and CPO:
`'rewards/chosen': nan, 'logps/rejected': nan, 'logits/chosen': nan`): NaN there is the forward pass gone bad,
while the loss may read a finite `0.0` (a review's DPO run: loss 2.45e9, then 0.0 twice, every one of these NaN,
judged OK). Judged as the other losses are (`any_loss`)."""

_RUNNING_BEST = frozenset({"best", "min", "lowest"})
"""Words that name a running best (`best_loss`, `min_val_loss`): a loop starts it at `float('inf')` and prints that
until its first evaluation is kept (simple-nmt's `Validation - loss=2.3686e+00 ppl=10.68 best_loss=inf best_ppl=inf`,
every launch of a review's ten): no value the model computed, and a NaN it could hold comes from a loss judged
under its own name. Read as any other loss (`any_loss`), it was a critical alert on a healthy run."""

_REFERENCE = ("lr",)
"""A metric the line of a step carries beside its loss every time, to notice the loss missing from it: Megatron's
`learning rate:`. Not a step time: a progress bar's frames carry one and no loss, their loss coming on a line of its
own (the HF Trainer's dicts), and a console capture that lost two of a run's dicts logged every step read as a NaN
dropped, critical, live, where `check` judging the records at once said nothing (a review)."""


@dataclass(frozen=True)
class NonFiniteParams(RuleParams):
    metrics: tuple[str, ...] = ("loss", "grad_norm", "val_loss", "val_bpb", "test_loss")
    any_loss: bool = True
    """Also any other metric whose name holds `loss` (a loop's own names: `autoencoder_loss_total`, `box_loss`,
    `loss_cls`), names a split alone (`model.SPLIT_METRICS`: `Val:`, CatBoost's `learn`), names a measure of error
    (`model.ERROR_MEASURES`: gradient boosting's `valid_rmse`, `valid_0_l2`) or is one of the model's outputs a
    preference trainer logs (`_MODEL_OUTPUTS`), when none of
    `metrics` is bad: one finding, the one that went bad first. A loop that names
    no series `loss` hid its NaN from the rule (a review: an I-JEPA-style run's losses all `nan` from its
    second step, read `no steps`, only the crash after it found). `loss_scale` is judged as a scale."""
    window: int = 256
    """Newest points per series in which a bad value still counts (a loss scale, the counts: in which a fall
    or a NaN iteration does)."""
    recover: int = 32
    """Step records after a NaN/Inf value, with a finite value of its series since, after which it no longer
    counts: the run went on and recovered."""
    loss_scale_min: float = 1.0
    """An fp16 loss scale that fell to this (or below) has collapsed."""
    skipped_share: float = 0.9
    """The share of the newest steps skipped for fp16 overflow (`skipped_steps`) that means the run no
    longer trains (0: off). A healthy run skips a few steps while its loss scale settles and one now and
    then when it tries a higher one."""
    skipped_over: int = 50
    """How many of the newest steps that share is judged over: a dynamic loss scale halves at each
    overflow (two with hysteresis), so 50 steps nearly all skipped have run it down to its floor, while
    the start's settling skips at most a few tens."""
    missing_loss_records: int = 2
    """Consecutive step records without the loss they always had that count as NaN (0: off)."""
    resolve_after_s: float = duration(600.0)


class NonFinite(Rule[NonFiniteParams]):
    id = "nonfinite"
    default_severity = Severity.CRITICAL
    explanation = ("NaN/Inf (or a number beyond float32's range) in loss, grad norm or val loss, or in any metric "
                   "named for a loss, a split or an error measure (also HF's loss 0 with NaN grad norm, Megatron NaN "
                   "iterations or dropped loss, a collapsed fp16 loss scale, nearly every step skipped for "
                   "fp16 overflow, a run's own word that its loss was not finite); fires at the first bad value")
    Params = NonFiniteParams
    judges_records = True
    urgent = True

    def widened(self, points: int) -> Rule[NonFiniteParams]:
        p = self.params
        if points <= p.window and points <= p.recover:
            return self
        return NonFinite(dataclasses.replace(p, window=max(points, p.window), recover=max(points, p.recover)))

    def check(self, run: RunTracker, now: float) -> list[Finding]:
        out: list[Finding] = []
        for metric in self.params.metrics:
            if bad := self._bad_tails(run, metric):
                out.append(self._bad_value(run, bad))
        if not out and self.params.any_loss:
            named = set(self.params.metrics)
            others = [self._bad_value(run, bad) for metric in run.store.metrics()
                      if ("loss" in metric or metric in SPLIT_METRICS or metric.startswith(_MODEL_OUTPUTS)
                          or names_error_measure(metric))
                      and metric not in named and metric != "loss_scale" and _RUNNING_BEST.isdisjoint(metric.split("_"))
                      and (bad := self._bad_tails(run, metric))]
            if others:
                out.append(min(others, key=lambda f: (f.step is None, f.step or 0)))
        for check in (self._nan_iterations, self._loss_scale, self._skipped_steps):
            out.extend(check(run))
        out.extend(f for f in self._missing_loss(run) if not _told(f, out))
        return out

    def _bad_tails(self, run: RunTracker, metric: str) -> list[Tail]:
        """The newest `window` points of each rank's `metric` that hold a bad value that still counts."""
        bad = [t for r in run.store.ranks(metric)
               if (s := run.store.get(metric, r)) is not None and s.bad_seen
               and (t := rank_tail(run, metric, r, self.params.window)) is not None and not sane(t.v).all()]
        return [t for t in bad if self._still_counts(run, t)]

    def _still_counts(self, run: RunTracker, found: Tail) -> bool:
        """Whether the bad values in `found` (its series' newest `window` points) still count: the newest one
        is within the run's newest `recover` step records, or no finite value came after it: for a series
        logged at every step record, its own newest `recover` points; for a sparse one (evals), the run's
        steps count, not its points. A run whose step records carry none of the metrics that time them
        (`tail.PULSE`: a loop logging only `lm_loss`, YOLO's `box_loss`) counts the series' own points: there a
        NaN logged once stayed a critical finding to the end of the run (a code review)."""
        finite = sane(found.v)
        if not finite[-1]:
            return True
        series = run.store.get(found.metric, found.rank)
        if series is not None and run.store.records - series.bad_mark < self.params.recover:
            return True  # it came among the newest records, whatever its step: a series that lags the run's steps
            # (`Series.bad_mark`: a bar ahead of the HF Trainer's buffered loss dicts) is judged as it comes
        newest_bad = found.x[~finite][-1]
        pulse = step_pulse(run, self.params.recover)
        steps = pulse.x if pulse is not None else found.x[-self.params.recover:]
        if len(steps) < self.params.recover:
            return True  # fewer step records than that: every one still counts
        return bool(newest_bad >= steps[0])

    def _bad_value(self, run: RunTracker, tails: list[Tail]) -> Finding:
        """One finding per metric, on the rank that went bad first: every rank of a run shares a NaN."""
        tails = [_from_its_start(run, t) for t in tails]
        first = {t.rank: int(np.flatnonzero(~sane(t.v))[0]) for t in tails}
        found = min(tails, key=lambda t: (t.x[first[t.rank]], -1 if t.rank is None else t.rank))
        i = first[found.rank]
        xs, vs = found.x[i:], found.v[i:]  # steps, not points: a step the log, W&B and TensorBoard each hold is one
        bad_at = xs[~sane(vs)]
        bad, logged = len(distinct(bad_at)), len(distinct(xs))
        value, step = float(found.v[i]), step_at(found.x, i)
        series = run.store.get(found.metric, found.rank)
        since = series.bad_since if series is not None else None
        whole = False
        if since is not None and bad == logged and since < found.x[0]:
            step, whole = int(since), True  # NaN for longer than the series holds points: where it went bad
        word = step_word(run)
        summary = f"{found.metric} is {fmt(value)} at {word} {step}"
        if np.isfinite(value):
            summary += f", beyond float32's range (±{fmt(OVERFLOW)}): an overflow"
        if len(tails) > 1:
            summary += f" on rank {found.rank} (ranks {', '.join(str(t.rank) for t in tails)})"
        if ((found.metric == "grad_norm" or found.metric.startswith(_MODEL_OUTPUTS))
                and _loss_zero_at(run, found.rank, found.x[i], self.params.window)):
            summary += " while loss reads 0.0 (HF Trainer logs a NaN loss as 0)"
        if whole:
            summary += f" (and at every {word} logged since)"
        elif bad > 1:
            finite = np.isfinite(vs[~sane(vs)])
            kind = ("beyond float32's range" if finite.all() else "not finite or beyond float32's range" if finite.any()
                    else "not finite")
            summary += f" ({bad} of the {logged} {word}s logged from there on are {kind})"
        return self.finding(run, summary, rank=found.rank, metric=found.metric, value=value, step=step,
                            last_step=max(_newest_bad(t) for t in tails), history=history(found.v))

    def _nan_iterations(self, run: RunTracker) -> list[Finding]:
        """Megatron's per-interval count of iterations whose loss was NaN."""
        out = []
        for rank in run.store.ranks("nan_iterations"):
            found = rank_tail(run, "nan_iterations", rank, self.params.window)
            if found is None or not (found.v > 0).any():
                continue
            i = int(np.flatnonzero(found.v > 0)[0])
            total = int(np.nansum(found.v[found.v > 0]))
            out.append(self.finding(
                run, f"{total} NaN iteration(s) counted since step {step_at(found.x, i)}",
                rank=rank, metric="nan_iterations", value=float(found.v[i]), step=step_at(found.x, i),
                last_step=step_at(found.x, int(np.flatnonzero(found.v > 0)[-1])), threshold=0.0,
                history=history(found.v)))
        return out

    def _loss_scale(self, run: RunTracker) -> list[Finding]:
        """A dynamic loss scale at its floor that steps there still overflow (`_overflows_from`): every step
        overflowed and was skipped. One that fell there and trains on is a low scale, no collapse: a fairseq run's
        two overflows at its start took its scale from 4 to 1, its loss fell over the 7 updates after at that scale
        with no overflow, and `check` paged "loss scale collapsed to 1 (every step overflows)" (a review)."""
        floor = self.params.loss_scale_min
        out = []
        for rank in run.store.ranks("loss_scale"):
            found = rank_tail(run, "loss_scale", rank, self.params.window)
            if found is None:
                continue
            last = float(found.v[-1])
            if not np.isfinite(last) or last <= 0:
                pass  # no scale at all: no step can be taken
            elif last > floor or not (found.v > floor).any():
                continue  # above the floor, or there all along (bf16 prints 1.0 throughout)
            elif not _overflows_from(run, float(found.x[int(np.flatnonzero(found.v > floor)[-1]) + 1])):
                continue
            out.append(self.finding(
                run, f"loss scale collapsed to {fmt(last)} at step {step_at(found.x)} (every step overflows)",
                rank=rank, metric="loss_scale", value=last, threshold=floor, step=step_at(found.x),
                history=history(found.v)))
        return out

    def _skipped_steps(self, run: RunTracker) -> list[Finding]:
        """Nearly every one of the newest steps skipped for fp16 overflow (DeepSpeed's running count)."""
        share, over = self.params.skipped_share, self.params.skipped_over
        out = []
        for rank in run.store.ranks("skipped_steps") if share > 0 else ():
            found = rank_tail(run, "skipped_steps", rank, self.params.window)
            stretch = _newest_stretch(found, over) if found is not None else None
            if found is None or stretch is None or stretch[0] < share * stretch[1]:
                continue
            skipped, steps, since_start = stretch
            which = f"first {steps:.0f} steps" if since_start else f"{steps:.0f} steps up to step {step_at(found.x)}"
            out.append(self.finding(
                run, f"{skipped:.0f} of the {which} skipped for fp16 overflow: the run is not training",
                rank=rank, metric="skipped_steps", value=round(skipped / steps, 4), threshold=share,
                step=step_at(found.x), history=history(found.v)))
        return out

    def _missing_loss(self, run: RunTracker) -> list[Finding]:
        """Step records that stopped carrying the loss they always carried (Megatron drops a NaN loss)."""
        k = self.params.missing_loss_records
        loss = tail(run, "loss", 64)
        if k <= 0 or loss is None:
            return []
        ref = next((f for m in _REFERENCE if (f := rank_tail(run, m, loss.rank, k + 4)) is not None), None)
        if ref is None or len(ref.x) < k + 2 or not (np.diff(ref.x) > 0).all():
            return []  # steps that go back (a run resumed into the same log) say nothing of a dropped loss
        after, before = ref.x[-k:], ref.x[:-k]
        if after[0] <= loss.x[-1] or not np.isin(before, loss.x).all() or _skipped(run, loss.rank, after):
            return []
        if len(loss.x) > 1 and after[-1] - loss.x[-1] < (k - 0.5) * float(np.median(np.diff(loss.x[-9:]))):
            return []  # not past the steps the loss is logged at: an HF run's bar frames at 23259 and 23260, the
            # end, after its loss logged every 25 steps to 23249 read "loss missing", critical, at the finish (a review)
        step = step_at(after, 0)
        return [self.finding(
            run, f"loss missing from the last {k} step records since step {step} (Megatron drops a NaN loss)",
            rank=loss.rank, metric="loss", value="missing", step=step, history=history(loss.v))]


def _told(missing: Finding, others: list[Finding]) -> bool:
    """Whether another finding of the run already says the NaN a dropped loss is (Megatron prints `grad norm:
    nan` and counts a NaN iteration on the line it drops the loss from): one fault, not a third critical
    alert. It held only while those records were the newest, so a tail that saw each record said it and
    `check`, judging a second's records at once, did not: the two disagreed."""
    at = missing.step
    return at is not None and any(
        f.step is not None and f.step <= at <= (f.last_step if f.last_step is not None else f.step) for f in others)


def _from_its_start(run: RunTracker, found: Tail) -> Tail:
    """`found`, reaching back to where its stretch of non-finite values began when its window starts inside
    one: the window slides on while the run goes on being NaN, and the summary named the window's first
    step (a new user's review: "NaN at step 386" for the run lab's NaN at 300, the alert's own first
    step). Looks back four times further each try, as far as the series holds points; an earlier stretch
    before a finite value is not this one."""
    window = len(found.x)
    longer = found
    while len(longer.x) and not abs(longer.v[0]) <= OVERFLOW:
        more = rank_tail(run, found.metric, found.rank, len(longer.x) * 4)
        if more is None or len(more.x) <= len(longer.x):
            break
        longer = more
    if longer is found:
        return found
    before = np.flatnonzero(sane(longer.v[: len(longer.x) - window]))
    cut = int(before[-1]) + 1 if before.size else 0
    return longer._replace(x=longer.x[cut:], v=longer.v[cut:], t=longer.t[cut:])


def _newest_bad(found: Tail) -> int:
    """The step of the newest bad value among `found`'s points (it holds one)."""
    return int(found.x[np.flatnonzero(~sane(found.v))[-1]])


def _newest_stretch(found: Tail, over: int) -> tuple[float, float, bool] | None:
    """(steps skipped, steps, from the start?) over the newest stretch of at least `over` steps of a running
    skipped-steps count, else since step 0 (the count starts there: one line `step=2000, skipped=1995`
    says enough); None while the run is shorter, or where the count went back (a restart in one log)."""
    x, v = found.x, found.v
    reach = np.flatnonzero(x[-1] - x >= over)
    if reach.size:
        j = int(reach[-1])
        skipped, steps, since_start = float(v[-1] - v[j]), float(x[-1] - x[j]), False
    else:
        skipped, steps, since_start = float(v[-1]), float(x[-1]), True
    if steps < over or not 0 <= skipped <= steps:
        return None
    return skipped, steps, since_start


def _loss_zero_at(run: RunTracker, rank: int | None, x: float, window: int) -> bool:
    loss = rank_tail(run, "loss", rank, window)
    return loss is not None and bool(((loss.x == x) & (loss.v == 0.0)).any())


def _overflows_from(run: RunTracker, x: float) -> bool:
    """Whether steps from `x` on (where the loss scale reached its floor) overflowed, on any rank: an overflow event
    there (DeepSpeed's `OVERFLOW! Rank 0 Skipping step`, apex's `Gradient overflow. Skipping step`), DeepSpeed's count
    of skipped steps (`step=2499, skipped=1585`, on its rank's prefix) grown there, or Megatron's skipped iterations
    there."""
    if any(e.event == Event.OVERFLOW and e.step is not None and e.step >= x for e in run.events):
        return True
    for rank in run.store.ranks("skipped_steps"):
        counted = rank_tail(run, "skipped_steps", rank, 4096)
        if counted is not None and (counted.x >= x).any() and (counted.x < x).any() and (
                float(counted.v[counted.x >= x].max()) > float(counted.v[counted.x < x][-1])):
            return True
    for rank in run.store.ranks("skipped_iterations"):
        found = rank_tail(run, "skipped_iterations", rank, 4096)
        if found is not None and bool((found.v[found.x >= x] > 0).any()):
            return True
    return False


def _skipped(run: RunTracker, rank: int | None, xs: np.ndarray) -> bool:
    """Whether any of these steps reported skipped iterations (no loss is printed for those)."""
    found = rank_tail(run, "skipped_iterations", rank, len(xs) + 4)
    return found is not None and bool((found.v[np.isin(found.x, xs)] > 0).any())
