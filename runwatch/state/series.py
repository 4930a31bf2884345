"""Bounded metric series: the recent points exactly, the whole history roughly.

A run can log for weeks. Rules need the last few thousand points exactly; charts
need the whole history, but only a few hundred columns of it. So a `Series`
keeps its newest points raw and folds older ones into a fixed number of
buckets that remember first/last step, min, max, last value, finite sum, count
and how many NaN/Inf they swallowed: a spike or a NaN anywhere in the history
stays visible however long the run, and memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import NamedTuple

import numpy as np

KEEP = 4096
"""Newest points a series keeps raw once it has had them (at least): all a rule can look back over."""
OVERFLOW = float(np.finfo(np.float32).max)
"""A value past this (3.4e38, either sign) is garbage as a NaN is: float32 and bf16 training would hold Inf there,
and a library computing in doubles prints the same overflow as a number (LightGBM fitted with a learning rate of
1e30: `valid_0's l2: 9.24749e+120` every round, no NaN, judged OK, where XGBoost's fit of the same data read `inf`
then `nan`). No loss a model computes comes near it (a perplexity might: exp of a loss of 89; none is judged so)."""
_LOWEST = -OVERFLOW


def sane(values: np.ndarray) -> np.ndarray:
    """Which values are finite and within float32's range (`OVERFLOW`): NaN compares false."""
    within: np.ndarray = np.abs(values) <= OVERFLOW
    return within
SLACK_SERIES = 64
"""Series of a store that get its `slack` (the rest get none)."""
Key = tuple[str, int | None]
History = bool | frozenset[str]
"""Which series fold their older points into a history (True: all, False: none, else the metrics named)."""


class _Agg(NamedTuple):
    """Aggregates of consecutive points (a raw point is an aggregate of one)."""

    x_first: np.ndarray
    x_last: np.ndarray
    t_last: np.ndarray
    """Time of the last point (wall time, as the point was received or stamped): a chart's time axis."""
    vmin: np.ndarray
    """NaN-ignoring minimum (an Inf counts as a value)."""
    vmax: np.ndarray
    last: np.ndarray
    total: np.ndarray
    """Sum of the finite values."""
    count: np.ndarray  # type: ignore[assignment]  # shadows tuple.count, never called here
    nan: np.ndarray
    inf: np.ndarray
    first: np.ndarray
    """Value of the first point: a run's loss at its start, exact however long the run."""
    t_first: np.ndarray
    """Time of the first point: when the run started."""
    x_at_min: np.ndarray
    """Step of the first point holding `vmin` (NaN when all are NaN): where the minimum was, exactly."""


def _points(x: np.ndarray, v: np.ndarray, t: np.ndarray) -> _Agg:
    x = np.array(x, dtype=np.float64)
    v = np.array(v, dtype=np.float64)
    t = np.array(t, dtype=np.float64)
    finite = np.isfinite(v)
    isnan = np.isnan(v)
    return _Agg(
        x, x, t, v, v, v, np.where(finite, v, 0.0), np.ones(len(v), np.int64),
        isnan.astype(np.int64), (~finite & ~isnan).astype(np.int64), v, t, np.where(isnan, np.nan, x),
    )


def _where_min(vals: np.ndarray, xs: np.ndarray, firsts: np.ndarray, mins: np.ndarray) -> np.ndarray:
    """For groups of `vals` starting at `firsts`, the `xs` of the first element equal to the group's min."""
    n = len(vals)
    group = np.repeat(np.arange(len(firsts)), np.diff(np.append(firsts, n)))
    index = np.where(vals == mins[group], np.arange(n), n)  # a NaN min matches nothing
    hit = np.minimum.reduceat(index, firsts)
    out = np.full(len(firsts), np.nan)
    found = hit < n
    out[found] = xs[hit[found]]
    return out


def _concat(a: _Agg, b: _Agg) -> _Agg:
    return _Agg(*(np.concatenate((p, q)) for p, q in zip(a, b, strict=True)))


def _take(a: _Agg, index: np.ndarray | slice) -> _Agg:
    return _Agg(*(p[index] for p in a))


