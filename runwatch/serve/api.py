"""The JSON API's answers, apart from the transport: what `GET /api/v1/runs`, `GET /api/v1/alerts`,
`GET /healthz` and the two alert writes return.

`/api/v1/runs` is the list of DESIGN §3 status objects, made by the very function that makes
`tail --json`'s lines (`present.status_object`), so the two never disagree. `/api/v1/snapshots` (whole
snapshots, `runwatch.wire`) and `/api/v1/log` (a run's last log lines) are what `runwatch tail
http://NODE:PORT` draws from. Writes act through the
engine's controller methods only (silence, acknowledge), as the TUI's keys do.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote

from runwatch import patterns
from runwatch.durations import parse_duration
from runwatch.model import AlertBrief, AlertState, ChartData, RunSnapshot, XAxis, json_number
from runwatch.present import iso_utc, status_object
from runwatch.wire import chart_json, snapshot_json

SILENCE_MAX_S = 365 * 86400.0
"""The longest silence the API sets (a typo of `1y` in seconds should not mute an alert for ever)."""
_ALERT_WRITE = patterns.compile(r"^/api/v1/alerts/(?P<key>[^/]+)/(?P<action>silence|ack)$")


class ServedEngine(Protocol):
    """What the listener may ask of the engine (the front-end seam of `model.Controller`)."""

    def snapshots(self) -> list[RunSnapshot]: ...

    def chart(self, run: str, metric: str, width: int, *, rank: int | None = None,
              last_steps: float | None = None, x: XAxis = XAxis.STEP) -> ChartData | None: ...

    def log_tail(self, run: str, lines: int) -> list[str]: ...

    def silence(self, alert_key: str, duration_s: float, comment: str = "") -> str: ...

    def acknowledge(self, alert_key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: Any

    def encoded(self) -> bytes:
        return (json.dumps(self.body, allow_nan=False, separators=(",", ":")) + "\n").encode()


def error(status: int, message: str) -> Reply:
    """An error as the API says it: `{"error": "<one line>"}`."""
    return Reply(status, {"error": " ".join(message.split())})


class BadRequest(ValueError):
    """A write's body that cannot be acted on (400, with this one-line message)."""


def alert_object(run: str, a: AlertBrief) -> dict[str, Any]:
    """One alert as `/api/v1/alerts` lists it: its key (for the writes), state, labels and since when."""
    value = json_number(a.value) if isinstance(a.value, float) else a.value
    return {"key": a.key, "run": run, "rule": a.rule, "state": str(a.state), "severity": str(a.severity),
            "labels": dict(a.labels), "since": iso_utc(a.since) if a.since is not None else None,
            "summary": a.summary, "step": a.step, "value": value, "silenced": a.silenced,
            "acknowledged": a.acknowledged}


class Api:
    """Answers the JSON paths; `get`/`post` return None for a path that is not theirs (the server's 404)."""

    def __init__(self, engine: ServedEngine) -> None:
        self.engine = engine

    def get(self, path: str, query: str = "") -> Reply | None:
        if path == "/api/v1/series":
            try:
                return series(self.engine, SeriesAsked.parse(query))
            except BadRequest as e:
                return error(400, str(e))
        if path == "/api/v1/log":
            try:
                return log_tail(self.engine, query)
            except BadRequest as e:
                return error(400, str(e))
        if path == "/api/v1/snapshots":
            return Reply(200, [snapshot_json(s) for s in self.engine.snapshots()])
        if path == "/healthz":
            snaps = self.engine.snapshots()
            degraded = sorted({d for s in snaps for d in s.degraded})
            return Reply(200, {"status": "degraded" if degraded else "ok", "runs": len(snaps), "degraded": degraded})
        if path == "/api/v1/runs":
            return Reply(200, [status_object(s) for s in self.engine.snapshots()])
        if path == "/api/v1/alerts":
            return Reply(200, [alert_object(s.run, a) for s in self.engine.snapshots() for a in s.alerts
                               if a.state != AlertState.INACTIVE])
        return None

    def post(self, path: str, body: bytes) -> Reply | None:
        m = _ALERT_WRITE.match(path)
        if m is None:
            return None
        key, action = unquote(m["key"]), m["action"]
        found = [a for s in self.engine.snapshots() for a in s.alerts if a.key == key]
        if not found:
            return error(404, f"no alert {key!r} (GET /api/v1/alerts lists their keys)")
        try:
            if action == "ack":
                if found[0].state not in (AlertState.PENDING, AlertState.FIRING):
                    return error(409, f"alert {key!r} is {found[0].state}: only a pending or firing one is acknowledged")
                self.engine.acknowledge(key)
                return Reply(200, {"key": key, "acknowledged": True})
            duration_s, comment = silence_request(body)
            return Reply(200, {"key": key, "silence_id": self.engine.silence(key, duration_s, comment),
                               "duration_s": duration_s})
        except BadRequest as e:
            return error(400, str(e))
        except KeyError:  # gone between the look and the act
            return error(404, f"no alert {key!r}")


