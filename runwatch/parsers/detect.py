"""Which log format a source speaks, decided from its first lines.

Every known format scores each line (0 not mine, 1 maybe, 2 signature). A
format is chosen as soon as one line gives it a signature score that no other
format matches, so a live run is recognised at its first step line; otherwise
the highest total after the sample wins, ties going to the earlier (more
specific) format in the registry, provided it reached `MIN_GUESS`: one
"maybe" line among hundreds of others (`gradient accumulation steps: 2` in a
launcher banner) is no evidence of a format. A maybe-line its format reads as
a step with a loss is: a log of one `step=1 loss=2.5 lr=0.001` line (the
generic kv format, whose score is at most 1) is that format's, where a banner
line with some numbers is nobody's; it is no signature, so a specific format's
signature line still decides.
"""

from __future__ import annotations

from collections.abc import Iterable

from runwatch import patterns
from runwatch.model import Kind, Record
from runwatch.parsers.base import FormatParser
from runwatch.parsers.failures import DETECTION, ParseFailures
from runwatch.parsers.registry import FORMATS, make_parser

MIN_GUESS = 2
"""Least total a format needs to be guessed without a signature line: two maybe-lines or one signature."""


class Detector:
    """Accumulates per-format scores line by line."""

    def __init__(self, formats: Iterable[str] | None = None, *, failures: ParseFailures | None = None) -> None:
        self.failures = failures
        """Where a probe that raises is counted (a probe bug must not stop detection, nor go unseen)."""
        self._probes: dict[str, FormatParser] = {name: make_parser(name) for name in (formats or FORMATS)}
        self.totals: dict[str, int] = dict.fromkeys(self._probes, 0)
        self.stepped: set[str] = set()
        """Formats that read a maybe-line as a step with a loss: a guess without reaching MIN_GUESS."""
        self.progressed: set[str] = set()
        """Formats that read a maybe-line as a step past the start with its step time and no loss: a progress bar's
        frame (`  0%|▏ | 2101/500000 [02:19<9:10:46, 15.07it/s]`), a guess when nothing else is (`best`)."""
        self.signed: set[str] = set()
        """Formats a line gave a signature score."""
        self._stepped_lines: list[str] = []
        """The first lines some format read as an epoch's loss with no step (`_MAX_STEPPED_LINES`): a bar format that
        read bare bars and reads them too reads the log's losses as well as its bars (`_bar_reads_losses`)."""
        self._bare: set[str] = set()
        """Formats that read a bare bar's frame (no description: `  1%|▏ | 3/300 [00:09<14:54,  3.01s/it]`) as
        progress: a loop's own count of its batches, with nothing else to say what they are."""
        self._bar_reads: dict[str, bool] = {}
        """`_bar_reads_losses` per progressed format, until another stepped line is kept."""
        self.lines_seen = 0

    def feed(self, line: str) -> str | None:
        """Score one line; the format name once one is unambiguous, else None."""
        self.lines_seen += 1
        if not line.strip():
            return None
        signatures = []
        for name, probe in self._probes.items():
            try:
                s = probe.score(line)
                if s == 1 and name not in self.stepped and (rec := type(probe)().parse(line)) is not None:
                    if _steps_with_loss(rec):
                        self.stepped.add(name)
                        if rec.step is None and len(self._stepped_lines) < _MAX_STEPPED_LINES:
                            self._stepped_lines.append(line)
                            self._bar_reads.clear()
                    elif _progresses(rec):
                        self.progressed.add(name)
                        if _BARE_FRAME.match(line) is not None:
                            self._bare.add(name)
            except Exception as exc:  # a probe bug must not stop detection
                if self.failures is not None:
                    self.failures.add(f"{DETECTION} ({name})", exc, self.lines_seen)
                s = 0
            if s:
                self.totals[name] += s
                if s >= 2:
                    signatures.append(name)
                    self.signed.add(name)
        if len(signatures) == 1:
            return signatures[0]
        return None

    def best(self, min_score: int = 1) -> str | None:
        """The leading format so far (registry order breaks ties) of those that scored `min_score` or read a
        step with a loss, if any; one that read a loss or signed a line leads one that did neither. DeepSpeed's engine lines
        (`step=3, skipped=2, lr=[1e-05]`, a timer line) are maybes of its format, with no loss: beside a
        script's `[Step 3/100] Loss: 5.0037` lines they outnumbered them, and the run read no loss at all,
        where its script printed one every step (a review). One that read a bar's frame as progress may be guessed
        below MIN_GUESS, after any other (a review's RL run, Ctrl-C'd at 2101 of 500000 after its bar's one frame,
        read "no steps", OK)."""
        best_name, best_key = None, (False, 0)
        for name, total in self.totals.items():
            key = (name in self.stepped or name in self.signed or self._bar_reads_losses(name), total)
            if total > 0 and key > best_key and (total >= min_score or name in self.stepped or name in self.progressed):
                best_name, best_key = name, key
        return best_name

    def _bar_reads_losses(self, name: str) -> bool:
        """Whether a format that read bare bars' frames as progress also reads a line another format read as an
        epoch's loss with no step (it scores 0 there: no line of its own, so `feed` never asks it). A review's plain
        loop drew bare bars of 300 batches and after each `Epoch 0000 in static KGE | Ave Loss: 8.6581`: `kv` led with
        its one loss line, 30 epoch steps where the bars count 9,000, and `tqdm`, which reads both, lost. Not over
        step lines (YOLOv4's `Epoch:[  0/120],step:[ 10/197]` beside its bars count the run better), nor over bars
        with a description (RecBole's `Train   430: 100%|…| 108/108` counts one epoch, whose number `kv` reads)."""
        if name not in self._bare or name in self.stepped or not self._stepped_lines:
            return False
        if (known := self._bar_reads.get(name)) is None:
            probe = type(self._probes[name])()
            try:
                known = any((rec := probe.parse(line)) is not None and rec.kind is Kind.STEP and any(
                    "loss" in k for k in rec.metrics) for line in self._stepped_lines)  # its bars count the steps:
                # the loss's own line need not
            except Exception as exc:  # a probe bug must not stop detection (as in `feed`)
                if self.failures is not None:
                    self.failures.add(f"{DETECTION} ({name})", exc, self.lines_seen)
                known = False
            self._bar_reads[name] = known
        return known


