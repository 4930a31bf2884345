"""HF Trainer console lines → Records, on real lines of corpus/hf_trainer.md (and axolotl, failures F11)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch.model import Event, Kind, Record
from runwatch.parsers.hf_trainer import HFTrainerParser

RAW = Path(__file__).parents[1] / "fixtures" / "corpus" / "raw"
FOUND = Path(__file__).parents[1] / "fixtures" / "found"


def excerpt(file: str, tag: str) -> list[str]:
    """Lines of the excerpt in corpus/raw/`file` whose headline is `tag — …`."""
    data = json.loads((RAW / file).read_text(encoding="utf-8"))
    items = data if isinstance(data, list) else [e for group in data.values() for e in group]
    [found] = [e for e in items if e["h"].split(" — ")[0] == tag]
    return str(found["t"]).splitlines()


HF = "excerpts_hf_trainer.json"


def feed(lines: list[str]) -> list[tuple[str, Record | None]]:
    """(line, record) for each line of one parser's run."""
    p = HFTrainerParser()
    out: list[tuple[str, Record | None]] = []
    for line in lines:
        out.append((line, p.parse(line)))
        out += [(line, rec) for rec in p.more]  # records placed at a later line (a clump of dicts)
        p.more.clear()
    return out


def stream(lines: list[str]) -> list[Record]:
    """Every record one parser gives for `lines`, the end of input included (a dict's record comes
    with the line after it: the bar's redraw tells its step)."""
    p = HFTrainerParser()
    out = []
    for line in [*lines, None]:
        rec = p.parse(line) if line is not None else p.flush()
        out += [rec, *p.more] if rec is not None else []
        p.more.clear()
    return out


def with_loss(records: list[Record], loss: float) -> Record:
    return next(r for r in records if r.metrics.get("loss") == loss)


# (excerpt, line index, kind, step, metrics) — one parser per line, no context.
SINGLE_LINES = [
    # hf_trainer.md H1: stock dict with grad_norm, padded with trailing spaces
    ("Excerpt H1", 0, Kind.STEP, None,
     {"loss": 2.119, "grad_norm": 37.657958984375, "lr": 4.5833333333333334e-05, "epoch": 0.25}),
    # H2: pre-4.38 dict without grad_norm
    ("Excerpt H2", 9, Kind.STEP, None, {"loss": 2.5744, "lr": 0.0, "epoch": 0.15}),
    # H3: custom callback adds 'step' to the dict
    ("Excerpt H3", 3, Kind.STEP, 10000,
     {"loss": 0.3818, "grad_norm": 0.1455276608467102, "lr": 0.0, "epoch": 1.0}),
    # H3: eval dict → EVAL, eval_loss → val_loss, other eval_* keep their names
    ("Excerpt H3", 4, Kind.EVAL, 10000,
     {"val_loss": 0.3461727797985077, "eval_runtime": 9.144, "eval_samples_per_second": 10.936,
      "eval_steps_per_second": 1.422, "epoch": 1.0}),
    # H5: eval dict with an extra eval_accuracy and an integer epoch
    ("Excerpt H5", 0, Kind.EVAL, None,
     {"val_loss": 0.6949695348739624, "eval_accuracy": 0.4954128440366973, "eval_runtime": 6.6494,
      "eval_samples_per_second": 131.139, "eval_steps_per_second": 16.392, "epoch": 0.0}),
    # H7: pdsh host prefix `192.168.50.170: `
    ("Excerpt H7", 1, Kind.STEP, None, {"loss": 1.2992, "lr": 1.282051282051282e-06, "epoch": 0.0}),
    # H8: transformers 5 quoted strings, TRL's mean_token_accuracy, 'epoch': '1'
    ("Excerpt H8", 5, Kind.STEP, None,
     {"loss": 3.41, "grad_norm": 5.312, "lr": 0.0002, "mean_token_accuracy": 0.5667, "epoch": 1.0}),
    ("Excerpt H8", 7, Kind.STEP, None,
     {"loss": 1.764, "grad_norm": 2.609, "lr": 6.667e-05, "mean_token_accuracy": 0.7419, "epoch": 3.0}),
]


@pytest.mark.parametrize(("tag", "index", "kind", "step", "metrics"), SINGLE_LINES)
def test_dict_lines(tag: str, index: int, kind: Kind, step: int | None, metrics: dict[str, float]) -> None:
    rec = HFTrainerParser().parse(excerpt(HF, tag)[index])
    assert rec is not None
    assert (rec.kind, rec.step, dict(rec.metrics)) == (kind, step, metrics)


def test_nan_grad_norm_with_zero_loss_is_kept_as_logged() -> None:
    # hf_trainer.md H6: broken run, 'loss': 0.0 and 'grad_norm': nan at every step
    rec = HFTrainerParser().parse(excerpt(HF, "Excerpt H6")[0])
    assert rec is not None and rec.kind is Kind.STEP
    assert rec.metrics["loss"] == 0.0
    assert math.isnan(rec.metrics["grad_norm"])
    assert rec.metrics["lr"] == 0.00012142857142857143


def test_axolotl_memory_keys_are_snake_cased() -> None:
    # others_….md A1: axolotl adds 'memory/max_mem_active(gib)' etc. to the HF dict
    lines = excerpt("excerpts_torchtitan_composer_axolotl_accelerate.json", "Excerpt A1")
    rec = HFTrainerParser().parse(lines[0])
    assert rec is not None
    assert dict(rec.metrics) == {
        "loss": 4.75, "grad_norm": 98.5, "lr": 5e-06, "memory_max_mem_active_gib": 25.45,
        "memory_max_mem_allocated_gib": 25.45, "memory_device_mem_reserved_gib": 30.22, "epoch": 1.0,
    }


