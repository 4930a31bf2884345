"""tqdm / Lightning bars → Records, on real lines of corpus/lightning.md (and hf_trainer.md, failures.md)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch.model import Event, Kind, Record
from runwatch.parsers.progress_bar import ProgressBarParser, logged_step

RAW = Path(__file__).parents[1] / "fixtures" / "corpus" / "raw"
LIGHTNING = "excerpts_lightning.json"


def excerpt(file: str, tag: str) -> list[str]:
    """Lines of the excerpt in corpus/raw/`file` whose headline is `tag — …`."""
    data = json.loads((RAW / file).read_text(encoding="utf-8"))
    items = data if isinstance(data, list) else [e for group in data.values() for e in group]
    [found] = [e for e in items if e["h"].split(" — ")[0] == tag]
    return str(found["t"]).splitlines()


def run(lines: list[str]) -> list[Record | None]:
    p = ProgressBarParser()
    return [p.parse(line) for line in lines]


# (file, excerpt, line index, step, metrics) — one fresh parser per line.
SINGLE_FRAMES = [
    # lightning.md P1: Lightning 1.x, `s/it`, running `loss=` first, 6-digit v_num (dropped)
    (LIGHTNING, "Excerpt P1", 0, 4 - 1,
     {"loss": 10.072, "step_time": 4.47, "epoch_elapsed": 17.0, "epoch_eta": 62.0, "epoch": 4 / 18}),
    # P3: Windows console, padded floats (`train_loss=1.800`), a stray `E` after `]`
    (LIGHTNING, "Excerpt P3", 0, 86 - 1,
     {"loss": 1.8, "train_acc": 0.281, "step_time": 1 / 14.19, "epoch_elapsed": 6.0, "epoch_eta": 104.0,
      "epoch": 86 / 1563}),
    # P3: postfix cut mid-key and glued to an EarlyStopping message: val_acc… dropped, val_loss kept
    (LIGHTNING, "Excerpt P3", 1, 1563 - 1,
     {"loss": 1.59, "train_acc": 0.688, "val_loss": 1.42, "step_time": 1 / 13.25, "epoch_elapsed": 117.0,
      "epoch_eta": 0.0, "epoch": 1.0}),
    # P4: `_step`/`_epoch` keys; train_loss_step → loss, *_epoch keep their names; checkpoint msg glued
    (LIGHTNING, "Excerpt P4", 0, 25 - 1,
     {"loss": 1.31, "train_acc_step": 0.4, "val_loss": 0.776, "val_acc": 0.885, "train_loss_epoch": 1.69,
      "train_acc_epoch": 0.599, "step_time": 1 / 0.22, "epoch_elapsed": 114.0, "epoch_eta": 0.0, "epoch": 1.0}),
    # P4 line 2: two redraws on one line; the later one (25/25 of epoch 1, postfix cut) wins
    (LIGHTNING, "Excerpt P4", 1, 50 - 1, {"step_time": 1 / 0.21, "epoch_elapsed": 117.0, "epoch_eta": 0.0, "epoch": 2.0}),
    # P6: the redraw after "`Trainer.fit` stopped": the cut `val_loss` is dropped
    (LIGHTNING, "Excerpt P6", 7, 49 * 12 + 12 - 1,
     {"loss": 0.197, "step_time": 1 / 3.90, "epoch_elapsed": 3.0, "epoch_eta": 0.0, "epoch": 50.0}),
    # P7: unknown length `N/?` in epoch 0
    (LIGHTNING, "Excerpt P7", 1, 1 - 1, {"loss": 14.6, "step_time": 1 / 0.05, "epoch_elapsed": 20.0, "epoch_eta": 0.0,
                                     "epoch": 0.0}),
    # P9: indented (docstring) bar with train_loss_step and train_loss_epoch
    (LIGHTNING, "Excerpt P9", 1, 5 - 1,
     {"loss": 0.745, "train_loss_epoch": 0.745, "step_time": 1 / 20.71, "epoch_elapsed": 0.0, "epoch_eta": 0.0,
      "epoch": 5.0}),
    # failures.md F8: NeMo bar, scientific postfix (`global_step=3.2e+4`: no step, rounded), NCCL error glued after
    # `]`; its `reduced_train_loss=2.59` is a loss, after Lightning's `loss=2.6` (the first wins)
    ("excerpts_failures.json", "F8", 1, 32040 - 1,
     {"loss": 2.6, "global_step": 32000.0, "consumed_samples": 2.56e7,
      "step_time": 1 / 1.37, "epoch_elapsed": 23323.0, "epoch_eta": 340757.0, "epoch": 32040 / 500150}),
]


@pytest.mark.parametrize(("file", "tag", "index", "step", "metrics"), SINGLE_FRAMES)
def test_epoch_bars(file: str, tag: str, index: int, step: int, metrics: dict[str, float]) -> None:
    rec = ProgressBarParser().parse(excerpt(file, tag)[index])
    assert rec is not None
    assert (rec.kind, rec.step, rec.total_steps) == (Kind.STEP, step, None)
    assert dict(rec.metrics) == pytest.approx(metrics)


def test_html_escaped_colab_bar() -> None:
    # lightning.md P2: `<pre>Epoch 80:  67% 10/15 [02:53&lt;01:18, 15.76s/it, loss=0.429, …` (no `|` bar)
    rec = ProgressBarParser().parse(excerpt(LIGHTNING, "Excerpt P2")[0])
    assert rec is not None and rec.step == 80 * 15 + 10 - 1
    assert (rec.metrics["loss"], rec.metrics["step_time"], rec.metrics["epoch_eta"]) == (0.429, 15.76, 78.0)
    assert rec.metrics["grad_2_0_norm_model_base_model_conv1_weight_step"] == 2.51
    assert "grad_2_0_norm_model_base_model_layer1_1_bn2_bias_step" not in rec.metrics  # cut `=0.1` of `0.112`


@pytest.mark.parametrize(("file", "tag", "index", "step", "total", "metrics"), [
    # hf_trainer.md H2: HF's plain training bar → step N of M, run clock in elapsed/eta
    ("excerpts_hf_trainer.json", "Excerpt H2", 11, 200, 200, {"step_time": 1 / 1.72, "elapsed": 116.0, "eta": 0.0}),
    # H10: `H:MM:SS` elapsed over a day
    ("excerpts_hf_trainer.json", "Excerpt H10", 4, 539934, 539934,
     {"step_time": 1 / 6.43, "elapsed": 83919.0, "eta": 0.0}),
    # failures.md F20: no `|` between the percentage and the bar
    ("excerpts_failures.json", "F20", 2, 3000001, 3000001, {"step_time": 1 / 14061.26, "elapsed": 213.0, "eta": 0.0}),
    # lightning.md P1: Lightning 1.x `Training: 0it [00:00, ?it/s]` before the first epoch bar
    (LIGHTNING, "Excerpt P1", 5, 0, None, {"elapsed": 0.0}),
])
def test_plain_bars(file: str, tag: str, index: int, step: int, total: int | None, metrics: dict[str, float]) -> None:
    rec = ProgressBarParser().parse(excerpt(file, tag)[index])
    assert rec is not None
    assert (rec.kind, rec.step, rec.total_steps) == (Kind.STEP, step, total)
    assert dict(rec.metrics) == pytest.approx(metrics)


FOUND = Path(__file__).parents[1] / "fixtures" / "found"


def test_lightning_1x_training_bar_before_its_epoch_states_no_run_total() -> None:
    """A new user's review: Lightning 1.x draws its epoch bar first as `Training:   0%|  | 0/2` (the epoch's
    length, before `Epoch 0:` names it); read as the run's total, `check` and the TUI said `step 39/2` at
    the end of 20 epochs of 2 batches. A plain bar's total counts from its first step on."""
    from runwatch.watcher.lines import LineSplitter

    splitter = LineSplitter()
    raw = (FOUND / "lightning_walkjump.out").read_bytes()
    recs = [r for r in run(splitter.feed(raw) + splitter.feed(b"\n")) if r is not None and r.kind is Kind.STEP]
    assert {r.total_steps for r in recs} == {None}
    assert recs[-1].step == 39 and recs[-1].metrics["loss"] == 0.125
    splitter = LineSplitter()  # HF's plain bar: `0/120` before its first step, `2/120` after it
    hf = (Path(__file__).parents[1] / "fixtures" / "realruns" / "hf-healthy" / "run" / "train.log").read_bytes()
    frames = [x for x in splitter.feed(hf) if x.startswith(("  0%|", "  2%|"))][:2]
    assert [(r.step, r.total_steps) for r in run(frames) if r is not None] == [(0, None), (2, 120)]


