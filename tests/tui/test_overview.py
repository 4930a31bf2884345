"""The overview page (`o`): what it says of a run, and that nothing of a run's text reaches the terminal raw."""

from __future__ import annotations

import io
import os
import shutil
import time
from pathlib import Path

from rich.console import Console

from runwatch.engine import Engine, EngineOptions
from runwatch.present import flat, fmt_duration, iso_utc
from runwatch.tui.screens.overview import STARTED_UNKNOWN, overview
from tests.support.fake_controller import WANDB_META, single_run, with_meta
from tests.support.stamped import megatron_log
from tests.support.waiting import wait_for

REALRUNS = Path(__file__).resolve().parents[1] / "fixtures/realruns"


def page(width: int = 100) -> str:
    ctrl = with_meta(single_run(), "nanochat-d24", WANDB_META)
    snap = ctrl.snapshots()[0]
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    console.print(overview(snap, host="here"))
    return console.export_text()


def words(text: str) -> str:
    return " ".join(text.split())


def test_it_says_which_run_where_with_what_settings_and_how_it_stands() -> None:
    text = page()
    for expected in ("W&B name nan-demo", "W&B id mgc70s0x", "project runwatch-lab", "host gpu-node-1",
                     "sources logs/nanochat-d24.log", "step 3,200 of 5,568 (57.5%)", "runtime 53m11s",
                     "learning_rate 0.0003", "optimizer.name adamw", "optimizer.betas [0.9, 0.95]",
                     "per_device_train_batch_size 16", "train/loss 2.265", "loss 2.265", "python 3.11.7",
                     "nonfinite (firing) grad_norm is NaN at step 380", "Alerts 1 firing"):
        assert expected in words(text), expected
    sections = [s for s in ("Run", "Config", "Summary", "Last values", "Environment", "Alerts") if f"\n{s}" in "\n" + text]
    assert sections == ["Run", "Config", "Summary", "Last values", "Environment", "Alerts"]
    assert "_runtime" not in text  # W&B's own bookkeeping


def test_a_run_files_text_reaches_the_terminal_as_text_only() -> None:
    text = page()
    assert "\x1b" not in text and "\x07" not in text
    assert "evil" in text


def test_without_w_and_b_metadata_it_shows_what_runwatch_knows() -> None:
    snap = single_run().snapshots()[0]
    console = Console(width=100, record=True, color_system=None, file=io.StringIO())
    console.print(overview(snap, host="box-7"))
    text = console.export_text()
    assert "host box-7" in words(text) and "Config" not in text and "Last values" in text


def test_nested_settings_are_dotted_keys_and_wrappers_unwrapped() -> None:
    assert list(flat({"b": {"value": 1}, "a": {"x": {"y": 2}, "z": 3}, "c": {}})) == [
        ("a.x.y", 2), ("a.z", 3), ("b", 1), ("c", {})]


def test_checkpoints_and_restarts_are_listed_newest_first() -> None:
    """The HF run's real `out/` (checkpoint-40, -80, -120) read as `tail` reads it, and the nanoGPT run lab
    log written twice: the page lists the checkpoints with their sizes and says the run started again."""
    import dataclasses
    from pathlib import Path

    from runwatch.commands.readers import look_once
    from runwatch.decoding import decode
    from runwatch.parsers.base import ItemDecoder
    from runwatch.parsers.source import SourceParser
    from runwatch.state.run import RunTracker
    from runwatch.watcher.types import ItemBatch

    runs = Path(__file__).parents[1] / "fixtures" / "realruns"
    out = runs / "hf-wandb-healthy" / "run" / "out"
    decoders: dict[tuple[str, str], ItemDecoder] = {}
    batches: list[ItemBatch] = []
    look_once(str(out), batches.append, lambda n: None)
    saved = [r for b in batches for r in decode(decoders, "r", str(out), b.kind, list(b.items), 1_795_000_000.0)
             if r.kind.value == "checkpoint"]
    assert len(saved) == 3
    log = (runs / "nanogpt-tb-healthy" / "run" / "train.log").read_bytes().decode().splitlines()
    tracker = RunTracker("r", "train.log")
    tracker.apply_many(SourceParser("train.log").feed(log + log, 1, 1_795_000_000.0), 1_795_000_000.0)
    assert tracker.attempts == 2
    snap = single_run().snapshots()[0]
    snap = dataclasses.replace(snap, events=(*tracker.events, *saved))
    console = Console(width=120, record=True, color_system=None, file=io.StringIO())
    console.print(overview(snap, host="here"))
    text = words(console.export_text())
    assert "restarts 1, the last at step 0" in text
    checkpoints = text[text.index("Checkpoints"):]
    assert checkpoints.index("step 120") < checkpoints.index("step 80") < checkpoints.index("step 40")
    assert "checkpoint-120 complete: 6.3 KiB in 8 files" in checkpoints and "newest 5" in checkpoints


