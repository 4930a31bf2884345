"""What runwatch knows about the machine: the latest system sample and short histories.

`SystemState.apply` takes each `SystemSample` from the sampler (on the
engine's worker, the single writer) and appends its numbers to `Series`
keyed by time: per GPU, per main/rank process, for the run's processes as a
whole (read rate, processes in disk sleep) and for the host. Rules read
bounded windows of these; snapshots carry the latest sample's typed parts,
which `processes_status` and `gpus_status` turn into the DESIGN §3 `process`
and `gpus` fields. A reading that was not available is not appended (absent,
not 0).

One state serves every run of an engine, so processes are attributed: the
engine says which sources each run reads (`attribute`), each process says
which of them it writes (`ProcessSample.sources`), and `processes_of(run)` is
a run's own; the run sums are kept per run. A process found writing none of
them (a `--pid`) is the run's only where the engine has one run: with two,
whose it is cannot be told, and it is no run's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from runwatch.model import (
    GpuSample,
    HostSample,
    ProcessRole,
    ProcessSample,
    ProcessState,
    StackDump,
    SystemSample,
)
from runwatch.state.series import Series

GPU_METRICS = ("util", "mem_used", "temp_c", "power_w", "sm_clock_mhz", "throttle_mask", "ecc_uncorrected")
PROCESS_METRICS = ("cpu_percent", "rss_bytes", "read_bps", "write_bps", "rchar_bps")
RUN_METRICS = ("rchar_bps", "read_bps", "disk_sleep", "alive")
"""Sums over the run's live processes; `disk_sleep`/`alive` count processes."""
HOST_METRICS = ("cpu_percent", "iowait_percent", "mem_available", "mem_available_percent", "swap_used",
                "swap_in_bps", "swap_out_bps")
NO_SAMPLE = "pending: no system sample yet"
STDIN = "-"
"""The source name of standard input (a writer into our stdin pipe names it so)."""