def test_global_step_across_epochs() -> None:
    # P3: the last frame of epoch 0 (1563/1563) and epoch 1's cut redraw → 1562, then 1563 + 1563 − 1
    recs = run(excerpt(LIGHTNING, "Excerpt P3"))
    steps = [r.step for r in recs if r is not None]
    assert steps == [85, 1562, 2 * 1563 - 1]  # 0-based: E·M + N − 1, the step just taken


def test_unknown_length_epochs_learn_their_length() -> None:
    # P7 frames (epoch 0, `N/?`) then a real P7 frame relabelled `Epoch 1` (no multi-epoch `?` excerpt exists)
    p7 = excerpt(LIGHTNING, "Excerpt P7")
    p = ProgressBarParser()
    for line in p7:
        p.parse(line)
    rec = p.parse(p7[2].replace("Epoch 0", "Epoch 1"))
    assert rec is not None and rec.step == 5 + 2 - 1
    fresh = ProgressBarParser().parse(p7[2].replace("Epoch 0", "Epoch 1"))
    assert fresh is not None and fresh.step is None and fresh.metrics["loss"] == 13.9


def test_validation_and_test_bars_are_not_steps() -> None:
    # P5: `Validation: 0it`, `Validation DataLoader 0: …`; P6: `Testing DataLoader 0: …`; P9: Predicting
    p5 = run(excerpt(LIGHTNING, "Excerpt P5"))
    assert p5[0] is not None and all(r is None for r in p5[1:])
    assert run([excerpt(LIGHTNING, "Excerpt P6")[10]]) == [None]
    assert run([excerpt(LIGHTNING, "Excerpt P9")[6]]) == [None]


def test_fit_stopped_is_a_finished_event() -> None:
    # P6: "Epoch 49: 100%|█| 12/12 [… train_loss_step=0.197, val_loss`Trainer.fit` stopped: `max_epochs=50` reached."
    recs = run(excerpt(LIGHTNING, "Excerpt P6"))
    glued = recs[6]
    assert glued is not None and (glued.kind, glued.event, glued.step) == (Kind.EVENT, Event.FINISHED, 599)
    assert glued.message == "`Trainer.fit` stopped: `max_epochs=50` reached."  # without the bar glued before it
    assert [r.kind for r in recs if r is not None] == [Kind.EVENT, Kind.STEP]


def test_jupyter_split_bar() -> None:
    # P8: `Epoch 9: 100%` on one line, `3638/3638 [32:33<00:00, 1.86it/s, v_num=0, train_loss=3.700]` on the next
    recs = run(excerpt(LIGHTNING, "Excerpt P8"))
    got = [r for r in recs if r is not None]
    assert len(got) == 1
    assert (got[0].step, got[0].metrics["loss"], got[0].metrics["epoch_elapsed"]) == (9 * 3638 + 3638 - 1, 3.7, 1953.0)


def test_values_that_persist_in_the_bar_count_once() -> None:
    # P4 line 1 printed twice (a redraw): val_loss and *_epoch only on the first
    line = excerpt(LIGHTNING, "Excerpt P4")[0]
    first, second = run([line, line])
    assert first is not None and second is not None
    assert {"val_loss", "val_acc", "train_loss_epoch"} <= set(first.metrics)
    assert not {"val_loss", "val_acc", "train_loss_epoch"} & set(second.metrics)
    assert second.metrics["loss"] == 1.31


def test_truncated_rate_and_truncated_clock() -> None:
    # P1: `6/18 [00:23<00:47,  3` and `6/18 [0` (the corpus cut both lines)
    cut_rate, cut_clock = excerpt(LIGHTNING, "Excerpt P1")[4], excerpt(LIGHTNING, "Excerpt P1")[-1]
    a, b = run([cut_rate, cut_clock])
    assert a is not None and a.step == 5 and "step_time" not in a.metrics
    assert b is not None and b.step == 5 and dict(b.metrics) == {"epoch": 6 / 18}


@pytest.mark.parametrize(("file", "tag", "index", "score"), [
    (LIGHTNING, "Excerpt P1", 0, 2),
    (LIGHTNING, "Excerpt P7", 0, 2),
    (LIGHTNING, "Excerpt P5", 3, 0),  # Validation DataLoader
    (LIGHTNING, "Excerpt P1", 5, 1),  # `Training: 0it` plain bar
    ("excerpts_hf_trainer.json", "Excerpt H2", 11, 1),  # HF's bare bar: a maybe here and for hf-trainer (ties go to it)
    ("excerpts_hf_trainer.json", "Excerpt H2", 0, 0),  # HF dict
    (LIGHTNING, "Excerpt P3", 2, 0),  # ModelCheckpoint message
])
def test_score(file: str, tag: str, index: int, score: int) -> None:
    assert ProgressBarParser().score(excerpt(file, tag)[index]) == score


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=8))
def test_never_raises(lines: list[str]) -> None:
    p = ProgressBarParser()
    for line in lines:
        p.parse(line)
        p.score(line)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="Epoch 0123456789:%|█▏ /?[]<>,=.itsa&lt;e+-nafv_", max_size=200))
def test_never_raises_on_bar_like_text(line: str) -> None:
    ProgressBarParser().parse(line)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=" \t\u3000\n|%:a1٣▏█▉", max_size=24))
def test_the_bar_is_stripped_as_its_pattern_says(text: str) -> None:
    """`_strip_bar` (string methods) gives what the `_BAR_TAIL` pattern, tried at every position, gives."""
    from runwatch.parsers.progress_bar import _BAR_TAIL, _strip_bar

    assert _strip_bar(text) == _BAR_TAIL.sub("", text)


