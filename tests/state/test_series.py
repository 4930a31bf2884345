"""Series: bounded memory, exact recent points, spikes and NaNs that survive downsampling."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch.state.series import Series, SeriesStore


def filled(values: np.ndarray, keep: int = 64, budget: int = 16, x: np.ndarray | None = None) -> Series:
    s = Series(keep=keep, budget=budget)
    xs = np.arange(len(values), dtype=float) if x is None else x
    for xi, v in zip(xs.tolist(), values.tolist(), strict=True):
        s.append(xi, v, 1000.0 + xi)
    return s


def naive_columns(x: np.ndarray, v: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-column NaN-ignoring min/max of raw points, columns of equal step span."""
    col = np.minimum(((x - x.min()) * (width / (x.max() - x.min()))).astype(int), width - 1)
    used = np.unique(col)
    return (np.array([np.nanmin(v[col == c]) for c in used]), np.array([np.nanmax(v[col == c]) for c in used]))


def test_million_points_stay_bounded() -> None:
    s = Series()
    for i in range(1_000_000):
        s.append(float(i), 1.0, 0.0)
    assert len(s) == 1_000_000
    assert s.nbytes < 400_000
    assert s.latest == (999_999.0, 1.0, 0.0)
    x, v, t = s.recent(4096)
    assert len(x) == 4096 and x[0] == 1_000_000 - 4096 and x[-1] == 999_999


def test_nbytes_never_exceeds_raw_capacity_plus_bucket_budget() -> None:
    s = Series(keep=64, budget=16)
    bound = (64 + 16) * 3 * 8 + 16 * 13 * 8  # raw x/value/t + 13 aggregates per bucket (first value, its time, step of the min)
    for i in range(50_000):
        s.append(float(i), math.sin(i), 0.0)
        assert s.nbytes <= bound


@pytest.mark.parametrize("n", [0, 1, 63, 64, 80, 81, 1000])
def test_recent_is_exact_and_len_counts_everything(n: int) -> None:
    values = np.random.default_rng(n).normal(size=n)
    s = filled(values)
    x, v, t = s.recent(64)
    k = min(n, 64)
    assert len(s) == n
    np.testing.assert_array_equal(v, values[n - k :])
    np.testing.assert_array_equal(x, np.arange(n - k, n))
    np.testing.assert_array_equal(t, 1000.0 + x)
    assert s.latest == (None if n == 0 else (n - 1.0, float(values[-1]), 1000.0 + n - 1))


def test_recent_returns_copies() -> None:
    s = filled(np.ones(10))
    _, v, _ = s.recent()
    v[:] = 5.0
    assert s.recent()[1].tolist() == [1.0] * 10


@pytest.mark.parametrize(
    ("n", "width", "seed"),
    [(50, 200, 0), (500, 37, 1), (5_000, 200, 2), (20_000, 64, 3), (20_000, 1, 4), (100_000, 199, 5)],
)
def test_downsample_min_max_match_naive(n: int, width: int, seed: int) -> None:
    """Every raw point lands in exactly one column; min/max over a column are exact.

    With history buckets a bucket is binned by its last step, so compare the
    global extremes and the total, which any binning must preserve.
    """
    rng = np.random.default_rng(seed)
    values = rng.normal(size=n).cumsum()
    s = filled(values, keep=256, budget=32)
    c = s.columns(width)
    assert len(c.x) <= width
    assert c.count.sum() == n
    assert c.ymin.min() == values.min() and c.ymax.max() == values.max()
    assert c.ylast[-1] == values[-1] and c.x[-1] == n - 1
    np.testing.assert_allclose((c.mean * c.count).sum(), values.sum(), rtol=1e-9)


@pytest.mark.parametrize(("n", "width"), [(1000, 50), (5000, 200), (3000, 7)])
def test_downsample_of_raw_points_matches_naive_columns(n: int, width: int) -> None:
    values = np.random.default_rng(n).normal(size=n)
    s = filled(values, keep=n, budget=16)  # everything still raw
    x, ymin, ymax, ylast = s.downsample(width)
    want_min, want_max = naive_columns(np.arange(n, dtype=float), values, width)
    np.testing.assert_array_equal(ymin, want_min)
    np.testing.assert_array_equal(ymax, want_max)


