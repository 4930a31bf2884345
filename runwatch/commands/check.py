"""`runwatch check`: the whole history through the rules, as a report read in five seconds.

The paths are read as `tail` reads them (runwatch.plan and
readers): logs, standard input to EOF, metric files, checkpoint
directories and W&B runs; the sources of one run are interleaved by step
(`merge_by_step`) and replayed as if live (runwatch.replay). Records whose
source gives no time keep t=0, so the replay clock rebuilds time; W&B rows
and TensorBoard events keep the time they carry.

Exit 0 when nothing fired, 1 when only warnings fired, 2 when anything
critical fired, 3 when a path holds nothing readable, a source could not be
read or a run of which nothing was understood (DESIGN §3; `SourceProblems`
says why on stderr, one line each). 2 comes before 3, 3 before 1. A run that stopped below its known total without
finishing (a truncated log, a pipe that ended early) is reported
"incomplete: stopped at S/T" on a warning line of its own and in `--json`'s
`warnings`; that is no alert (no rule fired), so by DESIGN §3 it does not
change the exit code.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, TextIO

from runwatch.alerts.judge import unjudged_metrics
from runwatch.alerts.lifecycle import AlertManager
from runwatch.alerts.rules.base import resolution_of
from runwatch.alerts.rules.tail import step_pulse, step_word
from runwatch.commands.parse import SourceProblems, readers_of
from runwatch.commands.readers import ItemsReader, Reader, stamped_by
from runwatch.config import Config
from runwatch.model import AlertState, Event, Kind, Record, RunState, Severity, json_number
from runwatch.parsers.source import ChunkRecords
from runwatch.plan import WANDB_FORMAT, RunPlan, plan_runs
from runwatch.replay import Replay, ReplayClock, merge_by_step, replay
from runwatch.report.values import SOURCE_TIMES
from runwatch.state.run import RunTracker
from runwatch.state.series import History
from runwatch.text import clean, clip, one_line, visible
from runwatch.watcher.types import Notice


@dataclass
class Fired:
    """One alert as the report shows it."""

    rule: str
    severity: Severity
    labels: dict[str, Any]
    summary: str
    first_step: int | None
    last_step: int | None
    value: Any
    firing_at_end: bool
    times: int = 1
    cleared: bool = False
    """Still firing at the end by the lifecycle's clock, but its rule no longer found the condition at
    the last evaluation: it would resolve after its hold time (`resolve_after`), which a replay that
    ends with the log never reaches. A spike 250 steps before the end is not "still firing"."""
    cleared_why: str | None = None
    """What its rule says of how it cleared, where it says (`Rule.resolution`): a slowdown still there that
    has become the rule's baseline is no recovery."""
    attempts: tuple[int, int] | None = None
    """The attempts (1 the first) its first and its last step are of, in a run that started again; None in one that
    did not. Each attempt counts its own steps: `first step 7, last step 6` read as a step going back (a review's
    Keras log of three fits)."""