class SystemState:
    """The latest SystemSample plus time series for sparklines and rules.

    `keep` raw points per GPU/process series (512 × 2 s ≈ 17 min) and
    `run_keep` for the run- and host-wide ones, which rules compare over
    longer spans (a read rate before a stall began).
    """

    def __init__(self, keep: int = 512, run_keep: int = 2048, budget: int = 256) -> None:
        self._keep, self._run_keep, self._budget = keep, run_keep, budget
        self.latest: SystemSample | None = None
        self.samples = 0
        self.stacks: dict[int, StackDump] = {}
        """The newest Python stack dump of each process (taken when a run stalls; see watcher.stacks)."""
        self.stack_note = ""
        """Why there are no stacks at all (py-spy not installed), said once in a stall alert."""
        self._gpu: dict[tuple[int, str], Series] = {}
        self._proc: dict[tuple[int, str], Series] = {}
        self._run: dict[tuple[str | None, str], Series] = {}
        self._host: dict[str, Series] = {}
        self._gpu_first: dict[int, GpuSample] = {}
        self._sources_of: dict[str, frozenset[str]] = {}
        """Run name → the sources it reads, as processes name them (real paths; `-` for stdin)."""
        self._of_run: dict[str | None, tuple[ProcessSample, ...]] = {}
        """`processes_of` for the latest sample and attribution (emptied when either changes)."""

    # ── attribution ───────────────────────────────────────────────────────

    def attribute(self, run: str, source: str) -> None:
        """`run` reads `source` (a log path, a directory's file, `-` for stdin): its writers are the run's."""
        key = source if source == STDIN or "://" in source else os.path.realpath(source)
        had = self._sources_of.get(run, frozenset())
        if key not in had:
            self._sources_of[run] = had | {key}
            self._of_run = {}

    def processes_of(self, run: str | None) -> tuple[ProcessSample, ...]:
        """The latest sample's processes of `run`: those writing one of its sources, and those found
        writing none where `run` is the only run. Every process when no run was attributed anything
        (a state fed by hand) or `run` is None."""
        if run is None or not self._sources_of:
            return self.processes
        found = self._of_run.get(run)
        if found is None:
            mine = self._sources_of.get(run, frozenset())
            alone = len(self._sources_of) == 1 and run in self._sources_of
            found = self._of_run[run] = tuple(p for p in self.processes
                                              if (alone and not p.sources) or not mine.isdisjoint(p.sources))
        return found

    def writers_gone(self, run: str) -> bool:
        """Every process of `run` (those writing its sources) has exited, however it ended: nothing more
        comes of them, so a last line they left without `\\n` is whole (`FileFollower.writers_gone`). False
        while one lives, and when none is known (a writer on another host, one that ended before we came)."""
        mine = self.processes_of(run)
        return bool(mine) and not any(p.alive for p in mine)

    # ── feeding ───────────────────────────────────────────────────────────

    def apply(self, sample: SystemSample) -> None:
        self.latest = sample
        self._of_run = {}
        self.samples += 1
        t = sample.t
        for g in sample.gpus:
            self._apply_gpu(g, t)
        self._apply_processes(sample.processes, t)
        if sample.host is not None:
            self._apply_host(sample.host, t)

    def _apply_gpu(self, g: GpuSample, t: float) -> None:
        if not g.ok:
            return
        self._gpu_first.setdefault(g.index, g)
        for m in GPU_METRICS:
            _add(self._gpu, (g.index, m), getattr(g, m), t, self._keep, self._budget)

    def _apply_processes(self, procs: tuple[ProcessSample, ...], t: float) -> None:
        live = [p for p in procs if p.alive]
        for p in live:
            if p.role != ProcessRole.CHILD:
                for m in PROCESS_METRICS:
                    _add(self._proc, (p.pid, m), getattr(p, m), t, self._keep, self._budget)
        kept = {p.pid for p in procs}
        for key in [k for k in self._proc if k[0] not in kept]:
            del self._proc[key]
        for run in self._sources_of or (None,):
            mine = self.processes_of(run)
            if not mine:
                continue
            alive = [p for p in mine if p.alive]
            sums = {
                "rchar_bps": _sum(p.rchar_bps for p in alive), "read_bps": _sum(p.read_bps for p in alive),
                "disk_sleep": float(sum(p.state == ProcessState.DISK_SLEEP for p in alive)),
                "alive": float(len(alive)),
            }
            for m, v in sums.items():
                _add(self._run, (run, m), v, t, self._run_keep, self._budget)

    def _apply_host(self, h: HostSample, t: float) -> None:
        avail_pct = None
        if h.mem_total and h.mem_available is not None:
            avail_pct = 100.0 * h.mem_available / h.mem_total
        values = {"cpu_percent": h.cpu_percent, "iowait_percent": h.iowait_percent,
                  "mem_available": h.mem_available, "mem_available_percent": avail_pct, "swap_used": h.swap_used,
                  "swap_in_bps": h.swap_in_bps, "swap_out_bps": h.swap_out_bps}
        for m, v in values.items():
            _add(self._host, m, v, t, self._run_keep, self._budget)

    # ── reading ───────────────────────────────────────────────────────────

    @property
    def processes(self) -> tuple[ProcessSample, ...]:
        return () if self.latest is None else self.latest.processes

    @property
    def gpus(self) -> tuple[GpuSample, ...]:
        return () if self.latest is None else self.latest.gpus

    @property
    def gpu_status(self) -> str:
        """Why there are no GPUs, or "ok" (the DESIGN §3 `gpu_status`)."""
        return NO_SAMPLE if self.latest is None else self.latest.gpu_status

    @property
    def host(self) -> HostSample | None:
        return None if self.latest is None else self.latest.host

    def gpu_series(self, index: int, metric: str) -> Series | None:
        return self._gpu.get((index, metric))

    def process_series(self, pid: int, metric: str) -> Series | None:
        return self._proc.get((pid, metric))

    def run_series(self, metric: str, run: str | None = None) -> Series | None:
        """A sum over `run`'s live processes (`RUN_METRICS`); in a state no run was attributed anything
        (fed by hand), the sum over every process, whatever `run` is."""
        return self._run.get((run if self._sources_of else None, metric))

    def host_series(self, metric: str) -> Series | None:
        return self._host.get(metric)

    def gpu_first(self, index: int) -> GpuSample | None:
        """The first good reading of GPU `index` (a baseline: ECC counts from before we watched)."""
        return self._gpu_first.get(index)


    def run_gpus(self, run: str | None = None) -> tuple[GpuSample, ...]:
        """The GPUs `run` uses, as well as can be told.

        Those running one of its processes; when NVML names none of them (a
        container sees other pids) but we know the run's processes, every GPU
        but those running another run's processes; when we know no process of
        it, the GPUs running anything at all (an idle GPU of a machine that
        only reads a copied log is not the run's). Placeholders (lost GPUs) are
        included where the rest are.
        """
        pids = {p.pid for p in self.processes_of(run)}
        ours = tuple(g for g in self.gpus if any(q.pid in pids for q in g.processes))
        if ours:
            return ours
        if pids:
            others = {p.pid for p in self.processes} - pids
            return tuple(g for g in self.gpus if not any(q.pid in others for q in g.processes))
        return tuple(g for g in self.gpus if g.processes)

    def rank_of(self, run: str | None = None) -> dict[int, int]:
        """pid → rank for `run`'s processes whose environment named one."""
        return rank_of(self.processes_of(run))

    # ── status (DESIGN §3) ────────────────────────────────────────────────

    def host_status(self) -> dict[str, Any] | None:
        """The host for a status line (`"host"`: not in DESIGN §3 yet)."""
        h = self.host
        if h is None:
            return None
        out: dict[str, Any] = {
            "cpu_percent": _r(h.cpu_percent), "iowait_percent": _r(h.iowait_percent), "mem_total": h.mem_total,
            "mem_available": h.mem_available, "swap_total": h.swap_total, "swap_used": h.swap_used,
            "swap_in_bps": _r(h.swap_in_bps), "load": list(h.load) if h.load else None,
        }
        out["disks"] = [{"path": d.path, "free_bytes": d.free_bytes, "total_bytes": d.total_bytes,
                         **({"error": d.error} if d.error else {})} for d in h.disks]
        return out