@pytest.mark.parametrize(("tag", "index"), [("Excerpt H1", 6), ("Excerpt A1", 5)])
def test_line_cut_mid_value_drops_the_cut_value(tag: str, index: int) -> None:
    # H1 ends `'learning_rate': 2.083` and A1 `'learning_r`: the corpus cut them mid-line
    file = HF if tag.startswith("Excerpt H") else "excerpts_torchtitan_composer_axolotl_accelerate.json"
    rec = HFTrainerParser().parse(excerpt(file, tag)[index])
    assert rec is not None and rec.kind is Kind.STEP
    assert "lr" not in rec.metrics and "loss" in rec.metrics


@pytest.mark.parametrize(("tag", "index", "metrics"), [
    # H2: stock summary (4.x), no 'step'
    ("Excerpt H2", 10, {"train_runtime": 116.1914, "train_samples_per_second": 6.885,
                        "train_steps_per_second": 1.721, "train_loss": 2.819730052947998, "epoch": 0.15}),
    # H9: transformers 5 summary with integer-looking strings
    ("Excerpt H9", 0, {"train_runtime": 1615.0, "train_samples_per_second": 0.248,
                       "train_steps_per_second": 0.124, "train_loss": 0.2751, "epoch": 0.8}),
    # H10: summary wrapped over three lines: only its first line is a dict
    ("Excerpt H10", 0, {"train_runtime": 83919.1656, "train_samples_per_second": 6.434}),
])
def test_summary_dict_is_a_finished_event(tag: str, index: int, metrics: dict[str, float]) -> None:
    line = excerpt(HF, tag)[index]
    rec = HFTrainerParser().parse(line)
    assert rec is not None
    assert (rec.kind, rec.event, dict(rec.metrics)) == (Kind.EVENT, Event.FINISHED, metrics)
    assert rec.message == line.strip()


def test_summary_with_step_key_keeps_it() -> None:
    # H3: the custom callback's summary also carries 'step'
    rec = HFTrainerParser().parse(excerpt(HF, "Excerpt H3")[5])
    assert rec is not None and rec.event == Event.FINISHED and rec.step == 10000
    assert rec.metrics["train_loss"] == 2.159679998397827


def test_train_output_repr_is_a_finished_event_with_total_flos() -> None:
    # H4: TrainOutput(...) repr keeps total_flos, which the console summary drops
    line = next(x for x in excerpt(HF, "Excerpt H4") if x.startswith("TrainOutput("))
    rec = HFTrainerParser().parse(line)
    assert rec is not None
    assert (rec.kind, rec.event, rec.step) == (Kind.EVENT, Event.FINISHED, 1000)
    assert rec.metrics["total_flos"] == 526222110720000.0
    assert rec.metrics["train_loss"] == 0.7349368896484375


def test_whole_short_run_h2() -> None:
    # H2 (a notebook): ten dicts without a bar (step unknown), summary, final bar, TrainOutput
    out = [rec for _, rec in feed(excerpt(HF, "Excerpt H2"))]
    assert [r.kind for r in out[:10] if r] == [Kind.STEP] * 10
    assert all(r is not None and r.step is None for r in out[:10])
    assert out[10] is not None and out[10].event == Event.FINISHED
    bar = out[11]
    assert bar is not None and (bar.kind, bar.step, bar.total_steps) == (Kind.STEP, 200, 200)
    assert bar.metrics == {"step_time": pytest.approx(1 / 1.72), "elapsed": 116.0, "eta": 0.0}
    assert out[12] is None  # the cell's TrainOutput repr: the end the summary dict already said
    assert [r.event for r in out if r is not None and r.kind is Kind.EVENT] == [Event.FINISHED]


def test_train_output_after_training_again_is_a_second_end() -> None:
    # `trainer.train()` run twice in one notebook: each run's end is read once
    lines = excerpt(HF, "Excerpt H2")
    out = [rec for _, rec in feed(lines + lines)]
    assert [r.event for r in out if r is not None and r.kind is Kind.EVENT] == [Event.FINISHED] * 2
    # a script (no repr after the first run's summary), then a cell that shows only the repr
    first = [x for x in lines if not x.startswith("TrainOutput(")]
    again = [x for x in lines if not x.startswith("{'train_runtime'")]
    out = [rec for _, rec in feed(first + again)]
    ends = [r for r in out if r is not None and r.kind is Kind.EVENT]
    assert [(r.event, r.step) for r in ends] == [(Event.FINISHED, None), (Event.FINISHED, 200)]


def test_step_comes_from_the_latest_training_frame() -> None:
    # H4: frames glued to `INFO:root:` lines, dicts after them; the eval bar (10/10) at the end
    recs = dict(feed(excerpt(HF, "Excerpt H4")))
    lines = list(recs)
    records = stream(excerpt(HF, "Excerpt H4"))
    first, second = with_loss(records, 2.1787), with_loss(records, 0.7694)
    assert (first.step, first.total_steps) == (10, 1000)  # the frame before: a logger wrote this dict
    assert (second.step, second.total_steps) == (20, 1000)
    frame = recs[lines[2]]  # `  1%|          | 10/1000 [00:02<03:38,  4.54it/s]INFO:root:…`
    assert frame is not None and frame.kind is Kind.STEP and "loss" not in frame.metrics
    assert (frame.step, frame.total_steps, frame.metrics["eta"]) == (10, 1000, 218.0)
    assert recs[lines[-1]] is None  # the eval bar after training is not a training step


def test_log_collector_prefix_and_redrawn_frame() -> None:
    # failures.md F11: `[1757] {'loss': 0.0, ...}` after frames `[1745]   1%| | 10/1752 …`
    lines = excerpt("excerpts_failures.json", "F11")
    recs = feed(lines)
    dict_rec = with_loss(stream(lines), 0.0)
    assert (dict_rec.step, dict_rec.total_steps, dict_rec.metrics["loss"]) == (20, 1752, 0.0)
    assert dict_rec.metrics["grad_norm"] == 1.4142135381698608
    last = recs[-1][1]  # frame with the NCCL error glued after `]`
    assert last is not None and (last.step, last.metrics["step_time"]) == (24, 2.88)


