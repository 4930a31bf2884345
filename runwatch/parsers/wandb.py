"""W&B runs as Records: the `.wandb` transaction log, and history rows of the online API.

`WandbDecoder` (batch kind "wandb") gets the raw payloads of whole
transaction-log records (`runwatch.watcher.wandb_file` reads the format) and
decodes them with the protobuf classes the `wandb` package ships;
`WandbRowsDecoder` (kind "wandb_rows") gets the row dicts of
`Run.scan_history()` and a run-state item. Both map the same way:

- A history row is a STEP record, or EVAL when every metric in it is an
  evaluation metric (`eval/*`, `val/*`, `test/*`). Keys are `key`, or
  `nested_key` joined with "." (how W&B names logged nested dicts). Values are
  JSON numbers; "NaN", "Infinity" and "-Infinity" are kept as float NaN/Inf;
  strings, booleans, null, media and other objects are not metrics. Newer
  SDKs' typed values (`number`, `integer`) count as well.
- `_step` is the step, unless the run defined a step metric
  (`define_metric("*", step_metric=...)`, as Lightning's `trainer/global_step`)
  or logs `train/global_step` (Hugging Face): those are the optimizer step,
  while `_step` counts `log()` calls. `_runtime` → `elapsed`, `_timestamp` → `t`;
  `_wandb*` keys are W&B's own. Every other key goes through the spelling rules
  all formats share (`pydict.metric_name`): `train/loss` → loss, `eval/loss` and
  `val/loss` → val_loss, `train/grad_norm` → grad_norm, `train/learning_rate`
  → lr, `train/epoch` → epoch; the rest are snake_cased, `/` and `.` becoming
  `_` (`perf/tokens_per_sec` → perf_tokens_per_sec, `eval/runtime` → eval_runtime).
- Config, summary, run and machine details become the run's metadata: an
  EVENT record `run_meta` whose message is strict JSON `{"run", "config",
  "summary", "environment"}` (`run_meta()` reads it back). One per `feed` at
  most, when the config or run details changed or a summary key that is not a
  mirror of a history key did (`best_val_loss`); a final one, with the whole
  summary, at the exit record and at `flush`. A positive `max_steps`-like
  config value becomes `total_steps` of the step records.
- The exit record gives FINISHED (exit code 0) or EXIT with `exit_code`.
- `stats` records (W&B's own system metrics of the training machine) become
  EVENT `system_stats` records, `gpu.0.gpu` → `gpu0_util` and so on (`STATS_NAMES`);
  `system_sample()` turns one into the SystemSample the GPU view draws.
- Console output the SDK captured (`output_raw`) goes through the crash-event
  detector (tracebacks, OOM, NCCL…); its last lines are kept in `console`.
- `wandb.alert()` calls become EVENT `wandb_alert`.
- Records the log gives no time of their own (exit, alert, metadata) carry the
  latest time it did state (a row's `_timestamp`, stats, console), so a run
  replayed later ends when it ended, not when it was read.

Pure: no I/O, no clock. The protobuf classes are loaded on first use from the
serialized descriptors inside the wandb package's generated modules, without
importing `wandb` itself (which takes about a second); when that fails, or
`wandb` is already imported, `wandb.proto.wandb_internal_pb2` is used.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import math
import re
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from runwatch.model import Event, GpuSample, HostSample, Kind, Record, SystemSample
from runwatch.parsers.base import ItemDecoder
from runwatch.parsers.events import EventDetector
from runwatch.parsers.pydict import is_eval_metric, metric_name, snake

RUN_META = "run_meta"
SYSTEM_STATS = "system_stats"
WANDB_ALERT = "wandb_alert"
STATE_KEY = "_runwatch_run_state"
"""Marks the run-state item of a `wandb_rows` batch (runwatch.watcher.wandb_online writes it)."""
TERMINAL_STATES = frozenset({"finished", "crashed", "failed", "killed"})
STEP_METRICS = ("train/global_step", "trainer/global_step")
"""Logged optimizer steps that beat `_step` even without a `define_metric`."""
TOTAL_KEYS = ("total_steps", "max_steps", "num_training_steps", "train_iters", "max_iters", "num_iterations")
CONSOLE_LINES = 2000
MAX_META_TEXT = 1000
"""Longer text values in config and summary are cut (a logged document is no run metadata)."""
MAX_PENDING_CONSOLE = 64 * 1024

_STEP, _TIME, _SKIP = "\0step", "\0time", "\0skip"
_NOT_JUDGED = frozenset({"epoch", "elapsed"})


# ── protobuf classes ─────────────────────────────────────────────────────────

_record_cls: Any = None
_load_lock = threading.Lock()
_SERIALIZED = re.compile(rb"AddSerializedFile\((b'(?:[^'\\\n]|\\.)*')\)")


def record_class() -> Any:
    """`wandb_internal.Record`; ImportError (saying what to install) where wandb is missing."""
    global _record_cls
    with _load_lock:
        if _record_cls is None:
            _record_cls = _load_record_class()
        return _record_cls


def _load_record_class() -> Any:
    loaded = sys.modules.get("wandb.proto.wandb_internal_pb2")
    if loaded is None:
        try:
            return _isolated_record_class()
        except Exception:  # an unexpected layout of the wandb package: take the slow, sure way
            pass
    try:
        from wandb.proto import wandb_internal_pb2
    except ImportError as exc:
        raise ImportError("reading W&B runs needs the wandb package: pip install 'runwatch[wandb]'") from exc
    return wandb_internal_pb2.Record


def _isolated_record_class() -> Any:
    """Build the Record class in a private descriptor pool from wandb's generated `*_pb2.py` files."""
    import google.protobuf
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    spec = importlib.util.find_spec("wandb")  # locates the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("wandb is not installed")
    major = google.protobuf.__version__.split(".")[0]
    gen = Path(next(iter(spec.submodule_search_locations))) / "proto" / f"v{major}"
    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()

    def add(name: str) -> None:
        if name in added:
            return
        added.add(name)
        if name.startswith("google/protobuf/"):
            module = importlib.import_module("google.protobuf." + Path(name).stem + "_pb2")
            serialized = module.DESCRIPTOR.serialized_pb
        else:
            match = _SERIALIZED.search((gen / (Path(name).stem + "_pb2.py")).read_bytes())
            if match is None:
                raise ImportError(f"no serialized descriptor in {gen} for {name}")
            serialized = ast.literal_eval(match.group(1).decode("ascii"))
        for dep in descriptor_pb2.FileDescriptorProto.FromString(serialized).dependency:
            add(dep)
        pool.AddSerializedFile(serialized)

    add("wandb/proto/wandb_internal.proto")
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("wandb_internal.Record"))