def test_a_search_keeps_the_rows_that_hold_it_in_any_section() -> None:
    ctrl = with_meta(single_run(), "nanochat-d24", WANDB_META)
    snap = ctrl.snapshots()[0]
    console = Console(width=100, record=True, color_system=None, file=io.StringIO())
    console.print(overview(snap, host="here", needle="LOSS"))
    text = words(console.export_text())
    assert "train/loss 2.265" in text and "loss 2.265" in text and "Summary" in text and "Last values" in text
    assert "optimizer.name" not in text and "host" not in text and "Environment" not in text
    console = Console(width=100, record=True, color_system=None, file=io.StringIO())
    console.print(overview(snap, host="here", needle="no such thing"))
    assert "nothing on this page holds 'no such thing'" in console.export_text()


def test_an_hf_runs_trainer_settings_are_its_config() -> None:
    """No W&B: the real HF run's trainer_state.json settings, read as `tail` reads its checkpoint."""
    import dataclasses
    import json
    from pathlib import Path

    from runwatch.decoding import decode, split_side_records

    state = Path(__file__).parents[1] / "fixtures/realruns/hf-healthy/run/out/checkpoint-120/trainer_state.json"
    if not state.exists():
        state = Path(__file__).parents[1] / "fixtures/realruns/hf-wandb-healthy/run/out/checkpoint-120/trainer_state.json"
    recs = decode({}, "r", str(state), "hf_log_history", [json.loads(state.read_text())], 1.0)
    snap = dataclasses.replace(single_run().snapshots()[0], meta=split_side_records("hf_log_history", recs).meta)
    console = Console(width=100, record=True, color_system=None, file=io.StringIO())
    console.print(overview(snap, host="here"))
    text = words(console.export_text())
    assert "Trainer state from trainer_state.json" in text and "max_steps 120" in text and "save_steps 40" in text


def test_a_nanochat_checkpoints_meta_file_is_its_config() -> None:
    """nanochat's `meta_XXXXXX.json`, decoded as the engine decodes the checkpoint watcher's batch, is a
    section of the page named after the file, its nested settings flattened."""
    import dataclasses
    import json

    from runwatch.decoding import decode, split_side_records

    meta = Path(__file__).parents[1] / "fixtures/nanochat_meta/meta_000020.json"
    recs = decode({}, "r", str(meta.parent), "nanochat_meta", [json.loads(meta.read_text())], 1.0)
    snap = dataclasses.replace(single_run().snapshots()[0], meta=split_side_records("nanochat_meta", recs).meta)
    console = Console(width=100, record=True, color_system=None, file=io.StringIO())
    console.print(overview(snap, host="here"))
    text = words(console.export_text())
    assert "Checkpoint config from nanochat's checkpoint meta_000020.json" in text
    assert "model_config.n_layer 4" in text and "user_config.depth 4" in text and "loop_state" not in text


def test_a_lightning_runs_hparams_yaml_is_its_hyperparameters() -> None:
    """The run lab's Lightning run (save_hyperparameters, CSVLogger) followed as `tail DIR` follows it: its
    hparams.yaml goes to the run with its log and metrics.csv, and the overview lists it."""
    import time
    from pathlib import Path

    from runwatch.engine import Engine, EngineOptions

    run = Path(__file__).parents[1] / "fixtures/realruns/lightning-default-healthy/run"
    with Engine([str(run)], EngineOptions()) as engine:
        deadline = time.monotonic() + 60
        while not ((snaps := engine.snapshots()) and snaps[0].meta.get("hparams")) and time.monotonic() < deadline:
            time.sleep(0.1)
    (snap,) = snaps
    assert snap.meta["hparams"] == {"dim": 64, "lr": 0.001}
    console = Console(width=100, record=True, color_system=None, file=io.StringIO())
    console.print(overview(snap, host="here"))
    text = words(console.export_text())
    assert "Hyperparameters from Lightning's hparams.yaml" in text and "dim 64" in text and "lr 0.001" in text