@pytest.mark.parametrize(("line", "n", "total"), [
    ("Epoch 0:   3%|▎         | 2/60 [00:00<00:00, 241.14it/s, v_num=0, train_loss=2.310]", 2, 60),
    ("old 1/60 [00:01<00:02, 1.0it/s]\rEpoch 0:   5%| | 3/60 [00:02<00:03, 1.1it/s]", 3, 60),  # the last frame
    ("  7%|▋         | 123it [00:05, 24.1it/s]", 123, None),
    ("12345678901234/5 [00:01<00:02]", None, None),  # 13 digits or more: no count
    ("x" * 5000 + "[" * 5000, None, None),
])
def test_a_frame_is_its_last_count_before_a_bracket(line: str, n: int | None, total: int | None) -> None:
    from runwatch.parsers.progress_bar import parse_frame

    frame = parse_frame(line)
    assert (None if frame is None else (frame.n, frame.total)) == ((n, total) if n is not None else None)


def _split(path: Path) -> list[str]:
    """A recording's log as a followed file delivers it (`\\r` frames each a line, escapes taken out)."""
    from runwatch.watcher.lines import LineSplitter

    splitter = LineSplitter()
    return splitter.feed(path.read_bytes()) + splitter.feed(b"\n")


REALRUNS = Path(__file__).parents[1] / "fixtures" / "realruns"


@pytest.mark.parametrize(("run", "epochs", "batches"), [
    ("keras-tqdmcb-healthy", 5, 200),  # tqdm.keras.TqdmCallback: `1/5 … s/epoch` over `18.0/200 … batch/s`
    ("tutorial-tqdm-healthy", 5, 120),  # `for epoch in tqdm(…): for batch in tqdm(loader, leave=False)`
])
def test_nested_bars_count_steps_across_epochs(run: str, epochs: int, batches: int) -> None:
    """Two bare bars, one opened under the other at `0/E`: the inner one's frames are steps counted across the
    epochs the outer one shows done, of E × B in all; never a step back (each epoch read as the run starting
    again, before). The outer bar's frames end their epochs, with the run's clock and no step time."""
    p = ProgressBarParser()
    recs = [r for r in map(p.parse, _split(REALRUNS / run / "run/train.log")) if r is not None]
    steps = [r.step for r in recs]
    assert all(s is not None for s in steps) and steps == sorted(steps)  # type: ignore[type-var]
    assert steps[-1] == epochs * batches
    assert {r.total_steps for r in recs if r.total_steps is not None} == {epochs * batches}
    ends = [r for r in recs if "elapsed" in r.metrics and r.step]
    assert [r.step for r in ends][-1] == epochs * batches
    assert {r.step % batches for r in ends} == {0} and not any("step_time" in r.metrics for r in ends)
    inner = [r for r in recs if "epoch_elapsed" in r.metrics]
    assert len(inner) > 5 * len(ends) and max(r.metrics["epoch"] for r in inner) <= epochs


def test_a_scaled_count_is_the_number_it_stands_for() -> None:
    """TqdmCallback's batch bar counts with `unit_scale`: `1.00/171`, `10.0/171`, then `100/171` (three
    significant digits). Read digit by digit from the `/` back, `1.00` was 0 and every frame below 100 the
    start of an epoch (the real log read as restarted 19 times and stalled 4 minutes)."""
    from runwatch.parsers.progress_bar import parse_frame
    from tests.support.found import found_lines

    lines = found_lines("keras_tqdmcb_pokemon_train_log.txt.gz")
    counts = [(f.n, f.total) for f in map(parse_frame, lines) if f is not None and f.total == 171]
    assert counts[:3] == [(0, 171), (1, 171), (2, 171)]
    assert (10, 171) in counts and (171, 171) in counts
    firsts = {f.total: f.step_time for f in map(parse_frame, reversed(lines)) if f is not None and f.n == 1}
    assert firsts[10] is None and firsts[171] == pytest.approx(1 / 1.07)  # `26.86s/epoch`: none; `1.07batch/s`


def test_the_callbacks_log_read_whole() -> None:
    """The real TqdmCallback log through Python logging: 10 epochs of 171 batches, steps only forward, the
    epoch bar's validation results once per epoch."""
    from tests.support.found import source_records

    fmt, recs = source_records("keras_tqdmcb_pokemon_train_log.txt.gz")
    assert fmt == "tqdm"
    steps = [r.step for r in recs if r.kind is Kind.STEP]
    assert steps == sorted(steps) and steps[-1] == 1710  # type: ignore[type-var]
    assert {r.total_steps for r in recs if r.total_steps is not None} == {1710}
    val = [(r.step, r.metrics["val_loss"]) for r in recs if "val_loss" in r.metrics]
    assert [s for s, _ in val] == [171 * e for e in range(1, 11)] and val[0][1] == 4.36


def test_nested_bars_opening_sign_the_format() -> None:
    """A bare bar opened at `0/120` right under one at `0/5` is no HF Trainer bar: detection decides tqdm
    there, before the first step (a guess at a follower's first read went to the Trainer)."""
    from runwatch.parsers.detect import Detector

    lines = [x for x in _split(REALRUNS / "tutorial-tqdm-healthy" / "run/train.log") if x.strip()]
    det = Detector()
    assert det.feed(lines[0]) is None
    assert "0/5 " in lines[0] and "0/120 " in lines[1] and "loss" not in lines[1]
    assert det.feed(lines[1]) == "tqdm"


def test_a_bar_of_epoch_e_of_n_counts_from_one_and_states_the_runs_epochs() -> None:
    """`Epoch 1/200: 1%| 1/180` (a loop's `desc=f"Epoch {epoch + 1}/{epochs}"`, a review's CycleGAN run): the first
    epoch, not the second as Lightning's 0-based `Epoch 1:` would be (every step was 180 too high: 2274 for the
    truth's 2095), and the run's total is its 200 epochs of 180 batches."""
    from tests.support.found import source_records

    fmt, recs = source_records("cyclegan_epoch_of_bars_nohup.log.gz")
    steps = [r for r in recs if r.kind is Kind.STEP and r.step is not None]
    assert fmt == "tqdm" and steps[0].step == 0 and steps[-1].step == 11 * 180 + 115 - 1
    assert {r.total_steps for r in steps if "epoch" in r.metrics} == {200 * 180}  # the bar's frames (its losses beside)
    assert steps[-1].metrics["epoch"] == pytest.approx(11 + 115 / 180)


def test_the_bars_of_validation_and_of_a_tagged_evaluation_are_no_training() -> None:
    """A loop's three bars an epoch (a review's diffusion run): `Epoch 1/400 train: …/2590`, `Epoch 1/400 val:
    …/289` and `[Eval] Best Model at Epoch 1: …/289`. `val` is a validation's, and `[Eval]` is part of its
    description (cut at its `]`, the bar read as `Best Model at Epoch 1`, a training bar): the run's steps only
    go forward, 2590 an epoch, of 400 epochs."""
    from tests.support.found import source_records

    fmt, recs = source_records("seqar_diffusion_epoch_bars_train.log.gz")
    steps = [r.step for r in recs if r.kind is Kind.STEP and r.step is not None]
    assert fmt == "tqdm" and steps == sorted(steps) and steps[-1] == 55 * 2590 + 1695 - 1
    assert {r.total_steps for r in recs if r.kind is Kind.STEP and "epoch" in r.metrics} == {400 * 2590}


