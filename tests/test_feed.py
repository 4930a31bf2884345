"""The front-end feed: every subscriber sees every item, nothing grows past the bound, a slow one is told."""

from __future__ import annotations

import threading

import pytest

from runwatch.feed import Feed, Taken


def test_two_subscribers_each_see_every_item() -> None:
    """With one shared list, what the line printer took the daemon (or the TUI) never saw."""
    feed: Feed[int] = Feed(8)
    a, b = feed.subscribe(), feed.subscribe()
    feed.publish(1, 2)
    assert a.take() == Taken((1, 2))
    feed.publish(3)
    assert a.take() == Taken((3,))
    assert b.take() == Taken((1, 2, 3))
    assert a.take() == Taken() and b.take() == Taken()


def test_a_subscriber_that_never_reads_does_not_make_the_feed_grow() -> None:
    """The TUI never drained the engine's lists: they grew for as long as it ran."""
    feed: Feed[int] = Feed(16)
    idle = feed.subscribe()
    feed.publish(*range(10_000))
    assert len(feed) == 16
    assert idle.take().items == tuple(range(10_000 - 16, 10_000))


def test_a_slow_subscriber_is_told_how_many_it_missed() -> None:
    feed: Feed[int] = Feed(4)
    slow, quick = feed.subscribe(), feed.subscribe()
    feed.publish(0, 1, 2)
    assert quick.take().items == (0, 1, 2)
    feed.publish(3, 4, 5, 6)
    assert slow.take() == Taken((3, 4, 5, 6), missed=3)
    assert quick.take() == Taken((3, 4, 5, 6), missed=0)
    assert slow.take() == Taken()


def test_a_late_subscriber_starts_at_the_oldest_item_held() -> None:
    """A front end that subscribes after the engine started still sees what the sources said first."""
    feed: Feed[str] = Feed(2)
    feed.publish("a", "b", "c")
    assert feed.subscribe().take() == Taken(("b", "c"))


def test_publishing_from_threads_loses_nothing_for_a_reader_that_keeps_up() -> None:
    feed: Feed[int] = Feed(100_000)
    news = feed.subscribe()
    writers = [threading.Thread(target=lambda k=k: [feed.publish(k * 1000 + i) for i in range(1000)])
               for k in range(4)]
    seen: list[int] = []
    for w in writers:
        w.start()
    while any(w.is_alive() for w in writers):
        seen.extend(news.take().items)
    for w in writers:
        w.join()
    seen.extend(news.take().items)
    assert sorted(seen) == list(range(4000))


def test_a_feed_holds_at_least_one_item() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Feed(0)