def check_run(run: RunPlan, config: Config, fmt: str | None, total_steps: int | None, *,
              stdin: BinaryIO | None = None, on_notice: Callable[[Notice], None] = lambda n: None,
              history: History = False) -> Replay:
    """Replay every source of `run` through the rules: one log a block at a time (its step rows in bulk),
    several sources interleaved by step. `history`: the series (all, or those named) keep the whole run
    (folded into buckets), for `runwatch report`'s plots; `check` keeps only what the rules read."""
    readers = list(readers_of(run, fmt, read_time=False, stdin=stdin, on_notice=on_notice))
    streams = [stream for reader in readers for stream in _streams(reader, total_steps)]
    items: Iterable[Record | ChunkRecords]
    if len(streams) == 1:
        items = streams[0]
    else:
        records = [peek(_records(s)) for s in streams]  # a log's first chunk read: its format known
        if not any(r.format in BAR_FORMATS for r in readers):
            records = _timed_first(records)
        items = merge_by_step(records)
    manager = AlertManager(config.timings())
    clock = ReplayClock(bar_time=lambda: any(r.format in BAR_FORMATS for r in readers),
                        elapsed_time=lambda: any(r.format in ELAPSED_FORMATS for r in readers))
    out = replay(items, config.rules(), manager=manager, clock=clock, run=run.name, source=run.label,
                 history=history, pause_plan=lambda: [every for r in readers for every in r.pauses])
    out.parse_failures = [r.failures for r in readers if r.failures is not None and r.failures.total]
    stamp = clock.stamped_from
    out.times_by = next((stamped_by(r.kind, stamp) for r in readers if isinstance(r, ItemsReader) and r.kind
                         and stamp is not None and stamp.source == r.path and out.own_times), "")
    for r in readers:
        if isinstance(r, ItemsReader):
            out.meta.update(r.meta)
            out.samples += r.samples
            times = out.meta.setdefault(SOURCE_TIMES, {}) if r.times else {}
            for by, (first, last) in r.times.items():
                was = times.get(by, (first, last))
                times[by] = (min(was[0], first), max(was[1], last))
        elif r.printed is not None:
            out.preambles.append(r.printed)
    return out


BAR_FORMATS = frozenset({"tqdm", "hf-trainer", "keras", "yolo"})
"""Logs whose step time is a progress bar's smoothed rate (tqdm's moving average, Keras's mean over the epoch):
the bar's elapsed time bounds the replay's clock."""

ELAPSED_FORMATS = frozenset({"jsonl", "blocks"})
"""Logs whose step records' `elapsed`, where they state one, is the run's time since its start and no line states a
time of day: the replay's clock (`ReplayClock.elapsed_time`; LLaMA-Factory's `trainer_log.jsonl`, Stable-Baselines3's
tables' `time_elapsed` and a Decision Transformer loop's `time elapsed: 0:53:35`, which `check` said carried no
time: a review). Ray Tune's blocks state their `timestamp`, a time of day, which stays the clock."""

Stream = Iterable[Record] | Iterable[ChunkRecords]


def _streams(reader: Reader, total_steps: int | None) -> list[Stream]:
    """A reader's records as streams ordered by step: a log a chunk at a time, lazily; a structured
    source read whole, its checkpoint records apart (a checkpoint directory's history comes before its
    checkpoints)."""
    chunks = (chunk.with_total(total_steps) for chunk in reader.chunks())
    if not isinstance(reader, ItemsReader):
        return [chunks]
    got = [r for chunk in chunks for r in chunk.merged()]
    return [[r for r in got if r.kind != Kind.CHECKPOINT], [r for r in got if r.kind == Kind.CHECKPOINT]]


def _timed_first(streams: list[PeekedRecords]) -> list[PeekedRecords]:
    """The streams whose steps carry their own time (TensorBoard's wall times, a metric file's) first, the others
    in their order: at a step both have, the stamped record comes first and the replay's clock follows the stamps
    (`ReplayClock.advance`: the first step record decides), the log's line of that step placed at the stamp's
    time. A log without times first made the clock a synthetic one, and a run directory whose event file shows a
    75-s hang read OK from a loop that prints no step time (a nanoGPT run on an H200, its `time …ms` taken off).
    Not beside a progress bar: its elapsed time times every frame, a stamp only the steps a callback logs."""
    return sorted(streams, key=lambda s: not (s.first_step is not None and s.first_step.t > 0))


@dataclass
class PeekedRecords:
    """A stream of records whose first step record is read (`peek`), with what came before it."""

    ahead: list[Record]
    rest: Iterator[Record]

    @property
    def first_step(self) -> Record | None:
        return self.ahead[-1] if self.ahead and self.ahead[-1].kind == Kind.STEP else None

    def __iter__(self) -> Iterator[Record]:
        yield from self.ahead
        yield from self.rest


