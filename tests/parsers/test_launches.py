"""A log's opening line printed again after a fatal error is a new launch (runwatch.parsers.launches), on real logs
of launches appended to one file (tests/fixtures/found/README.md)."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from runwatch.model import Event, Kind
from runwatch.parsers.launches import LaunchWatch
from tests.support.found import FOUND, found_lines, source_records
from tests.support.realruns import check_json

HYDRA = "hydra_template_train_log_launches.log.gz"
FRNET = "frnet_mmengine_test_launches.log.gz"


def test_the_opening_line_again_after_a_traceback_is_a_launch_and_not_before() -> None:
    """The Hydra template's launches each open with `[stamp][src.utils.utils][INFO] - Enforcing tags! …`: one after a
    traceback is a new launch, at its own line; one after a launch that failed in no way is none (a repeat with no
    failure before it changes nothing), nor is the same text with other words after it."""
    lines = found_lines(HYDRA)
    opening = [i for i, x in enumerate(lines) if x.endswith("] - Enforcing tags! <cfg.extras.enforce_tags=True>")]
    headers = [i for i, x in enumerate(lines) if x.startswith("Traceback (most recent call last)")]
    watch = LaunchWatch()
    launched = [i for i, x in enumerate(lines) if (r := watch.line(x)) is not None and r.event == Event.LAUNCHED]
    want = [i for before, i in zip(opening, opening[1:], strict=False) if any(before < j < i for j in headers)]
    assert launched == want and 20 < len(launched) < len(opening) - 1, (len(launched), len(opening))
    quiet = LaunchWatch()
    assert [quiet.line(x) for x in [lines[0], "ok", lines[0], lines[0] + " and more"]] == [None] * 4
    failing = LaunchWatch()  # a worker log that opens with its launch's traceback: each later one is no launch
    header = lines[headers[0]]
    assert [failing.line(x) for x in [header, "  File \"train.py\", line 3", "ValueError: x", header]] == [None] * 4


@pytest.mark.parametrize("name", [HYDRA, FRNET])
def test_a_crash_of_an_earlier_launch_is_over_once_a_later_one_opens(name: str) -> None:
    """Two reviews: logs of launches appended to one file whose training prints no step line (a Hydra template's
    `train.log`, an mmengine test script run nine times) read `crashed`, a critical crash still firing at the end, for
    a traceback of an early launch, though the last launches ran to their end. They are `ended`; `check` notes the
    fatal errors the run went on after; nothing of training was read, so its status is 3 (UNREAD)."""
    _, recs = source_records(name)
    events = [r.event for r in recs if r.kind is Kind.EVENT]
    assert Event.LAUNCHED in events and events[-1] == Event.LAUNCHED, events[-6:]
    code, [run], _ = check_json(FOUND / name)
    assert (code, run["state"]) == (3, "ended") and not run["alerts"], run
    assert any("the run went on after" in n for n in run["notes"]), run["notes"]


def test_tail_of_a_pipe_of_launches_ends_with_no_crash_firing() -> None:
    """`cat train.log | runwatch tail -` of the Hydra log: its end is the last launch's, which raised nothing."""
    import json

    p = subprocess.run([sys.executable, "-m", "runwatch", "tail", "-", "--json", "--interval", "0.2"],
                       input=gzip.decompress((FOUND / HYDRA).read_bytes()), capture_output=True, timeout=60)
    last = json.loads(p.stdout.decode().splitlines()[-1])
    assert last["state"] == "ended" and [a for a in last["alerts"] if a["state"] == "firing"] == [], last
    assert p.returncode == 3