def test_small_series_downsample_returns_the_points_themselves() -> None:
    values = np.array([3.0, math.nan, 1.0, math.inf])
    x, ymin, ymax, ylast = filled(values).downsample(10)
    np.testing.assert_array_equal(x, [0, 1, 2, 3])
    np.testing.assert_array_equal(ylast, values)
    assert math.isnan(ymin[1]) and math.isnan(ymax[1]) and ymax[3] == math.inf


@pytest.mark.parametrize(
    ("planted", "check"),
    [
        ("spike", lambda ymin, ymax: ymax.max() == 1e6),
        ("dip", lambda ymin, ymax: ymin.min() == -1e6),
        ("nan", lambda ymin, ymax: np.isnan(ymax).sum() == 1 and np.isnan(ymin).sum() == 1),
        ("inf", lambda ymin, ymax: np.isinf(ymax).sum() == 1),
    ],
)
def test_one_bad_point_in_old_history_stays_visible(planted: str, check) -> None:  # type: ignore[no-untyped-def]
    values = np.random.default_rng(7).normal(size=200_000)
    values[12_345] = {"spike": 1e6, "dip": -1e6, "nan": math.nan, "inf": math.inf}[planted]
    s = filled(values, keep=512, budget=64)
    _, ymin, ymax, _ = s.downsample(200)
    assert check(ymin, ymax)


def test_nan_in_history_is_counted_and_finite_range_kept() -> None:
    values = np.ones(100_000)
    values[10] = math.nan
    c = filled(values, keep=128, budget=16).columns(50)
    assert c.nan.sum() == 1 and c.inf.sum() == 0
    assert np.all(c.ymin == 1.0) and np.all(c.ymax == 1.0)
    assert np.nansum(c.mean * (c.count - c.nan)) == pytest.approx(99_999)


def test_x_min_limits_the_range() -> None:
    s = filled(np.arange(10_000, dtype=float), keep=256, budget=32)
    x, ymin, ymax, _ = s.downsample(100, x_min=9_000)
    assert x.min() >= 9_000 - 1 and ymax.max() == 9_999 and len(x) <= 100
    assert ymin.min() >= 8_000  # at most one bucket straddling x_min


def test_non_monotonic_steps_do_not_break_columns() -> None:
    x = np.concatenate((np.arange(1000.0), np.arange(500.0, 1500.0)))  # resumed from a checkpoint
    c = filled(np.ones(2000), x=x).columns(20)
    assert c.count.sum() == 2000 and len(c.x) <= 20


@pytest.mark.parametrize(("keep", "budget"), [(0, 16), (16, 1)])
def test_bad_sizes_are_rejected(keep: int, budget: int) -> None:
    with pytest.raises(ValueError):
        Series(keep=keep, budget=budget)


def test_store_keys_metrics_and_ranks() -> None:
    store = SeriesStore(keep=8, budget=4)
    store.add({"loss": 2.0, "lr": 1e-3}, x=1, t=10.0)
    store.add({"loss": 2.1}, x=1, t=10.0, rank=3)
    store.add({"loss": 2.2}, x=1, t=10.0, rank=0)
    assert store.metrics() == ["loss", "lr"]
    assert store.ranks() == [None, 0, 3]
    assert store.ranks("lr") == [None]
    assert ("loss", 3) in store and ("lr", 3) not in store
    assert store["loss", 3].latest == (1.0, 2.1, 10.0)
    assert store.get("loss") is store[("loss", None)]
    assert store.get("missing", 1) is None
    assert len(store) == 4 and set(store) == {("loss", None), ("lr", None), ("loss", 3), ("loss", 0)}
    assert store.series("val_loss", 2) is store.series("val_loss", 2)
    with pytest.raises(KeyError):
        store["nope", None]


# -- extend: many points at once ----------------------------------------------------------

def series_state(s: Series) -> list[list[float]]:
    """Everything a series shows: each history bucket and raw point as an exact column, the raw points."""
    return [c.tolist() for c in s.columns(10**9)] + [a.tolist() for a in s.recent()] + [[len(s), s.nbytes]]


