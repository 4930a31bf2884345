"""Shapes a new user's own training scripts printed (the first-use review of 2026-11-24), read as the
recorded runs read.

The scripts were `/tmp/nu/w/s2_hang.py` (Python `logging`, a header line
`Starting training: lr=0.0003 batch_size=32 max_steps=400` before its step lines) and
`/tmp/nu/w/s1_nan.py` (`print(f"epoch {e} step {s} loss {loss:.4f}")`, `s` from 0 in every epoch).
No recording or corpus excerpt has either shape, so the header line is that script's, put before the
kv recording's own lines, and the per-epoch counter is the kv recording's lines with the step
counted within the epoch, as that script counts it.
"""

from __future__ import annotations

import gzip

import pytest

from runwatch.model import Kind
from runwatch.parsers.keyvalue import KeyValueParser
from tests.support.fast_path_logs import cut
from tests.support.found import FOUND
from tests.support.readers import check, chunked, fast_rows, per_line
from tests.support.realruns import REALRUNS

KV_LOG = REALRUNS / "kvlog-healthy" / "run" / "train.log"
HEADER = "Starting training: lr=0.0003 batch_size=32 max_steps=400"
"""The new user's header message (s2_hang.py's first `log.info`)."""


def _kv_lines() -> list[str]:
    return KV_LOG.read_text().splitlines()


def _headed() -> bytes:
    """The kv recording with the user's header logged before its first step, through the recording's own
    `logging` prefix (`2026-11-22 16:43:54,760 INFO train: `)."""
    lines = _kv_lines()
    prefix = lines[0][: lines[0].index("step=")]
    return "\n".join([prefix + HEADER, *lines]).encode() + b"\n"


def test_a_header_of_settings_is_no_step_record() -> None:
    line = _headed().decode().splitlines()[0]
    assert KeyValueParser().parse(line) is None
    assert KeyValueParser().parse(HEADER) is None


@pytest.mark.parametrize("sizes", [(1 << 20,), (300, 2000)])
def test_the_header_is_config_and_its_max_steps_the_total(sizes: tuple[int, ...]) -> None:
    """Both readers: no record for the header; its settings in the preamble, one each; max_steps the total
    of the step lines, which state none."""
    recs, _ = check(_headed(), sizes)
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert [r.step for r in steps] == list(range(1, 121))
    assert {r.total_steps for r in steps} == {400}
    assert min(r.line for r in recs) == 2


@pytest.mark.parametrize("read", [per_line, chunked])
def test_the_header_settings_are_the_logs_config(read) -> None:  # type: ignore[no-untyped-def]
    sp = read(cut(_headed(), (1 << 20,)))[1]
    assert sp.preamble is not None
    assert sp.preamble.settings == [("lr", "0.0003"), ("batch_size", "32"), ("max_steps", "400")]
    assert sp.planned == 400


def _per_epoch(epochs: int = 3, zero_based: bool = True) -> tuple[bytes, list[int]]:
    """The kv recording's step lines `epochs` times over, `step=` counted within each epoch as the new user's
    loop counted it (from 0, `enumerate(loader)`) and `epoch=` the epoch: the lines and the global steps."""
    lines = [x for x in _kv_lines() if " step=" in x]
    per = len(lines)
    out, want = [], []
    for e in range(epochs):
        for i, line in enumerate(lines):
            s = i if zero_based else i + 1
            head, rest = line.split(" step=", 1)
            rest = rest.split(" ", 1)[1].replace("epoch=1", f"epoch={e + (0 if zero_based else 1)}")
            out.append(f"{head} step={s} {rest}")
            want.append(e * per + s)
    return ("\n".join(out) + "\n").encode(), want


@pytest.mark.parametrize("zero_based", [True, False])
@pytest.mark.parametrize("sizes", [(1 << 20,), (4096,), (700, 3000, 50)])
def test_a_per_epoch_step_counter_is_one_axis(zero_based: bool, sizes: tuple[int, ...]) -> None:
    data, want = _per_epoch(zero_based=zero_based)
    recs, _ = check(data, sizes)
    assert [r.step for r in recs if r.kind is Kind.STEP] == want
    assert {r.metrics["epoch"] for r in recs} == ({0.0, 1.0, 2.0} if zero_based else {1.0, 2.0, 3.0})


