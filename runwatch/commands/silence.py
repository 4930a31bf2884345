"""`runwatch silence`: mute a rule (for a run) for a while; list and expire silences.

Silences live in the state dir, shared with a running `runwatch watch`, which
picks them up at its next tick; the CLI finds that dir as the daemon does
(`--state-dir`, else `--config`'s `[state] dir`, else the default).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TextIO

from runwatch.alerts.silences import SilenceBook
from runwatch.alerts.store import AlertStore, StateDir
from runwatch.durations import format_duration, human_duration, parse_duration
from runwatch.errors import BadValueError, UsageError


def run_silence(*, rule: str | None, run: str | None, duration: str | None, list_: bool,
                expire: str | None, comment: str, state_dir: Path | None, out: TextIO) -> int:

    book = SilenceBook(AlertStore(StateDir(state_dir)))
    now = time.time()
    if list_:
        return _list(book, now, out)
    if expire:
        try:
            s = book.expire(expire, now)
        except BadValueError as e:  # an ambiguous id prefix
            raise UsageError(str(e)) from None
        if s is None:
            raise UsageError(f"no silence with id {expire!r} (see `runwatch silence --list`)")
        out.write(f"expired {s.id}\n")
        return 0
    if not rule or not duration:
        raise UsageError("give RULE and --for DURATION (or --list, or --expire ID)")
    try:
        seconds = parse_duration(duration)
    except BadValueError as e:
        raise UsageError(f"--for: {e}") from None
    from runwatch.alerts.rules import all_rules

    if rule not in ("*", "all") and rule not in all_rules():
        raise UsageError(f"unknown rule {rule!r} (see `runwatch rules`)")
    s = book.add(None if rule in ("*", "all") else rule, {"run": run} if run else {}, seconds, now,
                 comment=comment, created_by="runwatch silence")
    out.write(f"silenced {rule}{f' for run {run}' if run else ''} for {format_duration(seconds)} "
              f"(until {time.strftime('%Y-%m-%d %H:%M', time.localtime(s.ends_at))}); id {s.id}\n")
    return 0


def _list(book: SilenceBook, now: float, out: TextIO) -> int:
    silences = book.list(now)
    if not silences:
        out.write("no active silences\n")
        return 0
    out.write(f"{'id':<10} {'rule':<16} {'matchers':<24} {'ends in':>8}  comment\n")
    for s in silences:
        matchers = " ".join(f"{m.name}={m.value}" for m in s.matchers) or "-"
        out.write(f"{s.id:<10} {s.rule or '*':<16} {matchers:<24} {human_duration(s.ends_at - now):>8}  "
                  f"{s.comment}\n")
    return 0
