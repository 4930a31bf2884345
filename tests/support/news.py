"""What a test reads from an engine's feed (alert notifications, source notices), split by type."""

from __future__ import annotations

from runwatch.alerts.types import Notification
from runwatch.feed import Subscription
from runwatch.model import Notice


def notifications(news: Subscription[object]) -> list[Notification]:
    """The alert notifications `news` had not taken yet (none missed: a test reads few)."""
    taken = news.take()
    assert taken.missed == 0
    return [n for n in taken.items if isinstance(n, Notification)]


def notices(news: Subscription[object]) -> list[Notice]:
    """The source notices `news` had not taken yet (none missed)."""
    taken = news.take()
    assert taken.missed == 0
    return [n for n in taken.items if isinstance(n, Notice)]