@pytest.mark.parametrize("sizes", [(1 << 20,), (4096,), (700, 3000, 50)])
def test_a_second_launch_whose_epoch_goes_back_counts_its_own_steps(sizes: tuple[int, ...]) -> None:
    """The per-epoch counter run twice into one log (a relaunch: epoch 3 of the first, then epoch 1 of the second):
    the second counts its own steps from its start, a new attempt, as the first did, the columnar way and line by
    line alike (a review's YOLOX log placed its last launch after the one before)."""
    data, want = _per_epoch(zero_based=False)
    recs, chunks = check(data + data, sizes, fmt="kv")
    assert fast_rows(chunks) > 0
    assert [r.step for r in recs if r.kind is Kind.STEP] == want + want


def test_epochs_of_different_lengths_stay_monotone() -> None:
    """A shorter epoch (the loader's last, smaller pass): each epoch starts after the last step of the one
    before it, whatever its length."""
    data, _ = _per_epoch(epochs=1)
    lines = data.decode().splitlines()
    short = [x.replace("epoch=0", "epoch=1") for x in lines[:50]]
    third = [x.replace("epoch=0", "epoch=2") for x in lines[:10]]
    recs, _ = check(("\n".join(lines + short + third) + "\n").encode(), (2000,))
    steps = [r.step for r in recs if r.kind is Kind.STEP]
    assert steps == [*range(0, 120), *range(120, 170), *range(170, 180)]


@pytest.mark.parametrize("sizes", [(1 << 22,), (5000, 700, 30000), (120_000, 1 << 20)])
def test_each_launch_of_a_detectron2_log_has_its_own_plan(sizes: tuple[int, ...]) -> None:
    """Two reviews: detectron2 appends every launch to its `log.txt`, each under its own header (`detectron2 INFO:
    Rank of current process: 0`, `Command Line Args: …`, the config's `MAX_ITER: 2000`). The first header's plan was
    every launch's: a Mask2Former log of three launches (2000, 10000 stopped at iteration 493, then 4000) read its
    last one at 1999 of 2000, then no total; another whose first header the copy lost read none at all. Each launch's
    header is read again (once a launch, whatever the cut), its plan its records' total; both readers alike."""
    recs, _ = check(_found("d2_mask2former_three_launches.log.gz"), sizes)
    firsts = [(r.line, r.total_steps) for r in recs if r.kind is Kind.STEP and r.step == 19]
    assert firsts == [(1417, 2000), (2973, 10000), (4416, 4000)]
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert (steps[-1].step, steps[-1].total_steps) == (3999, 4000)
    recs, _ = check(_found("cdfsod_d2_four_launches_eval_oom.txt.gz"), sizes)
    firsts = [(r.line, r.total_steps) for r in recs if r.kind is Kind.STEP and r.step == 19]
    assert firsts == [(88, None), (588, 80), (1043, 80), (1498, 100)]
    # the settings too: a header that begins inside a chunk is read whole by the fast path, as line by line (the last
    # launch's config, 80 settings; a code review saw two of them where the cut fell inside the third header)
    pieces = cut(_found("d2_mask2former_three_launches.log.gz"), sizes)
    _, ref = per_line(pieces)
    _, sp, _ = chunked(pieces)
    assert ref.preamble is not None and len(ref.preamble.settings) == 80 and sp.preamble == ref.preamble