def exited(procs: tuple[ProcessSample, ...]) -> list[ProcessSample]:
    """Main and rank processes that ended and were not replaced (a restarted rank, a new launcher)."""
    alive = {(q.role, q.rank) for q in procs if q.alive}
    alive_main = any(q.alive and q.role == ProcessRole.MAIN for q in procs)
    out = []
    for q in procs:
        if q.alive or q.role == ProcessRole.CHILD:
            continue
        if (q.role, q.rank) in alive or (q.role == ProcessRole.MAIN and q.rank is None and alive_main):
            continue
        out.append(q)
    return out


def trainers(procs: tuple[ProcessSample, ...]) -> list[ProcessSample]:
    """The live training processes (main and ranks) among `procs`."""
    return [p for p in procs if p.alive and p.role != ProcessRole.CHILD]


WRITER_LEFT_GRACE_S = 10.0
"""How long after its writers were seen gone a run's last step may still be received: lines they wrote
before they exited, read late (a follower's poll, a loaded machine). A step later than that came from
someone else (a restart not found yet)."""


def writers_left(procs: tuple[ProcessSample, ...], last_step_at: float | None) -> bool:
    """A run's training processes all exited, none with a failing code, after its last step: it ended
    (how well, the log says: a traceback is a crash, its total reached a finish). False while one lives,
    when one failed (the crash and process rules say so), or when none was ever known."""
    if trainers(procs) or last_step_at is None:
        return False
    gone = exited(procs)
    if not gone or any(q.exit_code not in (0, None) for q in gone):
        return False
    last_exit = max(q.ended_t or 0.0 for q in gone)
    return last_step_at <= last_exit + WRITER_LEFT_GRACE_S


def main_process(processes: tuple[ProcessSample, ...]) -> ProcessSample | None:
    """The process that speaks for the run (the status's `process`, the TUI's process line): a live main
    one, else the first main one."""
    mains = [p for p in processes if p.role == ProcessRole.MAIN]
    alive = [p for p in mains if p.alive]
    return alive[0] if alive else (mains[0] if mains else None)