def test_a_loops_loss_lines_beside_its_bars_are_read_at_the_bars_step() -> None:
    """The diffusion loop prints `[SeqAR-Diffusion] Epoch 1/400 Train Loss: 0.1628 | Val Loss: 0.0491` after each
    epoch's bars. Read by the bar format alone the run had no loss (a NaN there unseen). Now such a line's measures
    are a record at the training bar's step; the bars keep the epoch. A line with no loss among its numbers is
    none (Lightning's `'val_accuracy' reached 0.49430 (best 0.49430)`, which read as metrics `reached` and `best`),
    but CycleGAN's losses are named as its model names them (`loss_d_a` of `D_A: 1.016`: a new user's review found
    the run's eight losses unread, a NaN in them unseen), and where the bar's postfix shows the loss, lines that
    repeat it are not read again (tqdm's Keras callback logs each epoch's `loss=4.8177, accuracy=0.0190`)."""
    from tests.support.found import source_records

    _, recs = source_records("seqar_diffusion_epoch_bars_train.log.gz")
    losses = [(r.step, r.metrics["loss"], r.metrics["val_loss"]) for r in recs if "loss" in r.metrics]
    assert len(losses) == 55 and losses[0] == (2589, 0.1628, 0.0491) and losses[-1][1:] == (0.0669, 0.0698)
    assert all(set(r.metrics) == {"loss", "val_loss"} for r in recs if "loss" in r.metrics)
    _, recs = source_records("cyclegan_epoch_of_bars_nohup.log.gz")
    assert all("epoch" in r.metrics for r in recs if r.kind is Kind.STEP and "loss_d_a" not in r.metrics)
    gan = [r for r in recs if "loss_d_a" in r.metrics]  # `[Rank 0] (epoch: 1, iters: 100, …) , D_A: 1.016, …`
    assert len(gan) == 19 and set(gan[0].metrics) == {"loss_d_a", "loss_g_a", "loss_cycle_a", "loss_idt_a", "loss_d_b",
                                                      "loss_g_b", "loss_cycle_b", "loss_idt_b", "data_time"}
    assert (gan[0].step, gan[0].metrics["loss_d_a"]) == (179, 1.016)  # at the bar's step: under nohup the print is
    # buffered and shows after the epoch's last frame, though it says `iters: 100`
    _, recs = source_records("keras_tqdmcb_pokemon_train_log.txt.gz")
    assert len([r for r in recs if "val_loss" in r.metrics]) == 10


def test_a_loggers_date_and_time_are_no_bar() -> None:
    """A review: Prismatic's logger prints `08/21 [01:46:27] WARNING  | >> …` (month/day, then the time): read as a
    bar at 8 of 21 with 1h46m elapsed, an OpenVLA job whose bar stood at 0/100005 said `step 8/21`. A count and a
    clock alone are no frame; tqdm draws the time left or a rate after its elapsed time."""
    from runwatch.parsers.progress_bar import any_frame
    from tests.support.found import found_lines

    lines = [x for x in found_lines("openvla_prismatic_logger_excerpt.out") if x.startswith("08/21 [")]
    assert len(lines) == 4 and all(any_frame(x) is None for x in lines)


def test_a_download_bar_is_no_training_progress() -> None:
    """A review: torch.hub's bar fetching AlexNet's weights (`33.5M/233M [00:00<00:00, 350MB/s]`) was read as steps 0
    to 233,000,000 of 233,000,000, and the nerfstudio run that crashed before its first step as `hf-trainer` at
    its total. A bar that counts bytes is a transfer: no frame, no format, for any reader of bars."""
    from runwatch.parsers.hf_trainer import HFTrainerParser
    from runwatch.parsers.progress_bar import parse_frame
    from runwatch.parsers.source import SourceParser
    from runwatch.watcher.snapshot import split_block

    data = (Path(__file__).parents[1] / "fixtures" / "found" / "torch_hub_download_bar_line.log").read_bytes()
    frames = [x for x in split_block(data) if "B/s]" in x]
    assert len(frames) >= 5 and "233M/233M" in frames[-1]
    assert [parse_frame(x) for x in frames] == [None] * len(frames)
    assert [(ProgressBarParser().score(x), HFTrainerParser().score(x)) for x in frames] == [(0, 0)] * len(frames)
    sp = SourceParser("train.log")
    assert [r for r in sp.feed(split_block(data), 1, 1.0) + sp.flush() if r.step is not None] == []


def test_a_download_bar_counting_kilobytes_is_no_training_progress() -> None:
    """A review: PaddleDetection downloads its pretrained weights under a bar of `unit="KB"` (`139208/139208
    [00:01<00:00, 83823.05KB/s]`), and `tail` said `finished 139208/139208` before the first epoch, then that the run
    started again at step 0; a dataset's `…/18883655 [… KB/s]` made steps of a run at 19,594 of 18,883,655. A bar of
    bytes under any prefix is a transfer."""
    from runwatch.parsers.progress_bar import parse_frame
    from tests.support.found import found_lines, source_records

    name = "paddledet_weights_download_bar_launches.log.gz"
    frames = [x for x in found_lines(name) if "KB/s]" in x]
    assert len(frames) >= 10 and any(x.endswith("139208/139208 [00:01<00:00, 83823.05KB/s]") for x in frames)
    assert [parse_frame(x) for x in frames] == [None] * len(frames)
    assert parse_frame("  2%|▏         | 3/139 [00:01<00:44,  3.05it/s]") is not None
    _, recs = source_records(name)
    steps = [r for r in recs if r.step is not None]
    assert steps and not [r for r in steps if {r.step, r.total_steps} & {139208, 225063}]
    assert (steps[0].step, steps[0].total_steps) == (0, 134), steps[0]  # `Epoch: [0] [  0/134]`, the first epoch's


def test_losses_in_a_bars_description_are_read_as_its_postfix() -> None:
    """A review: a GAN loop's `set_description(f"d: {d:.3f};gen: {g:.3f}")` drew its two losses for 20,000 steps, and
    none was read (a `nan` there would have gone unseen). The description's `name: value` pairs are read after the
    postfix's own; the counters in it (`Epoch 3`) are the bar's place, not metrics."""
    import re

    from tests.support.found import found_lines, source_records

    name = "sttn_gan_losses_in_bar_description.out"
    fmt, recs = source_records(name)
    frames = [m for x in found_lines(name) if (m := re.match(r"d: (-?[\d.]+);gen: (-?[\d.]+): .*\| (\d+)/20000 ", x))]
    # the loop sets the description after each step: the values count where they change (a redraw of the count
    # with the last values is stale, as a postfix's)
    want = [(int(m[3]), float(m[1]), float(m[2])) for i, m in enumerate(frames)
            if i == 0 or m.group(1, 2) != frames[i - 1].group(1, 2)]
    assert fmt == "tqdm" and len(want) > 15
    got = [(r.step, r.metrics["d"], r.metrics["gen"]) for r in recs if "d" in r.metrics]
    assert got == want
    frame = "Epoch 3: loss: nan:  10%|█         | 10/100 [00:01<00:09, 9.5it/s, lr=0.1]"
    from runwatch.parsers.progress_bar import parse_frame
    parsed = parse_frame(frame)
    assert parsed is not None and [k for k, _ in parsed.postfix] == ["lr", "loss"]