def test_a_relaunch_among_the_lines_held_before_the_format_is_known_has_its_own_plan() -> None:
    """A launch that dies after a step or two and its relaunch both fall among the lines a source holds until it
    knows the format: the relaunch's header must still be read (a code review: `MAX_ITER: 400` was lost there).
    The Mask2Former log cut so: its first launch's header and first two steps, then the rest from the second
    launch's first line, as one file would hold a quick crash and the relaunch after it."""
    lines = _found("d2_mask2former_three_launches.log.gz").split(b"\n")
    assert lines[1556].endswith(b"detectron2 INFO: Rank of current process: 0. World size: 1")
    data = b"\n".join(lines[:1418] + lines[1556:])
    for sizes in ((1 << 22,), (3000,)):
        recs, _ = check(data, sizes)
        firsts = [r.total_steps for r in recs if r.kind is Kind.STEP and r.step == 19]
        assert firsts == [2000, 10000, 4000]


@pytest.mark.parametrize("sizes", [(1 << 22,), (5000, 700, 30000)])
def test_an_epoch_of_another_stated_length_keeps_the_places_before_it(sizes: tuple[int, ...]) -> None:
    """A review's semi-supervised FER run: `[epoch: 49/200, iter: 425/448]`, then `[epoch: 50/200, iter: 0/639]` (its
    data grew) and from epoch 57 `…/640`, until a CUDA OOM at epoch 144. Each epoch was placed at `epoch × its own
    length`: step 22,377 then 31,950, the total 89,600 → 127,800 → 128,000, the end 92,335. Epochs before a change of
    length keep their places: epoch 50 starts at 50 × 448, 57 after seven of 639, the run's total 118,393 (its
    last 143 epochs at 640), the end 82,728 (epoch 144, iteration 175); both readers alike, however the log is cut."""
    recs, _ = check(_found("fer_ssl_epochs_resized_oom.out.gz"), sizes)
    steps = [(r.step, r.total_steps) for r in recs if r.kind is Kind.STEP]
    at = {r.line: (r.step, r.total_steps) for r in recs if r.kind is Kind.STEP}
    assert at[1369] == (49 * 448 + 425, 200 * 448) and at[1378] == (50 * 448, 118250)
    assert at[1616] == (50 * 448 + 7 * 639, 118393)
    assert steps[-1] == (50 * 448 + 7 * 639 + 87 * 640 + 175, 118393) == (82728, 118393)
    assert all(a[0] < b[0] for a, b in zip(steps, steps[1:], strict=False))


def test_the_tutorial_recording_and_a_global_counter_keep_their_steps() -> None:
    """Steps that are global already (the kv recording's `step=N epoch=E`, bracketed's `Epoch [e/E], Step
    [s/S]` across the tutorial recording's five epochs) are left as they are."""
    kv, _ = check(KV_LOG.read_bytes())
    assert [r.step for r in kv if r.kind is Kind.STEP] == list(range(1, 121))
    tutorial = REALRUNS / "tutorial-healthy" / "run" / "train.log"
    recs, _ = check(tutorial.read_bytes())
    steps = [r.step for r in recs if r.kind is Kind.STEP]
    assert steps == list(range(10, 601, 10))


def test_a_tasks_time_without_a_step_is_no_record() -> None:
    """nanochat's CORE evaluation lines (the speedrun's `Evaluating: coqa (0-shot, …)... accuracy: … | time:
    18.90s`) made kv step records with step_time 18.9: a time and an accuracy, no step, no training metric.
    A line with a loss beside its time still counts."""
    from tests.support.corpus import raw_lines

    evals = [x for x in raw_lines("nanochat_pr492_speedrun_d24_feb01.training_output.log")
             if x.startswith("Evaluating:")]
    assert len(evals) > 100
    assert [x for x in evals if KeyValueParser().parse(x) is not None] == []
    rec = KeyValueParser().parse(evals[0].replace("accuracy", "loss"))
    assert rec is not None and rec.step is None and "loss" in rec.metrics