# ── values and names ─────────────────────────────────────────────────────────


def json_number(text: str) -> float | None:
    """A `value_json` as a metric: JSON numbers and NaN/±Infinity; None for anything else."""
    try:
        return float(text)  # also reads "NaN", "Infinity", "-Infinity"
    except ValueError:
        return None


def _typed_number(item: Any) -> float | None:
    """The typed value newer SDKs write instead of `value_json` (`x_history_value_encoding="typed"`)."""
    which = item.WhichOneof("value")
    if which == "number" or which == "integer":
        return float(getattr(item, which))
    if which == "json":
        return json_number(item.json)
    return None


def _item_key(item: Any) -> str:
    """A history/summary/config item's name: its `nested_key` parts joined with ".", or its `key`."""
    nested = item.nested_key
    if len(nested) == 1:
        return nested[0]  # what wandb 0.31 writes for every plain key
    return ".".join(nested) if nested else item.key


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _strict(value: Any, depth: int = 0) -> Any:
    """JSON-safe copy: non-finite floats as "nan"/"inf"/"-inf" (DESIGN §2), odd objects as text."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return value if len(value) <= MAX_META_TEXT else value[:MAX_META_TEXT] + "…"
    if value is None or isinstance(value, int | bool):
        return value
    if depth > 32:
        return "…"
    if isinstance(value, Mapping):
        return {str(k): _strict(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v, depth + 1) for v in value]
    return str(value)


def _name(key: str) -> str:
    if key == "_step":
        return _STEP
    if key == "_timestamp":
        return _TIME
    if key == "_runtime":
        return "elapsed"
    if key.startswith("_wandb") or not key:
        return _SKIP
    return metric_name(key) or _SKIP


def run_meta(rec: Record) -> dict[str, Any] | None:
    """The metadata a `run_meta` record carries, as a dict (None for any other record)."""
    if rec.event != RUN_META or not rec.message:
        return None
    try:
        meta = json.loads(rec.message)
    except ValueError:
        return None
    return meta if isinstance(meta, dict) else None


# ── history rows → step records ──────────────────────────────────────────────


class HistoryMapper:
    """Turns one history row (key, value pairs) into a STEP/EVAL record; shared by both decoders."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self.step_keys: list[str] = list(STEP_METRICS)
        self.keys: set[str] = set()
        """Every history key seen: summary keys among these are mirrors, not news."""
        self.total_steps: int | None = None

    def define_step(self, key: str) -> None:
        """A step metric the run defined: it beats the built-in ones."""
        if key and self.step_keys[0] != key:
            if key in self.step_keys:
                self.step_keys.remove(key)
            self.step_keys.insert(0, key)

    def row(self, pairs: Iterable[tuple[str, float]], t: float, line: int = 0) -> Record | None:
        names, keys = self._names, self.keys
        metrics: dict[str, float] = {}
        found: dict[str, float] = {}
        step = stamp = None
        for key, value in pairs:
            name = names.get(key)
            if name is None:
                name = names[key] = _name(key)
                keys.add(key)
            if name == _STEP:
                step = value
            elif name == _TIME:
                stamp = value
            elif name != _SKIP:
                if key in self.step_keys:
                    found[key] = value
                else:
                    metrics.setdefault(name, value)
        for key in self.step_keys:
            if key in found:
                step = found[key]
                break
        if not metrics or len(metrics) == 1 and "elapsed" in metrics:
            return None
        judged = [n for n in metrics if n not in _NOT_JUDGED]
        kind = Kind.EVAL if judged and all(is_eval_metric(n) for n in judged) else Kind.STEP
        return Record(
            kind,
            step=int(step) if step is not None and math.isfinite(step) else None,
            total_steps=self.total_steps,
            t=stamp if stamp is not None and math.isfinite(stamp) and stamp > 0 else t,
            metrics=metrics,
            line=line,
        )