def silence_request(body: bytes) -> tuple[float, str]:
    """`{"duration": "2h" | seconds, "comment": "..."}` → (seconds, comment); BadRequest saying what is wrong."""
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequest(f"body is not JSON: {e}") from None
    if not isinstance(data, dict):
        raise BadRequest('body must be a JSON object: {"duration": "2h", "comment": "..."}')
    unknown = sorted(set(data) - {"duration", "comment"})
    if unknown:
        raise BadRequest(f"unknown field(s) {', '.join(map(repr, unknown))} (known: duration, comment)")
    duration, comment = data.get("duration"), data.get("comment", "")
    if isinstance(duration, str):
        try:
            seconds = parse_duration(duration)
        except ValueError as e:
            raise BadRequest(f"duration: {e}") from None
    elif isinstance(duration, int | float) and not isinstance(duration, bool):
        seconds = float(duration)
    else:
        raise BadRequest('duration is required: "2h" or a number of seconds')
    if not math.isfinite(seconds) or not 0 < seconds <= SILENCE_MAX_S:
        raise BadRequest(f"duration must be above 0s and at most 365d, got {duration!r}")
    if not isinstance(comment, str) or len(comment) > 1000:
        raise BadRequest("comment must be a string of at most 1000 characters")
    return seconds, comment


SERIES_MAX_WIDTH = 4000
"""The most columns a series is downsampled to (each column: min, max, last of its points)."""


@dataclass(frozen=True, slots=True)
class SeriesAsked:
    """`GET /api/v1/series?run=R&metric=M[&width=N][&rank=K][&x=step|time|tokens][&last_steps=S]`."""

    run: str
    metric: str
    width: int = 200
    rank: int | None = None
    x: XAxis = XAxis.STEP
    last_steps: float | None = None

    @classmethod
    def parse(cls, query: str) -> SeriesAsked:
        q = _query(query, ("run", "metric", "width", "rank", "x", "last_steps"))
        if not q.get("run") or not q.get("metric"):
            raise BadRequest("run and metric are required: /api/v1/series?run=RUN&metric=loss")
        try:
            width = int(q.get("width", "200"))
            rank = int(q["rank"]) if "rank" in q else None
            last = float(q["last_steps"]) if "last_steps" in q else None
            x = XAxis(q.get("x", "step"))
        except ValueError as e:
            raise BadRequest(f"bad parameter: {e}") from None
        if not 1 <= width <= SERIES_MAX_WIDTH:
            raise BadRequest(f"width must be from 1 to {SERIES_MAX_WIDTH}, got {width}")
        if last is not None and not (math.isfinite(last) and last > 0):
            raise BadRequest(f"last_steps must be above 0, got {q['last_steps']!r}")
        return cls(q["run"], q["metric"], width, rank, x, last)


def series(engine: ServedEngine, asked: SeriesAsked) -> Reply:
    """One metric of one run downsampled to `width` columns, as the TUI's charts get it (`Engine.chart`)."""
    c = engine.chart(asked.run, asked.metric, asked.width, rank=asked.rank, last_steps=asked.last_steps, x=asked.x)
    if c is None:
        rank = "" if asked.rank is None else f" rank {asked.rank}"
        return error(404, f"no series {asked.metric!r} for run {asked.run!r}{rank} against {asked.x}")
    return Reply(200, chart_json(c, asked.x))


LOG_MAX_LINES = 1000
"""The most log lines `/api/v1/log` returns at once (the TUI's log pane shows a screenful)."""


def _query(query: str, known: tuple[str, ...]) -> dict[str, str]:
    """A query string as {name: last value}; BadRequest for a malformed one or an unknown name."""
    try:
        q = {k: v[-1] for k, v in parse_qs(query, strict_parsing=bool(query), max_num_fields=20).items()}
    except ValueError as e:
        raise BadRequest(f"bad query string: {e}") from None
    unknown = sorted(set(q) - set(known))
    if unknown:
        raise BadRequest(f"unknown parameter(s) {', '.join(unknown)} (known: {', '.join(known)})")
    return q


def log_tail(engine: ServedEngine, query: str) -> Reply:
    """`GET /api/v1/log?run=R[&lines=N]`: the run's last N log lines (default 200), as the TUI's log pane
    shows them (escape sequences already stripped by the engine)."""
    q = _query(query, ("run", "lines"))
    if not q.get("run"):
        raise BadRequest("run is required: /api/v1/log?run=RUN&lines=200")
    lines = q.get("lines", "200")
    if not lines.isdigit() or not 1 <= int(lines) <= LOG_MAX_LINES:
        raise BadRequest(f"lines must be from 1 to {LOG_MAX_LINES}, got {lines!r}")
    if q["run"] not in {s.run for s in engine.snapshots()}:
        return error(404, f"no run {q['run']!r}")
    return Reply(200, {"run": q["run"], "lines": engine.log_tail(q["run"], int(lines))})
