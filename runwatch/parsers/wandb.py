"""W&B runs as Records: the `.wandb` transaction log, and history rows of the online API.

`WandbDecoder` (batch kind "wandb") gets the raw payloads of whole
transaction-log records (`runwatch.watcher.wandb_file` reads the format) and
decodes them with the protobuf class the `wandb` package ships
(`wandb_proto` loads it); `WandbRowsDecoder` (kind "wandb_rows") gets the
row dicts of `Run.scan_history()` and a run-state item. Both map the same way:

- A history row is a STEP record, or EVAL when every metric in it is an
  evaluation metric; `wandb_history` has the rules for keys, values and the step.
- Config, summary, run and machine details become the run's metadata: an
  EVENT record `run_meta` (`wandb_meta`). One per `feed` at most, when the
  config or run details changed or a summary key that is not a mirror of a
  history key did (`best_val_loss`); a final one, with the whole summary, at
  the exit record and at `flush`.
- The exit record gives FINISHED (exit code 0) or EXIT with `exit_code`.
- `stats` records (W&B's own system metrics of the training machine) become
  EVENT `system_stats` records, `gpu.0.gpu` → `gpu0_util` and so on (`wandb_stats`).
- Console output the SDK captured (`output_raw`) goes through the crash-event
  detector (tracebacks, OOM, NCCL…; `wandb_console`); its last lines are kept in `console`.
- `wandb.alert()` calls become EVENT `wandb_alert`.
- Records the log gives no time of their own (exit, alert, metadata) carry the
  latest time it did state (a row's `_timestamp`, stats, console), so a run
  replayed later ends when it ended, not when it was read.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from runwatch.model import Event, Kind, Record
from runwatch.parsers.base import ItemDecoder
from runwatch.parsers.wandb_console import Console
from runwatch.parsers.wandb_history import HistoryMapper, flat_row, item_key, json_number, typed_number
from runwatch.parsers.wandb_meta import RunMeta, flat_config, json_value
from runwatch.parsers.wandb_proto import record_class
from runwatch.parsers.wandb_stats import SYSTEM_STATS, stats_name

WANDB_ALERT = "wandb_alert"
STATE_KEY = "_runwatch_run_state"
"""Marks the run-state item of a `wandb_rows` batch (runwatch.watcher.wandb_online writes it)."""
TERMINAL_STATES = frozenset({"finished", "crashed", "failed", "killed"})
CONSOLE_LINES = 2000


class WandbDecoder(ItemDecoder):
    """Raw `.wandb` record payloads (bytes) → Records; see the module notes for the mapping."""

    kind = "wandb"

    def __init__(self) -> None:
        self._cls: Any = None
        self.errors = 0
        """Payloads that were no valid Record protobuf (counted, skipped)."""
        self.console: deque[str] = deque(maxlen=CONSOLE_LINES)
        """The last console lines of the run (what the SDK captured of stdout/stderr)."""
        self._reset()

    def _reset(self) -> None:
        self._history = HistoryMapper()
        self._meta = RunMeta(json_value)
        self._streams: dict[int, Console] = {}
        self._exited = False
        self._t = 0.0  # the last batch's read time
        self._when = 0.0  # the latest time the log itself stated (history, stats, console)
        self._maybe_own: set[str] = set()  # summary keys not (yet) seen in history

    def feed(self, items: list[object], t: float) -> list[Record]:
        if self._cls is None:
            self._cls = record_class()
        parse = self._cls.FromString
        self._t = t
        out: list[Record] = []
        for payload in items:
            if not isinstance(payload, bytes | bytearray | memoryview):
                continue
            try:
                rec = parse(payload)
            except Exception:  # protobuf's DecodeError and friends: a damaged payload is input, not a bug
                self.errors += 1
                continue
            kind = rec.WhichOneof("record_type")
            if kind == "history":
                row = self._history.row(self._history_pairs(rec.history.item), t, rec.num)
                if row is not None:
                    out.append(row)
                    self._when = row.t
            elif kind == "summary":
                self._summary(rec.summary)
            elif kind is not None and (handler := _HANDLERS.get(kind)) is not None:
                out.extend(handler(self, getattr(rec, kind), rec.num, self._when or t))
        if self._maybe_own:  # summary keys the run set itself, not mirrors of the batch's history rows
            self._meta.dirty |= any(k not in self._history.keys for k in self._maybe_own)
            self._maybe_own.clear()
        if self._meta.dirty:
            out.append(self._meta.record(self._when or t))
        return out

    def flush(self) -> list[Record]:
        when = self._when or self._t
        out = [replace(rec, t=rec.t or when) for stream in self._streams.values() for rec in stream.flush()]
        if self._meta.dirty or self._meta.summary_changed:
            out.append(self._meta.record(when))
        return out

    # -- record types --------------------------------------------------------

    @staticmethod
    def _history_pairs(items: Iterable[Any]) -> list[tuple[str, float]]:
        pairs = []
        for it in items:
            text = it.value_json
            value = json_number(text) if text else typed_number(it)
            if value is not None:
                pairs.append((item_key(it), value))
        return pairs

    def _summary(self, summary: Any) -> None:
        mirrors, values, maybe = self._history.keys, self._meta.summary, self._maybe_own
        for it in summary.update:
            key = item_key(it)
            values[key] = it.value_json
            if key not in mirrors and key[:1] != "_":
                maybe.add(key)
        for it in summary.remove:
            values.pop(item_key(it), None)
        self._meta.summary_changed = True

    def _config(self, config: Any) -> None:
        for it in config.update:
            self._meta.set_config(item_key(it), it.value_json, self._history)
        for it in config.remove:
            self._meta.config.pop(item_key(it), None)
            self._meta.dirty = True

    def _on_run(self, run: Any, num: int, t: float) -> list[Record]:
        info = {
            "id": run.run_id, "entity": run.entity, "project": run.project, "name": run.display_name,
            "group": run.run_group, "job_type": run.job_type, "notes": run.notes, "host": run.host,
            "tags": list(run.tags), "sweep_id": run.sweep_id, "resumed": run.resumed,
            "start_time": run.start_time.seconds + run.start_time.nanos / 1e9 if run.HasField("start_time") else None,
        }
        self._meta.run.update({k: v for k, v in info.items() if v not in ("", None, [])})
        self._meta.dirty = True
        self._config(run.config)
        return []

    def _on_config(self, config: Any, num: int, t: float) -> list[Record]:
        self._config(config)
        return []

    def _on_environment(self, env: Any, num: int, t: float) -> list[Record]:
        info: dict[str, Any] = {
            "os": env.os, "python": env.python, "host": env.host, "program": env.program,
            "cpu_count": env.cpu_count, "gpu": env.gpu_type, "gpu_count": env.gpu_count,
            "cuda_version": env.cuda_version,
            "memory_total": env.memory.total if env.HasField("memory") else 0,
            "gpu_nvidia": [{"name": g.name, "memory_total": g.memory_total} for g in env.gpu_nvidia],
        }
        self._meta.environment.update({k: v for k, v in info.items() if v not in ("", 0, [])})
        self._meta.dirty = True
        return []

    def _on_stats(self, stats: Any, num: int, t: float) -> list[Record]:
        when = stats.timestamp.seconds + stats.timestamp.nanos / 1e9 if stats.HasField("timestamp") else t
        self._when = max(self._when, when)
        metrics = {stats_name(it.key): v for it in stats.item if (v := json_number(it.value_json)) is not None}
        for index, gpu in enumerate(self._meta.environment.get("gpu_nvidia", ())):
            if gpu.get("memory_total") and f"gpu{index}_util" in metrics:
                metrics.setdefault(f"gpu{index}_mem_total", float(gpu["memory_total"]))
        return [Record(Kind.EVENT, t=when, metrics=metrics, event=SYSTEM_STATS, line=num)] if metrics else []

    def _on_metric(self, metric: Any, num: int, t: float) -> list[Record]:
        if metric.step_metric:
            self._history.define_step(metric.step_metric)
        return []

    def _on_output(self, output: Any, num: int, t: float) -> list[Record]:
        stream = self._streams.get(output.output_type)
        if stream is None:
            stream = self._streams[output.output_type] = Console(self.console)
        when = output.timestamp.seconds + output.timestamp.nanos / 1e9 if output.HasField("timestamp") else t
        self._when = max(self._when, when)
        return [replace(rec, t=rec.t or when, line=num) for rec in stream.feed(output.line)]

    def _on_alert(self, alert: Any, num: int, t: float) -> list[Record]:
        text = f"[{alert.level or 'INFO'}] {alert.title}: {alert.text}".strip()
        return [Record(Kind.EVENT, t=t, event=WANDB_ALERT, message=text[:500], line=num)]

    def _on_exit(self, exit_: Any, num: int, t: float) -> list[Record]:
        if self._exited:
            return []
        self._exited = True
        out = [replace(rec, t=rec.t or t, line=rec.line or num)
               for stream in self._streams.values() for rec in stream.flush()]
        out.append(self._meta.record(t, num))
        code = exit_.exit_code
        metrics = {"exit_code": float(code), "runtime": float(exit_.runtime)}
        if code == 0:
            out.append(Record(Kind.EVENT, t=t, metrics=metrics, event=Event.FINISHED,
                              message="W&B run finished (exit code 0)", line=num))
        else:
            out.append(Record(Kind.EVENT, t=t, metrics=metrics, event=Event.EXIT,
                              message=f"W&B run exited with code {code}", line=num))
        return out

    def _on_header(self, header: Any, num: int, t: float) -> list[Record]:
        if self._meta.run or self._exited:  # a new run's log after another in the same source
            self._reset()
        return []


_Handler = Callable[[WandbDecoder, Any, int, float], list[Record]]
_HANDLERS: dict[str, _Handler] = {
    "run": WandbDecoder._on_run,
    "config": WandbDecoder._on_config,
    "environment": WandbDecoder._on_environment,
    "stats": WandbDecoder._on_stats,
    "metric": WandbDecoder._on_metric,
    "output_raw": WandbDecoder._on_output,
    "output": WandbDecoder._on_output,
    "alert": WandbDecoder._on_alert,
    "exit": WandbDecoder._on_exit,
    "header": WandbDecoder._on_header,
}


class WandbRowsDecoder(ItemDecoder):
    """Rows of the online API's `scan_history()` and run-state items → Records.

    A state item is a dict with `STATE_KEY` (the run's state) and optionally
    `config`, `summary` and `run` dicts. A terminal state ends the run:
    finished → FINISHED; failed and crashed → EXIT with `exit_code` 1 (W&B
    does not say which non-zero code); killed → KILLED.
    """

    kind = "wandb_rows"

    def __init__(self) -> None:
        self._history = HistoryMapper()
        self._meta = RunMeta(lambda v: v)
        self._ended = False
        self._said: tuple[str, str] = ("", "")
        self._t = 0.0

    def feed(self, items: list[object], t: float) -> list[Record]:
        self._t = t
        out: list[Record] = []
        for item in items:
            if not isinstance(item, Mapping):
                continue
            if STATE_KEY in item:
                out.extend(self._state(item, t))
            elif (rec := self._history.row(flat_row(item), t)) is not None:
                out.append(rec)
        return out

    def flush(self) -> list[Record]:
        return [self._meta.record(self._t)] if self._meta.dirty or self._meta.summary_changed else []

    def _state(self, item: Mapping[str, Any], t: float) -> list[Record]:
        meta = self._meta
        for key, dest in (("run", meta.run), ("environment", meta.environment)):
            if isinstance(item.get(key), Mapping) and item[key] != dest:
                dest.clear()
                dest.update(item[key])
                meta.dirty = True
        said = (_dump(item.get("config")), _dump(item.get("summary")))
        if said[0] != self._said[0] and isinstance(item.get("config"), Mapping):
            for key, value in flat_config(item["config"]):
                meta.set_config(key, value, self._history)
        if said[1] != self._said[1] and isinstance(item.get("summary"), Mapping):
            meta.summary.clear()
            for key, value in item["summary"].items():
                meta.set_summary(str(key), value, self._history.keys)
        self._said = said
        state = str(item.get(STATE_KEY, "")).lower()
        terminal = state in TERMINAL_STATES and not self._ended
        out = [meta.record(t)] if meta.dirty or terminal else []
        if terminal:
            self._ended = True
            out.append(_terminal(state, t))
        return out


def _terminal(state: str, t: float) -> Record:
    message = f"W&B reports the run {state}"
    if state == "finished":
        return Record(Kind.EVENT, t=t, metrics={"exit_code": 0.0}, event=Event.FINISHED, message=message)
    if state == "killed":
        return Record(Kind.EVENT, t=t, event=Event.KILLED, message=message)
    return Record(Kind.EVENT, t=t, metrics={"exit_code": 1.0}, event=Event.EXIT,
                  message=message + " (non-zero exit; W&B does not say which code)")


def _dump(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)