def test_a_loops_epoch_summaries_beside_its_bars_are_at_their_epochs_ends() -> None:
    """A review: a loop drawing `Epoch 1:` … `Epoch 30:` bars (counted from 1, mostly erased) and logging each
    epoch's `Epoch [9/30] Train: 0.0256 | Val: 0.0506 | …` read 3 records, every step an epoch high, and no
    summary at all (no loss named). Now each summary is at its epoch's end on the bars' axis, and the bars count
    from the `Epoch 1:` drawn from its start."""
    from tests.support.found import source_records

    fmt, recs = source_records("verf_tgm_bars_epoch_summaries_30ep.log")
    steps = [r for r in recs if r.kind is Kind.STEP]
    summaries = [r for r in steps if "train" in r.metrics]
    assert fmt == "tqdm" and len(summaries) == 30  # the 9th's written right after its bar's frame at 52%
    length = 15229  # the bars' `…/15229`
    inside = {9: 8 * length + 7897 - 1, 15: 14 * length + 1963 - 1}  # `Epoch 9:  52%|… 7897/15229`, `Epoch 15:  13%|…`
    # the 9th and 15th after their bars' frames inside those epochs: at those frames' steps, as any line beside a bar
    assert [r.step for r in summaries] == [inside.get(k, k * length - 1) for k in range(1, 31)]
    assert (summaries[0].metrics, summaries[-1].metrics) == (
        {"train": 0.0962, "val": 0.0991, "lr": 0.001}, {"train": 0.0228, "val": 0.0398, "lr": 0.000125})
    [frame] = [r for r in steps if r.metrics.get("epoch") and r.step is not None and 8 < r.metrics["epoch"] < 9]
    assert frame.step == 8 * length + 7897 - 1  # `Epoch 9:  52%|… 7897/15229`: the ninth epoch, 8 done
    assert [r.event for r in recs if r.kind is Kind.EVENT] == [Event.FINISHED]
    _, crashed = source_records("verf_tgm_traceback_in_epoch8.log")  # summaries 1-7, then `Epoch 8:  40%|… 6165/15229`
    assert [r.step for r in crashed if r.kind is Kind.STEP and "epoch" in r.metrics] == [7 * length + 6165 - 1]
    _, rerun = source_records("verf_tgm_typeerror_then_rerun.log")
    [last] = [r for r in rerun if r.kind is Kind.STEP and "epoch" in r.metrics]
    assert 5 < last.metrics["epoch"] < 6  # `Epoch 6:  83%`: five done, not six


def test_another_jobs_named_bars_between_epochs_are_no_training_bar() -> None:
    """A review: a 3D reconstruction's `Marching cube: 0/34 …chunk/s` and `Texture prediction: 0/1` bars after each
    validation, between its `Epoch 1/1000::` bars, read as a plain bar's laps: the run "started again", and their
    5 s a chunk a slowdown of its 13 s a batch. Once `Epoch` bars are the training's, a named bar naming no epoch
    is another job's: every step is an epoch bar's, in order, in both readers."""
    from tests.support.found import found_bytes
    from tests.support.readers import check

    recs, _ = check(found_bytes("recon3d_epoch_bars_marching_cube_head.log.gz"), (1 << 20,), fmt="tqdm")
    steps = [r for r in recs if r.kind is Kind.STEP and r.step is not None and "epoch" in r.metrics]
    assert len(steps) > 150 and all(r.total_steps == 41000 for r in steps)
    assert [r.step for r in steps] == sorted(r.step for r in steps)
    assert all(r.metrics["step_time"] > 10 for r in steps if "step_time" in r.metrics)  # no 5 s chunk


def test_a_line_a_loop_logs_while_its_bar_is_drawn_is_read_after_the_frame() -> None:
    """tqdm ends a frame with nothing: what the loop logs meanwhile is written right after it
    (`Epoch 50/1000::   0%|…| 0/41 [00:00<?, ?batch/s]2025-04-28 21:42:35,745|    INFO| Train: STEP 2009 - … | 3D
    loss: …`): a review's log read 19 of its 1,019 loss lines. Each is read beside the bars, untimed as they are (its
    stamp once an epoch among untimed frames read as 15 minutes without a step)."""
    from tests.support.found import found_lines, source_records

    lines = found_lines("recon3d_epoch_bars_marching_cube_head.log.gz")
    logged = [x for x in lines if "| Train: STEP " in x]
    glued = [x for x in logged if x.startswith("Epoch ")]
    _, recs = source_records("recon3d_epoch_bars_marching_cube_head.log.gz")
    losses = [r for r in recs if "3d_loss" in r.metrics]
    assert len(glued) > 100 and len(losses) == len(logged) and all(r.t == 0.0 for r in losses)
    assert [r.metrics["3d_loss"] for r in losses][:2] == [0.2511, 0.345]  # `3D loss: 2.511E-01`, `3.450E-01`


def test_a_loops_epoch_line_as_a_bars_description_and_its_test_sets_bare_bars() -> None:
    """Proxy-Anchor's loop draws `Train Epoch: 59 [660/661 (100%)] Loss: 9.931711: : 660it [04:07,  2.66it/s]` (the
    PyTorch examples' line as a bar's description, no total), then a bare bar over its test set, `673/673`, and
    W&B's console kept an epoch's last frames, from epoch 51 on with the test bar's drawn over them on one line.
    Cut at the `]` of `(100%)]`, the description lost its epoch, each epoch's bar read as the run starting again
    (37 times), the test bars as steps 0 and 673, and the glued frames as the test bar's (a twentieth review)."""
    from tests.support.found import found_lines, source_records

    fmt, recs = source_records("proxyanchor_tqdm_wandb_console_60ep.log.gz")
    steps = [r for r in recs if r.kind == Kind.STEP]
    assert fmt == "tqdm" and not [r for r in recs if r.event == Event.RESTARTED]
    xs = [r.step for r in steps]
    assert all(x is not None for x in xs) and xs == sorted(xs), xs[:20]
    assert int(steps[0].metrics["epoch"]) == 0 and int(steps[-1].metrics["epoch"]) == 59
    assert steps[-1].metrics["loss"] == pytest.approx(9.931711) and 39_600 <= steps[-1].step <= 39_660
    glued = sum("Train Epoch" in x and "673/673 [" in x for x in found_lines("proxyanchor_tqdm_wandb_console_60ep.log.gz"))
    from_glued = [r for r in steps if int(r.metrics["epoch"]) >= 51]
    assert glued > 1000 and len(from_glued) > 1000  # the epochs' frames under the test bar's are read