def peek(records: Iterable[Record]) -> PeekedRecords:
    """`records` read up to their first step record (a log's format is decided by then: `Reader.format`)."""
    rest = iter(records)
    ahead: list[Record] = []
    for rec in rest:
        ahead.append(rec)
        if rec.kind == Kind.STEP:
            break
    return PeekedRecords(ahead, rest)


def _records(stream: Stream) -> Iterator[Record]:
    """A stream's records one by one (chunks merged: several sources interleave record by record)."""
    for item in stream:
        if isinstance(item, Record):
            yield item
        else:
            yield from item.merged()


def summarize(result: Replay) -> list[Fired]:
    """Alerts that fired, once each (a rule that fired, resolved and fired again counts `times`)."""
    out: dict[str, Fired] = {}
    first_at: dict[str, float] = {}
    firing_now = {a.key for a in _final_alerts(result) if a.state == AlertState.FIRING}
    for n in result.notifications:
        if n.state != AlertState.FIRING or n.repeat:
            continue
        a = n.alert
        first_at.setdefault(a.key, n.at)
        if a.key in out:
            out[a.key].times += 1
            out[a.key].last_step = a.step
            continue
        out[a.key] = Fired(a.rule, a.severity, {k: v for k, v in a.labels if k != "run"}, a.summary,
                           a.first_step if a.first_step is not None else a.step, a.step, a.value,
                           a.key in firing_now)
    for a in _final_alerts(result):
        if a.key in out:
            out[a.key].last_step = a.step if a.step is not None else out[a.key].last_step
            out[a.key].firing_at_end = a.state == AlertState.FIRING
    latest = {f.key: f for _, f in result.findings}  # what the rule said when it last found it
    for key, fired in out.items():
        if key in latest:  # its value with its words: the first firing's value beside the last finding's summary
            fired.summary, fired.value = latest[key].summary, latest[key].value  # read 32.7 of `spiked to 80.67`
    restarts = [e.t for e in result.tracker.events if e.event == Event.RESTARTED]
    for key, step in result.last_found_at.items():  # the run's step when the condition was last found
        if key in out and step is not None:
            # never below the first, within one attempt; an attempt since counts its own steps (a review's
            # mmengine run killed at step 139,548 of one attempt and 55,919 of the last read `last step 139548`)
            again = any(t >= first_at.get(key, math.inf) for t in restarts)
            out[key].last_step = step if again else max(step, out[key].first_step or 0)
    if restarts:
        last_at = {f.key: at for at, f in result.findings}  # when its rule found it last
        for key, fired in out.items():
            first = first_at.get(key, math.inf)
            fired.attempts = (_attempt(restarts, first), _attempt(restarts, last_at.get(key, first)))
    held = {f.key for _, f in result.findings[result.final_findings:]}  # found at the last evaluation
    rules = {r.id: r for r in result.judge.rules} if result.judge is not None else {}
    final = {a.key: a for a in _final_alerts(result)}
    for key, fired in out.items():
        if fired.firing_at_end and key not in held:
            fired.firing_at_end, fired.cleared = False, True
            fired.cleared_why = resolution_of(rules.get(fired.rule), result.tracker, final[key], result.end)
    return sorted(out.values(), key=lambda f: (f.severity != Severity.CRITICAL, f.first_step or 0))


def _final_alerts(result: Replay) -> list:  # type: ignore[type-arg]
    seen: dict[str, Any] = {}
    for n in result.notifications:
        seen[n.alert.key] = n.alert
    return list(seen.values())


def exit_code(fired: Sequence[Fired]) -> int:
    if any(f.severity == Severity.CRITICAL for f in fired):
        return 2
    return 1 if fired else 0