class RunMeta:
    """Config, summary, run and machine details of one run, and whether they changed since last said."""

    def __init__(self, decode: Callable[[Any], Any]) -> None:
        self._decode = decode
        self.run: dict[str, Any] = {}
        self.config: dict[str, Any] = {}
        self.summary: dict[str, Any] = {}
        self.environment: dict[str, Any] = {}
        self.dirty = False
        """Something worth saying at once changed (config, run details, a summary key of its own)."""
        self.summary_changed = False

    def set_config(self, key: str, value: Any, mapper: HistoryMapper) -> None:
        if key.startswith("_wandb"):
            return
        self.config[key] = value
        self.dirty = True
        if key.split(".")[-1] in TOTAL_KEYS:
            total = self._decode(value)
            if isinstance(total, int | float) and not isinstance(total, bool) and 0 < total < 1e15:
                mapper.total_steps = int(total)

    def set_summary(self, key: str, value: Any, mirrors: set[str]) -> None:
        self.summary[key] = value
        self.summary_changed = True
        if key not in mirrors and not key.startswith("_"):
            self.dirty = True

    def record(self, t: float, line: int = 0) -> Record:
        self.dirty = self.summary_changed = False
        body = {
            "run": self.run,
            "config": {k: self._decode(v) for k, v in self.config.items()},
            "summary": {k: self._decode(v) for k, v in self.summary.items() if not k.startswith("_wandb")},
            "environment": self.environment,
        }
        message = json.dumps(_strict(body), separators=(",", ":"), sort_keys=True)
        return Record(Kind.EVENT, t=t, event=RUN_META, message=message, line=line)


