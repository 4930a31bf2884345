"""`runwatch watch`: the watchdog daemon (headless; alerts to sinks; survives restarts).

Logs go to stderr or `--log-file`; SIGTERM/SIGINT stop cleanly (state saved,
queued notifications drained for a few seconds); SIGHUP reloads the config
(rules, timings and sinks; alert states and silences carry over). The read
offset of each log is saved too, so a restart can say what each log did
while the daemon was down (`commands.resume`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from runwatch.alerting import AlertFlags, Alerting, build_sinks
from runwatch.alerts.sinks import RedactingFilter
from runwatch.alerts.store import StateDir
from runwatch.alerts.types import Notification
from runwatch.commands.resume import ReadOffsets
from runwatch.commands.serving import Exports, linked_sinks, listening_line, open_exports
from runwatch.config import Config
from runwatch.engine import Engine, EngineOptions
from runwatch.errors import EXIT_GAVE_UP
from runwatch.feed import Taken
from runwatch.headless import StatusSchedule
from runwatch.model import Notice
from runwatch.present import status_line

log = logging.getLogger("runwatch")


def setup_logging(log_file: Path | None) -> logging.Handler:
    """Log to `log_file` (created 0600: it holds alert text, like the state dir) or to stderr."""
    if log_file is not None:
        os.close(os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600))
    handler: logging.Handler = logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger("runwatch")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler


def notification_line(n: Notification) -> str:
    a = n.alert
    labels = " ".join(f"{k}={v}" for k, v in a.labels)
    what = "RESOLVED" if n.state.value == "resolved" else ("REPEAT" if n.repeat else "FIRING")
    return f"{what} {a.severity} {a.rule} {{{labels}}}: {a.summary}"


class PidFile:
    """Written atomically at start, removed at exit; refuses to start over a live daemon."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> PidFile:
        try:
            other = int(self.path.read_text().strip())
        except (OSError, ValueError):
            other = None
        if other is not None and other != os.getpid() and _alive(other):
            raise RuntimeError(f"{self.path}: another runwatch watch is running (pid {other})")
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:  # a fresh file of our own (O_EXCL): a link planted at a fixed temp name is never followed
            os.fchmod(fd, 0o644)
            os.write(fd, f"{os.getpid()}\n".encode())
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if int(self.path.read_text().strip()) == os.getpid():
                self.path.unlink()
        except (OSError, ValueError):
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


LOOP_GATHER_S = 0.1
"""After the engine's state changes, how long the daemon's loop lets more changes gather before it saves
offsets and logs what is new: a log written a line at a time changes it 150 times a second."""


def run_watch(paths: list[str], *, load: Callable[[], Config], flags: AlertFlags, options: EngineOptions,
              state_dir: Path | None, interval: float, stop: threading.Event, exports: Exports | None = None) -> int:
    """Run until `stop` is set. `load` reads the config (again on SIGHUP)."""
    config = load()
    exports = exports or Exports()
    sinks = build_sinks(linked_sinks([*config.sinks, *flags.sink_configs()], exports))
    alerting = Alerting(config, sinks=sinks, state_dir=state_dir, persist=True,
                        on_sink_error=lambda name, msg: log.warning("sink %s: %s", name, msg))
    offsets = ReadOffsets(StateDir(state_dir or config.state_dir))
    reload_wanted = threading.Event()
    signal.signal(signal.SIGHUP, lambda *_: reload_wanted.set())
    engine = Engine(paths, replace(options, seen_bytes=offsets.judged_bytes()), alerting=alerting)
    listener, textfile = open_exports(engine, exports)  # a port in use stops it here, before any thread starts
    if listener is not None:
        log.info("%s", listening_line(listener))
    log.info("watching %s with %d rules and %d sink(s)%s", " ".join(paths), len(alerting.rules), len(sinks),
             "" if sinks else " (alerts are only logged: configure [[sinks]] or --webhook/--slack-webhook-env/--alertmanager)")
    news = engine.subscribe()
    with engine, listener or contextlib.nullcontext():
        clock = time.monotonic
        schedule = StatusSchedule(interval, clock=clock)  # the first once the logs have been read
        while not stop.is_set() and not engine.supervisor.gave_up.is_set():
            engine.wait(schedule.wait_s())
            stop.wait(LOOP_GATHER_S)
            positions = engine.positions()
            for path, message in offsets.news(positions):
                log.info("%s: %s", path, message)
            offsets.save(positions, clock())
            _log_news(news.take())
            if reload_wanted.is_set():
                reload_wanted.clear()
                _reload(load, flags, alerting, exports)
            if schedule.is_time() and schedule.take(snaps := engine.snapshots()):
                for snap in snaps:
                    log.info("%s", status_line(snap))
                if textfile is not None:
                    textfile.write()
        log.info("stopping: saving state, delivering what is queued")
        offsets.save(engine.positions(), clock(), force=True)
    offsets.save(engine.positions(), clock(), force=True)  # what the worker judged while it stopped
    if textfile is not None:
        textfile.write()  # the run's last state, not the one of an interval ago
    if engine.supervisor.gave_up.is_set():
        log.critical("runwatch's own threads failed too often; exiting %d so the service manager restarts it",
                     EXIT_GAVE_UP)
        return EXIT_GAVE_UP
    return 0


def _log_news(taken: Taken[Notification | Notice]) -> None:
    """Source notices and alert transitions into the log, as they come."""
    if taken.missed:
        log.warning("%d notices and alert notifications were not logged (the daemon fell behind)", taken.missed)
    for item in taken.items:
        match item:
            case Notice(source=source, level=level, message=message):
                (log.warning if level != "info" else log.info)("%s: %s", source, message)
            case Notification():
                log.warning("%s", notification_line(item))


def _reload(load: Callable[[], Config], flags: AlertFlags, alerting: Alerting, exports: Exports) -> None:
    try:
        config = load()
        sinks = build_sinks(linked_sinks([*config.sinks, *flags.sink_configs()], exports))
    except Exception as e:  # a bad edit must not kill a running watchdog
        log.error("config not reloaded: %s", e)
        return
    alerting.reload(config, sinks)
    log.info("config reloaded: %d rules, %d sink(s)", len(alerting.rules), len(sinks))