def test_dict_glued_after_a_frame() -> None:
    # Built from two real H4 lines: tqdm.write without the `\r` gives `…it/s]{'loss': …}`
    h4 = excerpt(HF, "Excerpt H4")
    glued = h4[4].split("INFO:root:")[0] + h4[5]  # `  2%|▏ … 20/1000 […4.56it/s]` + `{'loss': 0.7694, …}`
    p = HFTrainerParser()
    frame = p.parse(glued)
    assert frame is not None and frame.step == 20 and "loss" not in frame.metrics
    rec = p.flush()  # the dict waited for a redraw of the bar; none came: the frame before
    assert rec is not None and rec.kind is Kind.STEP
    assert (rec.step, rec.total_steps, rec.metrics["loss"]) == (20, 1000, 0.7694)


def test_eval_dict_takes_the_training_step_not_the_eval_bar() -> None:
    # Real lines: H4 training frame (20/1000), H4 eval bar (10/10), H5 eval dict
    h4, h5 = excerpt(HF, "Excerpt H4"), excerpt(HF, "Excerpt H5")
    p = HFTrainerParser()
    assert p.parse(h4[4]) is not None  # `  2%|▏ | 20/1000 …INFO:root:…`
    assert p.parse(h4[-1]) is None  # `100%|██████████| 10/10 …` eval bar: another total
    assert p.parse(h5[0]) is None  # the eval dict waits for the training bar's redraw
    rec = p.flush()
    assert rec is not None and (rec.kind, rec.step, rec.total_steps) == (Kind.EVAL, 20, 1000)


def test_loss_dict_after_another_bar_re_elects_the_training_bar() -> None:
    # H4 frame elects the 1000-bar; F11 frames (1752) are foreign until a loss dict follows them
    h4, f11 = excerpt(HF, "Excerpt H4"), excerpt("excerpts_failures.json", "F11")
    p = HFTrainerParser()
    p.parse(h4[2])
    assert p.parse(f11[2]) is None  # `[1745]   1%| | 10/1752 …`
    assert p.parse(f11[0]) is None  # `1743] {'loss': 3.5534, …}`: waits for the next line
    rec = p.parse(f11[3])  # a frame at 11: the dict (unquoted numbers, transformers 4) was at the one before
    assert rec is not None and (rec.step, rec.total_steps, rec.metrics["loss"]) == (10, 1752, 3.5534)
    nxt = p.parse(f11[3])
    assert nxt is not None and (nxt.step, nxt.total_steps) == (11, 1752)


def test_larger_bar_after_a_finished_one_becomes_the_training_bar() -> None:
    # A finished 10/10 bar (H4's last line) seen first, then the 1000-step training bar (H4)
    h4 = excerpt(HF, "Excerpt H4")
    p = HFTrainerParser()
    assert p.parse(h4[-1]) is not None
    rec = p.parse(h4[2])
    assert rec is not None and (rec.step, rec.total_steps) == (10, 1000)


def test_frame_glued_to_a_logger_line_and_logger_formatted_dict() -> None:
    # H5: `0%| | 0/6000 [00:06<?, ?it/s2023-08-11 … [INFO] {` then the dict re-logged line by line
    lines = excerpt(HF, "Excerpt H5")
    recs = feed(lines)
    frame = recs[1][1]
    assert frame is not None and (frame.step, frame.total_steps, dict(frame.metrics)) == (0, 6000, {"elapsed": 6.0})
    assert all(rec is None for _, rec in recs[2:9])
    assert recs[13][1] is None  # the eval dict waits for the next line: a frame glued to a logger line
    later_eval = recs[14][1]
    assert later_eval is not None and (later_eval.kind, later_eval.step) == (Kind.EVAL, 0)


@pytest.mark.parametrize(("line", "score"), [
    (excerpt(HF, "Excerpt H1")[0], 2),
    (excerpt(HF, "Excerpt H3")[4], 2),
    (excerpt(HF, "Excerpt H2")[11], 1),  # HF's tqdm frame: a bare bar is any loop's, a maybe
    (excerpt("excerpts_failures.json", "F20")[1], 1),  # a word-vector loading bar, glued to a message
    (excerpt(HF, "Excerpt H8")[2], 0),  # `trainable params: …`
    (excerpt("excerpts_lightning.json", "Excerpt P1")[0], 0),  # Lightning epoch bar
    (excerpt("excerpts_lightning.json", "Excerpt P5")[3], 0),  # Validation DataLoader bar
    (excerpt("excerpts_lightning.json", "Excerpt P8")[3], 0),  # Jupyter-split Lightning counts: has a postfix
    ("{'a': 1}", 0),
])
def test_score(line: str, score: int) -> None:
    assert HFTrainerParser().score(line) == score


def trainer_state_lines(tag: str) -> list[str]:
    """The log_history entries of real trainer_state.json `tag` (hf_trainer.md §3), one JSON object a line."""
    data = json.loads((RAW / "excerpts_hf_trainer_state.json").read_text(encoding="utf-8"))
    [found] = [e for e in data if e["h"].split(" — ")[0] == f"trainer_state.json {tag}"]
    text = found["t"] + found["mid"] + found["tail"]
    return [json.dumps(json.loads(m)) for m in re.findall(r"\{[^{}]*\}", text) if '"step"' in m]


def test_json_lines_are_maybes_but_still_parse() -> None:
    # S2: `{"epoch": 0.19, "learning_rate": 4.6e-07, "loss": 0.3048, "step": 25}` is what a JSON-lines logger
    # writes; `str(dict)` quotes keys with `'`, so the signature (2) is left to the jsonl format
    lines = trainer_state_lines("S2") + trainer_state_lines("S1")
    assert lines[0].startswith('{"epoch": 0.19, "learning_rate": 4.6')
    assert {HFTrainerParser().score(line) for line in lines} == {1}
    rec = HFTrainerParser().parse(lines[0])  # `--format hf` still reads them
    assert rec is not None and (rec.step, rec.metrics["loss"]) == (25, 0.3048)


