"""The `keras` format, on what Keras 3 `model.fit` and `model.evaluate` printed to a pipe (run lab
recordings `keras-v1-*`: the progress bar; `keras-v2-*`: a line per epoch)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch.model import Kind, Record
from runwatch.parsers.detect import detect
from runwatch.parsers.keras import KerasParser
from runwatch.watcher.lines import LineSplitter

REALRUNS = Path(__file__).parents[1] / "fixtures" / "realruns"


def lines(name: str) -> list[str]:
    """The log as the line splitter hands it to a parser: `\\r` frames split, `\\b` and colours dropped."""
    splitter = LineSplitter()
    return splitter.feed((REALRUNS / name / "run" / "train.log").read_bytes()) + splitter.feed(b"\n")


def records(name: str) -> list[Record]:
    parser = KerasParser()
    return [r for ln in lines(name) if (r := parser.parse(ln)) is not None]


def test_the_bar_frames_count_one_global_step_across_epochs() -> None:
    """After `Epoch 3/5`, the bar's `n/200` is the optimizer's step 400 + n, of 1000 in all."""
    recs = [r for r in records("keras-v1-healthy") if r.kind is Kind.STEP]
    epoch3 = [r for r in recs if 2 < r.metrics["epoch"] <= 3]
    assert epoch3 and all(400 < (r.step or 0) <= 600 for r in epoch3)
    assert {r.total_steps for r in recs} == {1000}
    steps = [r.step or 0 for r in recs]
    assert steps == sorted(steps) and steps[-1] == 1000
    last = recs[-1]  # the epoch's final frame carries the validation metrics and the epoch's time
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "step_time", "epoch_elapsed"} <= set(last.metrics)
    assert 0 < last.metrics["step_time"] < 1


def test_evaluate_after_fit_gives_one_result_and_every_epoch_end_is_a_step() -> None:
    """A new user's review: `parse` of keras-v1-healthy counted 4 `test_loss` values for its one `evaluate()`:
    epoch 3's end frame, drawn a second time after validation, read as outside the epoch (the frame of its
    last batch had closed it), and two frames of the evaluate bar before its end."""
    recs = records("keras-v1-healthy")
    evals = [r for r in recs if r.kind is Kind.EVAL]
    assert [sorted(r.metrics) for r in evals] == [["test_accuracy", "test_loss"]]
    assert evals[0].metrics["test_loss"] == 1.3793
    ends = [r for r in recs if r.kind is Kind.STEP and "val_loss" in r.metrics]
    assert [r.step for r in ends] == [200, 400, 600, 800, 1000]
    assert all(r.metrics["epoch_elapsed"] >= 1 for r in ends)  # the end frame's own time, elapsed, not an ETA


def test_the_epochs_elapsed_time_is_its_mean_step_time_times_its_batches() -> None:
    """Keras prints the ETA before the epoch's end, and a mean step time: the mean times the batches is the
    time the epoch took so far, the bar's clock. keras-v1-dlhang's 75 s data-loader hang in epoch 2:
    `125/200 … 5ms/step`, then `130/200 … 41s 587ms/step`: 0.625 s, then 76.3 s."""
    recs = {r.step: r for r in records("keras-v1-dlhang") if r.kind is Kind.STEP}
    before, after = recs[200 + 125], recs[200 + 130]
    assert before.metrics["epoch_elapsed"] == 125 * 0.005 and after.metrics["epoch_elapsed"] == 130 * 0.587
    assert after.metrics["epoch_eta"] == 41 and after.metrics["step_time"] == 0.587
    assert recs[400].metrics["epoch_elapsed"] == 76  # the last frame prints the epoch's time itself
    clocks = [r.metrics["epoch_elapsed"] for r in recs.values()]
    assert all(c > 0 for c in clocks)


def test_steps_match_the_training_loops_own_count() -> None:
    """Every frame's step and loss are a step and running-mean loss the Keras callback saw."""
    truth = {}
    for row in (REALRUNS / "keras-v1-healthy" / "truth" / "rank0.jsonl").read_text().splitlines():
        d = json.loads(row)
        if "step" in d and "loss" in d:
            truth[d["step"]] = d["loss"]
    recs = [r for r in records("keras-v1-healthy") if r.kind is Kind.STEP]
    assert len(recs) > 20
    for r in recs:
        assert r.step in truth
        assert abs(r.metrics["loss"] - truth[r.step]) <= 1e-3 + 5e-3 * abs(truth[r.step]), r