@pytest.mark.parametrize(("keep", "budget", "n", "seed"), [(64, 16, 20_000, 0), (7, 3, 3_333, 1), (4096, 2048, 120_000, 2)])
@pytest.mark.parametrize("history", [True, False])
def test_extend_leaves_what_appends_leave(keep: int, budget: int, n: int, seed: int, history: bool) -> None:
    """With a history (folded) or without (the newest raw points only: `runwatch check`), in pieces of any
    size up to three times what is kept raw."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=n)
    values[rng.random(n) < 0.01] = np.nan
    values[rng.random(n) < 0.01] = np.inf
    x = np.cumsum(rng.integers(0, 3, n)).astype(float)  # repeated and skipped steps
    bulk, one_by_one = Series(keep, budget, history=history), Series(keep, budget, history=history)
    pos = 0
    while pos < n:
        end = min(n, pos + int(rng.integers(1, 3 * keep)))
        t = float(pos)  # the points of one extend share a time
        bulk.extend(x[pos:end], values[pos:end], t)
        for xi, v in zip(x[pos:end].tolist(), values[pos:end].tolist(), strict=True):
            one_by_one.append(xi, v, t)
        assert repr(series_state(bulk)) == repr(series_state(one_by_one))  # as text: NaN equals NaN
        pos = end
    assert len(bulk) == n


@pytest.mark.parametrize(("keep", "budget", "n", "seed"), [(64, 16, 20_000, 0), (7, 3, 3_333, 1), (4096, 2048, 200_000, 2)])
@pytest.mark.parametrize("history", [True, False])
def test_a_series_with_slack_reads_as_one_without(keep: int, budget: int, n: int, seed: int, history: bool) -> None:
    """Raw points held past what is kept (a replay's `slack`) and folded or dropped later, at once: what the
    rules read between pieces (the newest `keep` points), and at the end everything a report reads (the
    history's columns, every raw point), are what a series that folds as the points come holds; a lagging
    source's points placed among the raw ones go where they go there."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=n)
    values[rng.random(n) < 0.01] = np.nan
    x = np.cumsum(rng.integers(0, 3, n)).astype(float)
    lazy, eager = Series(keep, budget, history=history, slack=3 * keep), Series(keep, budget, history=history)
    pos = 0
    while pos < n:
        end = min(n, pos + int(rng.integers(1, 2 * keep)))
        for s in (lazy, eager):
            if end - pos < 4:
                for i in range(pos, end):
                    s.append(float(x[i]), float(values[i]), float(i))
            else:
                s.extend(x[pos:end], values[pos:end], np.arange(pos, end, dtype=float))
        assert repr([a.tolist() for a in lazy.recent(keep)]) == repr([a.tolist() for a in eager.recent(keep)])
        if rng.random() < 0.1:  # more than is kept: all the raw points there are (the lazy one settles first)
            wide = keep + keep // 4
            assert repr([a.tolist() for a in lazy.recent(wide)]) == repr([a.tolist() for a in eager.recent(wide)])
        pos = end
    assert repr(_read(lazy)) == repr(_read(eager))
    back = x[-1] - np.array([5.0, 3.0, 1.0])  # a lagging source's points, behind the newest
    lazy.extend(x[-4:] + 100, values[-4:], 0.0)
    eager.extend(x[-4:] + 100, values[-4:], 0.0)
    lazy.place(back, np.array([1.0, 2.0, 3.0]), 1.0)
    eager.place(back, np.array([1.0, 2.0, 3.0]), 1.0)
    assert repr(_read(lazy)) == repr(_read(eager))


def _read(s: Series) -> list[list[float]]:
    """`series_state` but the memory it holds (slack holds more)."""
    return [*series_state(s)[:-1], [len(s), s.bad_seen, s.bad_since or -1.0]]


@pytest.mark.parametrize(("keep", "budget", "n"), [(64, 16, 20_000), (7, 3, 3_333), (4096, 2048, 300_000)])
def test_history_buckets_are_runs_of_equal_length(keep: int, budget: int, n: int) -> None:
    """Folded points form buckets of one power-of-two width (the last may hold fewer), whose figures are
    those of their points, however many folds built them; the newest points stay raw."""
    rng = np.random.default_rng(n)
    values = rng.normal(size=n)
    values[rng.random(n) < 0.01] = np.nan
    values[rng.random(n) < 0.005] = -np.inf
    s = Series(keep, budget)
    s.extend(np.arange(n, dtype=float), values, 0.0)
    c = s.columns(10**9)
    raw = len(s.recent()[0])
    buckets = c.count[: len(c.count) - raw]
    width = int(buckets[0])
    assert width & (width - 1) == 0 and len(buckets) <= budget
    assert (buckets[:-1] == width).all() and 0 < buckets[-1] <= width
    ends = np.cumsum(c.count)
    starts = ends - c.count
    for i in rng.choice(len(c.count), 50):
        v = values[starts[i] : ends[i]]
        finite = v[np.isfinite(v)]
        assert c.x[i] == ends[i] - 1 and c.nan[i] == np.isnan(v).sum() and c.inf[i] == np.isinf(v).sum()
        assert c.ylast[i] == v[-1] or (np.isnan(c.ylast[i]) and np.isnan(v[-1]))
        if (~np.isnan(v)).any():
            assert (c.ymin[i], c.ymax[i]) == (np.nanmin(v), np.nanmax(v))
        if finite.size:
            assert c.mean[i] == pytest.approx(finite.mean(), rel=1e-9, abs=1e-12)


def test_place_puts_a_lagging_sources_points_at_their_steps_and_leaves_out_those_held() -> None:
    """A second source's history read after the first had passed it (live, W&B's steps 5..15 read after
    the console's step 20) goes in by step, not behind step 20; a step the series holds already keeps
    the value it has (the same number from the other source, maybe rounded)."""
    s = Series(keep=64, budget=16)
    s.extend(np.array([5.0, 10.0, 15.0, 20.0]), np.array([1.0, 2.0, 3.0, 4.0]), 100.0)
    s.place(np.array([5.0, 10.0, 12.0, 20.0]), np.array([-1.0, -2.0, -3.0, -4.0]), 200.0)
    x, v, t = s.recent()
    assert x.tolist() == [5, 10, 12, 15, 20]
    assert v.tolist() == [1, 2, -3, 3, 4]
    assert t.tolist() == [100, 100, 200, 100, 100]
    assert len(s) == 5
    s.place(np.array([21.0, 22.0]), np.array([5.0, 6.0]), 300.0)  # past the newest: appended
    assert s.recent(3)[0].tolist() == [20, 21, 22]


def test_place_keeps_a_nan_at_a_step_the_series_holds() -> None:
    """A NaN or Inf from the lagging source is news even at a step the other source gave a number for
    (a Lightning metrics.csv whose loss is NaN where the console log printed a value): it goes in,
    after the held point."""
    s = Series(keep=64, budget=16)
    s.extend(np.array([5.0, 10.0, 15.0]), np.array([1.0, 2.0, 3.0]), 100.0)
    s.place(np.array([10.0, 15.0]), np.array([np.nan, 3.0]), 200.0)
    x, v, _ = s.recent()
    assert x.tolist() == [5, 10, 10, 15]
    assert v[:2].tolist() == [1, 2] and np.isnan(v[2]) and v[3] == 3


def test_place_leaves_a_resumed_logs_earlier_steps_as_they_were() -> None:
    """A run resumed into its log steps back (10, 11 after 3..20): points go among the newest run of
    steps, the one before the step back is history left as it came."""
    s = Series(keep=64, budget=16)
    s.extend(np.array([3.0, 20.0, 10.0, 11.0]), np.array([0.0, 0.0, 1.0, 1.0]), 1.0)
    s.place(np.array([4.0, 10.5]), np.array([2.0, 2.0]), 2.0)
    assert s.recent()[0].tolist() == [3, 20, 4, 10, 10.5, 11]


def test_place_past_the_raw_capacity_folds_the_oldest_into_history() -> None:
    s = Series(keep=8, budget=4)
    s.extend(np.arange(0.0, 40.0, 2.0), np.zeros(20), 1.0)
    s.place(np.arange(25.0, 40.0, 2.0), np.ones(8), 2.0)
    x, v, _ = s.recent()
    assert (np.diff(x) >= 0).all() and x[-1] == 39.0
    assert len(s) == 28
    cols = s.columns(10**6)
    assert int(cols.count.sum()) == 28  # every point is in the raw part or a bucket
    assert (np.diff(cols.x) >= 0).all()


def test_store_places_a_point_behind_the_newest_and_appends_the_rest() -> None:
    store = SeriesStore(keep=64, budget=16)
    store.add({"loss": 1.0}, x=10.0, t=1.0)
    store.place({"loss": 2.0, "lr": 0.1}, x=5.0, t=2.0)  # lr is new: nothing to place it among
    store.place({"loss": 3.0}, x=11.0, t=3.0)
    store.place({"loss": 4.0}, x=10.0, t=4.0)  # held already
    assert store["loss", None].recent()[0].tolist() == [5, 10, 11]
    assert store["loss", None].recent()[1].tolist() == [2.0, 1.0, 3.0]
    assert store["lr", None].recent()[0].tolist() == [5]


def test_columns_by_time_span_equal_times_and_leave_a_hang_empty() -> None:
    """A step a second for 100 s, a 300 s hang, 100 s more: by time, the columns cover 500 s evenly and
    none falls in the hang (by step, the hang is between two neighbouring columns); the same with the
    oldest points folded into history buckets."""
    for keep in (4096, 16):
        s = Series(keep=keep, budget=8)
        for i in range(200):
            s.append(float(i), 1.0, 1000.0 + i + (300.0 if i >= 100 else 0.0))
        c = s.columns(50, by_time=True)
        assert (np.diff(c.x) > 0).all() and c.x[-1] == 1499.0
        assert not ((c.x > 1100.0) & (c.x < 1399.0)).any()  # the hang
        assert int(c.count.sum()) == 200
        by_step = s.columns(50)
        assert by_step.x[-1] == 199.0 and (np.diff(by_step.x) <= 32).all()  # no hole by step


def test_bad_seen_counts_every_nan_inf_and_overflow_added_however_it_came() -> None:
    """What lets the nonfinite rule skip a series that never held one: append, extend and place each
    count the NaN, Inf and values past float32's range they add (place not counting again the points it moves)."""
    s = Series(keep=8, budget=4)
    s.append(1.0, 2.0, 0.0)
    assert s.bad_seen == 0
    s.append(2.0, float("nan"), 0.0)
    s.append(3.0, float("-inf"), 0.0)
    assert s.bad_seen == 2
    s.extend(np.arange(4.0, 40.0), np.where(np.arange(36) % 10 == 0, np.inf, 1.0), 0.0)  # folds history too
    assert s.bad_seen == 6
    s.place(np.array([20.5, 30.5]), np.array([np.nan, 1.0]), 1.0)
    assert s.bad_seen == 7
    s.append(41.0, -1e39, 1.0)  # past float32's range: an overflow a loop in doubles printed
    s.extend(np.array([42.0, 43.0]), np.array([3.0e38, 9e120]), 1.0)
    assert s.bad_seen == 9 and s.bad_since == 43.0


@given(st.lists(st.tuples(st.integers(1, 40), st.booleans(), st.booleans()), min_size=1, max_size=30))
@settings(max_examples=200, deadline=None)
def test_bad_since_is_where_the_newest_stretch_of_nan_began_however_points_came(
        blocks: list[tuple[int, bool, bool]]) -> None:
    """The step where the newest points' unbroken NaN/Inf began (None when the newest point is finite), the
    same whether points come one by one or in blocks, and kept when the raw points no longer reach it."""
    one, many = Series(keep=8, budget=4), Series(keep=8, budget=4)
    x0, since = 0.0, None
    for size, bad, mixed in blocks:
        x = np.arange(x0, x0 + size)
        v = np.full(size, np.nan if bad else 1.0)
        if mixed:
            v[: size // 2] = 1.0
        for xi, vi in zip(x, v, strict=True):
            one.append(float(xi), float(vi), 0.0)
            since = (since if since is not None else float(xi)) if not np.isfinite(vi) else None
        many.extend(x, v, 0.0)
        assert one.bad_since == many.bad_since == since
        x0 += size


@pytest.mark.parametrize(("keep", "n", "seed"), [(64, 20_000, 0), (7, 3_333, 1), (4096, 120_000, 2)])
def test_without_history_the_newest_points_are_those_a_series_with_history_holds(keep: int, n: int, seed: int) -> None:
    """`runwatch check` keeps no folded history (no one draws it): the raw points, the count and the
    NaN/Inf count are what a series that folds its history holds, whether points come one by one or in
    blocks far larger than the raw part."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=n)
    values[rng.random(n) < 0.01] = np.nan
    x = np.arange(n, dtype=float)
    kept, folded, one_by_one = Series(keep, history=False), Series(keep), Series(keep, history=False)
    pos = 0
    while pos < n:
        end = min(n, pos + int(rng.integers(1, 5 * keep)))
        kept.extend(x[pos:end], values[pos:end], float(pos))
        folded.extend(x[pos:end], values[pos:end], float(pos))
        for xi, v in zip(x[pos:end].tolist(), values[pos:end].tolist(), strict=True):
            one_by_one.append(xi, v, float(pos))
        newest = [a[-keep:].tolist() for a in folded.recent()]
        assert repr([a[-keep:].tolist() for a in kept.recent()]) == repr(newest)
        assert repr([a[-keep:].tolist() for a in one_by_one.recent()]) == repr(newest)
        assert len(kept) == len(folded) == len(one_by_one) == end
        assert kept.bad_seen == folded.bad_seen == one_by_one.bad_seen
        pos = end
    assert kept.nbytes < folded.nbytes


def test_a_store_keeps_the_history_of_the_metrics_it_names_only() -> None:
    """`runwatch report` folds the history of what it draws; the other series keep their newest points."""
    store = SeriesStore(keep=64, budget=8, history=frozenset({"loss"}))
    for step in range(1000):
        store.add({"loss": 10.0 - step / 100, "eta": float(1000 - step)}, x=float(step), t=float(step))
    loss, eta = store["loss", None], store["eta", None]
    assert loss.columns(8).ymax.max() == 10.0  # step 0's loss is still there, folded
    assert eta.columns(8).ymax.max() <= 64 + 16  # only the newest points (keep + a quarter) remain
    assert len(loss) == len(eta) == 1000


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(math.nan), st.just(math.inf)), min_size=1, max_size=3000),
       st.sampled_from([1, 7, 64, 1 << 40]), st.integers(4, 64), st.integers(2, 16))
def test_the_first_point_and_the_step_of_the_minimum_stay_exact(values: list[float], width: int, keep: int,
                                                                 budget: int) -> None:
    """However many points are folded into buckets and columns: the first point's value and time, and the
    step where each column's minimum first occurs (a report's loss at the start and its lowest point, which
    were a bucket's mean and a bucket's last step on a 500k-step log)."""
    v = np.array(values)
    s = filled(v, keep=keep, budget=budget)
    c = s.columns(width)
    assert c.first is not None and c.t_first is not None and c.x_at_min is not None
    assert np.array_equal(c.first[:1], v[:1], equal_nan=True) and c.t_first[0] == 1000.0
    starts = np.concatenate(([0], np.cumsum(c.count)[:-1]))
    for lo, n, low, at in zip(starts.tolist(), c.count.tolist(), c.ymin.tolist(), c.x_at_min.tolist(), strict=True):
        part = v[lo : lo + n]
        if np.isnan(part).all():
            assert math.isnan(at)
        else:
            assert low == np.nanmin(part) and at == lo + int(np.flatnonzero(part == np.nanmin(part))[0])


def test_a_bad_value_is_marked_with_the_records_the_store_had_taken_when_it_came() -> None:
    """`Series.bad_mark`: the store's record count when the newest bad value came, by `add`, by rows `took` and
    `extend`, and by `place`; a lagging source's finite points placed among a held NaN leave its mark as it was
    (the NaN did not come again)."""
    store = SeriesStore(keep=64, budget=16)
    for i in range(5):
        store.add({"loss": 1.0, "lr": 0.1}, x=float(i), t=0.0)
    loss = store.series("loss")
    assert (store.records, loss.bad_mark) == (5, -1)
    store.add({"loss": math.nan}, x=5.0, t=0.0)
    store.add({"loss": 1.0}, x=6.0, t=0.0)
    assert (store.records, loss.bad_mark, store.series("lr").bad_mark) == (7, 6, -1)
    store.took(3)
    loss.extend(np.array([7.0, 8.0, 9.0]), np.array([1.0, np.inf, 1.0]), 0.0)
    assert (store.records, loss.bad_mark) == (10, 10)
    store.took(2)
    loss.place(np.array([4.0, 9.5]), np.array([2.0, 1.0]), 0.0)  # behind the newest step, all finite
    assert (store.records, loss.bad_mark) == (12, 10)
    store.place({"loss": math.nan}, x=3.0, t=0.0)  # a lagging source's NaN: news when it comes
    assert (store.records, loss.bad_mark) == (13, 13)