# ── system metrics ───────────────────────────────────────────────────────────

STATS_NAMES = {
    "gpu": "util", "memory": "mem_util", "memoryAllocated": "mem_percent", "memoryAllocatedBytes": "mem_used",
    "memoryTotal": "mem_total", "temp": "temp_c", "powerWatts": "power_w",
    "enforcedPowerLimitWatts": "power_limit_w", "powerPercent": "power_percent", "smClock": "sm_clock_mhz",
    "graphicsClock": "graphics_clock_mhz", "memoryClock": "mem_clock_mhz",
    "correctedMemoryErrors": "ecc_corrected", "uncorrectedMemoryErrors": "ecc_uncorrected",
    "fanSpeed": "fan_percent",
}
"""W&B's per-GPU stats (`gpu.<i>.<name>`) → runwatch's `gpu<i>_<name>`; others are snake_cased."""
_HOST_NAMES = {
    "cpu": "proc_cpu_percent", "memory_percent": "host_mem_percent",
    "proc.memory.availableMB": "host_mem_available_mb", "proc.memory.rssMB": "proc_rss_mb",
    "proc.memory.percent": "proc_mem_percent", "proc.cpu.threads": "proc_threads",
}
_GPU_KEY = re.compile(r"^gpu\.(process\.)?(\d+)\.(\w+)$")
_CPU_KEY = re.compile(r"^cpu\.(\d+)\.cpu_percent$")
_GPU_METRIC = re.compile(r"^gpu(\d+)_([a-z_]+)$")


def stats_name(key: str) -> str:
    """`gpu.0.gpu` → `gpu0_util`, `gpu.process.0.temp` → `gpu0_process_temp_c`, `cpu.3.cpu_percent` → `cpu3_percent`."""
    if m := _GPU_KEY.match(key):
        field = STATS_NAMES.get(m[3]) or snake(m[3])
        return f"gpu{m[2]}_{'process_' if m[1] else ''}{field}"
    if m := _CPU_KEY.match(key):
        return f"cpu{m[1]}_percent"
    return _HOST_NAMES.get(key) or snake(key)


def system_sample(rec: Record) -> SystemSample | None:
    """The SystemSample a `system_stats` record describes (the training machine's GPUs), for SystemState."""
    if rec.event != SYSTEM_STATS:
        return None
    fields: dict[int, dict[str, float]] = {}
    for name, value in rec.metrics.items():
        if m := _GPU_METRIC.match(name):
            fields.setdefault(int(m[1]), {})[m[2]] = value
    gpus = tuple(_gpu(index, f) for index, f in sorted(fields.items()))
    cores = [v for k, v in rec.metrics.items() if _is_core(k) and math.isfinite(v)]
    available = rec.metrics.get("host_mem_available_mb")
    host = HostSample(
        cpu_percent=sum(cores) / len(cores) if cores else None,
        mem_available=int(available * 2**20) if available is not None and math.isfinite(available) else None,
        cpus=len(cores) or None,
    )
    status = "remote: W&B system metrics of the training machine" if gpus else "unavailable: no GPU in W&B stats"
    return SystemSample(t=rec.t, gpus=gpus, gpu_status=status, host=host)


def _is_core(name: str) -> bool:
    return name.startswith("cpu") and name.endswith("_percent") and name[3:-8].isdigit()