def test_a_nan_loss_is_read_at_the_first_frame_that_shows_it() -> None:
    """The bar samples the run every 0.05 s: the first NaN frame is at or after the planted step."""
    manifest = json.loads((REALRUNS / "keras-v1-nan" / "manifest.json").read_text())
    recs = [r for r in records("keras-v1-nan") if r.kind is Kind.STEP]
    i = next(i for i, r in enumerate(recs) if math.isnan(r.metrics["loss"]))
    planted = manifest["truth"]["first_nonfinite_step"]
    assert recs[i - 1].step is not None and recs[i - 1].step < planted <= (recs[i].step or 0)
    assert all(math.isfinite(r.metrics["loss"]) for r in recs[:i])


def test_verbose_2_gives_one_record_per_epoch() -> None:
    recs = [r for r in records("keras-v2-healthy") if r.kind is Kind.STEP]
    assert [r.step for r in recs] == [200, 400, 600, 800, 1000]
    assert all("val_loss" in r.metrics and "loss" in r.metrics for r in recs)


def test_verbose_2_inf_loss() -> None:
    recs = [r for r in records("keras-v2-nan") if r.kind is Kind.STEP]
    assert any(not math.isfinite(r.metrics["loss"]) for r in recs)


def test_evaluate_after_fit_is_an_evaluation_not_a_step() -> None:
    """`model.evaluate` draws its own `n/20` bar after the last epoch: no step goes backwards."""
    for name in ("keras-v1-healthy", "keras-v2-healthy"):
        recs = records(name)
        evals = [r for r in recs if r.kind is Kind.EVAL]
        assert evals and "test_loss" in evals[-1].metrics and evals[-1].step is None, name
        assert recs[-1].kind is Kind.EVAL


def test_detected_at_its_first_bar_frame() -> None:
    got = lines("keras-v1-healthy")
    assert got[0].startswith("Epoch 1/5")
    assert detect(got[:2]) == "keras"
    assert detect(lines("keras-v2-healthy")[:2]) == "keras"


def test_a_frame_without_an_epoch_header_is_an_evaluation() -> None:
    frame = next(ln for ln in lines("keras-v1-healthy") if "/step - " in ln and ln.lstrip().startswith("200/200"))
    rec = KerasParser().parse(frame)
    assert rec is not None and rec.kind is Kind.EVAL and rec.step is None
    partial = next(ln for ln in lines("keras-v1-healthy") if "/step - " in ln)
    assert KerasParser().parse(partial) is None  # a running mean over part of the data: no result yet


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet="Epoch 0123456789/━=>.-:smu step loss accuracy", min_size=0, max_size=20_000))
def test_never_raises_on_long_bar_soup(text: str) -> None:
    parser = KerasParser()
    parser.parse("Epoch 1/5")
    parser.parse(text)


def test_numbers_made_from_the_bar_read_as_the_decimals_it_prints() -> None:
    """The epoch's elapsed estimate (n × `3ms`) and the fractional epoch are each one rounding of the printed
    numbers: `0.009`, `1.945`, not `0.009000000000000001` and `1.9449999999999998` in every output."""
    recs = [r for r in records("keras-v1-slow") if r.kind is Kind.STEP]
    for name in ("epoch_elapsed", "epoch", "step_time"):
        values = [r.metrics[name] for r in recs if name in r.metrics]
        assert len(values) > 300
        assert all(len(repr(v)) <= 12 for v in values), [v for v in values if len(repr(v)) > 12][:3]


FOUND = Path(__file__).parents[1] / "fixtures" / "found"