def _regroup(a: _Agg, width: int) -> _Agg:
    """Aggregates merged into buckets of `width` points each (the last may hold fewer)."""
    group = (np.cumsum(a.count) - a.count) // width
    return _reduce(a, np.flatnonzero(np.diff(group, prepend=-1)))


def _fill(last: _Agg, x: np.ndarray, v: np.ndarray, t: np.ndarray, width: int) -> _Agg:
    """`_regroup(_concat(last, _points(x, v, t)), width)` where `last` is one bucket: the same numbers, fewer arrays.

    The groups are `last` with the points that fill it up to `width`, then
    `width` points each; a reduction runs over the same values as there.
    """
    m = len(v)
    room = width - int(last.count[0])
    starts = np.arange(1 + room, m + 1, width)  # in [last, *points]: where the groups after the first start
    firsts = np.empty(len(starts) + 1, np.int64)
    firsts[0], firsts[1:] = 0, starts
    ends = np.empty_like(firsts)
    ends[:-1], ends[-1] = starts - 1, m  # each group's last element
    finite, isnan = np.isfinite(v), np.isnan(v)
    count = ends - firsts + 1
    count[0] += int(last.count[0]) - 1
    x_first = np.concatenate((last.x_first, x[starts - 1]))
    x_last = np.concatenate((last.x_last, x))[ends]
    lows = np.concatenate((last.vmin, v))
    vmin = np.fmin.reduceat(lows, firsts)
    return _Agg(
        x_first, x_last, np.concatenate((last.t_last, t))[ends],
        vmin,
        np.fmax.reduceat(np.concatenate((last.vmax, v)), firsts),
        np.concatenate((last.last, v))[ends],
        np.add.reduceat(np.concatenate((last.total, np.where(finite, v, 0.0))), firsts),
        count,
        np.add.reduceat(np.concatenate((last.nan, isnan)), firsts),
        np.add.reduceat(np.concatenate((last.inf, ~(finite | isnan))), firsts),
        np.concatenate((last.first, v))[firsts], np.concatenate((last.t_first, t))[firsts],
        _where_min(lows, np.concatenate((last.x_at_min, x)), firsts, vmin),
    )


def _buckets(x: np.ndarray, v: np.ndarray, t: np.ndarray, width: int) -> _Agg:
    """Points that make whole buckets of `width` each (`_fill` of them after a full bucket, but for that
    bucket): the same numbers, each bucket a row of one reshaped array rather than a group of one
    concatenated with the bucket before (the fold a long history makes most often)."""
    k = len(v) // width
    rows = v.reshape(k, width)
    finite, isnan = np.isfinite(rows), np.isnan(rows)
    vmin = np.fmin.reduce(rows, axis=1)
    lowest = rows == vmin[:, None]  # a NaN min (no value) matches nothing
    at = np.argmax(lowest, axis=1)
    every = np.arange(k)
    return _Agg(
        x[::width], x[width - 1 :: width], t[width - 1 :: width], vmin, np.fmax.reduce(rows, axis=1),
        v[width - 1 :: width], np.add.reduceat(np.where(finite, rows, 0.0).ravel(), every * width),  # as `_fill` adds
        np.full(k, width, np.int64), np.count_nonzero(isnan, axis=1), np.count_nonzero(~(finite | isnan), axis=1),
        v[::width], t[::width], np.where(lowest[every, at], x.reshape(k, width)[every, at], np.nan),
    )


def _reduce(a: _Agg, starts: np.ndarray) -> _Agg:
    """Merge the runs of consecutive aggregates that begin at `starts`."""
    ends = np.append(starts[1:], len(a.count)) - 1
    vmin = np.fmin.reduceat(a.vmin, starts)
    return _Agg(
        a.x_first[starts], a.x_last[ends], a.t_last[ends],
        vmin, np.fmax.reduceat(a.vmax, starts),
        a.last[ends], np.add.reduceat(a.total, starts), np.add.reduceat(a.count, starts),
        np.add.reduceat(a.nan, starts), np.add.reduceat(a.inf, starts),
        a.first[starts], a.t_first[starts], _where_min(a.vmin, a.x_at_min, starts, vmin),
    )