_MAX_STEPPED_LINES = 4
_BARE_FRAME = patterns.compile(r"\s{0,8}\d{1,3}%\|")
"""A progress bar's frame with no description: its percentage first."""


def _steps_with_loss(rec: Record) -> bool:
    """Whether the format read a line (on a throwaway parser, as `score` does) as a step with a loss (of any
    name: `[step 10] avg_loss=0.0294 acc=0.8000`, a GRPO loop's, one line in 880 of generated text), numbered by its
    step or its epoch (`Epoch 1 - Train Loss: 0.2843, Val Loss: 0.1568`: a loop's summary under Keras-like `Epoch
    1/500` headers, whose three maybes won and read nothing, `check` exit 3 for a run of two epochs: a review)."""
    return (rec.kind is Kind.STEP and (rec.step is not None or "epoch" in rec.metrics)
            and any("loss" in k for k in rec.metrics))


def _progresses(rec: Record) -> bool:
    """Whether a line was read as a step past the start with the time a step takes (a bar's frame)."""
    return rec.kind is Kind.STEP and rec.step is not None and rec.step > 0 and "step_time" in rec.metrics


def detect(lines: Iterable[str], max_lines: int = 500) -> str | None:
    """The format of a sample of lines, or None when nothing looks like a known format."""
    det = Detector()
    for i, line in enumerate(lines):
        if i >= max_lines:
            break
        found = det.feed(line)
        if found:
            return found
    return det.best(MIN_GUESS)