def run_check(paths: list[str], *, config: Config, fmt: str | None, total_steps: int | None,
              as_json: bool, out: TextIO, stdin: BinaryIO | None = None, err: TextIO | None = None) -> int:

    runs = plan_runs(paths, fmt=fmt)  # PathError: exit 3, one line (cli)
    problems = SourceProblems(err if err is not None else sys.stderr)
    worst = 0
    for run in runs:
        result = check_run(run, config, None if fmt == WANDB_FORMAT else fmt, total_steps, stdin=stdin,
                           on_notice=problems)
        if not measured(result):
            problems.nothing_understood(run.label, fmt, run.logs)
        else:
            problems.read_in_part(run.logs)
        for rule, why in (result.judge.broken.items() if result.judge is not None else ()):
            problems.rule_failed(run.name, rule, why)
        unjudged = unjudged_metrics(config.rules(), result.tracker)
        for said in unjudged:
            problems.not_judged(run.name, said)
        for failures in result.parse_failures:
            problems.parse_failed(failures)
        fired = summarize(result)
        worst = max(worst, exit_code(fired))
        if as_json:
            out.write(json.dumps(_json(run.name, run.label, result, fired, unjudged), allow_nan=False) + "\n")
        else:
            out.write(clean(_report(visible(run.name), visible(run.label), result, fired, unjudged)) + "\n")
    return problems.exit_code(worst)


def measured(result: Replay) -> bool:
    """Whether anything of the run's training was read (`RunSnapshot.measured`, as `tail` asks it of its
    statuses): else the report is UNREAD, exit 3, as of a log with no record (`NO_MEASURES`)."""
    return result.tracker.snapshot(result.end).measured


NO_RECORDS = "no records: nothing these sources hold was understood"
NO_MEASURES = ("no step, metric or finish read, only events (checkpoints, warnings): nothing of its training was judged "
               "(`runwatch parse LOG --output summary` shows what was read; --format NAME forces a format)")
"""A review's T5 log of 414 loss lines none of which was read: `check` said `OK … no steps`, its ten checkpoint
lines the only records, as if the run had been judged healthy."""


def _no_measures(result: Replay) -> str:
    """`NO_MEASURES`, naming the events that were read (up to three kinds, the newest of each): a review's XLM run,
    stopped by Ctrl-C in its evaluation, read "only events (checkpoints, warnings)" where its one event was the
    `KeyboardInterrupt`."""
    newest: dict[str, Record] = {}
    for rec in result.tracker.events:
        if rec.event is not None:
            newest.pop(rec.event, None)
            newest[rec.event] = rec
    said = [f"{name}: {visible(rec.message)[:80]}" if name == Event.SIGNAL and rec.message else name
            for name, rec in list(newest.items())[-3:]]
    return NO_MEASURES.replace("(checkpoints, warnings)", f"({', '.join(said)})") if said else NO_MEASURES


def warnings(result: Replay) -> list[str]:
    """What the report says besides alerts: an incomplete run, a run of which nothing was read."""
    broken = [f"rule {rule} failed ({why}); judged without it from then on"
              for rule, why in (result.judge.broken.items() if result.judge is not None else ())]
    broken += [f"{visible(f.source)}: {f.describe()}" for f in result.parse_failures]
    if result.tracker.records == 0:
        return [NO_RECORDS, *broken]
    if not measured(result):
        broken.insert(0, _no_measures(result))
    signal = signalled(result)
    short = incomplete(result, signal)
    if short and result.tracker.state(result.end) != RunState.CRASHED:
        short += _stopped_how(signal)  # the text and `--json` alike (a review: the JSON had no word of the signal)
    return ([short] if short else []) + broken


NO_STEP = ("no line states a step (a step, iteration or update count): its metrics are judged, and "
           "its progress, rate and ETA are unknown (`runwatch parse LOG --output summary` shows what was read; "
           "--format NAME forces a format)")
"""A review's loop printing `ep: 0, batch: 260, time: 8.56, …, loss: 8.390625` (a batch count no step key) read `OK …
no steps` and no word of what was not judged."""


TIMING_NOTES = {
    "step_time": "no step line carries a time of day: a hang shows in the log once written only inside a step whose "
                 "time it prints (runwatch tail or watch sees every hang as it happens); slowdowns are judged from "
                 "the step time it prints",
    "none": "no step line carries a time of day or a step time: a hang or a slowdown cannot show in the log once "
            "written (runwatch tail or watch sees them as they happen)",
}
"""A bar's elapsed and rate (`[01:01<58:27, 1.43it/s]`) are a step time, no time of day: "no step line carries a
time" beside it read as wrong (a review)."""