def test_keras_2s_epoch_line_is_read_and_detected() -> None:
    """A new user's review: Keras 2's (tf.keras) `390/390 [====…] - 26s 68ms/step - loss: 1.3148 - …` was
    `nothing read as keras`, exit 3, in two real logs; its bar of `=` is followed by ` - ` and the time."""
    text = (FOUND / "keras2_cifar_sepconv.log").read_text().splitlines()
    parser = KerasParser()
    recs = [r for ln in text if (r := parser.parse(ln)) is not None and r.kind is Kind.STEP]
    assert [r.step for r in recs] == [390, 780, 1170, 1560, 1950]
    first = recs[0].metrics
    assert (first["loss"], first["val_loss"], first["step_time"]) == (1.3148, 1.0046, 0.068)
    assert detect(text) == "keras"
    parser = KerasParser()
    steps = [r for ln in (FOUND / "keras2_selfdriving.log").read_text().splitlines()
             if (r := parser.parse(ln)) is not None and r.kind is Kind.STEP]
    assert [r.metrics["step_time"] for r in steps[:2]] == [3.0, 0.837]  # `3s/step`, `837ms/step`


def _steps(name: str) -> list[Record]:
    parser = KerasParser()
    return [r for ln in (FOUND / name).read_text().splitlines() if (r := parser.parse(ln)) is not None]


def test_tf_keras_verbose_2_epoch_line_is_read() -> None:
    """A new user's review: tf.keras's verbose-2 line, its metrics before the times (`128/128 - 5s - loss:
    3.1494 - accuracy: 0.1463 - 5s/epoch - 43ms/step`), was UNREAD, exit 3, and four of a log's five fits
    (1,600 epochs) were left out of its `check`."""
    recs = _steps("keras_charlstm_100ep.log")
    assert [r.step for r in recs[:3]] == [128, 256, 384] and len(recs) == 100
    assert {r.total_steps for r in recs} == {12800}
    assert recs[0].metrics == {"loss": 3.1494, "accuracy": 0.1463, "step_time": 0.043, "epoch_elapsed": 5.0,
                               "epoch": 1.0}  # `5s/epoch` is the same time again: no metric of its own
    assert recs[1].metrics["step_time"] == 0.003  # `3ms/step`
    assert detect((FOUND / "keras_charlstm_100ep.log").read_text().splitlines()) == "keras"
    assert len([r for r in _steps("keras_lstm_multi_models.log") if r.kind is Kind.STEP]) == 1700


def test_tf_keras_verbose_2_line_without_times_and_evaluate_after_it() -> None:
    """TF 2.0 to 2.3 printed no times after the metrics (`1875/1875 - 5s - loss: … - val_accuracy: 0.8427`);
    `model.evaluate` after `fit` is a test record, not a step."""
    recs = _steps("keras_tf2_verbose2_checkpoint.log")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps] == [1875, 3750, 5625, 7500, 9375]
    assert steps[0].metrics == {"loss": 0.4753, "accuracy": 0.828, "val_loss": 0.4177, "val_accuracy": 0.8427,
                                "epoch_elapsed": 5.0, "epoch": 1.0}
    assert [(r.kind, r.metrics) for r in recs[5:]] == [(Kind.EVAL, {"test_loss": 0.3432, "test_accuracy": 0.878})]


def test_keras_2_0s_epoch_line_without_a_mean_step_time_is_read() -> None:
    """A new user's review: Keras 2.0 drew the bar and printed no mean step time (`127/127 [====…] - 10s -
    loss: 194.3781 - val_loss: 0.3296`): 40 epochs of a real log read nothing, `UNREAD`, exit 3."""
    text = (FOUND / "keras20_no_step_time_40ep.txt").read_text().splitlines()
    recs = _steps("keras20_no_step_time_40ep.txt")
    assert [r.step for r in recs[:3]] == [127, 254, 381] and len(recs) == 40 and recs[-1].step == 5080
    assert {r.total_steps for r in recs} == {5080}
    assert recs[0].metrics == {"loss": 194.3781, "val_loss": 0.3296, "epoch_elapsed": 10.0, "epoch": 1.0}
    assert detect(text) == "keras"


