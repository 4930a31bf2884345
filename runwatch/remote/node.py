"""One node's listener as a `Controller`: its runs polled on a thread of this node's own.

The front end never does network I/O. `snapshots()` and `log_tail()` answer at once from what the
poller last fetched; a log the front end asks for is fetched on the next poll. A chart asked for the
first time wakes the poller, which fetches it at once, and the caller waits for it, but at most
`CHART_WAIT_S`, and not at all while the node is known not to answer or once such a wait ran out in
this poll cycle (the TUI asks for a chart again only when its run has new records, so a first answer
of "nothing yet" would stay on screen). So a node that stops answering costs its own thread a
timeout, the view at most one short wait, and the other nodes nothing. While it does not answer its runs keep their last known state, with `unreachable` set
and a note saying since when; once it answers again they are live again. Only the writes (silence,
acknowledge) go out on the caller's thread: a person asked for them and is told whether they worked.

`subscribe()` gives the alert transitions seen between two polls (an alert that fired and resolved
within one poll interval is not seen) and a `Notice` when the node stops or starts answering.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from runwatch.alerts.types import Notification
from runwatch.feed import Feed, Subscription
from runwatch.model import (
    AlertState,
    ChartData,
    Notice,
    RunSnapshot,
    XAxis,
)
from runwatch.remote.client import NodeClient, NodeError
from runwatch.remote.reach import Reach, as_seen
from runwatch.remote.transitions import alert_news
from runwatch.wire import WireError, chart_from_json, snapshot_from_json

log = logging.getLogger("runwatch.remote")

POLL_INTERVAL_S = 1.0
"""Seconds between two polls of a node: the TUI redraws once a second."""
CHART_WAIT_S = 0.5
"""The longest the front end waits for a chart it asks for the first time (a loopback or LAN fetch takes
milliseconds)."""
WANTED_FOR_S = 10.0
"""A chart or log not asked for again within this long is no longer fetched (the person looks elsewhere)."""

NodeNews = Notification | Notice
_ChartKey = tuple[str, str, int, int | None, float | None, XAxis]


class _NotYet:
    """A chart asked for and not fetched yet (None is a fetched answer: no such series)."""


NOT_YET = _NotYet()


class RemoteNode:
    """A `Controller` over one node's listener (`client`); start() it, stop() it (or use `with`)."""

    def __init__(self, client: NodeClient, *, interval: float = POLL_INTERVAL_S, chart_wait: float = CHART_WAIT_S,
                 clock: Callable[[], float] | None = None) -> None:
        self.client, self.interval, self.chart_wait, self._clock = client, interval, chart_wait, clock or time.time
        self.where = client.node.where
        self._lock = threading.Lock()
        self._polled = threading.Condition(self._lock)
        self._version = 0
        self._snaps: list[RunSnapshot] = []
        self._reach: Reach | None = None
        self._paused: list[RunSnapshot] | None = None
        self._alert_states: dict[str, AlertState] = {}
        self._charts: dict[_ChartKey, tuple[float, ChartData | None | _NotYet]] = {}
        self._slow = False
        """A chart wait ran out in this poll cycle: ask no more waits of the caller until the poll ends."""
        self._repoll = False
        self._logs: dict[tuple[str, int], tuple[float, list[str]]] = {}
        self.feed: Feed[NodeNews] = Feed()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"runwatch-node-{self.where}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(self.client.timeout * 4 + 5.0)
            self._thread = None

    def __enter__(self) -> RemoteNode:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._guarded(self.poll)
            due = time.monotonic() + self.interval
            while not self._stopping.is_set() and not self._repoll and (left := due - time.monotonic()) > 0:
                if self._wake.wait(left):
                    self._wake.clear()
                    self._guarded(self._fetch_missing)
            self._repoll = False

    def _guarded(self, step: Callable[[], None]) -> None:
        try:
            step()
        except NodeError as e:
            self._mark_unreachable(str(e))
        except Exception as e:  # a bug here must not end the view of this node: say it, poll on
            log.exception("reading node %s failed", self.where)
            self._mark_unreachable(f"runwatch failed reading the node: {type(e).__name__}: {e}")

    # -- one poll ------------------------------------------------------------------

    def poll(self) -> None:
        """Fetch the node's snapshots, then the charts and logs asked for; on a failure, mark it unreachable."""
        try:
            raw = self.client.get("/api/v1/snapshots")
            if not isinstance(raw, list):
                raise WireError("/api/v1/snapshots did not answer a list")
            snaps = [snapshot_from_json(o) for o in raw]
        except (NodeError, WireError) as e:
            self._mark_unreachable(str(e))
            return
        self._take(snaps)
        self._fetch_wanted()
        with self._lock:
            self._slow = False

    def _take(self, snaps: list[RunSnapshot]) -> None:
        now = self._clock()
        with self._lock:
            back = self._reach is not None and not self._reach.ok
            self._reach = self._reach if self._reach is not None and self._reach.ok else Reach(True, now)
            self._snaps = snaps
            news: list[NodeNews] = []
            alerts, self._alert_states = alert_news(self._alert_states, snaps, now)
            news.extend(alerts)
            self._version += 1
            self._polled.notify_all()
        if back:
            news.insert(0, Notice(self.where, "info", "answers again"))
        self.feed.publish(*news)

    def _mark_unreachable(self, error: str) -> None:
        now = self._clock()
        with self._lock:
            was_ok = self._reach is None or self._reach.ok
            if was_ok:
                self._reach = Reach(False, now, error)
            else:
                assert self._reach is not None
                self._reach = replace(self._reach, error=error)
            self._version += 1
            self._polled.notify_all()
        if was_ok:
            self.feed.publish(Notice(self.where, "error", f"not answering: {error}"))

    def _fetch_wanted(self) -> None:
        now = self._clock()
        with self._lock:
            for ck in [k for k, (asked, _) in self._charts.items() if now - asked > WANTED_FOR_S]:
                del self._charts[ck]
            for lk in [k for k, (asked, _) in self._logs.items() if now - asked > WANTED_FOR_S]:
                del self._logs[lk]
            charts, logs = list(self._charts), list(self._logs)
        self._fetch_charts(charts)
        for run, lines in logs:
            try:
                got = self.client.get("/api/v1/log", run=run, lines=lines)
            except NodeError as e:
                if e.status not in (400, 404):
                    raise
                got = {}  # no such run (any more): not a sign the node is gone
            text = [str(line) for line in got.get("lines", [])] if isinstance(got, dict) else []
            with self._lock:
                if (run, lines) in self._logs:
                    self._logs[run, lines] = (self._logs[run, lines][0], text)

    def _fetch_missing(self) -> None:
        """The charts asked for that were never fetched (a woken poller, between two polls)."""
        with self._lock:
            missing = [k for k, (_, v) in self._charts.items() if v is NOT_YET]
        self._fetch_charts(missing)

    def _fetch_charts(self, keys: list[_ChartKey]) -> None:
        for key in keys:
            chart = self._fetch_chart(key)
            with self._lock:
                if key in self._charts:
                    self._charts[key] = (self._charts[key][0], chart)
                self._polled.notify_all()

    def _fetch_chart(self, key: _ChartKey) -> ChartData | None:
        run, metric, width, rank, last_steps, x = key
        query: dict[str, Any] = {"run": run, "metric": metric, "width": width, "x": str(x)}
        if rank is not None:
            query["rank"] = rank
        if last_steps is not None:
            query["last_steps"] = last_steps
        try:
            return chart_from_json(self.client.get("/api/v1/series", **query))
        except NodeError as e:
            if e.status in (400, 404):
                return None  # no such series (yet): not a sign the node is gone
            raise
        except WireError:
            return None

    # -- Controller ----------------------------------------------------------------

    def snapshots(self) -> list[RunSnapshot]:
        with self._lock:
            if self._paused is not None:
                return list(self._paused)
            reach, snaps = self._reach, list(self._snaps)
        return as_seen(snaps, reach, self.where, self.client.node.base)

    def chart(self, run: str, metric: str, width: int, *, rank: int | None = None,
              last_steps: float | None = None, x: XAxis = XAxis.STEP) -> ChartData | None:
        key: _ChartKey = (run, metric, width, rank, last_steps, x)
        with self._polled:
            had = self._charts.get(key)
            self._charts[key] = (self._clock(), had[1] if had is not None else NOT_YET)
            if had is None:
                self._wake.set()
                if not self._slow and (self._reach is None or self._reach.ok):
                    if not self._polled.wait_for(lambda: self._charts.get(key, (0, None))[1] is not NOT_YET,
                                                 self.chart_wait):
                        self._slow = True
            got = self._charts.get(key, (0.0, None))[1]
        return None if isinstance(got, _NotYet) else got

    def log_tail(self, run: str, lines: int) -> list[str]:
        with self._lock:
            had = self._logs.get((run, lines))
            self._logs[run, lines] = (self._clock(), had[1] if had is not None else [])
        if had is None:
            self._wake.set()
        return had[1] if had is not None else []

    def silence(self, alert_key: str, duration_s: float, comment: str = "") -> str:
        """Silence the alert on its node; KeyError when the node does not know it, NodeError when it fails."""
        reply = self._write(alert_key, "silence", {"duration": duration_s, "comment": comment})
        return str(reply.get("silence_id", "")) if isinstance(reply, dict) else ""

    def acknowledge(self, alert_key: str) -> None:
        self._write(alert_key, "ack", {})

    def _write(self, alert_key: str, action: str, body: dict[str, Any]) -> Any:
        try:
            reply = self.client.post(f"/api/v1/alerts/{quote(alert_key, safe='')}/{action}", body)
        except NodeError as e:
            if e.status == 404:
                raise KeyError(alert_key) from None
            raise
        self._repoll = True  # show the alert silenced (acknowledged) at once
        self._wake.set()
        return reply

    def set_paused(self, paused: bool) -> None:
        """Freeze what snapshots() returns (the poller keeps polling underneath), as the engine does."""
        frozen = self.snapshots() if paused else None
        with self._lock:
            self._paused = frozen

    def subscribe(self) -> Subscription[NodeNews]:
        return self.feed.subscribe()

    def wait(self, timeout: float) -> bool:
        """Block until the next poll ends (or `timeout`); whether one did."""
        with self._polled:
            v = self._version
            return self._polled.wait_for(lambda: self._version != v, timeout)

    @property
    def all_ended(self) -> bool:
        """Never: a node's runs are followed until the person stops."""
        return False

    @property
    def reachable(self) -> bool | None:
        """Whether the last poll got an answer (None before the first)."""
        with self._lock:
            return None if self._reach is None else self._reach.ok

