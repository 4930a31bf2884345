"""A thread's use of the shared `WatchHub`: subscribe when possible, poll when not."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from runwatch.watcher.notify import Subscription, Wake, WatchHub


class HubLink:
    """One thread's use of a hub: subscribe once the directory exists, give up politely.

    Subscribing is retried on every `ensure()` while the directory is missing
    (the watcher often starts before the run); when the hub cannot watch at
    all, `on_unavailable` is told once and the thread polls on its own.
    """

    def __init__(
        self,
        hub: WatchHub,
        wake: Wake,
        targets: Callable[[], list[str]],
        on_unavailable: Callable[[OSError], None],
        *,
        recursive: bool = False,
        wants: Callable[[str], bool] | None = None,
    ) -> None:
        self._hub, self._wake, self._targets = hub, wake, targets
        self._on_unavailable, self._recursive, self._wants = on_unavailable, recursive, wants
        self._held = False
        self._subs: list[Subscription] = []

    def open(self) -> None:
        try:
            self._hub.acquire()
            self._held = True
        except OSError as exc:
            self._on_unavailable(exc)

    def ensure(self) -> None:
        """Subscribe if not yet done, or again when the directory was deleted and the watch died."""
        if not self._held:
            return
        if self._subs and all(self._hub.alive(sub) for sub in self._subs):
            return
        self._unsubscribe()
        for target in self._targets():
            try:
                self._subs.append(self._hub.subscribe(target, self._wake, recursive=self._recursive,
                                                      wants=self._wants))
            except FileNotFoundError:
                continue
            except OSError as exc:  # inotify watch limits and the like
                self.close()
                self._on_unavailable(exc)
                return

    def close(self) -> None:
        self._unsubscribe()
        if self._held:
            self._held = False
            self._hub.release()

    def _unsubscribe(self) -> None:
        subs, self._subs = self._subs, []
        for sub in subs:
            self._hub.unsubscribe(sub)


def file_targets(path: str | Path) -> list[str]:
    """What to subscribe for one file: its path, and its target's for a symlink (appends happen there)."""
    return list(dict.fromkeys([os.path.abspath(path), os.path.realpath(path)]))
