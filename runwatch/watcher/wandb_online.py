"""Follow an online W&B run: `runwatch tail wandb://ENTITY/PROJECT/RUN_ID`.

Polls the public API every `interval` seconds (20 by default): `api.run(path)`
after `api.flush()` (the Api caches runs, and a cached run never sees its new
state or steps), then `run.scan_history(min_step=last + 1, use_cache=False)`.
Rows go out in `ItemBatch(kind="wandb_rows")`, at most `page_size` per batch
so that a scan failing halfway keeps what it read; every poll ends with a
run-state item (`{STATE_KEY: state, "config", "summary", "run"}`). A failing
poll is retried with exponential backoff; the poller stops by itself once the
run is finished, crashed, failed or killed.

The API key comes from where wandb itself reads it, `WANDB_API_KEY` or the
netrc file (`wandb login`); runwatch never passes, logs or prints it, and
removes it from any error text it passes on. The `Api` is made by
`api_factory`, so tests run against a fake: this path is not tested against
the live service.
"""

from __future__ import annotations

import math
import netrc
import os
import random
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlparse

from runwatch import patterns
from runwatch.errors import BadValueError
from runwatch.watcher.threads import SourceThread
from runwatch.watcher.types import ItemBatch, Notice, NoticeLevel

KIND = "wandb_rows"
SCHEME = "wandb://"
STATE_KEY = "_runwatch_run_state"
"""Marks the run-state item; runwatch.parsers.wandb reads it (the same string)."""
TERMINAL_STATES = frozenset({"finished", "crashed", "failed", "killed"})
DEFAULT_BASE_URL = "https://api.wandb.ai"
_PART = patterns.compile(r"^[A-Za-z0-9_.\-]+$")
_SECRETS = patterns.compile(r"(?i)\b(api[_-]?key|password|token|authorization)(\s*[=:]\s*|\s+)(bearer\s+|basic\s+)?\S+")
_KEY_LIKE = patterns.compile(r"\b[0-9a-f]{40}\b|\b(?:local|wandb_v\d+)[-_][A-Za-z0-9_\-]{20,}")

ApiFactory = Callable[[], Any]


class MissingApiKeyError(RuntimeError):
    """No W&B API key in the environment or the netrc file."""


_WEB = patterns.compile(r"https?://(?:www\.)?wandb\.ai/")
"""A run's web address (`https://wandb.ai/ENTITY/PROJECT/runs/RUN_ID`), as users copy it from a browser."""


def is_wandb_url(text: str) -> bool:
    return text.startswith(SCHEME) or _WEB.match(text) is not None


def parse_wandb_url(url: str) -> tuple[str, str, str]:
    """`wandb://ENTITY/PROJECT/RUN_ID` → (entity, project, run id); BadValueError (a ValueError) naming what is wrong.

    A web address of a run (`https://wandb.ai/ENTITY/PROJECT/runs/RUN_ID`) pasted
    after the scheme is understood too.
    """
    if not is_wandb_url(url):
        raise BadValueError(f"not a W&B run address: {url!r} (expected wandb://ENTITY/PROJECT/RUN_ID)")
    web = _WEB.match(url)
    rest = url[web.end():] if web is not None else url[len(SCHEME):]
    parts = [p for p in rest.split("?")[0].split("#")[0].split("/") if p]
    if len(parts) == 4 and parts[2] == "runs":
        parts = [parts[0], parts[1], parts[3]]
    elif web is not None:
        parts = []  # a web address names a run only as ENTITY/PROJECT/runs/RUN_ID
    if len(parts) != 3:
        raise BadValueError(f"W&B run address {url!r} must be wandb://ENTITY/PROJECT/RUN_ID")
    for name, part in zip(("entity", "project", "run id"), parts, strict=True):
        if not _PART.match(part):
            raise BadValueError(f"W&B run address {url!r}: bad {name} {part!r}")
    return parts[0], parts[1], parts[2]


def redact(text: str) -> str:
    """`text` without the API key: the value of WANDB_API_KEY, anything key-shaped, `token=…`."""
    key = os.environ.get("WANDB_API_KEY", "")
    if len(key) >= 8:
        text = text.replace(key, "***")
    text = _SECRETS.sub(lambda m: f"{m[1]}{m[2]}***", text)
    return _KEY_LIKE.sub("***", text)