def test_the_same_dict_in_single_quotes_is_a_signature() -> None:
    line = trainer_state_lines("S2")[0]
    assert HFTrainerParser().score(line.replace('"', "'")) == 2


def test_train_output_repr_is_a_signature() -> None:
    line = next(x for x in excerpt(HF, "Excerpt H2") if x.startswith("TrainOutput("))
    assert HFTrainerParser().score(line) == 2


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=8))
def test_never_raises(lines: list[str]) -> None:
    p = HFTrainerParser()
    for line in lines:
        p.parse(line)
        p.score(line)
    p.flush()


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="{}'\": ,0123456789.enaifINFTrainOutput()=_[]%|/<>?it/s", max_size=200))
def test_never_raises_on_dict_like_text(line: str) -> None:
    HFTrainerParser().parse(line)


def _lmsys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    """`runwatch parse --output jsonl` of a whole real HF Trainer console (see tests/fixtures/found/README.md):
    dataset bars, then the training bar to 244/8264 with its dicts, a 2948-frame evaluation bar at step 200
    (each frame followed by tqdm's cursor-up), its eval dict glued after the last frame, a KeyboardInterrupt."""
    import gzip

    from runwatch.cli import main

    log = tmp_path / "train.log"
    log.write_bytes(gzip.decompress((FOUND / "lmsys_hf_trainer_wandb.log.gz").read_bytes()))
    capsys.readouterr()
    assert main(["parse", str(log), "--output", "jsonl"]) == 0
    return [json.loads(x) for x in capsys.readouterr().out.splitlines()]