def test_launches_whose_format_logs_evaluations_only_are_told_by_their_opening_line() -> None:
    """A review's log of 13 launches of a speech model's LoRA fine-tune: each logs `Initial validation loss: 11.7` (a
    `kv` evaluation, so a format is read) and no step line; one ran its 13 epochs, later ones crashed, and the last,
    opened by the log's first line again after a traceback logged by `logger.error`, reached `Starting epoch 1/13`. It
    read `crashed`, a critical crash still firing (the launches were watched only while no format was read): with no
    step yet, the opening line again is a launch, read alike line by line and through the fast path."""
    name = "csm_lora_launches_eval_only.log.gz"
    fmt, recs = source_records(name)
    assert fmt == "kv" and not [r for r in recs if r.kind is Kind.STEP]
    launched = [r.line for r in recs if r.event == Event.LAUNCHED]
    last_crash = max(r.line for r in recs if r.event == Event.TRACEBACK)
    assert len(launched) == 5 and launched[-1] > last_crash, (launched, last_crash)
    assert found_lines(name)[launched[-1] - 1].endswith(" - __main__ - INFO - Loading CSM model: sesame/csm-1b")
    code, [run], _ = check_json(FOUND / name)  # `check` reads the file through the fast path
    assert (code, run["state"], run["alerts"]) == (0, "ended", []), run
    assert any("the run went on after 8 fatal errors" in n for n in run["notes"]), run["notes"]


def test_a_launch_after_steps_elects_its_own_bar(tmp_path: Path) -> None:
    """A review's `nohup.out` of three HF Trainer launches: a bar to `560/240003` and a Ctrl-C, a ValueError at start,
    then a bar `0/40001`. As the file stood 25 minutes into the third (its first 233,387 bytes), its bar read as an
    evaluation at step 560 of the first, and the run `crashed` (a critical crash firing for the 5 h 48 min it trained).
    The log's first line again after the fatal errors is a new launch, whose Trainer draws its own training bar."""
    from runwatch.parsers.source import SourceParser
    from runwatch.watcher.lines import LineSplitter

    data = gzip.decompress((FOUND / "hf_reward_model_three_launches_nohup.out.gz").read_bytes())[:233_387]
    splitter = LineSplitter()
    lines = splitter.feed(data) + splitter.feed(b"\n")
    sp = SourceParser("nohup.out")
    recs = sp.feed(lines, 1, 0.0) + sp.flush()
    assert sp.format == "hf-trainer"
    opening = [i + 1 for i, x in enumerate(lines) if x.endswith("] TF-TRT Warning: Could not find TensorRT")]
    assert [r.line for r in recs if r.event == Event.LAUNCHED] == opening[1:]
    steps = [(r.step, r.total_steps) for r in recs if r.kind is Kind.STEP]
    assert steps[-1] == (2998, 40001) and (560, 240003) in steps
    assert not [r for r in recs if r.kind is Kind.EVAL]  # the new bar is no evaluation
    log = tmp_path / "nohup.out"
    log.write_bytes(data)
    code, [run], _ = check_json(log)
    assert (code, run["state"], run["step"], run["total_steps"], run["alerts"]) == (0, "ended", 2998, 40001, [])