def test_tf1_keras_counts_samples_and_its_nan_epochs_are_read() -> None:
    """A new user's review: TF 1.x's `fit` on arrays counts samples (`11610/11610 [====] - 0s 39us/sample - loss:
    nan - val_loss: nan`): its 20 epochs read as no record at all (`UNREAD`, exit 3), 13 of them NaN. Its steps
    are samples, both readers alike, and the `evaluate()` bar after the last epoch is the test loss."""
    from tests.support.readers import check

    text = (FOUND / "keras_tf1_per_sample_nan.log").read_text()
    assert detect(text.splitlines()) == "keras"
    recs, _ = check(text.encode(), (1 << 20,), fmt="keras")
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps] == [11610 * e for e in range(1, 21)] and {r.total_steps for r in steps} == {232200}
    assert steps[0].metrics["step_time"] == 86e-6 and steps[0].metrics["val_loss"] == 0.5255
    bad = [r.metrics["epoch"] for r in steps if math.isnan(r.metrics["loss"])]
    assert bad == [float(e) for e in range(8, 21)]
    evals = [r.metrics for r in recs if r.kind is Kind.EVAL]
    assert len(evals) == 1 and list(evals[0]) == ["test_loss"] and math.isnan(evals[0]["test_loss"])


def test_keras_1_verbose_2_epoch_line_is_the_epochs_one_step() -> None:
    """A new user's review: Keras 1's verbose-2 line has no count of batches (`3083s - loss: 1.7197 - acc: 0.5893
    - val_loss: 0.3504 - val_acc: 0.8959` under `Epoch 1/10`): three fits, 25 epochs, read as no step at all and
    `OK`. Each is its epoch's one step, its time the epoch's elapsed seconds."""
    text = (FOUND / "keras1_kanji_earlystop.txt").read_text().splitlines()
    assert detect(text) == "keras"
    steps = [r for r in _steps("keras1_kanji_earlystop.txt") if r.kind is Kind.STEP]
    assert [r.step for r in steps] == [*range(1, 11), *range(1, 10), *range(1, 7)]
    assert {r.total_steps for r in steps} == {10}
    assert steps[0].metrics == {"loss": 1.7197, "acc": 0.5893, "val_loss": 0.3504, "val_acc": 0.8959,
                                "epoch_elapsed": 3083.0, "epoch": 1.0}
    assert KerasParser().parse("3083s - loss: 1.7197") is None  # outside an epoch: no fit's line


def test_keras_2_1_verbose_2_epoch_line_after_a_dash() -> None:
    """Keras 2.1 and 2.2 print the same line after a dash (` - 23s - loss: 0.3718 - acc: 0.8957 - val_loss: …`): a
    real notebook's 20 epochs were read by the generic `kv` as stepless records, `no steps`."""
    text = (FOUND / "keras21_verbose2_cnn_20ep.log").read_text().splitlines()
    assert detect(text) == "keras"
    steps = [r for r in _steps("keras21_verbose2_cnn_20ep.log") if r.kind is Kind.STEP]
    assert [r.step for r in steps] == list(range(1, 21)) and {r.total_steps for r in steps} == {20}
    assert steps[-1].metrics == {"loss": 0.0327, "acc": 0.9896, "val_loss": 0.0467, "val_acc": 0.9853,
                                 "epoch_elapsed": 29.0, "epoch": 20.0}


def test_keras_2s_bar_time_is_the_epochs_elapsed() -> None:
    """Keras 2 spells its ETA `ETA: 3s`, so the `3s` of `4/4 [====] - 3s 11ms/step - loss: 5.8914` is the
    epoch's elapsed time, not an ETA (a review saw `epoch_eta: 3.0` on a log that states no ETA)."""
    recs = [r for r in _steps("keras_lstm_multi_models.log") if r.kind is Kind.STEP]
    bar = [r for r in recs if r.total_steps == 400]  # the fifth fit: verbose 1, 4 batches an epoch
    assert len(bar) == 100
    assert all("epoch_eta" not in r.metrics for r in recs)
    assert (bar[0].metrics["epoch_elapsed"], bar[0].metrics["step_time"]) == (3.0, 0.011)


def test_another_librarys_keras_like_bar_is_no_keras_signature() -> None:
    """A second review: PaddleSeg's evaluation bar (`1/76 [......] - ETA: 4s - batch_cost: 0.0542 - reader cost:
    0.0146`) signed Keras, and `check` read the log's 483 `[TRAIN] epoch: 1, iter: 10/1000, loss: …` lines as
    nothing (OK, no steps) where `tail` had read them as key/value lines."""
    from runwatch.parsers.detect import detect
    from tests.support.found import found_lines, source_records

    text = found_lines("paddleseg_encnet_reprod_workerlog.0.gz")
    bars = [x for x in text if re.match(r"\s*\d+/76 \[", x)]
    assert bars and all(KerasParser().score(x) == 0 for x in bars)
    assert detect(text[:200]) == "kv"
    fmt, recs = source_records("paddleseg_encnet_reprod_workerlog.0.gz")
    assert fmt == "kv" and sum(r.kind is Kind.STEP for r in recs) == 483