def test_a_long_evaluation_bar_does_not_switch_the_format_to_tqdm(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: the evaluation bar's 2948 frames gave no record for 2000 lines, re-detection
    scored them, and tqdm (which reads any bar as training) took over on a tie: the eval dict and the last
    four loss dicts were lost and the eval bar's frames became the run's progress."""
    recs = _lmsys(tmp_path, capsys)
    evals = [r for r in recs if r["kind"] == "eval" and "val_loss" in r["metrics"]]  # type: ignore[operator]
    assert [e["metrics"]["val_loss"] for e in evals] == [0.516632080078125]  # type: ignore[index]
    losses = [r["metrics"]["loss"] for r in recs if r["kind"] == "step" and "loss" in r["metrics"]]  # type: ignore[operator,index]
    assert len(losses) == 24 and losses[-4:] == [0.5311, 0.5082, 0.5155, 0.488]
    assert {r["total_steps"] for r in recs if r["kind"] == "step" and r["line"] > 3000} == {8264}


def test_dicts_of_a_block_buffered_stdout_are_placed_at_their_logging_steps(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: under `nohup python train.py > log 2>&1` Python writes stdout in blocks while
    tqdm draws on stderr at once, so the Trainer's dicts (stdout) of many logging steps come together after
    the frame of the step the block was written at: all 20 read step 200, the loss chart one point. The last
    of a clump is at that frame; the others at equal strides since the last one placed (`logging_steps=10`
    here: 10, 20, …, 200 exactly; the four after the evaluation, logged at 210…240, come at 211…244). The
    records come the same read a line at a time, as a live follower reads them."""
    from runwatch.parsers.source import SourceParser

    recs = _lmsys(tmp_path, capsys)
    losses = [(r["step"], r["metrics"]["loss"]) for r in recs if "loss" in r["metrics"]]  # type: ignore[operator,index]
    assert [s for s, _ in losses] == [*range(10, 201, 10), 211, 222, 233, 244]
    assert losses[0][1] == 12.4476 and losses[19][1] == 0.4738  # in the order logged
    sp = SourceParser("live")
    text = (tmp_path / "train.log").read_text(encoding="utf-8")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    live = [r for i, x in enumerate(lines) for r in sp.feed([x], i + 1, 0.0)] + sp.flush()
    assert [(r.step, r.metrics["loss"]) for r in live if "loss" in r.metrics] == losses
    from runwatch.cli import main

    main(["check", str(tmp_path / "train.log")])
    out = capsys.readouterr().out  # no attempt starts at a dict placed behind the bar
    assert "step 244/8264" in out and "(step 10)" not in out and "(step 211)" not in out


def test_an_evaluation_bar_says_how_long_the_run_will_be_quiet(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: the run's first evaluation (2948 batches, 10m43s by its bar, its dict only at the
    end) read as a critical stall of the training, live and in `check`. A tenth of the way the evaluation
    bar says how long it takes (`[00:58<08:40, …]`): an EVAL record at the training step says so, and the
    stall rule allows the run that long. The frames of the training bar come again after it: no stall."""
    from runwatch.cli import main

    recs = _lmsys(tmp_path, capsys)
    begun = [r for r in recs if r["kind"] == "eval" and "eval_expected" in r["metrics"]]  # type: ignore[operator]
    assert [(r["step"], r["metrics"]) for r in begun] == [(200, {"eval_expected": 539.0})]
    main(["check", str(tmp_path / "train.log")])
    out = capsys.readouterr().out
    assert "stall" not in out and "no alerts" in out


def test_data_preparation_bars_before_the_trainer_are_not_its_progress() -> None:
    """LLaMA-Factory on 8 ranks: 7,000 lines of dataset preparation bars (`Converting format of dataset:  38%|…|
    171/454`, `Running tokenizer on dataset`) before the Trainer's first dict. The bars were read as the generic
    bar format's steps (171 of 454) and the 24 `{'loss': …}` dicts glued to the training bar's frames were
    never read: a NaN there would have gone unseen (a review). They are no training loop's bars."""
    from tests.support.found import source_records

    fmt, recs = source_records("llamafactory_70b_zero3_typeerror.out.gz")
    assert fmt == "hf-trainer"
    losses = [r for r in recs if "loss" in r.metrics]
    assert len(losses) == 24 and losses[0].metrics["loss"] == 1.5071 and losses[0].step == 1
    assert max(r.step or 0 for r in recs) == 24 and {r.total_steps for r in losses} == {120}


def test_evaluation_dicts_written_late_take_the_step_their_bar_ran_at() -> None:
    """TRL SFT under `nohup … > log` (stdout in blocks): the dict of the evaluation at the end of epoch 1 (its bar drawn
    at step 559) came out with the training bar at 1020, then the loss dicts of epoch 2 (`'epoch': 1.002`, step
    569). Read at 1020, `val_loss` went back and forth and the next dicts read as a step counter started again:
    every step after them 1,659 too high, the run at step 5007 of 1677 (a review). Both readers, any batching."""
    from tests.support.found import source_records

    for batch in (1, 500, 100_000):
        fmt, recs = source_records("trl_sft_block_buffered_train_log.txt.gz", batch)
        assert fmt == "hf-trainer"
        evals = [(r.step, r.metrics.get("epoch")) for r in recs if r.kind is Kind.EVAL and "val_loss" in r.metrics]
        assert evals == [(559, 1.0), (1118, 2.0), (1677, 3.0)]
        losses = [r.step for r in recs if r.kind is Kind.STEP and "loss" in r.metrics]
        assert len(losses) == 167 and losses == sorted(losses) and losses[-1] <= 1677
        assert max(r.step for r in recs if r.step is not None) == 1677


def test_a_log_of_the_trainers_logging_lines_takes_steps_from_epochs_and_its_finish_line() -> None:
    """LLaMA-Factory's `running_log.txt`: the Trainer's INFO lines, its dicts with no step and no bar drawn, the header's
    `Num Epochs = 1,000` and `Total optimization steps = 17,000`, and `Training completed. Do not forget to share your
    model …` at 2,100 steps (early stopped). It read `no steps` and `ended` (a review)."""
    from tests.support.found import source_records

    fmt, recs = source_records("llamafactory_lora_running_log.txt.gz")
    assert fmt == "hf-trainer"
    steps = [(r.step, r.total_steps) for r in recs if r.kind is Kind.STEP]
    assert len(steps) == 421 and steps[:3] == [(5, 17000), (10, 17000), (15, 17000)] and steps[-1] == (2099, 17000)
    assert [s for s, _ in steps] == sorted(s for s, _ in steps)
    # each dict at its logger's time (`[INFO|2024-11-26 22:09:01] logging.py:157 >> {'loss': 2.2818, …}`)
    from runwatch.parsers.fields import local_time

    times = [r.t for r in recs if r.kind is Kind.STEP]
    assert times[0] == local_time("2024-11-26 22:09:01") and times[-1] == local_time("2024-11-27 10:25:27")
    assert times == sorted(times)
    (done,) = [r for r in recs if r.event == Event.FINISHED]
    last = max(r.line for r in recs if r.kind is Kind.STEP)
    assert done.line > last and done.message is not None and done.message.startswith("Training completed.")
    assert HFTrainerParser().parse("Training completed.") is None  # another stack's words: no finish line


def test_the_trainers_finish_line_alone_tells_its_format() -> None:
    """A LLaMA-Factory `running_log.txt` whose run logged no loss line: the Trainer's header, a checkpoint at 768 and
    `Training completed. Do not forget to share your model …`. It read `nothing understood`, `UNREAD` (a review): the
    finish line is the Trainer's own words, and the run finished."""
    from runwatch.parsers.registry import parser_class
    from tests.support.found import found_lines, source_records

    fmt, recs = source_records("llamafactory_running_log_no_loss_lines.txt")
    assert fmt == "hf-trainer"
    (done,) = [r for r in recs if r.event == Event.FINISHED]
    assert done.message is not None and done.message.startswith("Training completed. Do not forget")
    assert [r.step for r in recs if r.event == Event.CHECKPOINT_SAVED] == [768, None]
    for other in ("kv", "tqdm", "jsonl"):  # no other format claims it
        assert max(parser_class(other)().score(x) for x in found_lines("llamafactory_running_log_no_loss_lines.txt")) < 2
    from tests.support.realruns import check_json

    code, [report], _ = check_json(FOUND / "llamafactory_running_log_no_loss_lines.txt")
    assert (code, report["state"], report["alerts"]) == (0, "finished", [])


def test_a_bar_named_in_another_script_is_no_trainers_bar() -> None:
    """Two ranks' data preparation bars, `处理样本: 1%| | 483/40595` ("processing samples"), before a DeepSpeed fine-tune
    of 573 steps under the Trainer: elected as its training bar (its description has no Latin letter), they read as
    steps up to 81,005 and 59 restarts (a review). A letter of any script names another loop's bar, and a description
    saying it processes samples is no training bar to the tqdm format either."""
    from runwatch.parsers.progress_bar import is_training
    from tests.support.found import source_records
    from tests.support.realruns import check_json

    fmt, recs = source_records("deepspeed_zero3_qwen_chinese_sample_bars.log.gz")
    assert fmt == "hf-trainer"
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert {r.total_steps for r in steps} == {573} and max(r.step for r in steps if r.step is not None) == 573
    code, [report], _ = check_json(FOUND / "deepspeed_zero3_qwen_chinese_sample_bars.log.gz")
    assert (code, report["state"], report["step"], report["alerts"]) == (0, "finished", 573, [])
    assert not [n for n in report["notes"] if "started again" in n]
    assert not is_training("处理样本") and is_training("训练") and is_training("训练 Epoch 1")
    assert not is_training("训练集验证") and not is_training("加载训练数据")


def test_a_resumed_runs_dicts_flushed_at_its_end_are_placed_by_their_epochs() -> None:
    """A review's TRL run resumed at 1,627 of 3,252: its bar drew `0/3252` and jumped to 1627, and its 33 dicts, written
    at the end, were spread from step 0 (`epoch 1.015` at step 99, the first half of the chart losses never logged).
    Their epochs place them from the resume on, every 50 steps as the run logged; a run not resumed keeps its spread."""
    from tests.support.found import source_records

    _, recs = source_records("trl_sft_resumed_dicts_flushed_at_end.log.gz")
    losses = [(r.step, r.metrics["epoch"]) for r in recs if r.kind is Kind.STEP and "loss" in r.metrics]
    assert len(losses) == 33 and losses[0] == (1651, 1.015) and losses[-1] == (3252, 1.999)
    steps = [s for s, _ in losses]
    assert {b - a for a, b in zip(steps, steps[1:], strict=False)} <= {50, 51}
    from runwatch.parsers.hf_trainer import _epoch_start

    assert _epoch_start(0, 300, [0.1, 0.2, 0.3]) == 0  # from the start: as spread before
    assert _epoch_start(0, 300, [0.1, None, 0.3]) == 0


def test_a_json_epoch_summary_is_no_finish_line() -> None:
    """fairseq under hydra logs `[…][train][INFO] - {"epoch": 1, "train_loss": "0.263", …}` after each epoch: read as
    the Trainer's closing summary, each was a `finished` event, 17 in a run that died of a full disk (a review). A
    JSON object is no `str(dict)`; the crash is still the run's end."""
    from tests.support.found import found_lines, source_records

    _, recs = source_records("fairseq_hydra_nospace_train.out.gz")
    assert not [r for r in recs if r.event == Event.FINISHED]
    assert [r.message for r in recs if r.event == Event.TRACEBACK][-1] == \
        "OSError: [Errno 28] No space left on device: '/tmp/pymp-h1k1iebk'"
    (summary,) = [x for x in found_lines("trl_sft_block_buffered_train_log.txt.gz") if x.startswith("{'train_runtime'")]
    assert HFTrainerParser().parse(summary).event == Event.FINISHED  # type: ignore[union-attr]  # the Trainer's own


def test_ms_swifts_global_step_is_the_step_and_its_max_steps_the_total() -> None:
    """ms-swift draws its bar with a description (`Train:   0%| | 1/294`), so no bare training bar is elected, and its
    dicts state `'global_step/max_steps': '1/294'`: a run of 294 steps read `no steps` (a review)."""
    from tests.support.found import source_records

    fmt, recs = source_records("ms_swift_gemma_full_epoch_stdout.log.gz")
    assert fmt == "hf-trainer"
    losses = [(r.step, r.total_steps) for r in recs if r.kind is Kind.STEP and "loss" in r.metrics]
    assert losses == [(s, 294) for s in range(1, 295)]
    assert [r.event for r in recs if r.kind is Kind.EVENT] == [Event.FINISHED]


def test_ms_swifts_elapsed_and_remaining_time_are_the_runs_clock() -> None:
    """ms-swift's dicts state `'elapsed_time': '1m 60s', 'remaining_time': '9h 45m 21s'`, no number: unread, a
    review's run read "no step line carries a time of day or a step time", and a hang could not show in `check`."""
    from tests.support.found import FOUND, source_records
    from tests.support.realruns import check_json

    _, recs = source_records("ms_swift_gemma_full_epoch_stdout.log.gz")
    steps = [r for r in recs if r.kind is Kind.STEP and "loss" in r.metrics]
    assert (steps[0].metrics["elapsed"], steps[0].metrics["eta"]) == (120.0, 9 * 3600 + 45 * 60 + 21)
    assert (steps[-1].metrics["elapsed"], steps[-1].metrics["eta"]) == (7 * 3600 + 2 * 60 + 14, 0.0)
    assert "elapsed_time" not in steps[0].metrics and "remaining_time" not in steps[0].metrics
    _, [report], _ = check_json(FOUND / "ms_swift_gemma_full_epoch_stdout.log.gz")
    assert not any("time of day" in n for n in report["notes"]), report["notes"]


def test_a_bare_bar_drawn_anew_each_epoch_counts_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A plain loop's `for batch in tqdm(loader)`, a new bare bar each epoch (a review's whole log, 20 epochs of
    1156 batches): each `0/1156` after the last bar's `1156/1156` is the next epoch, its steps counting on, no
    longer the run starting again (`check` said `step 1156/1156` and "started again 19 times"). One epoch's
    total is no run's; the later laps carry the epoch and its clock."""
    import gzip

    from runwatch.cli import main
    from tests.support.found import source_records

    fmt, recs = source_records("ubev_epoch_bars_train.out.gz")
    steps = [r.step for r in recs if r.kind is Kind.STEP]
    assert fmt == "hf-trainer" and steps == sorted(steps) and steps[-1] == 20 * 1156  # type: ignore[type-var]
    last = [r for r in recs if r.kind is Kind.STEP][-1]
    assert last.total_steps is None and last.metrics["epoch"] == 20.0 and "epoch_eta" in last.metrics
    val = [r for r in recs if "val_loss" in r.metrics]  # `Validation loss: 48.01…` after each epoch's validation bar
    assert len(val) == 20 and val[-1].step == 20 * 1156 and val[-1].metrics["val_loss"] == 48.01328498915071
    assert {r.total_steps for r in recs if r.step is not None and r.step < 1156} == {1156}
    log = tmp_path / "train.out"
    log.write_bytes(gzip.decompress((FOUND / "ubev_epoch_bars_train.out.gz").read_bytes()))
    main(["check", str(log)])
    out = capsys.readouterr().out
    assert "step 23120 " in out and "started again" not in out
    main(["parse", str(log), "--output", "summary"])  # one epoch's 1156 stated by the first lap is no run's total
    assert "steps      0 → 23120\n" in capsys.readouterr().out


