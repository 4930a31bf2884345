"""Chart columns along steps, wall time or tokens seen (runwatch.state.xaxis)."""

from __future__ import annotations

import numpy as np
import pytest

from runwatch.model import XAxis, knows_tokens
from runwatch.state.series import Series
from runwatch.state.xaxis import columns_for, tokens_by_step


def series(x: np.ndarray, v: np.ndarray, t: np.ndarray | float = 0.0) -> Series:
    s = Series(keep=4096, budget=256)
    if isinstance(t, float):
        s.extend(x.astype(float), v.astype(float), t)
    else:
        for xi, vi, ti in zip(x.tolist(), v.tolist(), t.tolist(), strict=True):
            s.append(xi, vi, ti)
    return s


def test_tokens_from_a_logged_count() -> None:
    """Megatron's consumed tokens: the curve is the count itself, and a chart's step columns go to it."""
    steps = np.arange(10.0, 1010.0, 10.0)
    store = {"consumed_tokens": series(steps, steps * 4096), "loss": series(steps, 1 / steps)}
    curve = tokens_by_step(store.get)
    assert curve is not None
    assert curve[0].tolist() == steps.tolist() and curve[1].tolist() == (steps * 4096).tolist()
    c = columns_for(store["loss"], 50, None, XAxis.TOKENS, store.get)
    assert c is not None and c.x[-1] == 1000 * 4096 and (np.diff(c.x) > 0).all()


def test_tokens_from_rate_times_step_time_count_the_steps_between_logged_ones() -> None:
    """A log printing every 10th step with 1,000 tokens/s and 0.5 s steps: 500 tokens a step, and the
    line at step 20 stands for steps 11..20."""
    steps = np.arange(0.0, 101.0, 10.0)
    store = {"tokens_per_sec": series(steps, np.full(steps.size, 1000.0)),
             "step_time": series(steps, np.full(steps.size, 0.5))}
    curve = tokens_by_step(store.get)
    assert curve is not None
    assert curve[1].tolist() == [500.0 * (1 + 10 * k) for k in range(11)]


def test_a_resumed_run_keeps_the_curve_increasing() -> None:
    """A run resumed into its log steps back (40 after 50): the steps it logs again are left out of the
    curve, which np.interp needs increasing."""
    x = np.array([10.0, 20, 30, 40, 50, 40, 50, 60])
    store = {"consumed_tokens": series(x, x * 100)}
    curve = tokens_by_step(store.get)
    assert curve is not None and curve[0].tolist() == [10, 20, 30, 40, 50, 60]


def test_no_tokens_no_tokens_axis_and_the_other_axes_are_the_series_own() -> None:
    steps = np.arange(0.0, 100.0)
    t = 1000.0 + steps * 2
    store = {"loss": series(steps, np.ones(100), t), "tokens_per_sec": series(steps, np.ones(100), t)}
    assert tokens_by_step(store.get) is None
    assert columns_for(store["loss"], 20, None, XAxis.TOKENS, store.get) is None
    by_step = columns_for(store["loss"], 20, None, XAxis.STEP, store.get)
    by_time = columns_for(store["loss"], 20, None, XAxis.TIME, store.get)
    assert by_step is not None and by_step.x[-1] == 99
    assert by_time is not None and by_time.x[-1] == pytest.approx(1198.0)


def test_knows_tokens_from_a_count_or_the_rate_pair() -> None:
    assert knows_tokens({"loss", "consumed_tokens"})
    assert knows_tokens({"tokens_per_sec", "step_time"})
    assert not knows_tokens({"tokens_per_sec", "loss"})
