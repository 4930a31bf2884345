"""The report's sections in the order a run is read: Overview, Hyperparameters, Curves, Summaries, Health.

Pure: numbers and plot names in, document blocks out. A number the sources did
not give reads "not known", never a guess.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from runwatch import patterns
from runwatch.present import fmt_duration, fmt_value, iso_utc
from runwatch.report.document import Block, Heading, Image, Para, Table
from runwatch.report.values import TAIL_MIN_POINTS, RunNumbers
from runwatch.report.verdict import tail_rate, verdict
from runwatch.text import clip

UNKNOWN = "not known"
SETTING_CHARS = 120


def report_blocks(n: RunNumbers, plots: Sequence[Image]) -> list[Block]:
    return [Heading(f"Run report: {n.overview.name}", 1), *overview(n), *hyperparameters(n), *curves(plots),
            *summaries(n), *health(n)]


def overview(n: RunNumbers) -> list[Block]:
    o = n.overview
    steps = UNKNOWN if o.step is None else f"{o.step:,}" + (f" of {o.total_steps:,}" if o.total_steps else "")
    state = o.state if o.state != "incomplete" else f"stopped at step {o.step} of {o.total_steps}"
    rows = [("run", o.name), ("sources", o.source), ("state", state)]
    if o.cause:
        rows.append(("crash cause", clip(o.cause, 300)))
    said = f" (from {o.times_basis})" if o.times_basis else ""
    rows += [("steps", steps), ("started", _time(o.start) + (said if o.start is not None else "")),
             ("ended", _time(o.end) + (said if o.end is not None else "")),
             ("runtime", f"{fmt_duration(o.runtime_s)} ({_seconds(o.runtime_s)} s, from {o.runtime_basis})"
              if o.runtime_s is not None else UNKNOWN),
             ("host", o.host or UNKNOWN), ("hardware", o.hardware or UNKNOWN), ("command", o.command or UNKNOWN),
             ("records read", f"{o.records:,}")]
    return [Heading("Overview"), Table(("", ""), rows)]


MAIN = patterns.compile(r"(^|[._/])(learning_rate|lr|.*batch_size|max_steps|num_train_epochs|epochs|warmup.*|weight_decay|"
                  r"gradient_accumulation_steps|lr_scheduler.*|optim|optimizer|seed|max_grad_norm|grad_clip|"
                  r"depth|n_layer|num_layers|n_head|num_heads|n_embd|d_model|hidden_size|model_dim|block_size|"
                  r"max_seq_len|seq_len|dropout|.*precision|bf16|fp16|num_parameters|.*params|total_batch_size)$",
                  re.IGNORECASE)
"""Settings a course's run report names first (learning rate, batch size, schedule, model shape, precision)."""


def hyperparameters(n: RunNumbers) -> list[Block]:
    out: list[Block] = [Heading("Hyperparameters")]
    main = [(k, v, s.origin) for s in n.settings for k, v in s.rows if MAIN.search(k)]
    if main and sum(len(s.rows) for s in n.settings) > len(main):
        out.append(Para(f"The main ones ({len(main)}; every setting found follows):"))
        out.append(Table(("setting", "value", "from"), [(k, clip(v, SETTING_CHARS), o) for k, v, o in main]))
    if not n.settings:
        out.append(Para("No config found: the sources hold no W&B config, no hparams.yaml, no trainer_state.json, "
                        "no nanochat meta file, and the logs print no `key: value` settings before their first "
                        "loss."))
    for s in n.settings:
        out.append(Para(f"From {s.origin} ({len(s.rows)} settings):"))
        out.append(Table(("setting", "value"), [(k, clip(v, SETTING_CHARS)) for k, v in s.rows]))
    return out


def curves(plots: Sequence[Image]) -> list[Block]:
    out: list[Block] = [Heading("Curves")]
    if not plots:
        out.append(Para("Nothing to plot: the run logged no loss, gradient norm or throughput."))
    for p in plots:
        out.append(Para(f"{p.alt} ({p.file}, {p.width}×{p.height}):"))
        out.append(p)
    return out


