"""Array helpers written so as not to import `numpy.ma`.

numpy's `np.unique` asks `np.ma.is_masked` of its input (numpy 2.x), and
the first such call imports `numpy.ma`: 25 ms, paid inside the first block
of every history read (`tail`'s first status, issue 12) and of every
`parse`. These give what runwatch used `np.unique` for from a sort alone.
"""

from __future__ import annotations

import numpy as np


def distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of an array (flattened), one NaN for all, as `np.unique(values)` gives."""
    ordered = np.sort(values, axis=None)
    if ordered.size == 0:
        return ordered
    keep = np.empty(ordered.size, bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    if ordered.dtype.kind in "fc" and np.isnan(ordered[-1]):  # NaNs sort last, and none equals another
        keep[int(np.argmax(np.isnan(ordered))) + 1:] = False
    return ordered[keep]


def groups(keys: np.ndarray) -> list[np.ndarray]:
    """Positions of equal keys, each group ascending, in the keys' order."""
    order = np.argsort(keys, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(keys[order])) + 1)