def _gpu(index: int, f: dict[str, float]) -> GpuSample:
    def num(key: str) -> float | None:
        v = f.get(key)
        return v if v is not None and math.isfinite(v) else None

    def whole(key: str) -> int | None:
        v = num(key)
        return None if v is None else int(v)

    return GpuSample(
        index=index, util=num("util"), mem_util=num("mem_util"), mem_used=whole("mem_used"),
        mem_total=whole("mem_total"), temp_c=num("temp_c"), power_w=num("power_w"),
        power_limit_w=num("power_limit_w"), sm_clock_mhz=num("sm_clock_mhz") or num("graphics_clock_mhz"),
        ecc_corrected=whole("ecc_corrected"), ecc_uncorrected=whole("ecc_uncorrected"),
    )


# ── console output ───────────────────────────────────────────────────────────


class _Console:
    """Console text the SDK captured, in the pieces it was written, → lines → crash events."""

    def __init__(self, tail: deque[str]) -> None:
        self._pending = ""
        self._events = EventDetector()
        self._tail = tail

    def feed(self, text: str) -> list[Record]:
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()[-MAX_PENDING_CONSOLE:]
        return [rec for line in lines if (rec := self._line(line)) is not None]

    def flush(self) -> list[Record]:
        out = [rec] if self._pending and (rec := self._line(self._pending)) is not None else []
        self._pending = ""
        if (rec := self._events.flush()) is not None:
            out.append(rec)
        return out

    def _line(self, line: str) -> Record | None:
        if "\r" in line:  # progress bars redraw with \r: the last frame is the line
            line = next((p for p in reversed(line.split("\r")) if p.strip()), "")
        self._tail.append(line)
        return self._events.feed(line)


# ── the decoders ─────────────────────────────────────────────────────────────


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
        self._meta = RunMeta(_json_value)
        self._streams: dict[int, _Console] = {}
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
            value = json_number(text) if text else _typed_number(it)
            if value is not None:
                pairs.append((_item_key(it), value))
        return pairs

    def _summary(self, summary: Any) -> None:
        mirrors, values, maybe = self._history.keys, self._meta.summary, self._maybe_own
        for it in summary.update:
            key = _item_key(it)
            values[key] = it.value_json
            if key not in mirrors and key[:1] != "_":
                maybe.add(key)
        for it in summary.remove:
            values.pop(_item_key(it), None)
        self._meta.summary_changed = True

    def _config(self, config: Any) -> None:
        for it in config.update:
            self._meta.set_config(_item_key(it), it.value_json, self._history)
        for it in config.remove:
            self._meta.config.pop(_item_key(it), None)
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
            stream = self._streams[output.output_type] = _Console(self.console)
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
            elif (rec := self._history.row(_flat_row(item), t)) is not None:
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
            for key, value in _flat_config(item["config"]):
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


_NONFINITE = {"nan": math.nan, "infinity": math.inf, "-infinity": -math.inf, "inf": math.inf, "-inf": -math.inf}


def _row_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        return _NONFINITE.get(value.lower())
    return None


def _flat_row(row: Mapping[str, Any], prefix: str = "", depth: int = 0) -> Iterator[tuple[str, float]]:
    """A history row's numbers; nested dicts flattened with "." (media, `{"_type": …}`, skipped)."""
    for key, value in row.items():
        if isinstance(value, Mapping):
            if depth < 8 and "_type" not in value:
                yield from _flat_row(value, f"{prefix}{key}.", depth + 1)
        elif (number := _row_number(value)) is not None:
            yield f"{prefix}{key}", number


def _flat_config(config: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """The public API's config: `{"lr": {"value": 0.1}}` (raw form) or `{"lr": 0.1}` → ("lr", 0.1)."""
    for key, value in config.items():
        if isinstance(value, Mapping) and set(value) <= {"value", "desc"} and "value" in value:
            value = value["value"]
        yield str(key), value