def test_a_plain_loops_loss_lines_under_its_bare_bar_and_a_sweeps_next_trial(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A W&B sweep agent's console (a review): each trial a bare bar per epoch and `Loss:  157.06…` lines, a loss
    alone on its line, which `kv` takes for no record; under the bar it is the loop's loss (`beside`), at the bar's
    step. `wandb: Agent Starting Run:` starts the next trial: its bars are no further laps of the last one's, and
    the run is seen starting again there. Each bar follows an `Epoch N` heading, which the Trainer never prints: the
    loop's epochs (runwatch.parsers.heading), read by the tqdm format."""
    import gzip

    from runwatch.cli import main
    from tests.support.found import found_lines, source_records

    text = found_lines("simgir_sweep_trials_excerpt.out.gz")
    fmt, recs = source_records("simgir_sweep_trials_excerpt.out.gz")
    logged = [float(x.split()[1]) for x in text if x.startswith("Loss:")]
    assert fmt == "tqdm" and [r.metrics["loss"] for r in recs if "loss" in r.metrics] == logged
    steps = [r.step for r in recs if r.kind is Kind.STEP and r.step is not None]
    backs = [i for i in range(1, len(steps)) if steps[i] < steps[i - 1]]
    assert len(backs) == 1 and steps[backs[0]] == 0  # the second trial, and only there
    log = tmp_path / "train.out"
    log.write_bytes(gzip.decompress((FOUND / "simgir_sweep_trials_excerpt.out.gz").read_bytes()))
    main(["check", str(log)])
    assert "the run started again once" in capsys.readouterr().out


def test_a_logged_dict_of_settings_signs_no_trainer() -> None:
    """A review: one `{'lstm_units': [64], …, 'learning_rate': 0.001, 'batch_size': 32, 'epochs': 100}` logged before a
    Keras run chose this format, and the 21 epochs of `loss: nan` after it were never read (only the traceback at
    the end said anything). A dict that measures no training is no Trainer's signature; the Keras lines decide."""
    from tests.support.found import found_lines, source_records

    settings = next(x for x in found_lines("keras_lstm_nan_settings_dict_console.log") if "'lstm_units'" in x)
    assert HFTrainerParser().score(settings) == 0
    fmt, recs = source_records("keras_lstm_nan_settings_dict_console.log")
    losses = [r.metrics["loss"] for r in recs if "loss" in r.metrics]
    assert fmt == "keras" and len(losses) >= 21 and all(math.isnan(v) for v in losses)


def test_dicts_after_a_bar_kept_at_0_take_no_step(capsys: pytest.CaptureFixture[str]) -> None:
    """A review: a pasted console whose second training's bar kept its first frame `0/2260` only: every dict after it
    read step 0, the epochs' evaluations then counted as epochs of 2260 steps at one step (steps 2260 × (epoch - 1)),
    and `check` said `step 22600  ended`. A bar at 0 has taken no step (the Trainer logs from step 1; an evaluation
    that states an epoch past 0 came after steps): such dicts have none, and the run ends at its bar's 2260/2260."""
    from runwatch.cli import main
    from tests.support.found import source_records
    from tests.support.paths import FIXTURES

    name = "hf_two_trainings_pasted_console.txt"
    _, recs = source_records(name)
    second = recs[next(i for i, r in enumerate(recs) if r.step == 0):]
    dicts = [r for r in second if r.kind in (Kind.STEP, Kind.EVAL) and "epoch" in r.metrics]
    assert len(dicts) >= 14 and {r.step for r in dicts[:-1]} == {None}
    assert main(["check", "--json", str(FIXTURES / "found" / name)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["state"], out["step"], out["total_steps"]) == ("finished", 2260, 2260)


@pytest.mark.parametrize("sizes", [(1 << 20,), (3000, 700)])
def test_a_clump_of_more_dicts_than_steps_before_its_frame_ends_at_the_frame_after(sizes: tuple[int, ...]) -> None:
    """A new user's review: optimum-neuron's trial run (`logging_steps 1`, `max_steps 10`) wrote 9 loss dicts in one
    block after the `2/10` frame and before the `10/10` one; all 9, the NaNs of steps 6 and 7 among them, read at step
    2. The dicts are more than the steps up to the frame before them, so the block was written at the frame after:
    steps 2 to 10, as their learning rates count down (both readers alike)."""
    from tests.support.readers import check

    recs, _ = check((FOUND / "hf_neuron_trial_dict_clump_nan_excerpt.log").read_bytes(), sizes)
    losses = [(r.step, r.metrics["lr"]) for r in recs
              if r.kind is Kind.STEP and "loss" in r.metrics]
    assert [s for s, _ in losses] == list(range(1, 11))
    assert [lr for _, lr in losses] == sorted((lr for _, lr in losses), reverse=True)
    assert [r.step for r in recs if r.kind is Kind.STEP and math.isnan(r.metrics.get("loss", 0.0))] == [6, 7]


def test_checkpoint_saves_give_the_dicts_of_a_barless_log_their_steps() -> None:
    """A review: an SFT run under the DeepSpeed launcher, no bar, no `***** Running training *****` header, a
    checkpoint every 50 steps (`…/checkpoint-50/global_step50/…`): its 49 loss dicts had no step at all. From the
    first save on, a dict's step is its epoch × the steps an epoch took by the last save; the run ends near the
    steps its summary implies (`train_steps_per_second` × `train_runtime`)."""
    from runwatch.model import Kind
    from tests.support.found import found_lines, source_records

    name = "cnminiphi3_sft_deepspeed_no_bar.log"
    fmt, recs = source_records(name)
    assert fmt == "hf-trainer"
    losses = [r for r in recs if r.kind is Kind.STEP and "loss" in r.metrics]
    placed = [r.step for r in losses if r.step is not None]
    assert len(losses) == 49 and len(placed) == 49 - 5  # the five dicts before the first save after the first, at
    assert placed == sorted(placed) and len(set(placed)) == len(placed)  # the `[Rank 0] step=0, skipped=0` before it
    assert placed[:2] == [0, 60]  # 10 steps after the save at 50
    summary = next(x for x in found_lines(name) if "'train_runtime'" in x)
    runtime, per_second = (float(re.search(rf"'{k}': ([\d.]+)", summary)[1])  # type: ignore[index]
                           for k in ("train_runtime", "train_steps_per_second"))
    assert abs(placed[-1] - runtime * per_second) / (runtime * per_second) < 0.01


def test_an_early_save_estimate_puts_no_later_dict_behind_an_earlier_one() -> None:
    """Where a save comes between logging steps (`save_steps` no multiple of `logging_steps`), its estimate of an
    epoch's steps is off by up to a logging stride, and a later save's nearer one lowered the steps of the dicts
    after it below those before (a step back, read as the run starting again): steps never go back while the epoch
    grows. The real log's `checkpoint-100` save lines are moved before the dict of epoch 0.37 (step ~90) to make one."""
    from runwatch.model import Kind
    from tests.support.found import found_lines

    lines = found_lines("cnminiphi3_sft_deepspeed_no_bar.log")
    saves = [x for x in lines if "checkpoint-100/" in x]
    early = next(i for i, x in enumerate(lines) if "'epoch': 0.37}" in x)
    moved = lines[:early + 1] + saves + [x for x in lines[early + 1:] if "checkpoint-100/" not in x]
    p = HFTrainerParser()
    steps = [r.step for r in map(p.parse, moved) if r is not None and r.kind is Kind.STEP and "loss" in r.metrics
             and r.step is not None]
    assert steps == sorted(steps) and steps[-1] > 470
    assert max(b - a for a, b in zip(steps, steps[1:], strict=False)) > 10  # the early estimate ran ahead, then held


def test_fairseqs_json_dicts_step_by_their_updates() -> None:
    """A review's fairseq run under Hydra, `log_format: json` (tests/fixtures/found/README.md): `[train_inner][INFO] -
    {"epoch": 1, "update": 0.158, "loss": …, "num_updates": "200", …}` every 200 updates, `[dev-other][INFO] -
    {"epoch": 1, "dev-other_loss": "396.905", …, "dev-other_num_updates": "1291"}` after each epoch. Read as the
    Trainer's dicts, the epoch was their step: the run cancelled at update 5,200 of its config's `'max_update': 80000`
    read `step 3`, and its 38-minute epochs a critical stall."""
    from tests.support.found import FOUND, source_records
    from tests.support.realruns import check_json

    for batch in (1, 500):  # per line, and as `parse` hands lines over
        _, recs = source_records("fairseq_hydra_json_slurm_cancelled.log.gz", batch=batch)
        steps = [r for r in recs if r.kind is Kind.STEP]
        evals = [r for r in recs if r.kind is Kind.EVAL]
        assert steps[0].step == 200 and steps[0].metrics["loss"] > 0 and "grad_norm" in steps[0].metrics
        assert "num_updates" not in steps[0].metrics and "update" not in steps[0].metrics
        first = next(e for e in evals if e.step == 1291)
        assert (first.metrics["val_loss"], first.metrics["val_wer"]) == (396.905, 100.0)
    _, [report], _ = check_json(FOUND / "fairseq_hydra_json_slurm_cancelled.log.gz")
    assert (report["state"], report["step"], report["total_steps"]) == ("crashed", 5200, 80000)
    assert "stall" not in [a["rule"] for a in report["alerts"]]


def test_an_evaluation_after_training_is_no_second_training_bar() -> None:
    """A review's LLaMA-Factory run under DeepSpeed (tests/fixtures/found/README.md): its training bar ends at
    465/465 and the Trainer's summary, then `***** Running Evaluation *****` (its `Num examples`, `Batch size`), an
    evaluation bar of 827 batches and `***** eval metrics *****` with `eval_loss = 0.706`. The larger bar was taken for
    the training bar: `check` said the run started again, `step 827/827`, and the final eval_loss was never read."""
    from tests.support.found import FOUND, source_records
    from tests.support.realruns import check_json

    name = "llamafactory_deepspeed_train_then_eval_bar.out.gz"
    _, recs = source_records(name)
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert max(r.step or 0 for r in steps) == 465 and {r.total_steps for r in steps} == {465}
    final = [r for r in recs if r.kind is Kind.EVAL and "val_loss" in r.metrics]
    assert [(r.step, r.metrics["val_loss"]) for r in final] == [(465, 0.706)]
    _, [report], _ = check_json(FOUND / name)
    assert (report["state"], report["step"], report["total_steps"], report["notes"]) == ("finished", 465, 465, [])


def test_a_bar_after_the_summary_dict_is_no_new_training(capsys: pytest.CaptureFixture[str]) -> None:
    """A log's tail: loss dicts, the bar's last frame `5000/5000`, the summary dict, then the script's own `Final
    evaluation:` bar of 1,874. The 5,000 bar had no loss dict while elected (none came after its first frame), so
    a smaller bar replaced it: `step 1874/1874`, the run started again (a review)."""
    from runwatch.cli import main

    path = Path(__file__).parents[1] / "fixtures" / "found" / "whisper_lora_hf_tail_final_evaluation.log"
    assert main(["check", str(path), "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert (obj["step"], obj["total_steps"], obj["state"]) == (5000, 5000, "finished")
    assert not any("started again" in n for n in obj["notes"])


def test_an_estimators_result_dict_is_no_trainers() -> None:
    """TensorFlow's Estimator log ending in its printed results (`eval metrics: {'loss': 0.0101, 'global_step': 1000}`,
    tests/fixtures/found): the two dicts took the log for the HF Trainer's, its `Loss for final step` unread, the run
    `ended` and live a `process_exit` warning (a new user's review). A dict with `global_step` is no Trainer's."""
    from tests.support.found import found_lines, source_records
    from tests.support.paths import FIXTURES
    from tests.support.realruns import check_json

    name = "tf_estimator_train_evaluate_result_dicts.log"
    dicts = [x for x in found_lines(name) if "{'loss'" in x]
    assert len(dicts) == 2 and all(HFTrainerParser().score(x) == 0 for x in dicts)
    fmt, _ = source_records(name)
    assert fmt == "kv"
    rc, runs, _ = check_json(FIXTURES / "found" / name)
    assert rc == 0 and runs[0]["state"] == "finished"
