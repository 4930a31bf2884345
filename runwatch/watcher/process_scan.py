"""Finding a run's processes in the process table, without being told their pids.

One pass over the process table (`scan_processes`) says who exists and who
their parents are; a full pass also reads names, command lines and owners.
In it, the trainer is whoever holds a watched log open, or, behind a relay
such as `tee`, writes into the relay's stdin pipe (`log_writers`), or writes
into our own stdin pipe (`python train.py | runwatch tail -`); a torchrun /
`python -m torch.distributed.run` launcher above any of them is the run's
top (`launcher_above`). Each rank is read from its environment (`rank_env`).
Reading pipes goes through Linux's /proc; elsewhere nobody is found that way.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

import psutil

RELAYS = frozenset({"tee", "ts", "stdbuf", "cat", "cronolog", "rotatelogs", "multilog", "logger", "sed", "awk"})
"""Processes that write a log for someone else: the trainer is whoever writes into their stdin pipe."""
LAUNCHER_MODULES = ("torch.distributed.run", "torch.distributed.launch")


def is_launcher(cmdline: Sequence[str]) -> bool:
    """torchrun, or `python -m torch.distributed.run|launch`."""
    if not cmdline:
        return False
    if os.path.basename(cmdline[0]) == "torchrun" or (
            len(cmdline) > 1 and os.path.basename(cmdline[1]) == "torchrun"):
        return True
    return any(a == "-m" and b in LAUNCHER_MODULES for a, b in zip(cmdline, cmdline[1:], strict=False))


def rank_env(proc: psutil.Process) -> tuple[int | None, int | None]:
    """(RANK, LOCAL_RANK) from the process environment, where we may read it."""
    try:
        env = proc.environ()
    except (psutil.Error, OSError):
        return None, None
    return _int(env.get("RANK")), _int(env.get("LOCAL_RANK"))


def _int(v: str | None) -> int | None:
    try:
        return None if v is None else int(v)
    except ValueError:
        return None


@dataclass
class Scan:
    """One pass over the process table: who exists, their parents, and (optionally) what they hold."""

    ppid: dict[int, int] = field(default_factory=dict)
    procs: dict[int, psutil.Process] = field(default_factory=dict)
    cmdline: dict[int, tuple[str, ...]] = field(default_factory=dict)
    name: dict[int, str] = field(default_factory=dict)
    mine: set[int] = field(default_factory=set)
    """Processes whose files and environment we may read (our uid, or all when root)."""

    def children(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for pid, parent in self.ppid.items():
            out.setdefault(parent, []).append(pid)
        return out


def scan_processes(full: bool, uid: int | None) -> Scan:
    """Every process and its parent; with `full`, also names, command lines and which are `uid`'s."""
    scan = Scan()
    attrs = ["ppid", "name", "cmdline", "uids"] if full else ["ppid"]
    for p in psutil.process_iter(attrs):
        info = p.info
        if info.get("ppid") is None:
            continue
        scan.ppid[p.pid] = info["ppid"]
        scan.procs[p.pid] = p
        if full:
            scan.name[p.pid] = info.get("name") or ""
            scan.cmdline[p.pid] = tuple(info.get("cmdline") or ())
            uids = info.get("uids")
            if uid in (None, 0) or (uids is not None and uids.real == uid):
                scan.mine.add(p.pid)
    return scan


STDIN = "-"
"""The source a writer into our own stdin pipe writes (the run `runwatch tail -` follows)."""


def log_writers(scan: Scan, logs: tuple[str, ...], stdin_pipe: bool) -> list[tuple[int, str, tuple[str, ...]]]:
    """Holders of the logs (behind a relay: the pipe's writers) and our stdin pipe's writers, with how
    and which files they write (`STDIN` for our pipe): what attributes each process to its run."""
    out: list[tuple[int, str, tuple[str, ...]]] = []
    if logs:
        for pid in sorted(scan.mine):
            held = _held(scan.procs[pid], logs) if pid != os.getpid() else ()
            if held:
                writers = _pipe_writers(scan, _fd_link(pid, 0)) if scan.name.get(pid) in RELAYS else []
                if writers:
                    out.extend((w, "pipe", held) for w in writers)
                else:
                    out.append((pid, "log", held))
    if stdin_pipe:
        out.extend((w, "pipe", (STDIN,)) for w in _pipe_writers(scan, _own_stdin_pipe()))
    return out


def launcher_above(scan: Scan, pid: int) -> int | None:
    """The nearest launcher among `pid` and its ancestors."""
    seen = set()
    while pid in scan.ppid and pid not in seen:
        seen.add(pid)
        if is_launcher(scan.cmdline.get(pid, ())):
            return pid
        pid = scan.ppid[pid]
    return None


def has_ancestor(scan: Scan, pid: int, among: dict[int, str]) -> bool:
    seen = {pid}
    parent = scan.ppid.get(pid)
    while parent is not None and parent not in seen:
        if parent in among:
            return True
        seen.add(parent)
        parent = scan.ppid.get(parent)
    return False


def _held(p: psutil.Process, logs: tuple[str, ...]) -> tuple[str, ...]:
    """The files under `logs` (a log, or a watched directory's files) that `p` has open for writing,
    sorted. Readers are never the training process: another `runwatch` following the same log,
    `tail -f`, a pager (one was taken for the run before)."""
    try:
        files = p.open_files()
    except (psutil.Error, OSError):
        return ()
    return tuple(sorted({f.path for f in files if _writes(getattr(f, "mode", "w")) and _matches(f.path, logs)}))


def _writes(mode: str) -> bool:
    """An open file's mode (psutil: `r`, `w`, `a`, `r+`, `a+`) allows writing."""
    return any(c in mode for c in "wa+")


def _matches(path: str, logs: tuple[str, ...]) -> bool:
    """`path` is one of `logs` or lies under one, compared by path components: `/runs/a` holds
    `/runs/a/x.log`, never `/runs/ab.log` nor `/runs/ab/x.log`; `/` holds every absolute path."""
    parts = PurePath(path).parts
    return any(parts[:len(under)] == under for under in (PurePath(log_).parts for log_ in logs))


def _fd_link(pid: int, fd: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        return None


def _own_stdin_pipe() -> str | None:
    try:
        st = os.fstat(0)
    except OSError:
        return None
    return f"pipe:[{st.st_ino}]" if stat.S_ISFIFO(st.st_mode) else None


def _pipe_writers(scan: Scan, pipe: str | None) -> list[int]:
    """Processes whose stdout or stderr is `pipe` (Linux /proc; none elsewhere)."""
    if not pipe or not pipe.startswith("pipe:"):
        return []
    me = os.getpid()
    return [pid for pid in sorted(scan.mine)
            if pid != me and (_fd_link(pid, 1) == pipe or _fd_link(pid, 2) == pipe)]