def _stopped_short(events: Sequence[Record]) -> str:
    """`; attempt 2 stopped at step 493 of 10,000` for each earlier attempt that stopped before the total it stated
    (`restarted`'s `from_step` and `from_total`, up to three, the newest): a review's detectron2 log of three runs,
    the second stopped at iteration 493 of 10,000, read "started again 2 times" and `3999/4000 finished`, and no
    word of the one that never ended."""
    short: list[str] = []
    for attempt, rec in enumerate((e for e in events if e.event == Event.RESTARTED), start=1):
        came, of = rec.metrics.get("from_step"), rec.metrics.get("from_total")
        if came is not None and of is not None and came + 1 < of:  # 0- and 1-based counts both end at the total
            short.append(f"attempt {attempt} stopped at step {int(came):,} of {int(of):,}")
    return f"; {', '.join(short[-3:])}" if short else ""


def notes(result: Replay) -> list[str]:
    """What the report says of what it could not judge, without warning of the run: a log without times, a
    run that started again from its beginning in the same output (its report is of the last attempt)."""
    out = [TIMING_NOTES[result.timing]] if result.timing else []
    again = result.tracker.attempts - 1
    if again:
        last = next((e for e in reversed(result.tracker.events) if e.event == Event.RESTARTED), None)
        came = last.metrics.get("from_step") if last is not None else None
        after = f", after step {int(came):,}" if came is not None else ""  # where the attempt before it stopped
        step = f" (step {last.step}{after})" if last is not None and last.step is not None else ""
        where = f", the last at line {last.line:,}{step}" if last is not None and last.line else ""
        times = "once" if again == 1 else f"{again} times"
        out.append(f"the run started again {times} (from its beginning: a new launch, fold or trial; or from an earlier "
                   f"checkpoint){where}: each attempt is judged on its own, and this report's step and state are the "
                   f"last one's{_stopped_short(result.tracker.events)}")
    if result.tracker.progress.step is None and result.tracker.store.metrics():  # metrics read, no step: not a log
        # of events alone (launches argparse refused), whose report says so
        out.append(NO_STEP)
    launch = result.tracker.stepless_launch
    if launch is not None:
        at = f" at line {launch.line:,}" if launch.line else ""
        out.append(f"a new launch began{at} and logged no step before the log ends: what came after it is that "
                   "launch's, before its first step; the step shown is the last of the launch before")
    early = _finished_early(result)
    if early:
        out.append(early)
    survived = result.tracker.survived
    if survived:
        n = result.tracker.survived_count
        first = survived[0]
        at = f" at line {first.line:,}" if first.line else ""
        errors = 'a fatal error' if n == 1 else f'{n} fatal errors'
        said = clip(one_line(first.message or first.event or ''), 200)
        if result.tracker.progress.step is None and result.tracker.state(result.end) == RunState.CRASHED:  # no
            # launch took a step and the last crashed too: none went on, each died in turn (a review's six launches
            # argparse refused read "the run went on after 5 fatal errors")
            out.append(f"{errors} before the last crash, none of them after a step (launches that failed in turn in the "
                       f"same log), the first{at}: {said}")
        else:
            out.append(f"the run went on after {errors} it printed (launches that failed before it in the same log, or "
                       f"errors it caught), the first{at}: {said}")
    return out


EARLY_SHARE = 0.9
"""A run that finished below this share of its stated total finished early (`_finished_early`)."""


