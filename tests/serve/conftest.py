"""A real run for the listener's tests: the engine following the nanoGPT log with a NaN at step 300
(tests/fixtures/realruns/nanogpt-tb-nan), its alerts judged by the default rules."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from runwatch.alerting import Alerting
from runwatch.config import load_config
from runwatch.engine import Engine, EngineOptions
from runwatch.model import AlertState, RunSnapshot
from tests.support.paths import FIXTURES
from tests.support.waiting import wait_for

NAN_LOG = FIXTURES / "realruns/nanogpt-tb-nan/run/train.log"
LAST_STEP = 595


def nan_fired(engine: Engine) -> list[RunSnapshot] | None:
    """The snapshots once the whole log is read and its NaN alerts fire."""
    snaps = engine.snapshots()
    done = (len(snaps) == 1 and snaps[0].progress.step == LAST_STEP and not snaps[0].reading_history
            and any(a.rule == "nonfinite" and a.state == AlertState.FIRING for a in snaps[0].alerts))
    return snaps if done else None


@pytest.fixture
def nan_engine(tmp_path: Path) -> Iterator[Engine]:
    """The engine following a copy of the NaN run's log, its history read and judged."""
    log = tmp_path / "train.log"
    shutil.copy(NAN_LOG, log)
    config = load_config(None)
    engine = Engine([str(log)], EngineOptions(poll_interval=0.1, system=False),
                    alerting=Alerting(config, persist=False))
    with engine:
        wait_for(lambda: nan_fired(engine), timeout=60)
        yield engine


@pytest.fixture(scope="module")
def nan_snapshots(tmp_path_factory: pytest.TempPathFactory) -> list[RunSnapshot]:
    """The NaN run's snapshots once read and judged (taken once per module; the engine is stopped)."""
    log = tmp_path_factory.mktemp("nan") / "train.log"
    shutil.copy(NAN_LOG, log)
    engine = Engine([str(log)], EngineOptions(poll_interval=0.1, system=False),
                    alerting=Alerting(load_config(None), persist=False))
    with engine:
        snaps: list[RunSnapshot] = wait_for(lambda: nan_fired(engine), timeout=60)
    return snaps