def test_bare_bars_named_by_the_heading_before_them() -> None:
    """A review: a loop printing `[INFO] epoch N`, a bare bar of 3517 training batches, `[INFO] Evaluation` and a bare
    bar of 431 test batches. Read without the headings, each bar's 100% was the run finished, the evaluation's 431 the
    run's length, and the run stopped in epoch 25 was at 2% (`70/3517`). Named by them, a training bar counts on across
    the epochs (from 0, as Lightning's), with no run total (the epochs are not stated), and an evaluation's is no
    step; the headings sign the loop, not the HF Trainer whose bare bar looks the same."""
    from tests.support.found import source_records

    fmt, recs = source_records("freepose_tqdm_epoch_headings_ctrlc.log.gz")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert fmt == "tqdm"
    assert [r.step for r in steps] == [e * 3517 + 3516 for e in range(25)] + [25 * 3517 + 69]
    assert all(r.total_steps is None for r in steps)
    assert steps[-1].metrics["epoch"] == pytest.approx(25 + 70 / 3517)


def test_a_postfix_of_the_loops_own_words_is_read_as_its_pairs() -> None:
    """A review's SFT bar, `set_postfix_str(f"loss {loss:.4f}")`: `SFT:  53%|█████▎    | 200/375 [26:47<22:47,  7.81s/it,
    loss 0.0004]`, the loss falling from 6.05 to 0.0000, none of it read (its step time only)."""
    from tests.support.found import source_records

    fmt, recs = source_records("sft_bar_free_postfix.log")
    assert fmt == "tqdm"
    losses = [(r.step, r.metrics["loss"]) for r in recs if r.kind is Kind.STEP and "loss" in r.metrics]
    assert losses[0] == (10, 6.053) and (200, 0.0003) in losses and losses[-1][1] == 0.0  # set every 10th step
    assert [s for s, _ in losses] == sorted({s for s, _ in losses}) and len(losses) >= 30  # one a step, in order



def _resnet_lines() -> list[str]:
    return _split(FOUND / "imagenet_resnet50_tqdm_resized.log")


def test_epochs_of_another_length_count_on_from_the_steps_before_them() -> None:
    """A review's ResNet-50 run on ImageNet: 10,010 batches an epoch, 5,005 from the fourth on (a larger batch).
    Each epoch's step was `epoch × its length`, so the fourth epoch ended at 65,063 (after 30,029) and the run at
    445,443 for 415,415 batches; and its bars, under the loop's own `Epoch: 1` heading, counted from 1 read an
    epoch high (the first epoch at 20,019). Its `Test set: Average loss: …, Acc@1: …%` lines, unread beside a bar
    whose description shows the loss, are its evaluations."""
    from runwatch.parsers.source import SourceParser

    lines = _resnet_lines()
    sp = SourceParser("resnet.log")
    recs = sp.feed(lines, 1, 0.0) + sp.flush()
    assert sp.format == "tqdm"
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps[:5]] == [10009, 20019, 30029, 35034, 40039]
    assert steps[-1].step == 3 * 10010 + 77 * 5005 - 1 and len(steps) == 80
    assert [r.metrics["epoch"] for r in steps[:2]] == [1.0, 2.0] and steps[-1].metrics["epoch"] == 80.0
    evals = [r for r in recs if r.kind is Kind.EVAL]
    assert len(evals) == 80 and evals[0].step == 10009 and evals[3].step == 35034
    assert evals[0].metrics == {"test_loss": 5.0191, "test_acc1": 8.434, "test_acc5": 23.268}


def test_a_block_of_epochs_of_another_length_is_read_one_by_one() -> None:
    """The block reader (`take_frames`) counts steps at the bars' length now; a block with frames of another
    length goes frame by frame (`_resized`), and the next block at the new length goes as a block again, the
    same steps either way."""
    from runwatch.parsers.bar_block import TQDM, FrameRowBlock, read_frames

    lines = _resnet_lines()
    frames = [i for i, x in enumerate(lines) if x.startswith("Train Epoch: ")]
    one = ProgressBarParser()
    by_line = [r for r in map(one.parse, lines) if r is not None and r.kind is Kind.STEP]
    p = ProgressBarParser()
    for x in lines[:frames[1] + 1]:  # epochs 1 and 2 (the first decides what the epochs are counted from)
        p.parse(x)
    resized = FrameRowBlock(p, read_frames(lines[frames[2]:frames[5] + 1], TQDM))  # epochs 3 to 6: two lengths
    assert resized.row.sum() == 4 and not resized.ready()
    for x in lines[frames[1] + 1:frames[3] + 1]:
        p.parse(x)
    block_lines = [lines[i] for i in frames[4:]]  # epochs 5 to 80: their frames alone, one length
    block = FrameRowBlock(p, read_frames(block_lines, TQDM))
    assert block.ready()
    cols = block.take(0, len(block_lines))
    assert cols.step.tolist() == [r.step for r in by_line[4:]]
    assert cols.total.tolist() == [-1] * len(block_lines)


def test_lightnings_bars_take_the_runs_epochs_from_its_config() -> None:
    """A review's Lightning run (`lightning_walkjump.out`, tests/fixtures/found/README.md) dumps its Hydra config, `max_epochs: 20` under
    `trainer:`, then draws `Epoch 0: … 2/2` to `Epoch 19: … 2/2`: no total, no progress, no ETA. Its checkpoint
    callback's `filename: '{epoch}-{step}-{val_loss:.4f}'` above it had ended the header (a loss and its value, read
    as training begun). The run's steps are its 20 epochs of 2, per line and in bulk alike."""
    from runwatch.parsers.preamble import LOSS
    from tests.support.found import FOUND, source_records
    from tests.support.realruns import check_json

    assert LOSS.search("    filename: '{epoch}-{step}-{val_loss:.4f}'") is None
    assert LOSS.search("val_loss: 0.4123") is not None and LOSS.search("{loss: 2.5}") is not None  # a letter ends a spec
    for batch in (1, 500):  # per line, and in the blocks `parse` reads
        fmt, recs = source_records("lightning_walkjump.out", batch=batch)
        steps = [r for r in recs if r.kind is Kind.STEP and "epoch" in r.metrics]  # `Training: 0/2` has no epoch
        assert fmt == "tqdm" and len(steps) > 60 and {r.total_steps for r in steps} == {40} and steps[-1].step == 39
    _, [report], _ = check_json(FOUND / "lightning_walkjump.out")
    assert (report["state"], report["step"], report["total_steps"]) == ("finished", 39, 40)


@pytest.mark.parametrize(("change", "total"), [
    (("  max_steps: -1", "  max_steps: 30"), 30),  # Lightning stops at whichever comes first: the steps' plan stays
    (("  val_check_interval: 0.99", "  val_check_interval: 0.99\nscheduler:\n  max_epochs: 100"), None),  # which?
])
def test_the_headers_epochs_are_the_bars_plan_only_where_they_are_alone(change: tuple[str, str], total: int | None
                                                                        ) -> None:
    """The same real log with one line of its config changed (a code review's cases): a `max_steps` beside
    `max_epochs` is the run's plan (the header's steps are, `source._short_of`: it read `29/40`, incomplete, of a run
    that stopped at 30); two counts of epochs (a scheduler's `max_epochs: 100` beside the trainer's) are no plan (it
    read 200)."""
    from runwatch.parsers.source import SourceParser
    from tests.support.found import found_lines

    text = "\n".join(found_lines("lightning_walkjump.out"))
    assert change[0] in text
    lines = text.replace(change[0], change[1]).split("\n")
    for batch in (1, len(lines)):  # per line, and in one block (the fast path's columns)
        sp = SourceParser("train.log")
        recs = [r for i in range(0, len(lines), batch) for r in sp.feed(lines[i:i + batch], i + 1, 0.0)] + sp.flush()
        totals = {r.total_steps for r in recs if r.kind is Kind.STEP and "epoch" in r.metrics and (r.step or 0) < 30}
        assert totals == {total}, batch


