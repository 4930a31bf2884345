"""The training processes, through psutil: found once in a while, sampled cheaply every tick.

`ProcessSampler` finds the run's processes without being told: `--pid`
processes, processes holding a watched log open or writing into a relay's
pipe, the writer of our own stdin pipe, and torchrun launchers above any of
them (how: `runwatch.watcher.process_scan`); then their descendants, each
rank read from its environment. Finding is costly (it reads every process),
so it runs every `search_s` while nothing is found, then every `tree_s` (new
descendants: restarted ranks, DataLoader workers) and `rescan_s` (everything
again), while a sample reads only the processes already found: a handful
of /proc files each (the descriptor count, a directory listing, every
`fds_every` samples). An exited process is seen at the next sample: "gone" (with its exit
code when the `exit_codes` hook knows it: our own children) or "zombie".

One sampler serves every run of an engine. Each process carries the `sources` it was found
writing (a log, a directory's file, `-` for our stdin pipe), its launcher the union of its
descendants' and a descendant its ancestors': the engine maps these to runs
(`SystemState.processes_of`), so one run's exit is not another's.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import psutil

from runwatch.model import ProcessRole, ProcessSample, ProcessState
from runwatch.watcher.host import psutil_reading
from runwatch.watcher.process_scan import (
    Scan,
    has_ancestor,
    is_launcher,
    launcher_above,
    log_writers,
    rank_env,
    scan_processes,
)

log = logging.getLogger(__name__)

ExitCodes = Callable[[int], int | None]
"""pid → exit code once known (None while running or unknown): the hook for our own children."""

MAX_TOMBSTONES = 64
REPLACED_KEEP_S = 300.0
"""An exited main/rank process stays listed this long once a process of its role and rank runs again."""

_STATES = {
    psutil.STATUS_RUNNING: ProcessState.RUNNING,
    psutil.STATUS_DISK_SLEEP: ProcessState.DISK_SLEEP,
    psutil.STATUS_STOPPED: ProcessState.STOPPED,
    psutil.STATUS_TRACING_STOP: ProcessState.STOPPED,
    psutil.STATUS_ZOMBIE: ProcessState.ZOMBIE,
    psutil.STATUS_DEAD: ProcessState.ZOMBIE,
}


def process_state(status: str) -> ProcessState:
    """psutil's status folded to ours: idle, waking, parked … are all sleeping."""
    return _STATES.get(status, ProcessState.SLEEPING)


def popen_exit_codes(*popens: subprocess.Popen[bytes] | subprocess.Popen[str]) -> ExitCodes:
    """An `exit_codes` hook over Popen objects we started (polling reaps them)."""
    by_pid = {p.pid: p for p in popens}

    def code(pid: int) -> int | None:
        p = by_pid.get(pid)
        return None if p is None else p.poll()

    return code


@dataclass
class _Tracked:
    proc: psutil.Process
    role: ProcessRole
    found_by: str
    rank: int | None
    local_rank: int | None
    name: str
    cmdline: tuple[str, ...]
    create_time: float
    ppid: int | None
    prev: tuple[float, float, int, int, int] | None = None
    """(t, cpu seconds, read_bytes, write_bytes, read_chars) at the previous sample."""
    samples: int = 0
    fds: int | None = None
    ended: ProcessSample | None = None
    sources: frozenset[str] = frozenset()
    """The watched files it (or a process above or below it) was found writing: what names its run."""