def has_api_key(base_url: str | None = None) -> bool:
    """Whether wandb will find a key without asking: WANDB_API_KEY, or a netrc entry for the API host."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(base_url or os.environ.get("WANDB_BASE_URL") or DEFAULT_BASE_URL).hostname or ""
    try:
        found = netrc.netrc(os.environ.get("NETRC") or None).authenticators(host)
    except (OSError, netrc.NetrcParseError):
        return False
    return bool(found and found[2])


def default_api() -> Any:
    """`wandb.Api()`, once a key is known to be there (so wandb never prompts from our thread)."""
    if not has_api_key():
        raise MissingApiKeyError("no W&B API key: set WANDB_API_KEY or run `wandb login` (writes ~/.netrc)")
    import wandb  # slow (about a second) and optional: only when an online run is followed

    return wandb.Api(timeout=30)


class WandbOnlineSource(SourceThread):
    """Polls one online run until it ends (or `stop()`); see the module notes.

    Batches are `ItemBatch(kind="wandb_rows", items=[row dict…, state item])`;
    the first poll's rows have `history=True`, followed by an empty batch with
    `history=False`. `interval`: seconds between polls; after failures the
    wait doubles from `interval` up to `max_backoff`, each with up to
    `jitter` of random extra.
    """

    def __init__(
        self,
        url: str,
        on_batch: Callable[[ItemBatch], None],
        on_notice: Callable[[Notice], None],
        *,
        api_factory: ApiFactory | None = None,
        interval: float = 20.0,
        max_backoff: float = 300.0,
        page_size: int = 1000,
        jitter: float = 0.1,
        rng: random.Random | None = None,
        source: str | None = None,
    ) -> None:
        entity, project, run_id = parse_wandb_url(url)
        if interval <= 0 or max_backoff < interval:
            raise ValueError(f"need 0 < interval <= max_backoff, got {interval} and {max_backoff}")
        if page_size <= 0:
            raise ValueError(f"page_size must be positive, got {page_size}")
        super().__init__(f"wandb-online-{run_id}", url if source is None else source, on_notice)
        self.run_path = f"{entity}/{project}/{run_id}"
        self._on_batch = on_batch
        self._factory = api_factory if api_factory is not None else default_api
        self._interval, self._max_backoff, self._page = interval, max_backoff, page_size
        self._jitter, self._rng = jitter, rng if rng is not None else random.Random()
        self._api: Any = None
        self._last_step = -1
        self._failures = 0
        self._error: str | None = None
        self._history = True
        self.state: str | None = None
        """The run's state at the last successful poll."""

    @property
    def last_step(self) -> int:
        """The last history step delivered (-1 before any)."""
        return self._last_step

    def body(self) -> None:
        self._notice("info", f"polling W&B run {self.run_path} every {self._interval:g}s (online; the API key "
                     "comes from WANDB_API_KEY or ~/.netrc)")
        try:
            while not self.stopping:
                delay = self._round()
                if delay is None:
                    return
                self._stopping.wait(delay)
        except Exception as exc:  # thread top: say why we stopped, never die silently
            self._safe_notice("error", f"stopped polling W&B run {self.run_path}: {redact(repr(exc))}")

    def _round(self) -> float | None:
        """One poll; the seconds to wait before the next, or None when the run ended."""
        try:
            ended = self._poll()
        except Exception as exc:  # the API, the network, the fake: all retried with backoff
            return self._failed(exc)
        if self._failures:
            self._notice("info", f"W&B API reachable again after {self._failures} failed poll(s)")
        self._failures, self._error = 0, None
        return None if ended else self._interval

    def _poll(self) -> bool:
        if self._api is None:
            self._api = self._factory()
        api = self._api
        if hasattr(api, "flush"):
            api.flush()
        run = api.run(self.run_path)
        state = str(getattr(run, "state", "") or "").lower()
        rows = run.scan_history(min_step=self._last_step + 1, page_size=self._page, use_cache=False)
        self._deliver_rows(rows)
        self.state = state
        self._emit([self._state_item(run, state)])
        if self._history:
            self._history = False
            self._emit([])
        if state in TERMINAL_STATES:
            self._notice("info", f"W&B run {self.run_path} is {state}; stopped polling")
            return True
        return False

    def _deliver_rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        page: list[object] = []
        try:
            for row in rows:
                step = _step_of(row)
                if step is not None:
                    if step <= self._last_step:
                        continue  # a row the server sent again: delivered already
                    self._last_step = step
                page.append(dict(row))
                if len(page) >= self._page:
                    self._emit(page)
                    page = []
        finally:
            if page:  # what was read before a failure is kept; the next poll starts after it
                self._emit(page)

    def _state_item(self, run: Any, state: str) -> dict[str, Any]:
        item: dict[str, Any] = {STATE_KEY: state}
        for key, attr in (("config", "config"), ("summary", "summary_metrics")):
            value = _attr(run, attr)
            if isinstance(value, Mapping):
                item[key] = dict(value)
        info = {k: _attr(run, a) for k, a in (("id", "id"), ("name", "name"), ("entity", "entity"),
                                               ("project", "project"), ("url", "url"), ("state", "state"))}
        item["run"] = {k: v for k, v in info.items() if isinstance(v, str | int | float) and v != ""}
        return item

    def _failed(self, exc: Exception) -> float:
        self._failures += 1
        if isinstance(exc, MissingApiKeyError):
            self._api = None
        delay: float = min(self._max_backoff, self._interval * 2 ** (self._failures - 1))
        delay *= 1.0 + self._jitter * self._rng.random()
        text = redact(f"{type(exc).__name__}: {exc}")[:300]
        if text != self._error:
            self._error = text
            level: NoticeLevel = "error" if isinstance(exc, MissingApiKeyError) else "warning"
            self._notice(level, f"W&B API poll of {self.run_path} failed ({text}); retrying in {delay:.0f}s")
        return delay

    def _emit(self, items: list[object]) -> None:
        self._on_batch(ItemBatch(self.source, KIND, items, time.time(), history=self._history))


def _attr(obj: Any, name: str) -> Any:
    try:
        return getattr(obj, name, None)
    except Exception:  # lazy API properties load over the network; a failure is no metadata
        return None


def _step_of(row: Mapping[str, Any]) -> int | None:
    value = row.get("_step")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return int(value)