def test_an_epochs_summary_beside_bars_that_show_the_loss_gives_its_evaluation() -> None:
    """A review's ResNet loop (tests/fixtures/found/README.md) draws `Epoch 1/25 [Train]` bars with `loss=…`, then
    `[Val]` bars, then logs `Epoch [1/25], Training Loss: 4.6271, Validation Loss: 4.4707, Accuracy: 5.74%`. Beside
    bars that show the loss, that line was dropped for its training loss: the run had no `val_loss` at all, and the
    overfit rule nothing to judge. Its evaluation's part is an evaluation at the epoch's end; the loss stays the
    bars'."""
    from tests.support.found import source_records

    for batch in (1, 5000):
        fmt, recs = source_records("resnet_tqdm_epoch_summary_val_loss.out.gz", batch=batch)
        evals = [r for r in recs if r.kind is Kind.EVAL]
        assert fmt == "tqdm" and len(evals) == 11 and evals[0].metrics == {"val_loss": 4.4707}
        assert [r.step for r in evals[:3]] == [1112, 2225, 3338]  # each epoch's last step
        assert not any(r.kind is Kind.STEP and "val_loss" in r.metrics for r in recs)  # no step of the summary's


def test_an_inference_engines_warm_up_bars_are_no_training_steps() -> None:
    """A review: vLLM's `Capturing CUDA graphs (mixed prefill-decode, PIECEWISE):   4%|▍ | 2/51 […]` beside a GRPO
    run's training bar at 0/500 was read as a bar named `PIECEWISE)` (a description ends at a comma) and its 51
    captures as the run's steps: `step 51/25500`. A comma inside the description's brackets is its own, and an
    engine's capture of its graphs no training."""
    from runwatch.parsers.progress_bar import any_frame, is_training
    from tests.support.found import found_lines, source_records

    frames = [f for line in found_lines("grpo_deepspeed_vllm_capture_bars_sigint.log") if "Capturing" in line
              and (f := any_frame(line)) is not None]
    assert {f.desc for f in frames} == {"Capturing CUDA graphs (mixed prefill-decode, PIECEWISE)",
                                        "Capturing CUDA graphs (decode, FULL)"}
    assert not any(is_training(f.desc) for f in frames)
    _, recs = source_records("grpo_deepspeed_vllm_capture_bars_sigint.log")
    assert [r.step for r in recs if r.kind == Kind.STEP] == []
    assert [r.event for r in recs if r.kind == Kind.EVENT][-1] == Event.SIGNAL
    # a comma in brackets before the description is no part of it (a code review): a logger's `(file.py, line)`
    # before the training bar's frame, whose file's name holds `eval`, names no evaluation's bar
    frame = next(line for line in found_lines("grpo_deepspeed_vllm_capture_bars_sigint.log") if "0/500" in line)
    framed = any_frame("2024-05-01 12:00:01 (train_and_eval.py, 57) Epoch 1:" + frame[frame.index("  0%"):])
    assert framed is not None and framed.desc == "57) Epoch 1" and is_training(framed.desc)


def test_the_global_step_a_bar_shows_is_the_step_where_printed_whole() -> None:
    """latent-diffusion logs `global_step` into Lightning 1.x's bar, whose `Epoch 81: …| 26/76` counts a validation
    batch in each epoch's 76: the bars' count read 6181 where the run's step and its checkpoint `embeddings_gs-6099.pt`
    say 6099 (a review). The step shown is the step, not a metric too; NeMo's `global_step=2e+3` (tqdm's 3 digits,
    1999 or 2000) says no step, and the bar's count stands."""
    from tests.support.found import found_lines, source_records

    fmt, recs = source_records("ldm_textual_inversion_epoch81.log")
    assert fmt == "tqdm"
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps] == [6074, 6080, 6089, 6099]
    assert all("global_step" not in r.metrics for r in steps) and steps[-1].metrics["loss"] == 0.17
    parser = ProgressBarParser()
    [nemo] = [r for x in found_lines("nemo_launcher_peft_lora_done_excerpt.log")[:1] if (r := parser.parse(x))]
    assert nemo.step == 1999 and nemo.metrics["global_step"] == 2000.0


def test_nemos_reduced_loss_and_step_timing_are_the_loss_and_step_time() -> None:
    """NeMo's bar shows `reduced_train_loss=0.139, …, train_step_timing in s=68.70`: its loss, read under its own name,
    met no loss rule but the NaN one, and a key of several words was no key, so a NeMo run had no step time (a
    review: "no step line carries … a step time")."""
    from tests.support.found import found_lines

    parser = ProgressBarParser()
    [rec] = [r for x in found_lines("nemo_launcher_peft_lora_done_excerpt.log")[:1] if (r := parser.parse(x))]
    assert rec.metrics["loss"] == 0.139 and rec.metrics["step_time"] == 68.7 and rec.metrics["val_loss"] == 0.212
    assert "reduced_train_loss" not in rec.metrics


def test_a_run_started_again_after_a_logged_global_step_counts_its_own_bars() -> None:
    """The shift a logged `global_step` sets holds from its epoch on: a run started again in the same log (an epoch
    before it: a Lightning recording's `Epoch 0:` bars after latent-diffusion's `Epoch 81:`) is counted by its own bars,
    from 0, as without it (a code review: steps -82, -78, …), and the same read per line as in blocks. A `global_step`
    below 1000 is exact (tqdm prints `150`, Lightning pads `86.00`)."""
    from tests.support.found import found_bytes
    from tests.support.paths import FIXTURES
    from tests.support.readers import check

    ldm = found_bytes("ldm_textual_inversion_epoch81.log")
    relaunch = (FIXTURES / "realruns" / "lightning-tqdm-healthy" / "run" / "train.log").read_bytes()
    recs, _ = check(ldm + relaunch, sizes=(1 << 20, 4096))
    alone, _ = check(relaunch, sizes=(1 << 20,))
    steps = [r.step for r in recs if r.kind is Kind.STEP]
    assert steps[:4] == [6074, 6080, 6089, 6099]
    assert steps[4] == 0 and set(steps[4:]) == {r.step for r in alone if r.kind is Kind.STEP}
    assert logged_step({"global_step": 150.0}) == 150 and logged_step({"global_step": 86.0}) == 86
    assert logged_step({"global_step": 2000.0}) is None and logged_step({"global_step": 2000.0}, rich=True) == 2000


