"""The online W&B poller against a fake `Api`: polling, paging, resumption, backoff, terminal states, secrets.

There is no network here, and the real service is never called: every test
hands the poller an `api_factory` that returns the fake below.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runwatch.parsers.wandb import WandbRowsDecoder
from runwatch.watcher.types import ItemBatch, Notice
from runwatch.watcher.wandb_online import (
    STATE_KEY,
    WandbOnlineSource,
    default_api,
    has_api_key,
    parse_wandb_url,
    redact,
)
from tests.support.waiting import wait_for

URL = "wandb://team/proj/abc123"
FAKE_KEY = "0123456789abcdef0123456789abcdef01234567"


class FakeRun:
    def __init__(self, api: FakeApi) -> None:
        self._api = api
        self.state = api.states[0]
        self.id, self.name, self.entity, self.project = "abc123", "tiny", "team", "proj"
        self.url = "https://wandb.ai/team/proj/runs/abc123"
        self.config = {"lr": 0.1, "max_steps": 100}
        self.summary_metrics = {"train/loss": 1.0}

    def scan_history(self, *, min_step: int = 0, page_size: int = 1000, use_cache: bool = True) -> Iterator[dict[str, Any]]:
        self._api.scans.append((min_step, page_size, use_cache))
        fail_after = self._api.scan_failures.pop(0) if self._api.scan_failures else None
        for n, row in enumerate(r for r in self._api.rows if r["_step"] >= min_step):
            if fail_after is not None and n == fail_after:
                raise ConnectionError("connection reset while paging")
            yield dict(row)


class FakeApi:
    """Rows the run has logged so far, its states poll after poll, failures to inject."""

    def __init__(self, rows: int = 0, states: list[str] | None = None) -> None:
        self.rows = [row(i) for i in range(rows)]
        self.states = states or ["running"]
        self.run_failures: list[Exception] = []
        self.scan_failures: list[int] = []
        self.scans: list[tuple[int, int, bool]] = []
        self.flushes = 0
        self.lock = threading.Lock()

    def flush(self) -> None:
        self.flushes += 1

    def run(self, path: str) -> FakeRun:
        assert path == "team/proj/abc123"
        if self.run_failures:
            raise self.run_failures.pop(0)
        run = FakeRun(self)
        if len(self.states) > 1:
            self.states.pop(0)
        return run

    def log(self, n: int) -> None:
        start = len(self.rows)
        self.rows.extend(row(i) for i in range(start, start + n))


def row(i: int) -> dict[str, Any]:
    return {"_step": i, "_runtime": float(i), "train/loss": 1.0 / (i + 1), "eval/loss": "NaN" if i == 3 else None}


class Collector:
    def __init__(self) -> None:
        self.batches: list[ItemBatch] = []
        self.notices: list[Notice] = []

    def steps(self) -> list[int]:
        return [item["_step"] for b in self.batches for item in b.items  # type: ignore[index]
                if isinstance(item, dict) and STATE_KEY not in item]

    def states(self) -> list[str]:
        return [item[STATE_KEY] for b in self.batches for item in b.items  # type: ignore[index]
                if isinstance(item, dict) and STATE_KEY in item]

    def said(self, word: str) -> list[str]:
        return [n.message for n in self.notices if word in n.message]


@pytest.fixture
def got() -> Collector:
    return Collector()


def poller(api: FakeApi, got: Collector, **kwargs: Any) -> WandbOnlineSource:
    kwargs.setdefault("interval", 20.0)
    kwargs.setdefault("jitter", 0.0)
    return WandbOnlineSource(URL, got.batches.append, got.notices.append, api_factory=lambda: api, **kwargs)


def test_polls_resume_after_the_last_step_with_the_cache_off(got: Collector) -> None:
    api = FakeApi(rows=10)
    p = poller(api, got)
    assert p._round() == 20.0
    api.log(5)
    assert p._round() == 20.0
    assert p._round() == 20.0  # nothing new
    assert got.steps() == list(range(15)) and p.last_step == 14
    assert [min_step for min_step, _, _ in api.scans] == [0, 10, 15]
    assert all(use_cache is False for _, _, use_cache in api.scans) and api.flushes == 3
    assert got.states() == ["running"] * 3
    history = [b.history for b in got.batches]
    assert history[:2] == [True, True] and not any(history[2:])  # rows + state, then the end-of-history marker
    assert got.batches[2].items == []


def test_rows_go_out_in_pages(got: Collector) -> None:
    api = FakeApi(rows=10)
    poller(api, got, page_size=4)._round()
    sizes = [len(b.items) for b in got.batches]
    assert sizes[:3] == [4, 4, 2] and got.steps() == list(range(10))
    assert api.scans[0][1] == 4


def test_a_scan_failing_halfway_keeps_its_rows_and_resumes_after_them(got: Collector) -> None:
    api = FakeApi(rows=10)
    api.scan_failures = [6]
    p = poller(api, got, interval=10.0, max_backoff=100.0)
    assert p._round() == 10.0  # first failure: retry after one interval
    assert got.steps() == list(range(6)) and got.states() == []
    assert got.said("connection reset") and got.notices[-1].level == "warning"
    assert p._round() == 10.0
    assert got.steps() == list(range(10)) and api.scans[-1][0] == 6
    assert got.said("reachable again")


def test_backoff_doubles_up_to_its_limit_and_resets(got: Collector) -> None:
    api = FakeApi(rows=2)
    api.run_failures = [TimeoutError("read timed out")] * 6
    p = poller(api, got, interval=15.0, max_backoff=100.0)
    assert [p._round() for _ in range(6)] == [15.0, 30.0, 60.0, 100.0, 100.0, 100.0]
    assert len(got.said("timed out")) == 1  # the same error is said once
    assert p._round() == 15.0 and got.steps() == [0, 1]


def test_jitter_stays_within_its_share() -> None:
    api = FakeApi()
    api.run_failures = [OSError("down")] * 20
    p = WandbOnlineSource(URL, lambda b: None, lambda n: None, api_factory=lambda: api, interval=10.0,
                          max_backoff=40.0, jitter=0.1, rng=random.Random(1))
    delays = [p._round() for _ in range(20)]
    assert all(d is not None and 10.0 <= d <= 44.0 for d in delays) and len(set(delays)) > 1


def test_a_failing_factory_is_retried(got: Collector) -> None:
    calls = []

    def factory() -> FakeApi:
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("service not reachable")
        return FakeApi(rows=1)

    p = WandbOnlineSource(URL, got.batches.append, got.notices.append, api_factory=factory, interval=5.0,
                          jitter=0.0)
    assert [p._round() for _ in range(3)] == [5.0, 10.0, 5.0]
    assert got.steps() == [0]


def test_the_thread_stops_by_itself_when_the_run_ends(got: Collector) -> None:
    api = FakeApi(rows=3, states=["running", "running", "finished"])
    source = poller(api, got, interval=0.01, max_backoff=0.1)
    source.start()
    wait_for(lambda: not source.is_alive())
    source.join()
    assert got.states() == ["running", "running", "finished"] and source.state == "finished"
    assert got.said("is finished; stopped polling")
    records = WandbRowsDecoder().feed([i for b in got.batches for i in b.items], 1.0)
    assert [r.event for r in records if r.event == "finished"] == ["finished"]


def test_stop_ends_a_poller_waiting_between_polls(got: Collector) -> None:
    source = poller(FakeApi(rows=1), got, interval=30.0, max_backoff=60.0)
    source.start()
    wait_for(lambda: got.states())
    source.stop()
    source.join(5)
    assert not source.is_alive()


def test_the_api_key_is_never_printed(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                      got: Collector) -> None:
    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)
    api = FakeApi(rows=1)
    api.run_failures = [PermissionError(f"401 for api_key={FAKE_KEY}: Authorization: Bearer {FAKE_KEY}")]
    source = poller(api, got, interval=0.01, max_backoff=0.02)
    with source:
        wait_for(lambda: got.steps())
    captured = capsys.readouterr()
    text = "\n".join(n.message for n in got.notices) + captured.out + captured.err
    assert got.said("401") and FAKE_KEY not in text and "0123456789abcdef" not in text


def test_without_a_key_wandb_is_not_even_imported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    assert not has_api_key()
    with pytest.raises(RuntimeError, match="WANDB_API_KEY"):
        default_api()
    (tmp_path / "netrc").write_text("machine api.wandb.ai\n  login user\n  password " + FAKE_KEY + "\n")
    (tmp_path / "netrc").chmod(0o600)
    assert has_api_key()
    monkeypatch.setenv("WANDB_BASE_URL", "https://wandb.example.com")
    assert not has_api_key()


def test_a_missing_key_is_an_error_notice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, got: Collector) -> None:
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    p = WandbOnlineSource(URL, got.batches.append, got.notices.append, interval=20.0, jitter=0.0)
    assert p._round() == 20.0
    assert got.notices[-1].level == "error" and "wandb login" in got.notices[-1].message


@pytest.mark.parametrize(("url", "parts"), [
    ("wandb://team/proj/abc123", ("team", "proj", "abc123")),
    ("wandb://team/proj/runs/abc123", ("team", "proj", "abc123")),
    ("wandb://my-team/my.proj/x_1/", ("my-team", "my.proj", "x_1")),
    # a run's web address, as copied from the browser, is taken as it is too
    ("https://wandb.ai/team/proj/runs/abc123", ("team", "proj", "abc123")),
    ("https://wandb.ai/team/proj/runs/abc123?nw=nwuser#logs", ("team", "proj", "abc123")),
])
def test_parse_url(url: str, parts: tuple[str, str, str]) -> None:
    assert parse_wandb_url(url) == parts


@pytest.mark.parametrize("url", ["wandb://team/proj", "wandb://a/b/c/d", "https://wandb.ai/a/b/c",
                                 "wandb://a/b/c d", "https://example.com/a/b/runs/c"])
def test_parse_url_errors(url: str) -> None:
    with pytest.raises(ValueError, match="W&B run address|not a W&B"):
        parse_wandb_url(url)


def test_bad_settings_are_errors() -> None:
    with pytest.raises(ValueError, match="interval"):
        WandbOnlineSource(URL, lambda b: None, lambda n: None, interval=0)
    with pytest.raises(ValueError, match="page_size"):
        WandbOnlineSource(URL, lambda b: None, lambda n: None, page_size=0)


def test_redact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_API_KEY", "sekrit-value-123")
    assert redact("key sekrit-value-123 here") == "key *** here"
    assert FAKE_KEY not in redact(f"got {FAKE_KEY}")
    assert redact("token=abc.def password: hunter2") == "token=*** password: ***"
    assert redact("run abc123 step 5") == "run abc123 step 5"
