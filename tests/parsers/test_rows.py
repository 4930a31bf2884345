"""Stateful bars' step lines taken as rows (`FormatParser.take_row`, runwatch.parsers.rows): the per-line records.

HF Trainer, tqdm/Lightning and Keras keep state between lines, so their
step lines reach columns through the parser itself: a block read with
`feed_bytes` takes each line the parser vouches for as a row, the rest the
per-line way. The reference is `feed` of the same pieces with the fast path
off (tests.support.readers.check), records compared as values, counts too.
Lines: every run lab recording of the three formats, the corpus excerpts
of HF Trainer and Lightning, and logs made of recorded lines (numbers
redrawn, one line in ten real noise), cut into blocks anyhow.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runwatch.model import Kind
from runwatch.parsers import hf_trainer
from runwatch.parsers.hf_trainer import HFTrainerParser
from runwatch.parsers.progress_bar import PLAIN_FRAME, _any_frame, plain_frame
from tests.support.corpus import CORPUS
from tests.support.found import found_bytes, found_lines
from tests.support.readers import check, fast_rows, js
from tests.support.real_lines import REALRUNS, noise, recording, redrawn

BARS = {"hf-trainer": "hf-", "tqdm": "lightning-", "keras": "keras-"}
"""Each format with a parser that takes rows, and the prefix of its recordings' names."""
RUNS = sorted(d.name for d in REALRUNS.iterdir() if d.name.startswith(tuple(BARS.values())))
EXCERPTS = {"hf-trainer": "excerpts_hf_trainer.json", "tqdm": "excerpts_lightning.json"}


def format_of(run: str) -> str:
    return next(fmt for fmt, prefix in BARS.items() if run.startswith(prefix))


def excerpt_lines(name: str) -> list[str]:
    found = json.loads((CORPUS / "raw" / name).read_text(encoding="utf-8"))
    items = [e for v in found.values() for e in v] if isinstance(found, dict) else found
    return [x for e in items for x in e["t"].splitlines()]


LINES: dict[str, Callable[[], list[str]]] = {
    fmt: (lambda prefix=prefix: [x for run in RUNS if run.startswith(prefix) for x in recording(run)])
    for fmt, prefix in BARS.items()
}


def noisy_log(fmt: str, lines: int, seed: int = 0) -> bytes:
    """The format's recorded lines in their order, round and round, a third with their numbers redrawn, and
    one line in ten real noise (a logged traceback among it)."""
    rng = random.Random(seed)
    real, other = LINES[fmt](), noise()
    out: list[str] = []
    at = rng.randrange(len(real))
    while len(out) < lines:
        if rng.random() < 0.1:
            out.append(rng.choice(other))
            continue
        line = real[at % len(real)]
        out.append(redrawn(line, rng) if rng.random() < 0.3 else line)
        at += 1
    return ("\n".join(out) + "\n").encode()


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.parametrize("sizes", [(1 << 20,), (4096,), (700, 3000, 50)])
def test_every_recording_gives_the_per_line_records(run: str, sizes: tuple[int, ...]) -> None:
    data = (REALRUNS / run / "run/train.log").read_bytes()
    check(data, sizes, fmt=format_of(run))
    check(data, sizes)  # detected, then rows


@pytest.mark.parametrize("fmt", sorted(BARS))
def test_most_step_records_of_the_recordings_are_rows(fmt: str) -> None:
    steps = rows = 0
    for run in RUNS:
        if format_of(run) == fmt:
            got, chunks = check((REALRUNS / run / "run/train.log").read_bytes(), fmt=fmt)
            steps += sum(r.kind is Kind.STEP for r in got)
            rows += fast_rows(chunks)
    assert rows > steps * 0.6, f"{fmt}: {rows} rows of {steps} step records"


@pytest.mark.parametrize("fmt", sorted(EXCERPTS))
def test_corpus_excerpts(fmt: str) -> None:
    data = ("\n".join(excerpt_lines(EXCERPTS[fmt])) + "\n").encode()
    for sizes in [(1 << 20,), (300,)]:
        check(data, sizes, fmt=fmt)