def rank_of(processes: tuple[ProcessSample, ...]) -> dict[int, int]:
    """pid → rank for the processes whose environment named one."""
    return {p.pid: p.rank for p in processes if p.rank is not None}


def processes_status(processes: tuple[ProcessSample, ...]) -> dict[str, Any] | None:
    """The DESIGN §3 `process` of a sample's processes: the main one, with its ranks, other main processes
    and a sum over its live children; None when no main process is known."""
    main = main_process(processes)
    if main is None:
        return None
    out = process_status(main)
    ranks = sorted((p for p in processes if p.role == ProcessRole.RANK),
                   key=lambda p: (p.rank is None, p.rank, p.pid))
    if ranks:
        out["ranks"] = [process_status(p, brief=True) for p in ranks]
    others = [p for p in processes if p.role == ProcessRole.MAIN and p is not main]
    if others:
        out["others"] = [process_status(p, brief=True) for p in others]
    children = [p for p in processes if p.role == ProcessRole.CHILD and p.alive]
    if children:
        out["children"] = {"count": len(children), "cpu_percent": _r(_sum(p.cpu_percent for p in children)),
                           "rss_bytes": _sum_int(p.rss_bytes for p in children)}
    return out


def gpus_status(gpus: tuple[GpuSample, ...], processes: tuple[ProcessSample, ...]) -> list[dict[str, Any]]:
    """The DESIGN §3 `gpus`: one entry per GPU, with the ranks of the sample's processes it runs."""
    ranks = rank_of(processes)
    return [gpu_status(g, ranks) for g in gpus]


def process_status(p: ProcessSample, brief: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"pid": p.pid, "state": str(p.state)}
    if p.rank is not None:
        out["rank"] = p.rank
    out.update({"cpu_percent": _r(p.cpu_percent), "rss_bytes": p.rss_bytes})
    if not brief:
        out.update({"name": p.name, "found_by": p.found_by, "threads": p.threads, "read_bps": _r(p.read_bps),
                    "write_bps": _r(p.write_bps), "open_fds": p.open_fds})
        if p.local_rank is not None:
            out["local_rank"] = p.local_rank
    if p.state == ProcessState.GONE:
        out["exit_code"] = p.exit_code
    return out


def gpu_status(g: GpuSample, ranks: Mapping[int, int] | None = None) -> dict[str, Any]:
    """One `gpus` entry; a GPU that could not be read is a placeholder with `error`."""
    if not g.ok:
        return {"index": g.index, "name": g.name or None, "error": g.error}
    pids = [q.pid for q in g.processes]
    out: dict[str, Any] = {
        "index": g.index, "name": g.name, "util": g.util, "mem_used": g.mem_used, "mem_total": g.mem_total,
        "temp_c": g.temp_c, "power_w": _r(g.power_w), "power_limit_w": _r(g.power_limit_w),
        "sm_clock_mhz": g.sm_clock_mhz, "throttle": list(g.throttle), "ecc_uncorrected": g.ecc_uncorrected,
        "pids": pids,
    }
    found = sorted({ranks[pid] for pid in pids if pid in ranks}) if ranks else []
    if found:
        out["ranks"] = found
    return out


def window(series: Series | None, now: float, seconds: float, n: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(t, values) of the points within the last `seconds` before `now` (empty arrays when none)."""
    if series is None or not len(series):
        return np.empty(0), np.empty(0)
    _, v, t = series.recent(n)
    keep = (t > now - seconds) & (t <= now)
    return t[keep], v[keep]


def _add(store: dict, key: Any, value: float | int | None, t: float, keep: int, budget: int) -> None:  # type: ignore[type-arg]
    if value is None:
        return
    s = store.get(key)
    if s is None:
        s = store[key] = Series(keep, budget)
    s.append(t, float(value), t)


def _sum(values: Any) -> float | None:
    known = [v for v in values if v is not None]
    return float(sum(known)) if known else None


def _sum_int(values: Any) -> int | None:
    known = [v for v in values if v is not None]
    return int(sum(known)) if known else None


def _r(v: float | None, nd: int = 1) -> float | None:
    return None if v is None else round(v, nd)