def _of_epochs(epochs: int, per: int, until: tuple[int, int] | None = None, every: int = 1,
               first: int = 1) -> bytes:
    """The shape a new user's script printed (`print(f"epoch {e}/{E} step {s}/{S} loss {loss:.4f}")`, `e` of
    `E` epochs, `s` of `S` steps counted within the epoch), its losses the kv recording's: `epochs` × `per`
    steps from `first`, every `every`-th logged, the last line `(e, s)` of `until` (a hang there)."""
    losses = [float(x.split(" loss=")[1].split()[0]) for x in _kv_lines() if " loss=" in x]
    out = []
    for e in range(1, epochs + 1):
        for s in range(first, per + first, every):
            out.append(f"epoch {e}/{epochs} step {s}/{per} loss {losses[len(out) % len(losses)]:.4f}")
            if (e, s) == until:
                return ("\n".join(out) + "\n").encode()
    return ("\n".join(out) + "\n").encode()


@pytest.mark.parametrize("sizes", [(1 << 20,), (300, 700, 50)])
def test_a_per_epoch_total_is_not_the_runs(sizes: tuple[int, ...]) -> None:
    """The user's 3 × 50 steps hung at epoch 2 step 11: step 61 of 150 (3 × 50), not of 50 (finished, the
    hang never paged); both readers alike. Epoch 1's lines state one epoch's 50 until a step past what the first of 3
    epochs of 50 could reach (34: it ends by 2 × 50 / 3, counted from 0 or from 1) tells it is one epoch's
    (`epochal`), before the count wraps."""
    recs, _ = check(_of_epochs(3, 50, until=(2, 11)), sizes)
    steps = [(r.step, r.total_steps) for r in recs if r.kind is Kind.STEP]
    assert steps == [(s, 50) for s in range(1, 34)] + [(s, 150) for s in range(34, 62)]


def test_the_users_hang_is_a_running_run_and_pages_stall() -> None:
    from runwatch.alerts.rules.stall import Stall
    from runwatch.model import RunState
    from tests.support.rule_replay import feed

    tracker, last = feed(check(_of_epochs(3, 50, until=(2, 11)))[0], dt=1.0)
    assert tracker.state(last + 5) is RunState.RUNNING
    assert [f.summary for f in Stall().evaluate(tracker, last + 7200)] != []
    done, end = feed(check(_of_epochs(3, 50))[0], dt=1.0)
    assert (done.state(end + 5), Stall().evaluate(done, end + 7200)) == (RunState.FINISHED, [])


def test_a_stated_epoch_length_places_the_next_epoch_exactly() -> None:
    """Steps logged every 50th batch from 0 (`0 … 450` of 500): epoch 2 starts at 500 + 0, its stated length,
    not after the last step logged (451); without the epoch count no run total is known (none stated)."""
    data = _of_epochs(2, 500, every=50, first=0)
    recs, _ = check(data, (400,))
    assert [r.step for r in recs] == [*range(0, 500, 50), *range(500, 1000, 50)]
    assert {r.total_steps for r in recs[10:]} == {1000}
    recs, _ = check(data.replace(b"/2 ", b" "), (400,))
    assert [(r.step, r.total_steps) for r in recs[10:]] == [(s, None) for s in range(500, 1000, 50)]


def _found(name: str) -> bytes:
    data = (FOUND / name).read_bytes()
    return gzip.decompress(data) if name.endswith(".gz") else data


@pytest.mark.parametrize(("name", "planned", "last"), [
    ("mmhuman3d_hmr_mmcv1_nohup.out.gz", 100 * 1220, 2690),  # `runner = dict(type='EpochBasedRunner', max_epochs=100)`
    ("mmpretrain_resnet50_fruits.log", 10 * 109, 1081),  # `train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=2)`
    ("mmdet_rtmdet_triangle.log.gz", 200 * 43, 8600),  # `    max_epochs=200,` in its config dump's `train_cfg`
])
def test_the_configs_max_epochs_makes_a_per_epoch_count_the_runs_total(name: str, planned: int, last: int) -> None:
    """mmcv's and mmengine's config dumps state the epochs planned, their `Epoch [e][n/N]` lines one epoch's N:
    from the first epoch's count on, the run's total is their product (both readers alike); an mmcv run stopped
    at iteration 2,690 of 100 epochs of 1,220 read no total at all, so `ended` and not incomplete."""
    recs, _ = check(_found(name), (1 << 16, 5000))
    steps = [r for r in recs if r.kind is Kind.STEP]
    per = steps[0].total_steps
    assert per is not None and planned % per == 0
    wrapped = [r for r in steps if r.metrics["epoch"] > steps[0].metrics["epoch"]]
    assert wrapped and {r.total_steps for r in wrapped} == {planned}
    assert steps[-1].step == last