@pytest.mark.parametrize("fmt", sorted(BARS))
@pytest.mark.parametrize("sizes", [(1 << 20,), (4096,), (700, 3000, 50)])
def test_noisy_logs_of_recorded_lines(fmt: str, sizes: tuple[int, ...]) -> None:
    got, chunks = check(noisy_log(fmt, 4000), sizes, fmt=fmt)
    assert fast_rows(chunks) > 500


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(BARS)), st.integers(0, 2**16), st.lists(st.integers(1, 5000), min_size=1, max_size=6),
       st.booleans())
def test_any_split_into_blocks_gives_the_same_records(fmt: str, seed: int, sizes: list[int], fixed: bool) -> None:
    check(noisy_log(fmt, 300, seed), sizes, **({"fmt": fmt} if fixed else {}))


def test_a_frame_with_a_digit_that_is_not_ascii_is_read_per_line() -> None:
    """`Epoch ٣:` is no epoch 3 to the per-line way (boundary.ascii_digits): the frame is no row, and once the `Epoch`
    bars are the training's, a bar named so names no epoch: another job's (`ProgressBarParser._another_job`), read
    per line to nothing, as the block's reading says (`check`)."""
    frames = [x for x in recording("lightning-tqdm-healthy") if x.startswith("Epoch 1:") and "it/s, " in x and "| 0/" not in x]
    odd = [x.replace("Epoch 1:", "Epoch \u0661:") for x in frames]
    got, chunks = check(("\n".join(frames + odd) + "\n").encode(), fmt="tqdm")
    assert fast_rows(chunks) == len(frames) == len(got)


def test_the_plain_frame_reads_every_recorded_frame_as_the_general_way() -> None:
    """PLAIN_FRAME, one match, gives the Frame that the general reading (the last `[` with a count before
    it) gives, on every frame of the recordings and the corpus that it matches."""
    lines = [x for fmt in BARS for x in LINES[fmt]()] + [x for f in EXCERPTS.values() for x in excerpt_lines(f)]
    padded = [x for x in found_lines("ubev_epoch_bars_train.out.gz") if "/1156 [" in x]  # tqdm's `{rate:5.2f}`
    padded += [x for x in recording("tutorial-epochbars-nan") if x.startswith("Training:")]  # `loss=1.8] `: tqdm
    # pads a frame shorter than the last one with spaces
    matched = 0
    for line in lines + padded:
        m = PLAIN_FRAME.fullmatch(line)
        if m is not None:
            assert repr(plain_frame(m)) == repr(_any_frame(line)), line  # repr: a NaN postfix equals itself
            matched += 1
    assert matched > 1000
    assert all(PLAIN_FRAME.fullmatch(x) for x in padded)  # `,  3.14it/s]`: below 10 a rate has a space before it
    assert any(x.endswith("] ") for x in padded)