class Columns(NamedTuple):
    """A series cut into chart columns by step; min/max keep spikes visible."""

    x: np.ndarray
    """Step of each column's last point."""
    ymin: np.ndarray
    """Minimum ignoring NaN (an Inf shows as ±inf); NaN when the column holds only NaN."""
    ymax: np.ndarray
    ylast: np.ndarray
    mean: np.ndarray
    """Mean of the finite values (NaN when none)."""
    count: np.ndarray  # type: ignore[assignment]  # shadows tuple.count, never called here
    nan: np.ndarray
    inf: np.ndarray
    t: np.ndarray | None = None
    """Time of each column's last point (wall time as received or stamped): a report plots a curve over
    its steps and over its time from the same columns."""
    first: np.ndarray | None = None
    """Value of each column's first point (a report's loss at the start)."""
    t_first: np.ndarray | None = None
    """Time of each column's first point (a report's start time)."""
    x_at_min: np.ndarray | None = None
    """Step of the first point holding each column's minimum (a report's step of the lowest loss)."""


class Series:
    """One metric of one rank over steps, in bounded memory.

    The newest `keep` points (at least) stay raw in arrays that grow by doubling;
    each time the raw part overflows by a quarter of `keep`, the oldest quarter is
    folded into the history buckets as one vectorised operation, so `append` is
    three array stores. The history holds at most `budget` buckets of equal
    point count; when full, neighbours merge pairwise and the count doubles.
    """

    __slots__ = ("_budget", "_cap", "_chunk", "_hist", "_hist_buf", "_hist_points", "_history", "_len", "_limit", "_n",
                 "_room", "_t", "_v", "_width", "_x", "_clock", "bad_seen", "bad_since", "bad_mark")

    def __init__(self, keep: int = KEEP, budget: int = 2048, *, history: bool = True, slack: int = 0,
                 clock: list[int] | None = None) -> None:
        if keep < 1 or budget < 2:
            raise ValueError(f"Series needs keep >= 1 and budget >= 2, got keep={keep}, budget={budget}")
        self._chunk = max(1, keep // 4)
        self._budget = budget
        self._limit = keep + self._chunk
        self._room = self._limit + max(0, slack)
        """Raw points held before those past what appends keep raw are folded (or dropped): with `slack`,
        several pieces of a replay's rows go in before one fold takes the oldest of them all at once (the
        same buckets; what is read is the same: `_settle` first where more than `keep` points are read)."""
        self._cap = min(64, self._limit)
        self._x = np.empty(self._cap)
        self._v = np.empty(self._cap)
        self._t = np.empty(self._cap)
        self._n = 0
        self._len = 0
        self._hist: _Agg | None = None  # views of the first buckets of _hist_buf
        self._hist_buf: _Agg | None = None
        self._hist_points = 0
        self._width = 1
        self._history = history
        """Whether points older than the raw ones are folded into the history (charts, reports) or dropped
        (a one-shot check: its rules read only the raw points, and folding was a third of its time)."""
        self.bad_seen = 0
        """NaN, Inf and overflowed values (`sane`) ever added: a rule that looks for them skips a series that
        never had one (the `nonfinite` rule runs ten times a second while a run streams, over every rank's
        losses)."""
        self.bad_since: float | None = None
        """The step where the newest points' unbroken stretch of bad values began (None when the newest point
        is sane): a run NaN for longer than the points a rule looks at still says where it went bad."""
        self._clock = [0] if clock is None else clock
        """The records its store has taken so far (`SeriesStore.records`), shared by the store's series."""
        self.bad_mark = -1
        """`_clock` when the newest bad value came (-1: none yet): how many records the run has logged since it
        came, whatever its step. The HF Trainer's loss dicts go to a buffered stdout, its bar to stderr: a review's
        log held its bar at 200/1755 before the dicts of steps 10 to 200, a NaN at step 100 among them; 100 step
        records past it by step, it was never judged bad (`nonfinite`'s `recover`), in `check` or `tail`."""

    def append(self, x: float, value: float, t: float) -> None:
        """Add one point; amortised O(1), no allocation unless the raw part is full."""
        n = self._n
        if n == self._cap:
            self._make_room()
            n = self._n
        self._x[n] = x
        self._v[n] = value
        self._t[n] = t
        self._n = n + 1
        self._len += 1
        if not _LOWEST <= value <= OVERFLOW:  # NaN compares false: as cheap as `value - value`, no abs() call
            self.bad_seen += 1
            self.bad_mark = self._clock[0]
            if self.bad_since is None:
                self.bad_since = x
        elif self.bad_since is not None:
            self.bad_since = None

    def extend(self, x: np.ndarray, values: np.ndarray, t: float | np.ndarray) -> None:
        """Add points in order (sharing a time, or each with its own): the state `append` of each would
        leave, a slice at a time."""
        i, count = 0, len(x)
        self._len += count
        good = sane(values[:count])
        ok = int(np.count_nonzero(good))
        self.bad_seen += count - ok
        if ok < count:
            self.bad_mark = self._clock[0]
        if count and ok == count:
            self.bad_since = None
        elif count:
            last_ok = np.flatnonzero(good)
            if not last_ok.size:
                if self.bad_since is None:
                    self.bad_since = float(x[0])
            else:
                k = int(last_ok[-1]) + 1
                self.bad_since = float(x[k]) if k < count else None
        if self._n + count > self._room:
            ahead = self._fold_ahead if self._history else self._drop_ahead
            ahead(x[:count], values[:count], t[:count] if isinstance(t, np.ndarray) else t)
            return
        while i < count:
            if self._n == self._cap:
                self._make_room()
            n = self._n
            k = min(self._cap - n, count - i)
            self._x[n : n + k] = x[i : i + k]
            self._v[n : n + k] = values[i : i + k]
            self._t[n : n + k] = t[i : i + k] if isinstance(t, np.ndarray) else t
            self._n = n + k
            i += k

    def place(self, x: np.ndarray, values: np.ndarray, t: float | np.ndarray) -> None:
        """Add the points of a source that lags another (its own order, steps not decreasing), each at
        its step among the newest raw points; a finite point at a step the series already holds is left
        out (the other source said it: Lightning's bar repeats val_loss rounded to 2 places, its
        metrics.csv has it whole, and the two interleaved read as a val_loss going up and down —
        `overfit` fired on a healthy run). A NaN, an Inf or an overflow (`sane`) is always kept: it is news whoever
        says it.

        Live, sources are read as they grow: a W&B run's history read after its console log had reached
        step 120 would otherwise append steps 5..120 again behind step 120, and the rules would read
        the step back to 5 as a spike or a drop. Points go among the newest run of non-decreasing steps
        (a run resumed into one log steps back; what came before that is left as it is); one older than
        all of that run goes at its start. Points at or after the newest step are simply appended."""
        n = self._n
        if n == 0 or x[0] > self._x[n - 1]:
            self.extend(x, values, t)
            return
        self._settle()
        n = self._n
        held = self._x[:n]
        back = np.flatnonzero(np.diff(held) < 0)
        start = int(back[-1]) + 1 if back.size else 0
        new = ~np.isin(x, held[start:]) | ~sane(values)
        if not new.all():  # a step the series holds already: the other source said it (maybe rounded)
            x, values = x[new], values[new]
            if not len(x):
                return
        at = start + np.searchsorted(held[start:], x, side="right")
        merged = (np.insert(held, at, x), np.insert(self._v[:n], at, values), np.insert(self._t[:n], at, t))
        news = len(values) - int(np.count_nonzero(sane(values)))
        seen, mark = self.bad_seen + news, self.bad_mark
        since = self.bad_since
        self._n = 0
        self._len -= n
        self.bad_since = None
        self.extend(*merged)
        self.bad_seen = seen
        self.bad_mark = self._clock[0] if news else mark  # a bad value held already came when it came
        if since is not None and self.bad_since is not None and not sane(merged[1]).any():
            self.bad_since = min(since, self.bad_since)  # the stretch began before the raw points

    def __len__(self) -> int:
        """Points ever appended (raw and folded)."""
        return self._len

    @property
    def latest(self) -> tuple[float, float, float] | None:
        """(x, value, t) of the newest point."""
        n = self._n
        if n == 0:
            return None
        return float(self._x[n - 1]), float(self._v[n - 1]), float(self._t[n - 1])

    def recent(self, n: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Copies of the last `n` raw points (x, values, t); fewer if fewer are held raw."""
        if n is None or n > self._limit - self._chunk:
            self._settle()
        held = self._n
        n = held if n is None else max(0, min(n, held))
        s = held - n
        return self._x[s:held].copy(), self._v[s:held].copy(), self._t[s:held].copy()

    @property
    def nbytes(self) -> int:
        hist = 0 if self._hist_buf is None else sum(a.nbytes for a in self._hist_buf)
        return self._x.nbytes + self._v.nbytes + self._t.nbytes + hist

    def columns(self, width: int, x_min: float | None = None, *, by_time: bool = False) -> Columns:
        """The whole history (or from step `x_min` on) in at most `width` columns of equal step span, or
        of equal time span with `by_time` (each column's `x` then the time of its last point).

        A history bucket that straddles `x_min` is kept whole. When the points fit
        in `width`, each is its own column.
        """
        if width < 1:
            raise ValueError(f"width must be >= 1, got {width}")
        self._settle()
        segs = _points(self._x[: self._n], self._v[: self._n], self._t[: self._n])
        if self._hist is not None:
            segs = _concat(self._hist, segs)
        if x_min is not None:
            segs = _take(segs, np.flatnonzero(segs.x_last >= x_min))
        if len(segs.count) > width:
            segs = _reduce(*_by_column(segs, width, segs.t_last if by_time else segs.x_last))
        elif by_time:
            segs = _take(segs, np.argsort(segs.t_last, kind="stable"))
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = segs.total / (segs.count - segs.nan - segs.inf)
        return Columns(segs.t_last if by_time else segs.x_last, segs.vmin, segs.vmax, segs.last, mean, segs.count,
                       segs.nan, segs.inf, segs.t_last, segs.first, segs.t_first, segs.x_at_min)

    def downsample(
        self, width: int, x_min: float | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(x, ymin, ymax, ylast) in at most `width` columns, for charts.

        A column that holds a NaN has NaN min and max, so the NaN is never hidden
        by downsampling; an Inf shows as ymax=inf (or ymin=-inf).
        """
        c = self.columns(width, x_min)
        has_nan = c.nan > 0
        return c.x, np.where(has_nan, np.nan, c.ymin), np.where(has_nan, np.nan, c.ymax), c.ylast

    def _make_room(self) -> None:
        if self._cap < self._room:
            self._cap = min(2 * self._cap, self._room)
            for name in ("_x", "_v", "_t"):
                new = np.empty(self._cap)
                new[: self._n] = getattr(self, name)[: self._n]
                setattr(self, name, new)
            return
        if self._room > self._limit:
            self._settle()
            return
        c = self._chunk
        if self._history:
            self._fold(self._x[:c], self._v[:c], self._t[:c])
        rest = self._n - c
        for arr in (self._x, self._v, self._t):
            arr[:rest] = arr[c : self._n]
        self._n = rest

    def _settle(self) -> None:
        """Fold (or drop) the raw points past what appends keep raw, all at once (`_room`)."""
        n = self._n
        if n <= self._limit:
            return
        over = -(-(n - self._limit) // self._chunk) * self._chunk
        if self._history:
            self._fold_many(self._x[:over], self._v[:over], self._t[:over])
        for arr in (self._x, self._v, self._t):
            arr[: n - over] = arr[over:n]
        self._n = n - over

    def _fold_ahead(self, x: np.ndarray, values: np.ndarray, t: float | np.ndarray) -> None:
        """Add points that overflow the raw part: fold at once what appending them folds (the oldest of the
        raw part's and theirs), and keep the rest raw.

        Appends fold the oldest `keep // 4` points each time the raw part is full; here those folds are
        made together where that makes the same buckets (`_fold_many`)."""
        n = self._n
        held = (np.concatenate((self._x[:n], x)), np.concatenate((self._v[:n], values)),
                np.concatenate((self._t[:n], np.broadcast_to(t, len(x)))))
        folded = -(-(len(held[0]) - self._limit) // self._chunk) * self._chunk
        self._fold_many(*(a[:folded] for a in held))
        if self._cap < self._limit:
            self._cap = self._limit
            self._x, self._v, self._t = np.empty(self._cap), np.empty(self._cap), np.empty(self._cap)
        self._n = len(held[0]) - folded
        for raw, a in zip((self._x, self._v, self._t), held, strict=True):
            raw[: self._n] = a[folded:]

    def _drop_ahead(self, x: np.ndarray, values: np.ndarray, t: float | np.ndarray) -> None:
        """Add points that overflow the raw part of a series without history: the raw points that appending
        them leaves (the oldest `keep // 4` dropped each time it is full), moved and written once."""
        n, count = self._n, len(x)
        dropped = -(-(n + count - self._limit) // self._chunk) * self._chunk
        if self._cap < self._limit:
            self._cap = self._limit
            for name in ("_x", "_v", "_t"):
                new = np.empty(self._cap)
                new[: n] = getattr(self, name)[: n]
                setattr(self, name, new)
        kept = max(0, n - dropped)  # raw points that stay, moved to the front
        skip = max(0, dropped - n)  # new points dropped too
        added: tuple[np.ndarray | float, ...] = (x, values, t)
        for raw, a in zip((self._x, self._v, self._t), added, strict=True):
            if kept:
                raw[:kept] = raw[n - kept : n]
            raw[kept : kept + count - skip] = a[skip:] if isinstance(a, np.ndarray) else a
        self._n = kept + count - skip

    def _fold_many(self, x: np.ndarray, v: np.ndarray, t: np.ndarray) -> None:
        """`_fold` of each `keep // 4` of these points in turn, several in one go while the bucket width stays
        and divides that many (the buckets then fall on the same points: the same numbers)."""
        c, i = self._chunk, 0
        while i < len(x):
            k = 1
            if self._hist is not None and c % self._width == 0:
                k = max(1, (self._budget * self._width - self._hist_points) // c)  # before the width doubles
            end = min(len(x), i + k * c)
            self._fold(x[i:end], v[i:end], t[i:end])
            i = end

    def _fold(self, x: np.ndarray, v: np.ndarray, t: np.ndarray) -> None:
        """Fold raw points into the history, doubling the bucket width until it fits the budget.

        Every bucket but the last holds exactly `width` points, so while the
        width stays, only the last bucket and the new points are regrouped
        (the same groups a regrouping of everything makes, as cheap as the fold is frequent).
        """
        hist, width = self._hist, self._width
        self._hist_points += len(x)
        while -(-self._hist_points // self._width) > self._budget:
            self._width *= 2
        if hist is None or self._width != width:
            agg = _points(x, v, t)
            self._keep_hist(_regroup(agg if hist is None else _concat(hist, agg), self._width), 0)
            return
        keep = len(hist.count) - 1
        if int(hist.count[keep]) == width and len(x) % width == 0:  # whole buckets after a full one
            self._keep_hist(_buckets(x, v, t, width), keep + 1)
            return
        self._keep_hist(_fill(_take(hist, slice(keep, None)), x, v, t, width), keep)

    def _keep_hist(self, buckets: _Agg, at: int) -> None:
        """Write `buckets` as the history's buckets from `at` on, into arrays of `budget` buckets kept for it."""
        end = at + len(buckets.count)
        buf = self._hist_buf
        if buf is None or len(buf.count) < end:
            size = max(self._budget, end)
            old = buf
            buf = _Agg(*(np.empty(size, a.dtype) for a in buckets))
            if old is not None:
                for new, kept in zip(buf, old, strict=True):
                    new[:at] = kept[:at]
            self._hist_buf = buf
        for dst, src in zip(buf, buckets, strict=True):
            dst[at:end] = src
        self._hist = _take(buf, slice(0, end))


def _by_column(segs: _Agg, width: int, x: np.ndarray) -> tuple[_Agg, np.ndarray]:
    """Segments ordered by column (equal spans of `x`, their steps or times; stable), and where each
    column starts."""
    lo, hi = float(x.min()), float(x.max())
    if hi > lo:
        col = np.minimum(((x - lo) * (width / (hi - lo))).astype(np.int64), width - 1)
    else:
        col = np.zeros(len(x), np.int64)
    order = np.argsort(col, kind="stable")
    col = col[order]
    return _take(segs, order), np.flatnonzero(np.diff(col, prepend=-1))


class SeriesStore:
    """Series keyed by (metric, rank); rank None is a single-process run."""

    def __init__(self, keep: int = KEEP, budget: int = 2048, *, history: History = True, slack: int = 0) -> None:
        self._keep = keep
        self._budget = budget
        self._history = history
        """See `Series`: False keeps only the newest `keep` points of each series; a set of metric names, of
        every series but theirs (`runwatch report` folds only what it draws: a third of the folding)."""
        self._slack = slack
        """See `Series`: raw points past what appends keep, held for one fold of several pieces (a replay's),
        given to the first `SLACK_SERIES` series (a log of a hundred ranks holds no more memory for it)."""
        self._by_rank: dict[int | None, dict[str, Series]] = {}
        self._clock = [0]
        """`records`, shared with every series (`Series.bad_mark`)."""

    @property
    def records(self) -> int:
        """Records taken so far (`add`, `place`, and the rows `took` counts): the run's arrival order."""
        return self._clock[0]

    def took(self, rows: int) -> None:
        """Count `rows` records whose columns go into series by `Series.extend` or `Series.place` (before them)."""
        self._clock[0] += rows

    def add(self, metrics: Mapping[str, float], *, x: float, t: float, rank: int | None = None) -> None:
        """Append one record's metrics; the hot path of `RunTracker.apply`."""
        self._clock[0] += 1
        row = self._by_rank.get(rank)
        if row is None:
            row = self._by_rank[rank] = {}
        for name, value in metrics.items():
            series = row.get(name)
            if series is None:
                series = row[name] = self._new(name)
            series.append(x, value, t)

    def place(self, metrics: Mapping[str, float], *, x: float, t: float, rank: int | None = None) -> None:
        """`add` for a record of a source that lags another (see `Series.place`)."""
        self._clock[0] += 1
        row = self._by_rank.setdefault(rank, {})
        for name, value in metrics.items():
            series = row.get(name)
            if series is None:
                series = row[name] = self._new(name)
            last = series.latest
            if last is None or x > last[0]:
                series.append(x, value, t)
            else:
                series.place(np.array([x]), np.array([value]), t)

    def series(self, metric: str, rank: int | None = None) -> Series:
        """The series for (metric, rank), created empty when missing."""
        row = self._by_rank.setdefault(rank, {})
        series = row.get(metric)
        if series is None:
            series = row[metric] = self._new(metric)
        return series

    def _new(self, metric: str) -> Series:
        history = self._history
        return Series(self._keep, self._budget, history=history if isinstance(history, bool) else metric in history,
                      slack=self._slack if len(self) < SLACK_SERIES else 0, clock=self._clock)

    def get(self, metric: str, rank: int | None = None) -> Series | None:
        row = self._by_rank.get(rank)
        return None if row is None else row.get(metric)

    def metrics(self) -> list[str]:
        return sorted({name for row in self._by_rank.values() for name in row})

    def ranks(self, metric: str | None = None) -> list[int | None]:
        """Ranks that logged anything (or `metric`); None (no rank) first."""
        found = [r for r, row in self._by_rank.items() if row and (metric is None or metric in row)]
        return sorted(found, key=lambda r: -1 if r is None else r)

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self.values())

    def __getitem__(self, key: Key) -> Series:
        series = self.get(*key)
        if series is None:
            raise KeyError(key)
        return series

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and len(key) == 2 and self.get(*key) is not None

    def __iter__(self) -> Iterator[Key]:
        return iter(self.keys())

    def __len__(self) -> int:
        return sum(len(row) for row in self._by_rank.values())

    def keys(self) -> list[Key]:
        return [(name, rank) for rank, row in self._by_rank.items() for name in row]

    def values(self) -> list[Series]:
        return [s for row in self._by_rank.values() for s in row.values()]

    def items(self) -> list[tuple[Key, Series]]:
        return [((name, rank), s) for rank, row in self._by_rank.items() for name, s in row.items()]
