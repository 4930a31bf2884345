"""What the engine's source threads tell its worker, one frozen message per kind of news.

Sources (followers, watchers, the sampler, the stack taker) run on their own
threads and only put one of these on the engine's queue; the worker, the
single writer of run state, takes them one at a time and dispatches with
`match`. Named in the past tense: each says what happened, not what to do
(but `WarmUpAsked` and `StopAsked`, which the engine asks of its own worker).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from runwatch.model import Notice, StackDump, SystemSample
from runwatch.watcher.types import FilePosition, ItemBatch, LineBatch

if TYPE_CHECKING:
    from runwatch.plan import WatchedDirectory


@dataclass(frozen=True, slots=True)
class LinesRead:
    """A follower (or the stdin reader) read lines, or a raw block of them, from a log."""

    batch: LineBatch


@dataclass(frozen=True, slots=True)
class ItemsRead:
    """A structured source (metric file, checkpoint dir, W&B run) read items; `source` is its path."""

    batch: ItemBatch
    source: str


@dataclass(frozen=True, slots=True)
class PositionReached:
    """A follower delivered every batch of `source` before `position` (it is queued after them)."""

    source: str
    position: FilePosition


@dataclass(frozen=True, slots=True)
class InputEnded:
    """A stream (stdin) reached its end."""

    source: str


@dataclass(frozen=True, slots=True)
class NoticeRaised:
    """A source has something a person should know (waiting for a file, rotated, permission denied …)."""

    notice: Notice


@dataclass(frozen=True, slots=True)
class FileAppeared:
    """A log appeared in a followed directory after planning: to place by the planner's rules and follow."""

    path: str
    directory: WatchedDirectory


@dataclass(frozen=True, slots=True)
class SourceAppeared:
    """A structured source appeared in a followed directory after planning."""

    path: str
    directory: WatchedDirectory


@dataclass(frozen=True, slots=True)
class SystemSampled:
    """The sampler's tick: processes, GPUs, host."""

    sample: SystemSample


@dataclass(frozen=True, slots=True)
class StacksTaken:
    """py-spy dumped the stacks of a silent run's processes."""

    dumps: Sequence[StackDump]


@dataclass(frozen=True, slots=True)
class WarmUpAsked:
    """Start what the first status does not need (alerting built by a factory, the sampler), on the worker."""


@dataclass(frozen=True, slots=True)
class StopAsked:
    """The engine is stopping: flush the parsers and end the worker."""


Batch = LinesRead | ItemsRead
"""The messages the worker parses outside its lock."""

Message = LinesRead | ItemsRead | PositionReached | InputEnded | NoticeRaised | FileAppeared | SourceAppeared \
    | SystemSampled | StacksTaken | WarmUpAsked | StopAsked