def _finished_early(result: Replay) -> str | None:
    """A run its own trainer ended well short of the total it stated (below `EARLY_SHARE` of it: the HF Trainer's
    `Training completed.` at step 2,099 of 17,000, a LLaMA-Factory web UI's stop button or an early-stopping
    callback; Keras's `early stopping`): finished, as it says, and no warning, but `finished 2099/17000` with no
    word of the rest read as a run that had met its plan (a review)."""
    p = result.tracker.progress
    if result.tracker.state(result.end) != RunState.FINISHED or p.step is None or not p.total or p.logged_to_end:
        return None
    if p.step >= EARLY_SHARE * p.total:
        return None  # a planned count a rounding or a last partial batch away (998 of 1,000) is the plan met
    return (f"finished at step {p.step:,} of the {p.total:,} it planned: its trainer ended it early (an early stop, "
            "a stop from its callbacks or its user, or a limit of its own)")


def incomplete(result: Replay, signal: Record | None) -> str | None:
    """"incomplete: stopped at 145/16704" when the run stopped below its known total without finishing, else
    None. A 0-based log's last step is total - 1, and one that logs every k-th step from 0 (`i % 10 == 0`)
    logs its last below the total by up to k - 1: the next it would log is past the total (HRNet's loop
    ended `Iter:[490/495]` of its last epoch, then `Done`: a run read "incomplete", a review). `signal` is
    `signalled(result)`: a run with no total is incomplete only where a signal stopped it."""
    p = result.tracker.progress
    if p.step is None or result.tracker.state(result.end) == RunState.FINISHED:
        return None
    if not p.total:  # no total to fall short of: a signal that stopped it says it was cut short (a review's Ctrl-C'd
        return f"incomplete: stopped at step {p.step}" if signal is not None else None  # run of unknown epochs)
    if p.logged_to_end or p.step > 2 * p.total:
        return None
    return f"incomplete: stopped at {p.step}/{p.total}"


def _report(name: str, source: str, result: Replay, fired: list[Fired], unjudged: Sequence[str] = ()) -> str:
    t = result.tracker
    p = t.progress
    state = t.state(result.end)
    steps = f"step {p.step}" + (f"/{p.total}" if p.total else "") if p.step is not None else "no steps"
    verdict = {0: "OK", 1: "WARNING", 2: "CRITICAL"}[exit_code(fired)]
    if not measured(result) and not fired:
        verdict = "UNREAD"  # not OK: nothing here was judged (exit 3)
    words = _state_words(state)  # as `--json` says it; an incomplete run's warning line says how it stopped
    if t.records == 0:
        words = ""  # nothing read: no run that ended (a review read `ended` of an empty file as a run's end)
    lines = [f"{verdict:<8} {name}  ({source})  {steps}  {words + '  ' if words else ''}{t.records} records"]
    lines.extend(f"  warning  {warning}" for warning in [*warnings(result), *unjudged])
    lines.extend(f"  note     {note}" for note in notes(result))
    if not fired:
        lines.append("         no alerts")
    word = step_word(result.tracker)
    for f in fired:
        labels = " ".join(f"{k}={v}" for k, v in sorted(f.labels.items()))
        end = "still firing at the end" if f.firing_at_end else "cleared before the end" if f.cleared else "resolved"
        times = f", {f.times}×" if f.times > 1 else ""
        where = "; ".join(part for part in (_span(f, word) + times, end) if part)
        lines.append(f"  {f.severity!s:<8} {f.rule:<16} {labels:<24} {where}")
        lines.append(f"           {f.summary}")
        if f.cleared_why:
            lines.append(f"           cleared: {f.cleared_why}")
    return "\n".join(lines)


def _stopped_how(sig: Record | None) -> str:
    """Why an incomplete run stopped, as far as its log says: a signal it printed after its last step (Ctrl-C's
    `KeyboardInterrupt`, `Received SIGTERM`), else nothing (a review: a run stopped by Ctrl-C at 829 of 1954
    read only "no finish line", its `KeyboardInterrupt` parsed and never told)."""
    if sig is not None:
        said = sig.message or "a signal"
        return f" (interrupted: {visible(said)[:120]})"
    return " (no finish line, and the log ends there)"