def test_a_bar_of_another_length_with_no_loss_after_the_training_bar_ended_is_no_training(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Once a plain training bar showed the loss and ran to its end, a plain bar of another length showing none is an
    evaluation's: SpeechBrain's validation and test bars (`545/545`, `1310/1310`) after its `760/760 …,
    train_loss=1.35` read as the run started again, `step 1310/1310` (a review). Alike per line and in blocks."""
    from runwatch.cli import main
    from tests.support.found import FOUND, found_bytes
    from tests.support.readers import check

    name = "speechbrain_asr_crdnn_adapters_tutorial_run1.log"
    recs, _ = check(found_bytes(name), sizes=(1 << 20, 512), fmt="tqdm")
    assert [(r.step, r.total_steps, r.metrics.get("loss")) for r in recs if r.kind is Kind.STEP] == [(760, 760, 1.35)]
    main(["check", str(FOUND / name)])
    out = capsys.readouterr().out
    assert "step 760/760  finished" in out and "started again" not in out


def _printed(name: str) -> Path:
    return Path(__file__).parents[1] / "fixtures" / "printed" / name


def _check_out(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, str]:
    from runwatch.cli import main

    rc = main(["check", str(path)])
    return rc, capsys.readouterr().out


def test_another_jobs_named_bar_is_no_row_and_no_failure(capsys: pytest.CaptureFixture[str]) -> None:
    """tqdm's own frames (tests/fixtures/printed): a `train` bar over 40 batches showing its loss, then a `sampling` bar
    over 12 showing none, twice. The sampling bar is another job's (`_other_job`), so no step; 14 of its frames were each
    a parse failure (`take_row` asserted a row that `_training` refuses): `check` said "14 lines runwatch failed to
    parse … a runwatch bug", exit 3. So was a bar of a third length inside a nest (an `Inference` bar after each
    epoch's `train` bar under tqdm's `Epoch` bar). Per line and in blocks alike, no failure, the training bars' steps
    alone."""
    from tests.support.readers import check

    path = _printed("train_then_sampling_bars.log")
    for sizes in ((1 << 20,), (1 << 20, 512)):
        recs, _ = check(path.read_bytes(), sizes=sizes, fmt="tqdm")
        steps = [(r.step, r.metrics.get("loss")) for r in recs if r.kind is Kind.STEP]
        assert len(steps) == 164 and steps[-1] == (80, 1.21)  # 2 × (0/40 twice, then each of 1..40 twice)
        assert {r.total_steps for r in recs} <= {40, None}  # no record of the sampling bar's 12
    rc, out = _check_out(capsys, path)
    assert rc == 0 and "step 80  ended" in out and "failed to parse" not in out and "no alerts" in out
    nested = _printed("nested_bars_inference.log")
    recs, _ = check(nested.read_bytes(), sizes=(1 << 20, 512), fmt="tqdm")
    assert {r.total_steps for r in recs if r.kind is Kind.STEP} == {None, 51}  # 3 epochs of 17; no 12
    rc, out = _check_out(capsys, nested)
    assert rc == 0 and "step 51/51  finished" in out and "failed to parse" not in out


def test_the_epochs_bar_drawn_again_inside_its_epoch_is_no_restart(capsys: pytest.CaptureFixture[str]) -> None:
    """`tqdm.write` clears the bars, prints its line and draws every bar again: the outer `Epoch: 0%| 0/1` among them,
    read in the nest as the epoch's start, step 0: "the run started again 6 times" in a loop that wrote `step N: loss
    L` every 7th batch (tests/fixtures/printed). Drawn again inside its epoch, it is the step the batches reached."""
    from tests.support.readers import check

    path = _printed("nested_bars_write.log")
    recs, _ = check(path.read_bytes(), sizes=(1 << 20, 512), fmt="tqdm")
    steps = [r.step for r in recs if r.kind is Kind.STEP and r.step is not None]
    assert steps == sorted(steps) and steps[-1] == 40
    assert path.read_bytes().count(b"step ") == 6  # the loop's 6 written lines
    rc, out = _check_out(capsys, path)
    assert rc == 0 and "step 40/40  finished" in out and "started again" not in out


def test_mingpts_bar_description_shows_the_loss(capsys: pytest.CaptureFixture[str]) -> None:
    """minGPT's trainer (copied into many projects) shows its loss only in its bar's description, a space before the
    value: `epoch 2 iter 9: train loss nan. lr 6.000000e-04: 33%|…| 10/30` (tests/fixtures/printed, tqdm's own frames).
    It was not read: no loss series, and a NaN from the 40th batch on was seen only by the epoch's `test loss: nan`, 20
    steps later (an epoch of thousands of batches: hours). Each epoch's bar, drawn bare on creation (`0%| 0/30`) before
    `set_description` names it, read as step 0: the run started again each epoch."""
    from runwatch.parsers.progress_bar import desc_values
    from tests.support.readers import check

    assert desc_values("epoch 1 iter 23: train loss 0.12345. lr 6.000000e-04") == (
        ("train loss", 0.12345), ("lr", 6e-4))
    assert desc_values("GPU 0 glr 5 lossy 2 lr: 3") == (("lr", 3.0),)  # a spaced value only after `loss` or `lr`
    assert [(k, math.isnan(v)) for k, v in desc_values("Loss nan")] == [("Loss", True)]  # any case, the line's start
    path = _printed("mingpt_desc_nan.log")
    recs, _ = check(path.read_bytes(), sizes=(1 << 20, 512), fmt="tqdm")
    losses = [(r.step, r.metrics["loss"]) for r in recs if r.kind is Kind.STEP and "loss" in r.metrics]
    first_nan = next(s for s, v in losses if v != v)
    assert len(losses) > 50 and losses[0] == (0, 3.33333) and first_nan == 38  # the bar's n lags its description
    steps = [r.step for r in recs if r.kind is Kind.STEP and r.step is not None]
    assert steps == sorted(steps)
    rc, out = _check_out(capsys, path)
    assert rc == 2 and "metric=loss              first step 38" in out and "started again" not in out


def test_an_evaluation_stating_its_step_beside_the_one_bar_that_shows_the_loss() -> None:
    """A 2D Gaussian Splatting run on Colab (its `train.py` is 3D Gaussian Splatting's): one bar of the run's 30,000
    steps with `Loss=` in its postfix, and `[ITER 7000] Evaluating test: L1 0.0105… PSNR 31.36…` (then `Evaluating
    train:` on its training views) beside it. Read by the bar alone, no evaluation was seen (a new user's review); a
    line of values stating no step of its own (tqdm's Keras callback's `val_loss=4.3607, val_accuracy=0.0425`) is still
    what the bar shows next, not read twice."""
    from tests.support.found import found_lines, source_records
    from tests.support.realruns import check_json

    fmt, recs = source_records("gs2d_colab_evaluating_attributeerror.log")
    evals = [(r.step, dict(r.metrics)) for r in recs if r.kind is Kind.EVAL]
    assert fmt == "tqdm" and len(evals) == 6 and evals[4] == (
        7000, {"test_l1": 0.010578657558653504, "test_psnr": 31.362593717575074})
    assert evals[5][1] == {"eval_train_l1": 0.010139155387878419, "eval_train_psnr": 31.657343673706055}
    code, [run], _ = check_json(FOUND / "gs2d_colab_evaluating_attributeerror.log")
    assert code == 2 and run["state"] == "crashed" and run["step"] == 7000, run
    keras = found_lines("keras_tqdmcb_pokemon_train_log.txt.gz")
    assert keras[386].endswith("INFO - val_loss=4.3607, val_accuracy=0.0425")
    assert not [r for r in source_records("keras_tqdmcb_pokemon_train_log.txt.gz")[1] if r.line == 387]
