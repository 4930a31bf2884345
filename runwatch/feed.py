"""A bounded feed of rare events that any number of front ends read, each at its own pace.

The engine publishes alert notifications and source notices here; the TUI,
the line printer, the daemon (and later exporters) each hold a
`Subscription` with its own cursor. A list drained by one `take()` lost
to every other reader what the first one took, and grew without bound when
nobody drained it (the TUI never did). Here every item carries a sequence
number, the feed keeps the newest `size` of them, and a reader that falls
further behind is told how many it missed rather than kept waiting on them.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from itertools import islice
from typing import Generic, TypeVar

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

FEED_SIZE = 1024
"""Items a feed keeps: far more than a front end's poll interval sees (alerts are rare; notices too)."""


@dataclass(frozen=True, slots=True)
class Taken(Generic[T_co]):
    """What one `take()` returns: the items the reader had not seen, oldest first, and how many
    it missed because they had left the feed before it asked (0 when it kept up)."""

    items: tuple[T_co, ...] = ()
    missed: int = 0


class Feed(Generic[T]):
    """A ring of the newest `size` items with a sequence number each; thread-safe.

    Publishing never waits on readers and memory never grows past `size`,
    however many readers there are and however seldom they read.
    """

    def __init__(self, size: int = FEED_SIZE) -> None:
        if size < 1:
            raise ValueError(f"a feed holds at least one item, not {size}")
        self._items: deque[T] = deque(maxlen=size)
        self._next = 0
        """Sequence number of the next item published; the oldest held is `_next - len(_items)`."""
        self._lock = threading.Lock()

    def publish(self, *items: T) -> None:
        with self._lock:
            self._items.extend(items)
            self._next += len(items)

    def subscribe(self) -> Subscription[T]:
        """A reader that starts at the oldest item still held: a front end that subscribes after the
        engine started still sees what the sources said while it was getting ready."""
        with self._lock:
            return Subscription(self, self._next - len(self._items))

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def _since(self, cursor: int) -> tuple[Taken[T], int]:
        """The items from sequence number `cursor` on, and the cursor after them."""
        with self._lock:
            oldest = self._next - len(self._items)
            missed = max(0, oldest - cursor)
            start = max(cursor, oldest) - oldest
            items = tuple(islice(self._items, start, None))
            return Taken(items, missed), self._next


class Subscription(Generic[T_co]):
    """One reader's cursor on a feed; for one reader (thread) at a time."""

    def __init__(self, feed: Feed[T_co], cursor: int) -> None:
        self._feed = feed
        self._cursor = cursor

    def take(self) -> Taken[T_co]:
        """Everything published since this reader's last `take()` (or since it subscribed)."""
        taken, self._cursor = self._feed._since(self._cursor)
        return taken