def signalled(result: Replay) -> Record | None:
    """The signal the log printed that stopped the run: after its last step, or with no more than its last gasp
    after it (`_no_step_on_after`); else None."""
    t = result.tracker
    sig = next((e for e in reversed(t.events) if e.event == Event.SIGNAL), None)
    if sig is not None and (t.last_step_at is None or sig.t >= t.last_step_at or _no_step_on_after(t, sig.t)):
        return sig
    return None


STEPS_ON_AFTER_SIGNAL = 2
"""Logging strides a run may step on after a signal it printed that still stopped it: the HF Trainer's
buffered loss dict comes after Ctrl-C's traceback, at the bar's step, two past the last dict before it."""


def _no_step_on_after(t: RunTracker, when: float) -> bool:
    """Whether no step record after `when` went more than `STEPS_ON_AFTER_SIGNAL` strides past the newest
    before it: what came after a signal was its last gasp (an HF run stopped by Ctrl-C at 2102 read "no finish
    line", its `KeyboardInterrupt` told only by `tail`: a review), not a run that caught it and went on."""
    pulse = step_pulse(t, SIGNAL_LOOKBACK)
    if pulse is None:
        return False
    before, after = pulse.x[pulse.t <= when], pulse.x[pulse.t > when]
    if not len(before):
        return False
    return not len(after) or float(after.max()) <= float(before.max()) + STEPS_ON_AFTER_SIGNAL * t.progress.stride


SIGNAL_LOOKBACK = 4096
"""Step records looked back over for those before and after a signal."""


def _attempt(restarts: Sequence[float], at: float) -> int:
    """The attempt (1 the first) under way at replay time `at`: a restart at `at` is applied after the rules looked."""
    return 1 + sum(t < at for t in restarts)


def _span(f: Fired, word: str) -> str:
    """Where an alert fired: `first step 2132, last step 5366` (`record` for a run whose lines state no step); nothing
    for an alert at no step (a time-limit kill of a run whose lines state none read `no records` of 81: a review).
    In a run that started again, of which attempt: `first step 7 of attempt 2, last step 6 of attempt 3`, or
    `first step 3, last step 8, attempt 1` when both are of one."""
    if f.first_step is None and f.last_step is None:
        return ""
    first, last = f"first {word} {_step(f.first_step)}", f"last {word} {_step(f.last_step)}"
    if f.attempts is None:
        return f"{first}, {last}"
    if f.attempts[0] == f.attempts[1]:
        return f"{first}, {last}, attempt {f.attempts[0]}"
    return f"{first} of attempt {f.attempts[0]}, {last} of attempt {f.attempts[1]}"


def _step(step: int | None) -> str:
    return "unknown" if step is None else str(step)


def _state_words(state: RunState) -> str:
    return {RunState.FINISHED: "finished", RunState.CRASHED: "crashed"}.get(state, "ended")


def _json(name: str, source: str, result: Replay, fired: list[Fired], unjudged: Sequence[str] = ()) -> dict[str, Any]:
    p = result.tracker.progress
    return {
        "type": "check", "run": name, "source": source, "step": p.step, "total_steps": p.total,
        "state": _state_words(result.tracker.state(result.end)),  # as the text report says it
        "exit_code": 3 if not measured(result) and not fired else exit_code(fired),
        "warnings": [*warnings(result), *unjudged],
        "notes": notes(result),
        "alerts": [{"rule": f.rule, "severity": str(f.severity), "labels": f.labels, "summary": f.summary,
                    "first_step": f.first_step, "last_step": f.last_step, "times": f.times,
                    "attempts": None if f.attempts is None else list(f.attempts),
                    "firing_at_end": f.firing_at_end, "cleared_before_end": f.cleared, "cleared_why": f.cleared_why,
                    # a number, NaN/Inf as "nan"/"inf", as `tail --json` and the alert payload give it (it was
                    # fmt_value's display text: "NaN", "2820", "6.031")
                    "value": json_number(f.value) if isinstance(f.value, float) else f.value}
                   for f in fired],
    }