def test_a_followed_logs_own_settings_are_on_the_page(tmp_path: Path) -> None:
    """A log with no config file beside it: the `key: value` lines it printed before its first loss (the
    Lightning model summary here) are the page's "Printed by the log" section, as `runwatch report` shows
    them; the step lines after them are not."""
    log = tmp_path / "train.log"
    shutil.copyfile(REALRUNS / "lightning-tqdm-healthy/run/train.log", log)
    engine = Engine([str(log)], EngineOptions(poll_interval=0.1, system=False))
    engine.start()
    try:
        wait_for(lambda: any(s.meta.get("printed") and s.progress.step == 239 for s in engine.snapshots()), timeout=20)
        snap = engine.snapshots()[0]
    finally:
        engine.stop()
    console = Console(width=120, record=True, color_system=None, file=io.StringIO())
    console.print(overview(snap, host="here"))
    text = words(console.export_text())
    assert "Printed by the log before its first loss: train.log" in text
    assert "Trainable params" in text and "Epoch 0" not in text
    assert snap.meta["printed"] == {str(log): {"settings": [list(kv) for kv in snap_settings(log)], "hardware": None}}


def snap_settings(log: Path) -> list[tuple[str, str]]:
    """What `runwatch check` (one-shot) collects from the same log."""
    from runwatch.commands.check import check_run
    from runwatch.config import load_config
    from runwatch.plan import plan_runs

    [run] = plan_runs([str(log)])
    [(name, found)] = check_run(run, load_config(None), None, None).preambles
    assert name == "train.log"
    return found.settings


NANOCHAT = REALRUNS.parent / "corpus/raw/nanochat_pr492_speedrun_d24_feb01.training_output.log"


def page_of_history(log: Path, *, last_step: int) -> tuple[str, float | None]:
    """The overview of `log` once runwatch has read it in one go (a log written two days before), and the
    start its snapshot gives."""
    two_days_ago = time.time() - 2 * 86400
    os.utime(log, (two_days_ago, two_days_ago))
    engine = Engine([str(log)], EngineOptions(poll_interval=0.1, system=False))
    engine.start()
    try:
        wait_for(lambda: any(s.progress.step == last_step and not s.reading_history for s in engine.snapshots()),
                 timeout=20)
        snap = engine.snapshots()[0]
    finally:
        engine.stop()
    console = Console(width=120, record=True, color_system=None, file=io.StringIO())
    console.print(overview(snap, host="here"))
    return words(console.export_text()), snap.progress.started_t


def test_a_history_without_times_read_long_after_has_no_made_up_start(tmp_path: Path) -> None:
    """nanochat states no time on its lines, only its `total time`: read in one go two days after it was
    written, the page said the run started `total time` before runwatch opened it. Its start is unknown;
    the runtime is still the log's own."""
    log = tmp_path / "train.log"
    lines = NANOCHAT.read_text(encoding="utf-8").splitlines(keepends=True)[:1200]
    log.write_text("".join(lines), encoding="utf-8")
    last = [x for x in lines if x.startswith("step ")][-1]
    text, started = page_of_history(log, last_step=int(last.split()[1].split("/")[0]))
    assert started is None
    assert f"started {STARTED_UNKNOWN}" in text
    minutes = float(last.split("total time: ", 1)[1].split("m", 1)[0])
    assert f"runtime {fmt_duration(minutes * 60)}" in text


def test_a_stamped_history_starts_at_its_first_stamp(tmp_path: Path) -> None:
    """Megatron states each line's time: read in one go long after, its start is its first stamp (April
    2024), not the time runwatch read it less the run's span."""
    log = tmp_path / "train.log"
    log.write_text("\n".join(megatron_log(50)) + "\n", encoding="utf-8")
    text, started = page_of_history(log, last_step=50)
    assert started is not None and iso_utc(started).startswith("2024-04-0")
    assert f"started {iso_utc(started)}" in text
