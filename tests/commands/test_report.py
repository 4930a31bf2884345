"""`runwatch report` on real recorded runs: every section, the right numbers, real PNGs.

The numbers the tests expect are read from the fixtures here (the log's own
lines, the TensorBoard file, the checkpoint directories), not from runwatch's
output, so a wrong reading shows as a mismatch.
"""

from __future__ import annotations

import base64
import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from runwatch.cli import main
from runwatch.present import fmt_value, iso_utc
from tests.support.checkpoints import torch_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NANOCHAT = FIXTURES / "corpus/raw/nanochat_pr492_speedrun_d24_feb01.training_output.log"
HF_NAN = FIXTURES / "realruns/hf-nan/run"
WANDB = FIXTURES / "realruns/hf-wandb-healthy/run"
TENSORBOARD = FIXTURES / "realruns/nanogpt-tb-healthy/run"
META = FIXTURES / "nanochat_meta/meta_000020.json"
SECTIONS = ["## Overview", "## Hyperparameters", "## Curves", "## Summaries", "## Health"]
LOSS_BLUE = (0x1F, 0x77, 0xB4)
NAN_RED = (0xD6, 0x27, 0x28)


def report(path: Path, out: Path, *extra: str) -> tuple[int, str]:
    code = main(["report", str(path), "-o", str(out), *extra])
    return code, (out / "report.md").read_text("utf-8") if (out / "report.md").exists() else ""