def test_a_plain_dict_reads_as_its_pairs_do(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dict of plain numbers, read by its key list's pattern, gives the record its pairs read one by one
    give (`dict_pairs`), on every dict line of the recordings and the corpus."""
    lines = [x for x in LINES["hf-trainer"]() + excerpt_lines(EXCERPTS["hf-trainer"]) if "{'" in x]
    plain = [r for p in [HFTrainerParser()] for x in lines if (r := p.parse(x)) is not None]
    monkeypatch.setattr(hf_trainer, "_plain_dict", lambda text: None)
    pairs = [r for p in [HFTrainerParser()] for x in lines if (r := p.parse(x)) is not None]
    assert js(plain) == js(pairs) and len(plain) > 100


@pytest.mark.parametrize("label", ["0: ", "   3: ", "192.168.50.170: ", "(RayTrainWorker pid=4088) ", "[80746] "])
def test_a_frame_behind_a_launcher_prefix_is_read_per_line(label: str) -> None:
    """`3: Epoch 0: …` is rank 3's frame of `Epoch 0` to the per-line way (runwatch.parsers.prefix), which a
    row would read as a bar named `3: Epoch 0`: such lines are no rows."""
    for fmt, run in (("tqdm", "lightning-tqdm-healthy"), ("hf-trainer", "hf-healthy")):
        lines = recording(run)
        got, chunks = check(("\n".join(lines + [label + x for x in lines]) + "\n").encode(), fmt=fmt)
        plain, _ = check(("\n".join(lines) + "\n").encode(), fmt=fmt)
        assert fast_rows(chunks) <= sum(r.kind is Kind.STEP for r in plain), (fmt, label)


def test_empty_lines_among_rows() -> None:
    """An empty line is no prefixed one: the prefix test once read its first character and raised."""
    frames = [x for x in recording("lightning-tqdm-healthy") if x.startswith("Epoch 0:")][:20]
    _, chunks = check(("\n\n".join(frames) + "\n\n").encode(), fmt="tqdm")
    assert fast_rows(chunks) > 10


def _split_recording(path: Path) -> list[str]:
    from runwatch.watcher.lines import LineSplitter

    splitter = LineSplitter()
    return splitter.feed(path.read_bytes()) + splitter.feed(b"\n")


def _without_opening_frames(path: Path) -> bytes:
    """The recording's lines less its bars' `0/M` frames (tqdm with `delay=` draws none) and its validation bars (a
    loop that validates not every epoch): a later lap's first frame then comes right after the last one's end,
    inside a run of rows (`ProgressBarParser._laps`)."""
    lines = _split_recording(path)
    return ("\n".join(x for x in lines if not re.search(r"\| 0/\d+ \[|^Validating", x)) + "\n").encode()


def _loss_lines_among_frames() -> bytes:
    """The diffusion loop's training frames with its summary line put after every 50th (as a loop that prints its
    loss every N batches under its bar): lines `beside` reads inside what would be a run of rows."""
    lines = found_lines("seqar_diffusion_epoch_bars_train.log.gz")
    frames = [x for x in lines if x.startswith("Epoch ") and " train:" in x]
    loss = next(x for x in lines if "Train Loss:" in x)
    out = [y for i, x in enumerate(frames) for y in ([x, loss] if i % 50 == 49 else [x])]
    return ("\n".join(out) + "\n").encode()


@pytest.mark.parametrize(("data", "fmt", "last"), [
    (lambda: (REALRUNS / "tutorial-epochbars-nan" / "run/train.log").read_bytes(), "tqdm", 960),
    (lambda: found_bytes("ubev_epoch_bars_train.out.gz"), "hf-trainer", 20 * 1156),
    (lambda: _without_opening_frames(REALRUNS / "tutorial-epochbars-nan" / "run/train.log"), "tqdm", 960),
    (lambda: found_bytes("seqar_diffusion_epoch_bars_train.log.gz"), "tqdm", 55 * 2590 + 1695 - 1),  # loss lines beside
    (_loss_lines_among_frames, "tqdm", 55 * 2590 + 1695 - 1),
], ids=["tqdm-named-bar", "hf-trainer-bare-bar", "tqdm-no-opening-frame", "tqdm-epoch-of-n-and-loss-lines",
        "tqdm-loss-lines-among-frames"])
@pytest.mark.parametrize("sizes", [(1 << 20,), (4096,), (700, 3000, 50)])
def test_a_bar_drawn_anew_each_epoch_counts_on_in_rows_as_per_line(
        data: Callable[[], bytes], fmt: str, last: int, sizes: tuple[int, ...]) -> None:
    """A plain loop's new bar over its loader each epoch (`progress_bar.lapped`): its laps counted the same by
    the rows of a block as line by line, wherever the blocks are cut, and most frames taken as rows."""
    got, chunks = check(data(), sizes, fmt=fmt)
    steps = [r.step for r in got if r.kind is Kind.STEP and r.step is not None]
    assert steps == sorted(steps) and steps[-1] == last
    assert fast_rows(chunks) > len(steps) // 2


@pytest.mark.parametrize("sizes", [(1 << 20,), (4096,), (700, 3000, 50)])
@pytest.mark.parametrize("inside", [False, True])
def test_a_new_runs_first_line_starts_the_laps_over_in_rows_as_per_line(sizes: tuple[int, ...], inside: bool) -> None:
    """A W&B sweep runs its trials one after another in one output: `wandb: Agent Starting Run: …` (a real sweep's
    line, put before the recorded loop's second epoch) begins a new run, whose bar is no further lap of the last
    one's (`progress_bar.NEW_RUN`): the step goes back to the bar's start there, the same by rows and per line, and
    so wherever such a line falls (`inside` a run of frames that are rows: then it is no neutral line)."""
    from tests.support.found import found_lines

    marker = next(x for x in found_lines("simgir_sweep_trials_excerpt.out.gz") if "Agent Starting Run" in x)
    lines = _split_recording(REALRUNS / "tutorial-epochbars-nan" / "run/train.log")
    end = next(i for i, x in enumerate(lines) if "| 480/480 [" in x)
    second = next(i for i, x in enumerate(lines) if i > end and "| 0/480 [" in x)  # the second epoch's bar opens
    if inside:
        second = [i for i, x in enumerate(lines) if i > second and re.search(r"\| [1-9]\d*/480 \[", x)][20]
    data = ("\n".join([*lines[:second], marker, *lines[second:]]) + "\n").encode()
    got, _ = check(data, sizes, fmt="tqdm")
    steps = [r.step for r in got if r.kind is Kind.STEP and r.step is not None]
    backs = [(steps[i - 1], steps[i]) for i in range(1, len(steps)) if steps[i] < steps[i - 1]]
    assert len(backs) == 1 and backs[0][0] >= 479 and backs[0][1] < 480 or inside


@pytest.mark.parametrize("sizes", [(1 << 20,), (4096,), (700, 3000, 50)])
@pytest.mark.parametrize("between", [0, 2, 5])
def test_a_heading_among_rows_names_a_bare_bar_as_per_line(sizes: tuple[int, ...], between: int) -> None:
    """An evaluation's heading (`Evaluating...`, a real loop's, runwatch.parsers.heading) put inside a run of the
    recording's named frames, `between` noise lines after it, then a bare bar's frames (the same loop's): the heading
    names that bar while few lines part them (no training, no step), and is forgotten past `_HEADING_REACH` (then
    the bar is a plain one, its frames steps); by the rows of a block as line by line (the heading is no neutral
    line, and the lines after it count one by one until its bar comes)."""
    simgir = found_lines("simgir_sweep_trials_excerpt.out.gz")
    heading = next(x for x in simgir if x.startswith("Evaluating"))
    bare = [x for x in simgir if re.fullmatch(r" *\d+%\|[^|]*\| [1-5]/6 \[.*", x)][:5]
    lines = _split_recording(REALRUNS / "tutorial-epochbars-nan" / "run/train.log")
    at = [i for i, x in enumerate(lines) if re.search(r"\| [1-9]\d*/480 \[", x)][30]
    quiet = [x for x in noise() if "\n" not in x and x.isascii()][:between]

    def steps(data: list[str]) -> int:
        got, _ = check(("\n".join(data) + "\n").encode(), sizes, fmt="tqdm")
        return sum(r.kind is Kind.STEP and r.step is not None for r in got)

    assert steps([*lines[:at], heading, *quiet, *bare, *lines[at:]]) - steps(lines) == (5 if between > 2 else 0)


@pytest.mark.parametrize("sizes", [(1 << 20,), (4096,), (700, 3000, 50)])
def test_a_heading_before_a_named_bar_is_that_bars(sizes: tuple[int, ...]) -> None:
    """`Epoch 3` (a real loop's heading) right before the recording's named `Training:` frames heads that bar; a bare
    bar later (the same loop's) is no epoch's: read as the epoch's, the `Training:` bars after it were another job's
    and lost (the count of steps fell from 672 to 68)."""
    simgir = found_lines("simgir_sweep_trials_excerpt.out.gz")
    bare = [x for x in simgir if re.fullmatch(r" *\d+%\|[^|]*\| [1-5]/6 \[.*", x)][:5]
    lines = _split_recording(REALRUNS / "tutorial-epochbars-nan" / "run/train.log")
    at = [i for i, x in enumerate(lines) if re.search(r"\| [1-9]\d*/480 \[", x)][30]
    heading = next(x for x in simgir if x == "Epoch 3")
    moved = [*lines[:at], heading, *lines[at:at + 20], *bare, *lines[at + 20:]]
    got, _ = check(("\n".join(moved) + "\n").encode(), sizes, fmt="tqdm")
    want, _ = check(("\n".join(lines) + "\n").encode(), sizes, fmt="tqdm")
    count = sum(r.kind is Kind.STEP and r.step is not None for r in got)
    assert count == sum(r.kind is Kind.STEP and r.step is not None for r in want) + 5