def _spliced(gap: int, filler: int = 0) -> bytes:
    """A real tqdm loop's log (`sft_bar_free_postfix.log`, its first line urllib3's `NotOpenSSLWarning`) with a real
    traceback (the three-launch `nohup.out`'s ValueError) spliced in half-way, and the log's first line again `gap` bar
    frames after it (a relaunch at once: 0; a warning printed again while the run went on), after `filler` lines of
    its own preamble (no step among them)."""
    lines = found_lines("sft_bar_free_postfix.log")
    frames = [i for i, x in enumerate(lines) if "/375 [" in x]
    at = frames[len(frames) // 2]
    nohup = found_lines("hf_reward_model_three_launches_nohup.out.gz")
    header = nohup.index("Traceback (most recent call last):", 930)
    block = nohup[header:header + 6]
    assert block[-1].startswith("ValueError: Some specified arguments")
    after = frames[frames.index(at) + gap] if gap else at
    spliced = [*lines[:at], *block, *lines[at:after], *lines[1:1 + filler], lines[0], *lines[after:]]
    return ("\n".join(spliced) + "\n").encode()


@pytest.mark.parametrize("sizes", [(1 << 20,), (4096,), (700, 3000, 50)])
def test_the_opening_line_again_mid_run_is_a_launch_only_right_after_the_failure(sizes: tuple[int, ...]) -> None:
    """A code review: once a run has stepped, its log's first line again (a warning its loader's workers print anew)
    after a traceback it survived made a launch line by line and none in the fast path (the row reader only counted
    it), and an HF run's evaluation bar then read as its training bar. After steps a launch follows the failure at
    once, with no step on since; both readers alike."""
    from tests.support.readers import check

    at_once, _ = check(_spliced(0), sizes)
    assert [r.event for r in at_once if r.event in (Event.TRACEBACK, Event.LAUNCHED)] == [Event.TRACEBACK, Event.LAUNCHED]
    for gap, filler in ((2, 0), (20, 0), (0, 12)):  # a step on since the failure, or long after it: no launch
        later, _ = check(_spliced(gap, filler), sizes)
        assert [r.event for r in later if r.event in (Event.TRACEBACK, Event.LAUNCHED)] == [Event.TRACEBACK], (gap, filler)


def test_a_format_given_still_tells_launches(tmp_path: Path) -> None:
    """A code review: with `--format hf-trainer` the parser reads from the first line, so the watch kept no opening
    line and the three-launch `nohup.out` at step 2,998 of its third launch read `crashed` again."""
    data = gzip.decompress((FOUND / "hf_reward_model_three_launches_nohup.out.gz").read_bytes())[:233_387]
    log = tmp_path / "nohup.out"
    log.write_bytes(data)
    code, [run], _ = check_json(log, extra=("--format", "hf-trainer"))
    assert (code, run["state"], run["step"], run["total_steps"]) == (0, "ended", 2998, 40001)


@pytest.mark.parametrize("sizes", [(1 << 20,), (4096,)])
def test_a_format_given_reads_the_opening_line_in_the_fast_path_too(sizes: tuple[int, ...]) -> None:
    """A code review: with the format given, the fast path reads a run's lines from the first on without `_line`, so
    its launch watch kept no opening line where `feed` read one. The run lab's nanoGPT log (`number of parameters:
    0.17M`, then `iter N: loss …`) with a real traceback and its first line again right after, `--format nanogpt`."""
    from tests.support.paths import FIXTURES
    from tests.support.readers import check

    lines = (FIXTURES / "realruns/gpu-nanogpt-healthy/run/train.log").read_text().splitlines()
    nohup = found_lines("hf_reward_model_three_launches_nohup.out.gz")
    header = nohup.index("Traceback (most recent call last):", 930)
    half = len(lines) // 2
    data = ("\n".join([*lines[:half], *nohup[header:header + 6], lines[0], *lines[half:]]) + "\n").encode()
    recs, _ = check(data, sizes, fmt="nanogpt")
    assert [r.event for r in recs if r.event in (Event.TRACEBACK, Event.LAUNCHED)] == [Event.TRACEBACK, Event.LAUNCHED]


def test_relaunches_after_a_segfault_and_a_dataloader_death_are_launches() -> None:
    """HiFi-TSE's log, relaunched by hand from its checkpoints after glibc's abort, a segfault and a DataLoader worker's
    death (each relaunch opening with `Device: cuda`): with launches told after steps, the last failure read as the
    finished run's critical crash until a DataLoader death was taken to end a launch too (a code review's check)."""
    name = "hifi_tse_relaunches_abort_segfault.log.gz"
    _, recs = source_records(name)
    launched = [r.line for r in recs if r.event == Event.LAUNCHED]
    assert len(launched) == 3 and found_lines(name)[launched[-1] - 1] == "Device: cuda"
    code, [run], _ = check_json(FOUND / name)
    assert (code, run["state"], run["alerts"]) == (0, "finished", [])
    assert any("started again 3 times" in n for n in run["notes"]), run["notes"]