@pytest.fixture(scope="module")
def nanochat(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    out = tmp_path_factory.mktemp("nanochat")
    return (*report(NANOCHAT, out), out)


@pytest.fixture(scope="module")
def hf_nan(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    out = tmp_path_factory.mktemp("hfnan")
    return (*report(HF_NAN, out), out)


def row(md: str, key: str) -> str:
    """The value of the first two-column row `key` in the Markdown."""
    found = re.search(rf"^\| {re.escape(key)} \| (.*) \|$", md, re.M)
    assert found, f"no row {key!r}"
    return found.group(1)


def sections_in_order(md: str) -> None:
    at = [md.index(s) for s in SECTIONS]
    assert at == sorted(at)


def pixels(path: Path, size: tuple[int, int]) -> np.ndarray:
    """The PNG as RGB bytes, after checking it is `size` (width, height)."""
    from matplotlib.image import imread

    image = imread(path)
    assert image.shape[1::-1] == size
    return (image[..., :3] * 255).round().astype(np.int64)


def holds(rgb: np.ndarray, colour: tuple[int, int, int]) -> int:
    return int((np.abs(rgb - np.array(colour)).sum(axis=-1) < 12).sum())


def test_nanochat_report_has_every_section_with_the_logs_numbers(nanochat: tuple[int, str, Path]) -> None:
    code, md, out = nanochat
    assert code == 0
    sections_in_order(md)
    lines = NANOCHAT.read_text("utf-8", "replace").splitlines()
    steps = [ln for ln in lines if re.match(r"step \d+/\d+", ln)]
    last = re.match(r"step (\d+)/(\d+).*\| loss: ([\d.]+)", steps[-1])
    assert last
    assert row(md, "steps") == f"{int(last.group(1)):,} of {int(last.group(2)):,}"
    assert row(md, "end") == fmt_value("loss", float(last.group(3)))
    minutes = next(float(m.group(1)) for ln in lines if (m := re.match(r"Total training time: ([\d.]+)m", ln)))
    assert f"({math.floor(minutes * 6000 + 1e-6) / 100:.2f} s," in row(md, "runtime")
    saves = sum("Saved model parameters" in ln for ln in lines)
    assert row(md, "count") == str(saves)
    assert row(md, "state") == "finished"
    assert "Verdict: Healthy" in md
    assert " per 1k steps)" in row(md, "last 10% of the run")  # 16,703 steps: its last tenth spans 1,670
    gpu = next(m.group(1) for ln in lines if (m := re.match(r"GPU: (.+?) \|", ln)))
    world = next(m.group(1) for ln in lines if (m := re.search(r"world size: (\d+)", ln)))
    assert row(md, "hardware") == f"{world} × {gpu} (as the log says)"
    layers = next(ln.split(": ")[1] for ln in lines if ln.startswith("num_layers: "))
    assert f"| num_layers | {layers} |\n" in md  # the settings the log printed before its first loss


def test_training_curve_png_draws_the_loss(nanochat: tuple[int, str, Path]) -> None:
    _, md, out = nanochat
    assert "![loss and validation loss; learning rate below](training_curve.png)" in md
    rgb = pixels(out / "training_curve.png", (1000, 600))
    top = rgb[: 600 * 2 // 3]  # the loss panel: two thirds of the height
    assert holds(top, LOSS_BLUE) > 500
    assert holds(rgb, NAN_RED) == 0  # nanochat's run has no NaN to mark
    throughput = pixels(out / "throughput.png", (1000, 800))  # over steps, over time, MFU: a third each
    assert holds(throughput[:266], LOSS_BLUE) > 300 and holds(throughput[266:533], LOSS_BLUE) > 300


def test_hf_run_with_a_nan_reports_it_and_marks_it(hf_nan: tuple[int, str, Path]) -> None:
    code, md, out = hf_nan
    assert code == 2  # critical, as `runwatch check` exits
    sections_in_order(md)
    text = (HF_NAN / "train.log").read_text("utf-8", "replace")
    losses = re.findall(r"\{'loss': '([^']+)'", text)
    assert row(md, "end") == fmt_value("loss", float(losses[-1]))
    runtime = float(re.findall(r"'train_runtime': '([\d.]+)'", text)[-1])
    assert f"({math.floor(runtime * 100) / 100:.2f} s, from the trainer's train_runtime)" in row(md, "runtime")
    total = re.findall(r"\| (\d+)/(\d+) \[", text)[-1]
    assert row(md, "steps") == f"{int(total[0]):,} of {int(total[1]):,}"
    assert row(md, "count") == "0"  # no checkpoint directory was recorded for this run
    health = md[md.index("## Health"):]
    assert "| critical | nonfinite | metric=grad_norm |" in health
    assert "Verdict: Unhealthy; critical alerts: nonfinite;" in health
    assert holds(pixels(out / "grad_norm.png", (1000, 350)), NAN_RED) > 20  # the NaN steps are marked


def test_wandb_offline_run_reports_its_config_host_and_checkpoints(tmp_path: Path) -> None:
    code, md = report(WANDB, tmp_path)
    assert code == 0
    sections_in_order(md)
    meta = json.loads(next((WANDB / "wandb").glob("offline-run-*/files/wandb-metadata.json")).read_text()) \
        if list((WANDB / "wandb").glob("offline-run-*/files/wandb-metadata.json")) else None
    if meta is not None:
        assert row(md, "host") == meta["host"]
    else:
        assert row(md, "host") == "vm"  # the run lab's machine, as the .wandb file names it
    assert "From the W&B run's config" in md and "From trainer_state.json" in md
    assert "| learning_rate | 0.001 | the W&B run's config |" in md  # among the main ones, first
    assert "| learning_rate | 0.001 |\n" in md  # and in the whole config
    checkpoints = sorted((WANDB / "out").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    assert row(md, "count") == str(len(checkpoints))
    assert row(md, "last").endswith(checkpoints[-1].name)
    text = (WANDB / "train.log").read_text("utf-8", "replace")
    runtime = float(re.findall(r"'train_runtime': '([\d.]+)'", text)[-1])
    assert f"({math.floor(runtime * 100) / 100:.2f} s," in row(md, "runtime")
    assert row(md, "started").startswith("20")  # W&B says when the run started


def test_tensorboard_run_numbers_come_from_the_event_file(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    code, md = report(TENSORBOARD, tmp_path)
    assert code == 0
    sections_in_order(md)
    loss: list[tuple[int, float]] = []
    for event in EventFileLoader(str(next((TENSORBOARD / "runs").iterdir()))).Load():
        loss += [(event.step, v.tensor.float_val[0] if v.HasField("tensor") else v.simple_value)
                 for v in event.summary.value if v.tag == "train/loss"]
    assert row(md, "end") == fmt_value("loss", loss[-1][1])
    assert row(md, "steps") == f"{loss[-1][0]:,}"
    low = min(loss, key=lambda p: p[1])
    assert row(md, "minimum") == f"{fmt_value('loss', low[1])} at step {low[0]}"
    saves = (TENSORBOARD / "train.log").read_text("utf-8").count("saving checkpoint")
    assert row(md, "count") == str(saves)
    assert pixels(tmp_path / "training_curve.png", (1000, 600)).size


def test_html_is_one_file_with_the_plots_inlined(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(HF_NAN), "-o", str(tmp_path), "--format", "html"]) == 2
    page = (tmp_path / "report.html").read_text("utf-8")
    assert capsys.readouterr().out.strip() == str(tmp_path / "report.html")
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 3 and 'src="training_curve.png"' not in page
    assert base64.b64decode(images[0]).startswith(b"\x89PNG\r\n\x1a\n")
    assert page.index("<h2>Overview</h2>") < page.index("<h2>Health</h2>")


def test_json_gives_the_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(HF_NAN), "-o", str(tmp_path), "--json"]) == 2
    got = json.loads(capsys.readouterr().out)
    text = (HF_NAN / "train.log").read_text("utf-8", "replace")
    assert got["type"] == "report" and got["report"] == str(tmp_path / "report.md")
    assert got["loss"]["end"] == float(re.findall(r"\{'loss': '([^']+)'", text)[-1])
    assert got["plots"] == ["training_curve.png", "grad_norm.png", "throughput.png"]
    assert [a["rule"] for a in got["alerts"]] == ["nonfinite", "nonfinite"]


def test_several_runs_get_a_directory_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["report", str(HF_NAN), str(TENSORBOARD), "-o", str(tmp_path)])
    printed = capsys.readouterr().out.split()
    assert len(printed) == 2 and len(set(printed)) == 2
    assert all(Path(p).name == "report.md" and Path(p).parent.parent == tmp_path for p in printed)


def test_a_missing_path_exits_as_check_does(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "nope.log")
    assert main(["report", missing, "-o", str(tmp_path / "r")]) == main(["check", missing]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and err[0] == err[1] and "no such file" in err[0]
    assert not (tmp_path / "r").exists()


def test_a_hang_is_time_lost_once_not_once_per_unlogged_step(tmp_path: Path) -> None:
    """torchrun-tee-hang: rank 1 hangs 75 s at iter 150 in a log that prints every 5th iter. The 75 s
    are one iteration's: counted once, not five times (the report said 6m15s lost of a 94 s run)."""
    from runwatch.present import fmt_duration

    run = FIXTURES / "realruns/torchrun-tee-hang/run"
    code, md = report(run, tmp_path)
    times = [float(m.group(1)) / 1000 for ln in (run / "train.log").read_text().splitlines()
             if (m := re.match(r"\[default0\]:iter \d+: .*time ([\d.]+)ms", ln))]
    median = float(np.median(times))
    lost = sum(t - median for t in times if t > 3 * median)  # each slow iteration is alone between fast ones
    assert row(md, "time lost to stalls").startswith(f"{fmt_duration(lost)} in ")
    assert lost > 70


def test_a_long_stamped_run_reports_its_nan_and_its_hang_at_their_steps(tmp_path: Path) -> None:
    """20,000 Megatron steps (stamped real lines, tests.support.stamped): a 300 s hang at step 1500 and
    `lm loss: NAN` at steps 2003-2007, both long folded into the series' buckets by the end. The report
    said the first NaN was at its bucket's last step (2008) and lost the hang in its bucket's mean."""
    from tests.support.stamped import megatron_log

    log = tmp_path / "train.log"
    log.write_text("\n".join(megatron_log(20_000, nan_at=2003)) + "\n")
    code, md = report(log, tmp_path / "r")
    assert code == 2
    assert row(md, "non-finite values") == "5, the first at step 2003"
    lost = row(md, "time lost to stalls")
    assert lost.startswith(("4m5", "5m0", "5m ")) and " in 1 step " in lost, lost  # 300 s less a median step
    assert "loss not finite at step 2003 (5 values), finite again at the end" in md


def test_a_hang_between_stamped_steps_is_time_lost_as_the_stall_alert_says(tmp_path: Path) -> None:
    """A new user's review: a Megatron-DeepSpeed log silent 47 minutes between two iterations (their own
    `elapsed time per iteration` does not see it) had a `stall` in Health and `0s in 0 steps` of stalls
    (`0.0% of the 9h02m the steps took`, of a 9h49m runtime) in Summaries: only the logged step times
    were summed. The stamps say the hang (tests.support.stamped: 300 s before step 1500)."""
    from tests.support.stamped import megatron_log

    log = tmp_path / "train.log"
    log.write_text("\n".join(megatron_log(1600, hang_in_step_time=False)) + "\n")
    code, md = report(log, tmp_path / "r")
    assert code == 2 and "| critical | stall |" in md
    lost = row(md, "time lost to stalls")
    assert lost.startswith(("4m5", "5m0", "5m ")) and " in 1 step " in lost, lost  # 300 s less a median step
    runtime = re.match(r"(\S+) \(.*from the log's times\)", row(md, "runtime"))
    assert runtime and lost.endswith(f"of the {runtime[1]} the steps took)"), (lost, row(md, "runtime"))


def test_the_first_steps_compile_is_no_stall(nanochat: tuple[int, str, Path]) -> None:
    """nanochat's step 0 takes 18 s (torch.compile) of 0.65 s steps: the report said `17s in 1 step` lost
    to stalls of a run that never stalled."""
    assert row(nanochat[1], "time lost to stalls").startswith("0s in 0 steps ")


@pytest.mark.parametrize("name", ["hf-healthy", "hf-nan", "lightning-tqdm-healthy"])
def test_an_evaluation_between_bar_frames_is_no_stall(name: str, tmp_path: Path) -> None:
    """A bar's log has no times of its own: the replay rebuilds them from the bar's elapsed time and puts a
    pause of its own (30 s) at each evaluation. The report counted those as stalls: `1m29s in 3 steps over
    3× the median step time (91.0% of the 1m38s the steps took)` for an HF run of 7.9 s with 3 evaluations,
    none of which took a second (its `eval_runtime`s)."""
    run = FIXTURES / "realruns" / name / "run"
    log = (run / "train.log").read_bytes().decode()
    assert len(re.findall(r"'eval_loss'|Validation DataLoader 0: 100%", log)) >= 3  # evaluations happened
    code, md = report(run, tmp_path)
    assert code in (0, 2)  # hf-nan's grad norm goes NaN: critical
    lost = row(md, "time lost to stalls")
    took = re.fullmatch(r"0s in 0 steps over 3× the median step time \(0\.0% of the (\d+\.\d)s the steps took\)", lost)
    assert took and float(took[1]) < 10, lost  # seconds, as the run took


@pytest.mark.parametrize("name", ["lightning-tqdm-dlhang", "accelerate-hang", "keras-v1-dlhang"])
def test_a_hang_in_a_bar_log_is_the_time_its_bar_says(name: str, tmp_path: Path) -> None:
    """The run lab's 75 s hangs (a data loader's, a rank's in a collective) under a tqdm bar and Keras's. The
    bar's rate is smoothed: after the hang it read seconds a step for a hundred 5 ms steps, and the report
    summed it: `7m01s in 104 steps` lost of Lightning's 84 s run, `2m38s in 215 steps` of accelerate's 91 s;
    Keras's mean step time, summed, said `34s in 9 steps` of a runtime of 39 s for its 86 s run. The bar's
    elapsed time (Keras's: its mean times its batches) says the hang: one stall of about 75 s."""
    from runwatch.present import fmt_duration

    run = FIXTURES / "realruns" / name
    manifest = json.loads((run / "manifest.json").read_text())
    planted = float(re.search(r"~(\d+)", manifest["fault"])[1])  # type: ignore[index]
    code, md = report(run / "run", tmp_path)
    lost = re.fullmatch(r"(\S+) in ([12]) steps? over 3× the median step time \((\d+\.\d)% of the (\S+) the steps took\)",
                        row(md, "time lost to stalls"))
    assert lost, row(md, "time lost to stalls")
    assert lost[1] in {fmt_duration(planted - d) for d in range(0, 4)}, (lost[1], planted)  # less a few steps' time
    assert float(lost[3]) > 80 and lost[4] in {fmt_duration(planted + d) for d in range(0, 10)}, lost[0]


def test_a_log_without_times_or_step_times_has_no_made_up_step_time(tmp_path: Path) -> None:
    """The tutorial loop prints neither: the replay's clock steps 1 s a step, and the report gave that as
    `step time median | 1000ms` and a share of `the 11d13h the steps took`, a made-up figure."""
    code, md = report(FIXTURES / "realruns/tutorial-nan/run/train.log", tmp_path)
    assert code == 2
    assert row(md, "runtime") == row(md, "step time median") == row(md, "time lost to stalls") == "not known"


def test_a_file_of_no_known_format_writes_nothing_and_exits_3(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    prose = FIXTURES / "README.md"  # a file runwatch reads no record of
    assert main(["report", str(prose), "-o", str(tmp_path / "r")]) == main(["check", str(prose)]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert "nothing understood" in err[0] and "runwatch parse --format NAME" in err[0]  # report has no log --format
    assert not (tmp_path / "r").exists()


def test_an_output_dir_that_cannot_be_made_is_a_usage_error(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("")
    assert main(["report", str(HF_NAN), "-o", str(tmp_path / "file" / "sub")]) == 64
    assert capsys.readouterr().err.strip().splitlines() == [
        f"runwatch: cannot write the report into {tmp_path / 'file' / 'sub'}: Not a directory"]


def test_a_lightning_runs_hparams_are_its_hyperparameters_and_a_made_up_clock_no_runtime(tmp_path: Path) -> None:
    """The run lab's Lightning run with the rich bar (printed once, when fit stopped) and a CSVLogger: its
    hparams.yaml is the config; the rows of metrics.csv carry no time, so the runtime is not known (the
    replay's made-up clock said 5m40s "from the log's times" for a 7 s run); the bar's wrapped metrics
    after the frame (`train_loss: 1.639`) are no setting."""
    run = FIXTURES / "realruns/lightning-default-healthy/run"
    code, md = report(run, tmp_path / "out")
    assert code == 0
    assert "From Lightning's hparams.yaml" in md and row(md, "dim").startswith("64")
    assert row(md, "runtime") == "not known"
    assert "train_loss" not in md.split("## Hyperparameters")[1].split("## Curves")[0]


def test_a_nanochat_runs_checkpoint_meta_file_is_in_its_hyperparameters(tmp_path: Path) -> None:
    """nanochat writes its run's config only into `meta_XXXXXX.json` beside its checkpoints: a run directory
    with the log (the corpus run's first 600 lines) and `base_checkpoints/d4/` lists the meta file's settings,
    flattened (`model_config.n_layer`), with the file named as their origin."""
    run = tmp_path / "run"
    run.mkdir()
    lines = NANOCHAT.read_text("utf-8").splitlines(keepends=True)[:600]
    (run / "train.log").write_text("".join(lines), "utf-8")
    ckpt = run / "base_checkpoints" / "d4"
    torch_file(ckpt / "model_000020.pt")
    torch_file(ckpt / "optim_000020_rank0.pt")
    shutil.copyfile(META, ckpt / "meta_000020.json")
    meta = json.loads(META.read_text("utf-8"))
    code, md = report(run, tmp_path / "out")
    assert code in (0, 1)
    settings = md.split("## Hyperparameters")[1].split("## Curves")[0]
    assert "From nanochat's checkpoint meta_000020.json" in settings
    settings = settings.split("From nanochat's checkpoint meta_000020.json")[1]
    assert row(settings, "model_config.n_layer") == str(meta["model_config"]["n_layer"])
    assert row(settings, "user_config.matrix_lr") == str(meta["user_config"]["matrix_lr"])
    assert row(settings, "total_batch_size") == str(meta["total_batch_size"])
    assert "loop_state" not in settings and "dataloader_state_dict" not in settings


def test_a_short_runs_trend_is_not_stretched_to_1k_steps_nor_read_from_noise(tmp_path: Path) -> None:
    """The tutorial run's 600 steps, logged every 10: its last tenth is six noisy points (0.12–0.29) whose
    line rose 44%, said as "rising 876% per 1k steps" and "loss rising 44%" in the verdict. Now no rate
    per 1k steps appears, the six points are said to be too noisy to tell, and the verdict names no trend."""
    code, md = report(FIXTURES / "realruns/tutorial-healthy/run", tmp_path / "out")
    assert code == 0
    assert "per 1k steps" not in md
    tail = row(md, "last 10% of the run")
    assert tail.startswith("no clear trend: ") and "(6 points, too noisy to tell)" in tail
    assert "Verdict: Healthy.\n" in md


def test_a_run_with_too_few_points_at_its_end_says_so(tmp_path: Path) -> None:
    """The Keras run logs its loss once per epoch (5 epochs of 200 steps): the last tenth of its steps holds
    one point, too few for any line (the last-3-points fallback read a trend off 40% of the run)."""
    code, md = report(FIXTURES / "realruns/keras-v2-healthy/run", tmp_path / "out")
    assert code == 0
    assert row(md, "last 10% of the run") == "too few points to tell (1 in the last 10%, 5 needed)"
    assert "falling" not in md.split("Verdict:")[1]


def test_a_log_that_stamps_its_lines_says_when_the_run_started_and_ended(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Megatron's corpus lines carry `[YYYY-MM-DD HH:MM:SS]`: start and end are the first and last step's
    stamps (local time), where only a W&B run said them before."""
    from datetime import datetime

    found = json.loads((FIXTURES / "corpus/raw/excerpts_megatron.json").read_text("utf-8"))
    items = [e for v in found.values() for e in v] if isinstance(found, dict) else found
    lines = [x for e in items for x in (e["t"] if isinstance(e, dict) else e).splitlines()
             if re.search(r"\[\d{4}-\d\d-\d\d [\d:]+\] iteration", x)]
    log = tmp_path / "megatron.log"
    log.write_text("\n".join(lines) + "\n", "utf-8")
    assert main(["report", str(log), "-o", str(tmp_path / "out"), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    stamps = [datetime.strptime(m, "%Y-%m-%d %H:%M:%S").timestamp()
              for m in re.findall(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\]", "\n".join(lines))]
    assert (got["overview"]["start"], got["overview"]["end"]) == (stamps[0], stamps[-1])


def test_a_long_log_reports_its_exact_start_and_the_step_of_its_lowest_loss(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """20,000 Megatron lines (the corpus's stamped lines, renumbered, a second apart): the run's series fold
    older points into buckets, and the report gave the first bucket's mean as the start loss, a bucket's
    last step as the step of the lowest loss and a bucket's last time as the start (a new user's review,
    on a 500k-line log: `started` 23 minutes late, `minimum … at step 256` for a minimum at step 3)."""
    from datetime import datetime

    found = json.loads((FIXTURES / "corpus/raw/excerpts_megatron.json").read_text("utf-8"))
    items = [e for v in found.values() for e in v] if isinstance(found, dict) else found
    real = [x for e in items for x in (e["t"] if isinstance(e, dict) else e).splitlines()
            if re.search(r"\[\d{4}-\d\d-\d\d [\d:]+\] iteration", x) and "lm loss" in x]  # one is cut short
    t0 = datetime(2024, 4, 6, 3, 0, 0).timestamp()
    lines = []
    for i in range(20_000):
        line = real[i % len(real)]
        line = re.sub(r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\]",
                      datetime.fromtimestamp(t0 + i).strftime("[%Y-%m-%d %H:%M:%S]"), line)
        lines.append(re.sub(r"iteration\s+\d+/\s*\d+", f"iteration {i + 1:8d}/ {30_000:8d}", line))
    log = tmp_path / "megatron.log"
    log.write_text("\n".join(lines) + "\n", "utf-8")
    assert main(["report", str(log), "-o", str(tmp_path / "out"), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    losses = [float(re.search(r"lm loss: ([\d.E+-]+)", x).group(1)) for x in lines]  # type: ignore[union-attr]
    assert got["overview"]["start"] == t0
    assert got["loss"]["start"] == losses[0]
    assert got["loss"]["minimum"] == min(losses)
    assert got["loss"]["min_step"] == losses.index(min(losses)) + 1


def test_a_crashs_cause_is_the_one_its_alert_names(tmp_path: Path) -> None:
    """A new user's review: the overview's crash cause named the last fatal line's rank while Health named
    the root cause's. torchrun's report on the run lab's raise: both now say rank 1's IndexError."""
    code, md = report(FIXTURES / "realruns/torchrun-tee-raise/run", tmp_path / "r")
    assert code == 2
    cause = row(md, "crash cause")
    assert cause.startswith("a worker process failed on rank 1: IndexError: index 154 is out of bounds")


def test_a_log_without_times_takes_its_start_and_end_from_its_tensorboard_events(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A new user's review: nanoGPT's log has no times, so the overview said "not known" for start and end
    while the TensorBoard file beside it stamps every event with its wall time."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    walls = [e.wall_time for e in EventFileLoader(str(next((TENSORBOARD / "runs").iterdir()))).Load()
             if any(v.tag == "train/loss" for v in e.summary.value)]
    code, md = report(TENSORBOARD, tmp_path / "md")
    assert code == 0
    from_tb = " (from TensorBoard's event times)"
    assert row(md, "started") == iso_utc(walls[0]) + from_tb and row(md, "ended") == iso_utc(walls[-1]) + from_tb
    took = walls[-1] - walls[0]
    assert row(md, "runtime").endswith(f"({math.floor(took * 100) / 100:.2f} s, from TensorBoard's event times)")
    assert row(md, "runtime").startswith(f"{math.floor(took * 10) / 10:g}s " if took < 10 else f"{int(took)}s ")
    capsys.readouterr()
    assert main(["report", str(TENSORBOARD), "-o", str(tmp_path / "j"), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)["overview"]
    assert got["start"] == pytest.approx(walls[0], abs=1e-3) and got["end"] == pytest.approx(walls[-1], abs=1e-3)


def test_checkpoint_saves_say_when_a_run_without_times_ended(tmp_path: Path) -> None:
    """The HF run's log has no times: without its W&B run, its checkpoints' files are the one clock left."""
    import os

    run = tmp_path / "run"
    shutil.copytree(WANDB, run, symlinks=True, ignore=shutil.ignore_patterns("wandb"))
    saved = {"checkpoint-40": 1_790_000_000.0, "checkpoint-80": 1_790_000_015.0, "checkpoint-120": 1_790_000_030.0}
    assert sorted(saved) == sorted(p.name for p in (run / "out").iterdir())
    for name, t in saved.items():
        for f in (run / "out" / name).rglob("*"):
            os.utime(f, (t, t))
    code, md = report(run, tmp_path / "out")
    assert code == 0
    assert row(md, "started") == "not known"  # a first save is no start
    assert row(md, "ended") == iso_utc(saved["checkpoint-120"]) + " (from checkpoint saves (their files' times))"


def test_a_progress_bars_zero_elapsed_time_is_no_runtime(tmp_path: Path) -> None:
    """Lightning's bars print `[00:00<…]` for epochs under a second: the report said "runtime 0s (0.0 s,
    from the log's elapsed time)" for a run of four epochs."""
    run = FIXTURES / "realruns/lightning-tqdm-healthy/run"
    assert "[00:00<" in (run / "train.log").read_text("utf-8", "replace")
    code, md = report(run, tmp_path)
    assert code == 0
    assert "0.0 s" not in row(md, "runtime") and "elapsed time" not in row(md, "runtime")
    # its step times (tqdm's it/s) where the bar's whole seconds say 0, never the replay's 30 s per evaluation
    assert row(md, "runtime").endswith("s, from the progress bar's clock and step times, less its evaluations,"
                                       " an estimate)")
    whole = json.loads((run.parent / "manifest.json").read_text())["duration_s"]  # the recorder's wall time
    assert float(re.search(r"\(([\d.]+) s,", row(md, "runtime")).group(1)) < whole


def test_a_slowdown_in_a_bar_log_is_the_runtime_its_bar_counts(tmp_path: Path) -> None:
    """The run lab's Keras run 8× slower from its third epoch: the run's median step time × its 1000 steps
    said 44 s where the bar's own epochs (their last frames' ms/step × 200 steps) count 29."""
    run = FIXTURES / "realruns/keras-v1-slow/run"
    text = re.sub(r"\x1b\[[0-9;]*m", "", (run / "train.log").read_text("utf-8", "replace"))
    ends = re.findall(r"^(\d+)/\1 \S+ \d+s (\d+)ms/step .* val_loss", text.replace("\r", "\n"), re.M)
    assert len(ends) == 5  # one per epoch
    counted = sum(int(steps) * int(ms) for steps, ms in ends) / 1000
    code, md = report(run, tmp_path)
    assert code == 1  # the slowdown warns
    said = float(re.search(r"\(([\d.]+) s,", row(md, "runtime")).group(1))
    assert abs(said - counted) < 1.0, (said, counted)


@pytest.mark.parametrize("name", ["hf-wandb-healthy", "hf-wandb-nan"])
def test_a_wandb_run_beside_its_console_log_keeps_the_bars_clock(name: str, tmp_path: Path) -> None:
    """A new user's review: with its W&B run beside it, an 8 s HF run's steps "took 39s" with 4.1 s lost to
    2 slow steps (a healthy run): each W&B row's `elapsed` (its `_runtime`, from the process's start) read
    as the console bar's moved the clock. The directory reports what its console log alone does."""
    run = FIXTURES / "realruns" / name / "run"
    assert (run / "wandb").is_dir()
    _, whole = report(run, tmp_path / "dir")
    _, alone = report(run / "train.log", tmp_path / "log")
    stalls = row(whole, "time lost to stalls")
    assert stalls == row(alone, "time lost to stalls") and stalls.startswith("0s in 0 steps")
    took = float(re.search(r"of the ([\d.]+)s the steps took", stalls).group(1))
    runtime = float(re.search(r"\(([\d.]+) s, from the trainer's train_runtime\)", row(whole, "runtime")).group(1))
    assert took <= runtime