def test_keras_1s_early_stop_printed_before_its_epochs_line_finishes_at_that_epoch() -> None:
    """Keras 1's `EarlyStopping` prints `Epoch 00008: early stopping` (its 0-based epoch) at the epoch's end, before
    the epoch's verbose-2 line; Keras 2 prints it after. Read one line at a time as a live follower does, the finish
    stands at the epoch whose line follows it (9, then the last fit's 6), so that line does not take it back: the
    review's log of three fits, two stopped early, read "incomplete: stopped at 6/10"."""
    from runwatch.parsers.source import SourceParser

    lines = (FOUND / "keras1_kanji_earlystop.txt").read_text().splitlines()
    parser = SourceParser("kanji")
    recs = [r for i, ln in enumerate(lines, 1) for r in parser.feed([ln], i, 0.0)] + parser.flush()
    finishes = [(r.step, r.message) for r in recs if r.event == "finished"]
    assert finishes == [(9, "Epoch 00008: early stopping"), (6, "Epoch 00005: early stopping")]
    stepped = [r.step for r in recs if r.kind is Kind.STEP]
    assert stepped[-1] == 6 and stepped[18] == 9  # the steps at the finishes: none past them


def test_an_early_stopped_keras_1_run_is_finished_to_check() -> None:
    from tests.support.realruns import check_json

    _, [report], _ = check_json(FOUND / "keras1_kanji_earlystop.txt")
    assert report["state"] == "finished" and report["step"] == 6 and report["warnings"] == []
    assert any("finished at step 6 of the 10 it planned" in n for n in report["notes"])


def test_tf_keras_frames_before_an_epochs_last_are_its_steps_with_their_eta() -> None:
    """tf.keras's frames inside an epoch print the epoch's ETA and no mean step time (`30/89 [=========>....] - ETA:
    24s - loss: nan - accuracy: 0.6652`): unread, a ROCm run's console read its crash at step 89, the end of the
    epoch before, where its bar had reached 30 of the next, and a fit's nine hundred such frames were no steps."""
    from tests.support.found import source_records

    fmt, recs = source_records("rocm_keras_gpu_memory_fault_nan.log")
    assert fmt == "keras"
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [(r.step, r.total_steps) for r in steps] == [(89, 17800), (119, 17800)]
    frame = steps[1].metrics
    assert math.isnan(frame["loss"]) and frame["epoch_eta"] == 24.0 and "step_time" not in frame
    assert frame["epoch_elapsed"] == 24.0 * 30 / 59  # the mean its ETA implies × the batches done: an estimate
    assert "accuracy" not in frame  # `0.6652Memory access fault…`: ROCm's message glued to the value


def test_tf_keras_frames_read_one_by_one_and_as_a_block_agree() -> None:
    """The nine fits of 100 epochs of 10 batches: every `n/10 [...] - ETA: Ns` frame a step, the epoch's ETA frame
    of 10/10 and its line drawn again with the elapsed time and the `val_*` metrics one step; a follower's lines one
    at a time and `parse`'s blocks give the same records."""
    from runwatch.parsers.source import SourceParser
    from tests.support.found import found_lines, source_records

    fmt, recs = source_records("covidnn_keras_nine_fits.out.gz", batch=100_000)
    text = found_lines("covidnn_keras_nine_fits.out.gz")
    sp = SourceParser("covidnn")
    one = [r for i, ln in enumerate(text, 1) for r in sp.feed([ln], i, 0.0)] + sp.flush()
    assert fmt == "keras" and [(r.kind, r.step, r.metrics) for r in one] == [(r.kind, r.step, r.metrics) for r in recs]
    steps = [r for r in recs if r.kind is Kind.STEP]
    etas = [r for r in steps if "epoch_eta" in r.metrics]
    assert len(etas) == sum(" - ETA: " in ln for ln in text) and len({r.step for r in steps}) == 1000
    assert sum("val_loss" in r.metrics for r in steps) == 900