@pytest.mark.parametrize(("line", "epochs"), [
    ("runner = dict(type='EpochBasedRunner', max_epochs=100)", 100), ("total_epochs = 12", 12),
    ("Namespace(lr=0.1, epochs=300)", 300), ("  Num Epochs = 3", 3),
    ("train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=2)", 10),
    ("python train/train.py --n_epoch=100 --lr=5e-4", 100), ("Namespace(nb_epoch=20, batch_size=32)", 20),
])
def test_a_planned_epoch_count_is_read_from_the_header(line: str, epochs: int) -> None:
    from runwatch.parsers.preamble import Collector

    c = Collector()
    c.feed(line)
    assert c.planned_epochs == epochs


def test_the_misspelt_epoches_is_the_runs_epochs(capsys: pytest.CaptureFixture[str]) -> None:
    """A review: NoProp's `argparse done Namespace(…, epoches=1000)` (the script's own `--epoches`), then `Epoch 001 loss
    22.0703 | train 2.5s` to `Epoch 1000`: the run read `ended` at 1000, its total unread; finished 1000/1000."""
    import json

    from runwatch.cli import main
    from runwatch.parsers.preamble import Collector

    name = "noprop_cifar100_epoches_relaunch.log"
    line = next(x for x in _found(name).decode().splitlines() if "epoches=" in x)
    c = Collector()
    c.feed(line)
    assert c.planned_epochs == 1000
    assert main(["check", str(FOUND / name), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["state"], report["step"], report["total_steps"]) == ("finished", 1000, 1000)


@pytest.mark.parametrize("line", [
    "warmup_epochs=5", "cfg.max_epochs=9", "param_scheduler = [dict(end=1000), dict(begin=0, T_max=150, end=300)]",
    "epochs=0",
])
def test_another_epoch_count_is_no_plan(line: str) -> None:
    from runwatch.parsers.preamble import Collector

    c = Collector()
    c.feed(line)
    assert c.planned_epochs is None


def test_a_planned_epoch_count_totals_fast_rows_as_it_totals_records() -> None:
    """The user's per-epoch counter with no epoch count on its lines, under a header that plans 3 epochs: its
    steps go the columnar way in chunks, and the header's count makes the same totals there as line by line."""
    data = b"Starting training: lr=0.0003 max_epochs=3\n" + _of_epochs(3, 50).replace(b"/3 ", b" ")
    recs, chunks = check(data, (700, 1 << 20), fmt="kv")
    assert fast_rows(chunks) > 0
    steps = [(r.step, r.total_steps) for r in recs if r.kind is Kind.STEP]
    assert steps == [(s, 50) for s in range(1, 34)] + [(s, 150) for s in range(34, 151)]


@pytest.mark.parametrize("sizes", [(1 << 20,), (1500, 300)])
def test_pix2pixs_number_of_training_images_is_its_epoch_length(sizes: tuple[int, ...]) -> None:
    """pix2pix (junyanz/pytorch-CycleGAN-and-pix2pix) prints `(epoch: 1, iters: 60, …)` every 20 images and
    `(epoch: 2, iters: 3, …)` next: epoch 1 read as ending at 60, iteration 3 of epoch 2 was step 63, with no total
    (a review). `The number of training images = 77` is its epoch's length, and `n_epochs: 1` with
    `n_epochs_decay: 1` its two epochs: step 80 of 154, as the run's `saving … at the end of epoch 1, iters 77` says."""
    data = (FOUND / "pix2pix_xray_two_epochs_train_log.txt").read_bytes()
    assert b"The number of training images = 77" in data and b"End of epoch 1 / 2" in data
    recs, _ = check(data, sizes)
    assert [(r.step, r.total_steps, r.metrics["epoch"]) for r in recs if r.kind is Kind.STEP] == [
        (20, 154, 1.0), (40, 154, 1.0), (60, 154, 1.0), (80, 154, 2.0)]


def test_a_run_counted_in_epochs_has_the_epochs_its_command_line_plans_as_its_total() -> None:
    """A review's translation run: its launch command `--n_epoch=100` first, then one line an epoch (`Epoch 51 |
    Train Loss: 8.6550 | …`, no step) until the log ends at epoch 51: read `OK … step 51 ended`, no word of the 48
    epochs it never ran. The epochs planned are the total of a run counted in epochs."""
    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    code, [run], _ = check_json(FOUND / "mt_en2zh_n_epoch_flag.log")
    assert code == 0 and (run["step"], run["total_steps"]) == (51, 100), run
    assert any(w.startswith("incomplete: stopped at 51/100") for w in run["warnings"]), run


def test_tqdm_loggables_first_line_states_the_runs_total() -> None:
    """openpi logs its bar with tqdm-loggable (no terminal): `Progress on: -/200000 rate:- remaining:? …` before its
    first `Step 0: grad_norm=…, loss=…` line, later lines rounded (`12.9kit/200kit`). A review's run of 200,000 steps,
    killed at 12,800 of its second launch, read no total: no progress, no ETA, no word that it stopped short."""
    from runwatch.parsers.preamble import Collector
    from tests.support.found import FOUND, found_lines
    from tests.support.realruns import check_json

    first = next(ln for ln in found_lines("openpi_tqdm_loggable_total.out.gz") if "Progress on: -/" in ln)
    c = Collector()
    c.feed(first)
    assert c.planned == 200_000
    code, [run], _ = check_json(FOUND / "openpi_tqdm_loggable_total.out.gz")
    # its last `Step 12800:` line, then the bar's `12.9kit/200kit` (read as steps since: 12,850 to 12,949)
    assert code == 2 and 12_850 <= run["step"] < 12_950 and run["total_steps"] == 200_000, run


def test_an_epochs_last_steps_printed_modulo_its_length_are_past_its_end() -> None:
    """A review's PaddleGAN log (tests/fixtures/found/README.md): its trainer prints the iteration modulo the epoch's
    989 (`Epoch: 1/100, iter: 980/989`, then `Epoch: 1/100, iter: 1/989` for the 990th, `Epoch: 2/100, iter: 11/989`
    after it). Read as 1, the step went back an epoch at each epoch's end: `check` said the run started again, its
    steps an epoch short after. Both readers place it past the epoch's end, one rising axis."""
    from tests.support.found import found_lines, source_records

    name = "paddlegan_epoch_end_iter_modulo_excerpt.log.gz"
    lines = found_lines(name)
    assert "Epoch: 1/100, iter: 980/989" in lines[521] and "Epoch: 1/100, iter: 1/989" in lines[531]
    for batch in (500, 1):
        _, recs = source_records(name, batch=batch)
        steps = [(r.line, r.step) for r in recs if r.kind is Kind.STEP]
        at = dict(steps)
        assert (at[522], at[532], at[536]) == (980, 990, 1001)  # the next epoch's 11th after the 990th: one past its
        # exact place (989 + 11), as a count that went past its stated length starts the next after its last
        assert all(b[1] > a[1] for a, b in zip(steps, steps[1:], strict=False)), "one rising axis"
    # a launch again at its first epoch's 50th after the last killed at its 2,900th of 2,901 (mmengine, logging every
    # 50) moved by 51, not by its stride: a new run, not a count past the epoch's end
    _, recs = source_records("frnet_mmengine_four_launches_killed.log.gz")
    at = {r.line: r.step for r in recs if r.kind is Kind.STEP}
    assert (at[1396], at[2818]) == (2900, 50)


def test_a_relaunch_after_an_epochs_last_printed_step_is_a_new_run_on_both_readers() -> None:
    """A code review: the mmengine log of four launches (tests/fixtures/found/README.md) with its epoch's length
    written 2900 instead of 2901 (the real lines, that one number changed), so that the launch killed at
    `[1][2900/2900]`, relaunched at `[1][50/2900]`, moves by the logging stride once the length is added. Read as past
    the epoch's end it was step 2950, the per-line reader chained each row after it on (3000, 3050, …) where the block
    reader did not. A count that printed its epoch's end never wraps, and both readers compare printed steps."""
    data = gzip.decompress((FOUND / "frnet_mmengine_four_launches_killed.log.gz").read_bytes()).replace(b"/2901]", b"/2900]")
    for size in (1 << 22, 4096, 777):
        lines, _ = per_line(cut(data, (size,)))
        blocks, _, _ = chunked(cut(data, (size,)))
        by_line = {r.line: r.step for r in lines if r.kind is Kind.STEP}
        assert by_line == {r.line: r.step for r in blocks if r.kind is Kind.STEP}
        assert (by_line[1396], by_line[2818], by_line[2819]) == (2900, 50, 100)


def test_a_run_stopped_in_its_first_epoch_is_of_all_its_epochs() -> None:
    """A review: an MMDetection run of `max_epochs=12` killed at `Epoch(train)  [1][ 650/3505]` read `incomplete: stopped
    at 650/3505`, 12 times its progress (its own ETA said ten hours to go): no epoch had wrapped to tell 3,505 one
    epoch's. A step past what the first of 12 epochs of 3,505 could reach (600 > 2 × 3,505 / 12) tells it: 650 of
    42,060 from there, both readers alike; the steps before keep what the line states."""
    recs, _ = check(_found("mmdet3_first_epoch_of_twelve.log"), (1 << 16, 5000))
    steps = [(r.step, r.total_steps) for r in recs if r.kind is Kind.STEP]
    assert steps == [(s, 3505) for s in range(50, 551, 50)] + [(600, 12 * 3505), (650, 12 * 3505)]


@pytest.mark.parametrize("sizes", [(1 << 20,), (5000, 700)])
def test_a_first_epochs_length_is_told_one_epochs_on_fast_rows_too(sizes: tuple[int, ...]) -> None:
    """A code review: the first epoch's total told one epoch's (`epochal`) was dropped by the columnar path before any
    count wrapped (the batch went back untouched), so `check` said `stopped at 400/500` where `tail` said 400/6000.
    Epoch 1 of 12 of 500 ends by 2 × 500 / 12 = 83: from step 84 the run's 6,000, on both readers."""
    data = b"Starting training: lr=0.0003 max_epochs=12\n" + _of_epochs(12, 500, until=(1, 400)).replace(b"/12 ", b" ")
    recs, chunks = check(data, sizes, fmt="kv")
    assert fast_rows(chunks) > 0
    steps = [(r.step, r.total_steps) for r in recs if r.kind is Kind.STEP]
    assert steps == [(s, 500) for s in range(1, 84)] + [(s, 6000) for s in range(84, 401)]


def test_a_later_epoch_that_did_not_wrap_keeps_the_runs_total() -> None:
    """A code review: a script whose `Namespace(epochs=100)` a step limit cut short prints its run's count beside its
    epoch (`Epoch: 1, Iter: 2500/10000`): in its first epoch that reads as one epoch's (of 1,000,000), and from its
    second epoch on, whose count did not wrap, the run's 10,000 again; it finishes at 10,000 of 10,000."""
    losses = [float(x.split(" loss=")[1].split()[0]) for x in _kv_lines() if " loss=" in x]
    lines = ["Namespace(epochs=100, lr=0.1)"] + [
        f"Epoch: {s // 2000}, Iter: {s}/10000, loss: {losses[i % len(losses)]:.4f}"
        for i, s in enumerate(range(100, 10001, 100))] + ["Training finished."]
    recs, _ = check(("\n".join(lines) + "\n").encode(), (1 << 20, 900))
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert {r.total_steps for r in steps if r.metrics["epoch"] >= 1} == {10000}
    assert (steps[-1].step, steps[-1].total_steps) == (10000, 10000)