def summaries(n: RunNumbers) -> list[Block]:
    out: list[Block] = [Heading("Summaries")]
    loss = n.loss
    if loss is None:
        out.append(Para("No loss was logged."))
    else:
        rows = [("start", _v(loss.name, loss.start)), ("end", _v(loss.name, loss.end)),
                ("minimum", _v(loss.name, loss.minimum) + (f" at step {loss.min_step:.0f}" if loss.min_step is not None else "")),
                ("last 10% of the run", _tail(n))]
        if loss.nonfinite:
            rows.append(("non-finite values", f"{loss.nonfinite}, the first at step {loss.first_nonfinite_step:.0f}"))
        if loss.val_name is not None:
            rows.append((f"best {loss.val_name}", _v(loss.val_name, loss.best_val)
                         + (f" at step {loss.best_val_step:.0f}" if loss.best_val_step is not None else "")))
            rows.append((f"last {loss.val_name}", _v(loss.val_name, loss.last_val)))
            rows.append(("train–val gap at the end", UNKNOWN if loss.gap_end is None else f"{loss.gap_end:+.4g}"))
        out += [Para(f"Loss ({loss.name}):"), Table(("", ""), rows)]
    tp = n.throughput
    rows = []
    if tp.name is not None:
        rows += [(f"{tp.name} median", _v(tp.name, tp.median)), (f"{tp.name} p10", _v(tp.name, tp.p10))]
    rows += [("MFU median", _v("mfu", tp.mfu_median)),
             ("step time median", _v("step_time", tp.step_time_median_s)),
             ("time lost to stalls", UNKNOWN if tp.stall_s is None else
              f"{fmt_duration(tp.stall_s)} in {tp.stall_steps} step{'s' * (tp.stall_steps != 1)} over 3× the "
              "median step time"
              + (f" ({tp.stall_s / tp.steps_s * 100:.1f}% of the {fmt_duration(tp.steps_s)} the steps took)"
                 if tp.steps_s else "")),
             ("evaluations", f"{tp.evals}" + (f", {fmt_duration(tp.eval_s)} (eval_runtime)" if tp.eval_s is not None else ""))]
    out += [Para("Throughput and time:"), Table(("", ""), rows)]
    c = n.checkpoints
    rows = [("count", str(c.count)), ("last", c.last or "none"),
            ("last at step", UNKNOWN if c.last_step is None else str(c.last_step)),
            ("last size", UNKNOWN if c.last_size_bytes is None else _bytes(c.last_size_bytes)),
            ("last write time", UNKNOWN if c.write_s is None else fmt_duration(c.write_s))]
    out += [Para("Checkpoints:"), Table(("", ""), rows)]
    return out


def health(n: RunNumbers) -> list[Block]:
    out: list[Block] = [Heading("Health")]
    if not n.alerts:
        out.append(Para("No alert fired (every rule, as `runwatch check` judges the whole history)."))
    else:
        out.append(Table(("severity", "rule", "labels", "steps", "at the end", "summary"), [
            (a.severity, a.rule, " ".join(f"{k}={v}" for k, v in sorted(a.labels.items())),
             f"{_step(a.first_step)}–{_step(a.last_step)}" + (f" ({a.times}×)" if a.times > 1 else ""),
             a.end, a.summary) for a in n.alerts]))
    for note in n.notes:
        out.append(Para(f"Note: {note}."))
    out.append(Para(f"Verdict: {verdict(n)}"))
    return out


def _tail(n: RunNumbers) -> str:
    """The trend over the last 10%, or why there is none: too few points there, or a change inside their
    noise (± two standard errors)."""
    loss = n.loss
    if loss is None:
        return UNKNOWN
    if loss.tail_change_pct is None or loss.tail_from_step is None:
        return f"too few points to tell ({loss.tail_points} in the last 10%, {TAIL_MIN_POINTS} needed)"
    where = f"from step {loss.tail_from_step:.0f}"
    if loss.trend is None:
        noise = f" ± {loss.tail_noise_pct:.2g}%" if loss.tail_noise_pct is not None else ""
        return (f"no clear trend: {loss.tail_change_pct:+.2f}%{noise} {where} "
                f"({loss.tail_points} points, too noisy to tell)")
    return f"{loss.trend}: {loss.tail_change_pct:+.2f}% {where} ({tail_rate(loss)})"


def _v(name: str, v: float | None) -> str:
    return UNKNOWN if v is None else fmt_value(name, v)


def _time(t: float | None) -> str:
    return UNKNOWN if t is None else iso_utc(t)


def _step(s: int | None) -> str:
    return "?" if s is None else str(s)


def _bytes(n: float) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


def _seconds(s: float) -> str:
    """Seconds to the hundredth, cut down as the duration beside them is (`8.2s (8.29 s`): rounded to a
    tenth, an 8.26 s runtime read `8.2s (8.3 s, …)`."""
    return f"{math.floor(s * 100 + 1e-6) / 100:.2f}"