class ProcessSampler:
    """Finds and samples the training processes; `sample(now)` is called by one thread at a time.

    `pids`: processes named explicitly (with their children). `logs`: files or
    directories whose holders are the training processes. `stdin_pipe`: also
    take whoever writes into our standard input. `discover=False` turns
    finding off (only `pids`). `exit_codes`: the hook that knows our children's
    exit codes.
    """

    def __init__(
        self, pids: Iterable[int] = (), logs: Iterable[str] = (), *, discover: bool = True,
        stdin_pipe: bool = False, exit_codes: ExitCodes | None = None, search_s: float = 10.0,
        tree_s: float = 30.0, rescan_s: float = 60.0, fds_every: int = 5, max_processes: int = 256,
    ) -> None:
        self._lock = threading.Lock()
        self._pids: tuple[int, ...] = tuple(pids)
        self._logs: tuple[str, ...] = tuple(os.path.realpath(p) for p in logs)
        self.discover = discover
        self.stdin_pipe = stdin_pipe
        self.exit_codes = exit_codes
        self.search_s = search_s
        self.tree_s = tree_s
        self.rescan_s = rescan_s
        self.fds_every = max(1, fds_every)
        self.max_processes = max_processes
        self._tracked: dict[int, _Tracked] = {}
        self._tombstones: list[ProcessSample] = []
        self._seen: set[int] = set()
        """Pids ever tracked or reported gone (a --pid that died is not reported anew)."""
        self._last_tree: float | None = None
        self._last_scan: float | None = None
        self._uid = os.getuid() if hasattr(os, "getuid") else None

    def watch(self, pids: Iterable[int] = (), logs: Iterable[str] = ()) -> None:
        """Add processes or logs (from any thread); they are looked for at the next sample."""
        with self._lock:
            self._pids = tuple(dict.fromkeys((*self._pids, *pids)))
            self._logs = tuple(dict.fromkeys((*self._logs, *(os.path.realpath(p) for p in logs))))
            self._last_tree = self._last_scan = None

    # ── sampling ──────────────────────────────────────────────────────────

    def sample(self, now: float) -> tuple[ProcessSample, ...]:
        """Every tracked process now, exited ones (tombstones) last."""
        self._maybe_discover(now)
        live = []
        for pid, tr in list(self._tracked.items()):
            s = self._sample_one(tr, now)
            if s.alive:
                live.append(s)
                continue
            s = self._ended(tr, s, now)
            if s.state == ProcessState.GONE:
                del self._tracked[pid]
                if tr.role != ProcessRole.CHILD:
                    self._tombstones = [*self._tombstones, s][-MAX_TOMBSTONES:]
            live.append(s)
        replaced = {(s.role, s.rank) for s in live if s.alive}
        gone = [t for t in self._tombstones if t.pid not in self._tracked
                and not ((t.role, t.rank) in replaced and now - (t.ended_t or now) > REPLACED_KEEP_S)]
        self._tombstones = [self._late_code(t) for t in gone]
        shown = {s.pid for s in live}
        return tuple(live) + tuple(t for t in self._tombstones if t.pid not in shown)

    def _sample_one(self, tr: _Tracked, now: float) -> ProcessSample:
        p = tr.proc
        base = ProcessSample(pid=p.pid, name=tr.name, state=ProcessState.GONE, role=tr.role,
                             found_by=tr.found_by, create_time=tr.create_time, ppid=tr.ppid, rank=tr.rank,
                             local_rank=tr.local_rank, cmdline=tr.cmdline, sources=tuple(sorted(tr.sources)))
        try:
            with p.oneshot():
                state = process_state(p.status())
                if state == ProcessState.ZOMBIE:
                    return replace(base, state=state)
                cpu = p.cpu_times()
                cpu_s = cpu.user + cpu.system
                rss = psutil_reading(lambda: p.memory_info().rss)
                threads = psutil_reading(p.num_threads)
                io = psutil_reading(p.io_counters)
                if tr.samples % self.fds_every == 0 and hasattr(p, "num_fds"):
                    tr.fds = psutil_reading(p.num_fds)
                tr.samples += 1
                fds = tr.fds
        except psutil.ZombieProcess:
            return replace(base, state=ProcessState.ZOMBIE)
        except psutil.NoSuchProcess:
            return base
        except psutil.AccessDenied:  # another user's process on macOS: alive, metrics unknown
            return replace(base, state=ProcessState.SLEEPING)
        io_now = (io.read_bytes, io.write_bytes, getattr(io, "read_chars", io.read_bytes)) if io else (-1, -1, -1)
        rates = _rates(tr.prev, now, cpu_s, io_now)
        tr.prev = (now, cpu_s, *io_now)
        return replace(base, state=state, rss_bytes=rss, threads=threads, open_fds=fds, cpu_percent=rates[0],
                       read_bps=rates[1], write_bps=rates[2], rchar_bps=rates[3])

    def _ended(self, tr: _Tracked, s: ProcessSample, now: float) -> ProcessSample:
        """A zombie or gone process: ask the hook for its code (which reaps our own zombie children)."""
        if tr.ended is None:
            tr.ended = replace(s, ended_t=now)
        code = self._code(s.pid)
        if code is not None:
            return replace(tr.ended, state=ProcessState.GONE, exit_code=code)
        return replace(tr.ended, state=s.state)

    def _late_code(self, t: ProcessSample) -> ProcessSample:
        if t.exit_code is not None:
            return t
        code = self._code(t.pid)
        return t if code is None else replace(t, exit_code=code)

    def _code(self, pid: int) -> int | None:
        if self.exit_codes is None:
            return None
        try:
            return self.exit_codes(pid)
        except Exception:  # a user hook: never let it stop sampling
            log.exception("exit-code hook failed for pid %d", pid)
            return None

    # ── finding ───────────────────────────────────────────────────────────

    def _maybe_discover(self, now: float) -> None:
        with self._lock:
            pids, logs = self._pids, self._logs
            found = any(t.role == ProcessRole.MAIN for t in self._tracked.values())
            tree_due = self._last_tree is None or now - self._last_tree >= (self.tree_s if found else self.search_s)
            scan_due = self.discover and (
                self._last_scan is None or now - self._last_scan >= (self.rescan_s if found else self.search_s))
            if not (tree_due or scan_due):
                return
            self._last_tree = now
            if scan_due:
                self._last_scan = now
        try:
            self._discover(pids, logs if scan_due else (), scan_due, now)
        except Exception:  # finding is best effort; sampling what we have goes on
            log.exception("process discovery failed")

    def _discover(self, pids: tuple[int, ...], logs: tuple[str, ...], full: bool, now: float) -> None:
        scan = scan_processes(full, self._uid)
        roots: dict[int, str] = {pid: "pid" for pid in pids}
        roots.update({pid: "main" for pid, t in self._tracked.items() if t.role == ProcessRole.MAIN})
        writes: dict[int, set[str]] = {}
        """pid → the watched files it was found writing at this scan (a launcher: its ranks')."""
        if full:
            for pid, how, files in log_writers(scan, logs, self.stdin_pipe):
                roots.setdefault(pid, how)
                writes.setdefault(pid, set()).update(files)
            for pid in list(roots):
                launcher = launcher_above(scan, pid)
                if launcher is not None:
                    roots.setdefault(launcher, "torchrun")
                    writes.setdefault(launcher, set()).update(writes.get(pid, ()))
            if not roots:
                roots = {pid: "torchrun" for pid in scan.mine if is_launcher(scan.cmdline.get(pid, ()))}
        for pid in pids:
            if pid not in scan.ppid and pid not in self._seen:
                self._tombstone_unknown(pid, now)
        self._adopt(scan, roots, writes)

    def _adopt(self, scan: Scan, roots: dict[int, str], writes: dict[int, set[str]]) -> None:
        """Track roots (MAIN) and their descendants (RANK where RANK is new, else CHILD); each takes
        the files it writes and those of the processes above it (a DataLoader worker is its rank's)."""
        kids = scan.children()
        tops = [pid for pid in roots if pid in scan.procs and not has_ancestor(scan, pid, roots)]
        queue: list[tuple[int, _Tracked | None]] = [(pid, None) for pid in tops]
        while queue and len(self._tracked) < self.max_processes:
            pid, parent = queue.pop(0)
            how = roots.get(pid, "child")
            tr = self._tracked.get(pid) or self._track(scan, pid, how, parent)
            if tr is not None:
                if tr.found_by == "child" and how != "child":
                    tr.found_by = how  # adopted before it was seen holding the log
                tr.sources = tr.sources.union(writes.get(pid, ()), parent.sources if parent else ())
                queue.extend((k, tr) for k in sorted(kids.get(pid, ())))

    def _track(self, scan: Scan, pid: int, how: str, parent: _Tracked | None) -> _Tracked | None:
        p = scan.procs[pid]
        try:
            name = scan.name.get(pid) or p.name()
            cmdline = scan.cmdline.get(pid) or tuple(psutil_reading(p.cmdline) or ())
            rank, local_rank = rank_env(p)
            created = p.create_time()
        except psutil.Error:
            return None
        if parent is None:
            role = ProcessRole.MAIN
        elif rank is not None and rank != parent.rank:
            role = ProcessRole.RANK
        else:
            role = ProcessRole.CHILD
        tr = _Tracked(p, role, how, rank, local_rank, name, cmdline, created, scan.ppid.get(pid))
        self._tracked[pid] = tr
        self._seen.add(pid)
        return tr

    def _tombstone_unknown(self, pid: int, now: float) -> None:
        """A --pid that does not exist (any more): report it gone rather than nothing."""
        self._seen.add(pid)
        s = ProcessSample(pid=pid, name="", state=ProcessState.GONE, exit_code=self._code(pid), ended_t=now)
        self._tombstones = [*self._tombstones, s][-MAX_TOMBSTONES:]


def _rates(prev: tuple[float, float, int, int, int] | None, now: float, cpu_s: float,
           io: tuple[int, int, int]) -> tuple[float | None, float | None, float | None, float | None]:
    if prev is None or now <= prev[0]:
        return None, None, None, None
    dt = now - prev[0]
    cpu = max(0.0, 100.0 * (cpu_s - prev[1]) / dt)
    per = [None if b < 0 or a < 0 else max(0.0, (b - a) / dt) for a, b in zip(prev[2:], io, strict=True)]
    return cpu, per[0], per[1], per[2]


