"""Crash and incident lines → event Records, on real text from the corpus copy.

Lines go through `split_rank` first, as the source feeds them.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch.model import Event, Kind, Record
from runwatch.parsers.events import OVERFLOW, EventDetector, _classify, _worth_a_look, saved_step
from runwatch.parsers.prefix import split_rank
from tests.support.corpus import CORPUS, json_excerpt, line_with, md_block, raw_lines
from tests.support.paths import FIXTURES

FAILURES = "excerpts_failures.json"
PREFIXES = "excerpts_torchrun_slurm.json"
SPEEDRUN = "nanochat_pr492_speedrun_d24_feb01.training_output.log"
SFT = "nanochat_pr657_sft_run.log"


def run(lines: tuple[str, ...] | list[str]) -> list[Record]:
    """Every record a fresh detector gives for `lines`, the flush included."""
    det = EventDetector()
    out = [rec for line in lines if (rec := det.feed(split_rank(line)[1])) is not None]
    if (rec := det.flush()) is not None:
        out.append(rec)
    return out


def events(lines: tuple[str, ...] | list[str]) -> list[str]:
    return [str(rec.event) for rec in run(lines)]


# ── every failure excerpt in the corpus ─────────────────────────────────────
# headline key → (the event it must give, every event it may give)
EXPECTED: dict[str, tuple[str, set[str]]] = {
    "F1": (Event.OOM, {Event.OOM}),  # ≤2.0 `RuntimeError: CUDA out of memory. … (GPU 0; …)`
    "F2": (Event.OOM, {Event.OOM}),  # 2.1 `torch.cuda.OutOfMemoryError`, typo `capacty`
    "F3": (Event.OOM, {Event.OOM}),  # 2.1 `0 bytes is free`
    "F4": (Event.OOM, {Event.OOM}),  # 2.2–2.4 `expandable_segments:True`
    "F5": (Event.OOM, {Event.OOM}),  # ≥2.5 `torch.OutOfMemoryError` + "During handling…" (chained, folded)
    "F6": (Event.OOM, {Event.OOM}),  # `[rank0]: torch.OutOfMemoryError` inside report bullets, cut mid-line
    "F7": (Event.NCCL_TIMEOUT, {Event.NCCL_TIMEOUT}),  # 1.x `[E ProcessGroupNCCL.cpp:737] [Rank 1] Watchdog…`
    "F8": (Event.NCCL_TIMEOUT, {Event.NCCL_TIMEOUT}),  # glued to a NeMo progress bar
    "F9": (Event.NCCL_TIMEOUT, {Event.NCCL_TIMEOUT}),  # 2.4/2.5 `[rank0]:[E1206 …]` + `[PG 1 Rank 0]`
    "F10": (Event.NCCL_TIMEOUT, {Event.NCCL_TIMEOUT}),  # 2.6/2.7 `[PG ID 0 PG GUID 0(default_pg) Rank 1]`
    "F11": (Event.NCCL_TIMEOUT, {Event.NCCL_TIMEOUT}),  # glued to a tqdm frame, cut at `collective operati`
    "F12": (Event.NCCL_ERROR, {Event.NCCL_ERROR, Event.TRACEBACK}),  # CI log: NCCL error, then an AssertionError
    "F13": (Event.NCCL_ERROR, {Event.NCCL_ERROR}),  # `报错信息：torch.distributed.DistBackendError: NCCL error in:`
    "F14": (Event.NCCL_ERROR, {Event.NCCL_ERROR}),  # 2.7 async `NCCL error:` on a WorkNCCL with Timeout(ms)
    "F15": (Event.CHILD_FAILED, {Event.CHILD_FAILED}),  # full report table
    "F16": (Event.CHILD_FAILED, {Event.CHILD_FAILED}),  # agent line, traceback, table cut in Root Cause
    "F17": (Event.CHILD_FAILED, {Event.CHILD_FAILED}),  # `[ERROR] failed (exitcode: 1)` via accelerate
    "F18": (Event.CHILD_FAILED, {Event.CHILD_FAILED}),  # glog `E0801 … failed (exitcode: 1)` after SIGTERMs
    "F19": (Event.KILLED, {Event.KILLED}),  # `exitcode: -9` with 3.12 caret lines
    "F20": (Event.KILLED, {Event.KILLED}),  # bare `Killed`
    "F21": (Event.KILLED, {Event.KILLED}),  # `已杀死`
    "F22": (Event.OOM, {Event.OOM}),  # kernel OOM killer: a host OOM
    "F23": (Event.DATALOADER_ERROR, {Event.DATALOADER_ERROR}),  # `is killed by signal: Killed.` in a traceback
    "F24": (Event.DATALOADER_ERROR, {Event.DATALOADER_ERROR}),  # `is killed by signal: Segmentation fault`
    "F25": (Event.DATALOADER_ERROR, {Event.DATALOADER_ERROR}),  # rich box, `❱ … exited unexpectedly`, no header
    "F26": (Event.DATALOADER_RETRY, {Event.DATALOADER_RETRY}),  # HF Hub retry printed twice
    "F27": (Event.DATALOADER_RETRY, {Event.DATALOADER_RETRY}),  # same inside `(APIServer pid=1) `
    "F28": (Event.DATALOADER_RETRY, {Event.DATALOADER_RETRY}),  # ReadTimeoutError, no `Retrying in`
    "F29": (Event.XID, {Event.XID}),  # Xid 45 cascade
    "F30": (Event.XID, {Event.XID}),  # dmesg -T Xids 43/31/94
    "F31": (Event.XID, {Event.XID}),  # "fallen off the bus", no Xid number
}
EXPECTED_PREFIXES: dict[str, set[str]] = {
    "Excerpt R1": set(),  # `[default0]:` step lines
    "Excerpt R2": set(),  # `[rank6]:[2024-…]` TORCH_LOGS debug lines
    "Excerpt R3": {Event.NCCL_TIMEOUT},  # `[80746] [rank0]:[E321 …]` watchdog
    "Excerpt R4": {Event.TIME_LIMIT},  # slurmstepd STEP … DUE TO TIME LIMIT
    "Excerpt R5": {Event.TIME_LIMIT},  # JOB + STEP of one job: one record
    "Excerpt R6": set(),  # Lightning's own "Time limit of 2m reached" x4: not SLURM's
}


def _excerpts(name: str) -> list[dict[str, str]]:
    return json.loads((CORPUS / "raw" / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("excerpt", _excerpts(FAILURES), ids=lambda e: e["h"].split(" — ")[0])
def test_every_failure_excerpt_gives_its_event(excerpt: dict[str, str]) -> None:
    key = excerpt["h"].split(" — ")[0]
    assert key in EXPECTED, f"new excerpt {key}: add its expected event to EXPECTED"
    must, may = EXPECTED[key]
    got = events(excerpt["t"].splitlines())
    assert must in got
    assert set(got) <= may, got


@pytest.mark.parametrize("excerpt", _excerpts(PREFIXES), ids=lambda e: e["h"].split(" — ")[0])
def test_launcher_excerpts(excerpt: dict[str, str]) -> None:
    key = excerpt["h"].split(" — ")[0]
    got = events(excerpt["t"].splitlines())
    assert set(got) == EXPECTED_PREFIXES[key]
    if key == "Excerpt R5":
        assert got == [Event.TIME_LIMIT]


# ── details of single records ───────────────────────────────────────────────
def _one(headline: str, event: str, index: int = 0, name: str = FAILURES) -> Record:
    recs = [r for r in run(json_excerpt(name, headline)) if r.event == event]
    return recs[index]


def test_oom_metrics_and_message_keep_the_exception_type() -> None:
    # F2: the 2.1 message with the `capacty` typo
    rec = _one("F2 —", Event.OOM)
    assert rec.kind == Kind.EVENT
    assert rec.message is not None and rec.message.startswith("torch.cuda.OutOfMemoryError: CUDA out of memory.")
    assert rec.metrics == {"requested_bytes": 32 * 2**20, "gpu": 0.0}
    # F6: the third bullet, `[rank7]: … GPU 7 …`, cut by the report generator
    rec = _one("F6 —", Event.OOM, 2)
    assert (rec.rank, rec.metrics["gpu"], rec.metrics["requested_bytes"]) == (7, 7.0, 352 * 2**20)


def test_a_reraised_exception_is_its_original_traceback() -> None:
    """oumi's trainer under DataParallel: `torch.OutOfMemoryError: Caught OutOfMemoryError in replica 0 on device
    0.`, then `Original Traceback (most recent call last):` and the replica's own OOM. The wrapper's line was quoted
    and the one OOM counted twice (a review): one event, the original's line and numbers."""
    from tests.support.found import found_lines

    recs = run(found_lines("oumi_dataparallel_oom_train.err"))
    (oom,) = [r for r in recs if r.event == Event.OOM]
    assert oom.message is not None and oom.message.startswith("torch.OutOfMemoryError: CUDA out of memory. Tried to")
    assert oom.metrics == {"requested_bytes": 512 * 2**20, "gpu": 0.0}


@pytest.mark.parametrize(("headline", "first"), [
    # F7: 1.x, no rank prefix, `[Rank 1]` in the message
    ("F7 —", (1, {"seq_num": 469508, "timeout_ms": 1800000, "ran_for_ms": 1802212})),
    # F9: 2.4/2.5 `_REDUCE_SCATTER_BASE`, NumelIn/NumelOut
    ("F9 —", (0, {"seq_num": 7753, "timeout_ms": 600000, "ran_for_ms": 600061})),
    # F10: 2.6/2.7
    ("F10 —", (1, {"seq_num": 808, "timeout_ms": 600000, "ran_for_ms": 600020})),
])
def test_nccl_timeout_metrics(headline: str, first: tuple[int, dict[str, float]]) -> None:
    rec = _one(headline, Event.NCCL_TIMEOUT)
    assert (rec.rank, dict(rec.metrics)) == first


def test_nccl_timeout_repeats_of_one_work_fold() -> None:
    # F8: rank 0 prints SeqNum=96125 twice; three distinct rank-0 works and one rank-7 work remain
    recs = [r for r in run(json_excerpt(FAILURES, "F8 —")) if r.event == Event.NCCL_TIMEOUT]
    assert [(r.rank, r.metrics.get("seq_num")) for r in recs] == [(0, 96120), (0, 96117), (0, 96125), (7, 64088)]
    # the NeMo bar the first one is glued to is not part of the message
    assert recs[0].message is not None and recs[0].message.startswith("[E ProcessGroupNCCL.cpp:458] [Rank 0] Watchdog")


def test_nccl_timeout_glued_to_tqdm_and_cut_short() -> None:
    # F11: `…2.88s/it][rank5]:[E602 …] [Rank 5] Watchdog caught collective operati` (corpus cut)
    rec = _one("F11 —", Event.NCCL_TIMEOUT)
    assert rec.rank == 5
    assert rec.message is not None and rec.message.startswith("[rank5]:[E602 11:17:52.185053341 ProcessGroupNCCL")


def test_async_nccl_error_is_not_a_timeout() -> None:
    # F14: the WorkNCCL carries Timeout(ms)=1000000 but the line reports an NCCL error
    assert events(json_excerpt(FAILURES, "F14 —")) == [Event.NCCL_ERROR]


def test_child_failed_report_table() -> None:
    # F15: full table; root cause is rank 0, the Failures section lists rank 1
    (rec,) = run(json_excerpt(FAILURES, "F15 —"))
    assert rec.event == Event.CHILD_FAILED
    assert rec.metrics == {"exitcode": 1, "local_rank": 0, "pid": 78970, "root_cause_rank": 0}
    assert rec.message == ("train.py FAILED; root cause rank 0 (local_rank 0); exitcode 1 (pid 78970); "
                           "on n136-117-136.byted.org")


@pytest.mark.parametrize(("headline", "event", "metrics"), [
    # F16: agent line, launcher traceback, table cut inside Root Cause: the agent line's numbers
    ("F16 —", Event.CHILD_FAILED, {"exitcode": 1, "local_rank": 0, "pid": 130182}),
    # F17: `[2024-05-08 …] torch.distributed.elastic.multiprocessing.api: [ERROR] failed (exitcode: 1)`
    ("F17 —", Event.CHILD_FAILED, {"exitcode": 1, "local_rank": 2, "pid": 5939}),
    # F18: glog `E0801 … api.py:874] failed (exitcode: 1) local_rank: 3 (pid: 33054)`
    ("F18 —", Event.CHILD_FAILED, {"exitcode": 1, "local_rank": 3, "pid": 33054}),
    # F19: exitcode -9 is a SIGKILL: `killed`, not `child_failed`
    ("F19 —", Event.KILLED, {"exitcode": -9, "local_rank": 5, "pid": 2630}),
])
def test_elastic_agent_failure(headline: str, event: str, metrics: dict[str, float]) -> None:
    (rec,) = run(json_excerpt(FAILURES, headline))
    assert (rec.event, dict(rec.metrics)) == (event, metrics)
    assert rec.message is not None and "failed (exitcode:" in rec.message


def test_a_ctrl_c_under_torchrun_is_a_signal_in_the_agents_report_too() -> None:
    """A new user's review: rank 0's `KeyboardInterrupt`, then torch elastic's report of it (`exitcode  : -2`,
    `traceback : Signal 2 (SIGINT) received by PID 2728581`) read as a critical `child_failed`. The report names the
    same Ctrl-C as the rank's traceback: a signal, no crash (tests/fixtures/found/README.md)."""
    from tests.support.found import found_lines

    det = EventDetector()
    got = [r for x in found_lines("graphnovo_torchrun_sigint_nohup.out") if (r := det.feed(x)) is not None]
    assert [(r.event, r.metrics.get("exitcode")) for r in got] == [(Event.SIGNAL, None), (Event.SIGNAL, -2.0)]
    assert got[1].message is not None and "exitcode -2 (SIGINT" in got[1].message


def test_a_report_cut_before_its_root_cause_keeps_the_agent_lines_numbers() -> None:
    """A code review: a report the input ended in before its Root Cause (or cut at `_MAX_REPORT` lines by the others'
    tracebacks) took its exit code from the first entry under `Failures:`, a rank the agent stopped after another
    failed (`exitcode  : -15 … (SIGTERM)`): read as `killed`. The agent line names the failure that came first."""
    from tests.support.found import found_lines

    lines = found_lines("torchrun_record_multiline_exception.log")
    cut = next(i for i, x in enumerate(lines) if x.startswith("Root Cause"))
    det = EventDetector()
    before = [r.event for x in lines[:cut] if (r := det.feed(x)) is not None]
    assert Event.CHILD_FAILED not in before and (rec := det.flush()) is not None  # the ranks' own tracebacks before
    assert (rec.event, dict(rec.metrics)) == (Event.CHILD_FAILED, {"exitcode": 1, "local_rank": 1, "pid": 8105})
    # an exit code of absurd length (the report's field has no bound) is no exception out of the detector
    odd = [re.sub(r"exitcode  : 1 ", "exitcode  : " + "9" * 400 + " ", x) for x in lines]
    det = EventDetector()
    got = [r for x in odd if (r := det.feed(x)) is not None]
    assert got[-1].event == Event.CHILD_FAILED and math.isinf(got[-1].metrics["exitcode"])


def test_agent_failure_without_a_table_ends_at_the_next_trainer_line() -> None:
    # F18's agent line, then (as after a torchrun restart) the trainer prints again, then F23's traceback
    agent = json_excerpt(FAILURES, "F18 —")[-1]
    steps = [line for line in raw_lines(SPEEDRUN) if line.startswith("step 0")][:3]
    det = EventDetector()
    assert det.feed(agent) is None
    rec = det.feed(steps[0])
    assert rec is not None and (rec.event, rec.metrics["exitcode"]) == (Event.CHILD_FAILED, 1)
    assert events([*steps, *json_excerpt(FAILURES, "F23 —")]) == [Event.DATALOADER_ERROR]


def test_kernel_oom_killer_is_a_host_oom() -> None:
    # F22: six dmesg lines, one kill: an OOM of the host (`host_oom`), not a plain kill
    (rec,) = run(json_excerpt(FAILURES, "F22 —"))
    assert (rec.event, dict(rec.metrics)) == (Event.OOM, {"pid": 1440763, "host_oom": 1})


def test_cpu_allocator_refusal_is_a_host_oom_not_a_traceback() -> None:
    """Regression: torch's `DefaultCPUAllocator: can't allocate memory` read as a generic traceback.
    The lines are the tutorial loop's own, recorded by the run lab (tutorial-oom)."""
    log = Path(__file__).parents[1] / "fixtures/realruns/tutorial-oom/run/train.log"
    lines = log.read_text().splitlines()
    found = run(lines[lines.index("Traceback (most recent call last):"):])
    assert [(r.event, r.metrics.get("host_oom")) for r in found] == [(Event.OOM, 1.0)]
    assert "DefaultCPUAllocator" in (found[0].message or "")


def test_chained_dataloader_traceback_is_one_record() -> None:
    # F23: worker killed inside a traceback, then "The above exception was the direct cause…"
    (rec,) = run(json_excerpt(FAILURES, "F23 —"))
    assert rec.event == Event.DATALOADER_ERROR
    assert rec.message == "RuntimeError: DataLoader worker (pid 1817) is killed by signal: Killed."


def test_hub_retries_fold_per_burst_and_carry_numbers() -> None:
    # F26: "thrown while requesting" + "Retrying in 8s [Retry 4/5]." each printed twice → one record
    assert events(json_excerpt(FAILURES, "F26 —")) == [Event.DATALOADER_RETRY]
    # F27 third line alone: the numbers
    line = json_excerpt(FAILURES, "F27 —")[2]
    rec = EventDetector().feed(split_rank(line)[1])
    assert rec is not None and dict(rec.metrics) == {"retry_delay_s": 8, "retry": 4, "retry_max": 5}


@pytest.mark.parametrize(("headline", "xids"), [
    ("F29 —", [45, 45, 45, 45]),
    ("F30 —", [43, 43, 31, 94]),
    ("F31 —", [None]),  # fallen off the bus: no number in the multi-line form
])
def test_xid_numbers(headline: str, xids: list[int | None]) -> None:
    assert [r.metrics.get("xid") for r in run(json_excerpt(FAILURES, headline))] == xids


# ── tracebacks ──────────────────────────────────────────────────────────────
def test_ctrl_c_traceback_is_a_signal() -> None:
    # nanogpt_llmc.md G6: `^CTraceback (most recent call last):` glued to the shell's ^C
    (rec,) = run(md_block("nanogpt_llmc.md", "Excerpt G6"))
    assert (rec.event, rec.message) == (Event.SIGNAL, "KeyboardInterrupt")


def test_timestamp_prefixed_traceback_ends_on_its_exception() -> None:
    # F12: every traceback line carries the CI's `Nov 20 16:04:11 ` prefix
    recs = run(json_excerpt(FAILURES, "F12 —"))
    assert [(r.event, r.message) for r in recs][1] == (Event.TRACEBACK, "AssertionError")


@pytest.mark.parametrize(("last", "event"), [
    (json_excerpt(FAILURES, "F4 —")[0], Event.OOM),  # torch.cuda.OutOfMemoryError: …
    (json_excerpt(FAILURES, "F13 —")[0], Event.NCCL_ERROR),  # 报错信息：torch.distributed.DistBackendError: …
    (md_block("nanogpt_llmc.md", "Excerpt G6")[8], Event.SIGNAL),  # KeyboardInterrupt
])
def test_traceback_gives_one_record_of_its_exception(last: str, event: str) -> None:
    # F23's frames (real lines) ending in another excerpt's exception line
    frames = list(json_excerpt(FAILURES, "F23 —")[:9])
    recs = run([*frames, last])
    assert [r.event for r in recs] == [event]


def test_rich_boxed_traceback_is_one_record() -> None:
    # box body from F25; header and final line in rich's layout (F25 is cut before both)
    box = list(json_excerpt(FAILURES, "F25 —"))
    lines = ["╭───────────────────── Traceback (most recent call last) ─────────────────────╮", *box,
             "RuntimeError: DataLoader worker (pid(s) 1817) exited unexpectedly"]
    recs = run(lines)
    assert [(r.event, r.message) for r in recs] == [
        (Event.DATALOADER_ERROR, "RuntimeError: DataLoader worker (pid(s) 1817) exited unexpectedly")]


def test_cut_traceback_is_flushed_with_its_last_line() -> None:
    # others_….md X2: the excerpt ends inside the traceback
    lines = json_excerpt("excerpts_torchtitan_composer_axolotl_accelerate.json", "Excerpt X2", "accelerate")
    det = EventDetector()
    assert [det.feed(line) for line in lines] == [None] * len(lines)
    rec = det.flush()
    assert rec is not None and (rec.event, rec.message) == (Event.TRACEBACK, "from torchvision import transforms")
    assert det.flush() is None


def test_interleaved_ranks_do_not_hide_other_events() -> None:
    # F23's traceback with another rank's watchdog line and nanochat step lines in the middle
    tb = list(json_excerpt(FAILURES, "F23 —"))
    watchdog = json_excerpt(FAILURES, "F9 —")[2]  # [rank4]:…[Rank 4] Watchdog caught…
    steps = [line for line in raw_lines(SPEEDRUN) if line.startswith("step 0")][:5]
    lines = tb[:3] + steps + [watchdog] + steps + tb[3:]
    recs = run(lines)
    assert [(r.event, r.rank) for r in recs] == [(Event.NCCL_TIMEOUT, 4), (Event.DATALOADER_ERROR, None)]


def test_traceback_without_an_end_is_capped() -> None:
    # a header followed by a run that goes on printing: reported after 200 lines, then normal again
    steps = [line for line in raw_lines(SPEEDRUN) if line.startswith("step 0")][:400]
    header = md_block("nanogpt_llmc.md", "Excerpt G6")[1]
    det = EventDetector()
    recs = [(i, r) for i, line in enumerate([header, *steps]) if (r := det.feed(line)) is not None]
    assert [(i, r.event) for i, r in recs] == [(200, "signal")]  # G6's header is a Ctrl-C's (`^CTraceback`)
    recs = [(i, r) for i, line in enumerate([header[2:], *steps]) if (r := det.feed(line)) is not None]
    assert [(i, r.event) for i, r in recs] == [(200, Event.TRACEBACK)]
    assert det.feed(json_excerpt(FAILURES, "F20 —")[-1]) is not None  # `Killed` still seen


def test_exception_ignored_at_shutdown_is_not_a_crash() -> None:
    # the shape CPython prints for errors in __del__; its lines are those of F23's traceback
    tb = json_excerpt(FAILURES, "F23 —")
    lines = ["Exception ignored in: <function _MultiProcessingDataLoaderIter.__del__ at 0x7f>", *tb[:5],
             "AttributeError: 'NoneType' object has no attribute 'python_exit_status'"]
    assert events(lines) == []


def test_a_threads_traceback_is_not_the_processs_crash() -> None:
    """A review: a GAN run printed `End training....`, then the tensorboardX writer threads' tracebacks (`Exception in
    thread Thread-1:` before each, interleaved): `check` said `CRITICAL … crashed`. A thread that dies leaves the
    process; the same traceback with no thread's header before it is still a crash."""
    from tests.support.found import found_lines

    lines = found_lines("sttn_thread_exceptions_at_exit_tail.out")
    assert sum(x.startswith("Exception in thread ") for x in lines) == 2
    assert sum(x == "OSError: handle is closed" for x in lines) == 2
    assert events(lines) == [Event.FINISHED]  # `End training....`
    alone = lines[lines.index("End training....") + 1:]  # the tracebacks with no thread's header before them
    assert [(r.event, r.message) for r in run(alone)][:1] == [(Event.TRACEBACK, "OSError: handle is closed")]


# ── checkpoints and overflow ────────────────────────────────────────────────
@pytest.mark.parametrize(("line", "step"), [
    # raw/nanochat_pr492: the model file of the final checkpoint (ANSI colour codes included)
    (line_with(raw_lines(SPEEDRUN), "Saved model parameters to:"), 16704),
    # nanogpt_llmc.md G1 (cut at `out-sh`), G2 (markdown-quoted) and the llama2.c derivative
    (md_block("nanogpt_llmc.md", "Excerpt G1")[-1], None),
    (md_block("nanogpt_llmc.md", "Excerpt G2")[18], None),
    (line_with(md_block("nanogpt_llmc.md", "Related derivative"), "saving checkpoint"), None),
    # nanogpt_llmc.md L4: llm.c
    (line_with(md_block("nanogpt_llmc.md", "Excerpt L4"), "Writing checkpoint"), 19560),
    # lightning.md P3 (own line) and P4 (glued to the progress bar)
    (json_excerpt("excerpts_lightning.json", "Excerpt P3")[2], 1563),
    (json_excerpt("excerpts_lightning.json", "Excerpt P4")[0], 25),
    # No captured log in the corpus: the format strings of transformers `Trainer._save`
    # ("Saving model checkpoint to {output_dir}", layout from hf_trainer.md §1c) and Megatron
    # checkpointing.py ("saving checkpoint at iteration {:7d} to {}", "  successfully saved
    # checkpoint from iteration {:7d} to {}"), DeepSpeed's "Checkpoint {tag} is ready now!".
    ("Saving model checkpoint to out/checkpoint-500", 500),
    ("  successfully saved checkpoint from iteration     200 to /ckpt [ t 1/1, p 1/1 ]", 200),
    ("[2024-01-01 00:00:00,000] [INFO] [torch_checkpoint_engine.py:33:commit] [Torch] Checkpoint "
     "global_step300 is ready now!", 300),
])
def test_checkpoint_saved(line: str, step: int | None) -> None:
    rec = EventDetector().feed(line)
    assert rec is not None and (rec.event, rec.step) == (Event.CHECKPOINT_SAVED, step)


def test_a_save_is_the_line_that_says_it_is_done_not_the_one_that_starts_it() -> None:
    lines = ["saving checkpoint at iteration     100 to /ckpt in torch_dist format",
             "  successfully saved checkpoint from iteration     100 to /ckpt [ t 1/1, p 1/1 ]"]
    assert events(lines[:1]) == [] and saved_step(lines[0]) is None
    assert events(lines) == [Event.CHECKPOINT_SAVED]


def test_a_save_that_failed_is_no_checkpoint() -> None:
    """A review's Megatron-DeepSpeed run (tests/fixtures/found/README.md): at iteration 20 it starts to save
    (`saving checkpoint at iteration      20 to …`), the disk fills (`PytorchStreamWriter failed writing file`),
    both ranks raise. That checkpoint was counted saved; the run's crash stays what it was."""
    from tests.support.found import source_records

    _, recs = source_records("megatron_ds_checkpoint_disk_full.log.gz")
    assert not [r for r in recs if r.event == Event.CHECKPOINT_SAVED]
    crash = [r for r in recs if r.event == Event.TRACEBACK]
    assert crash and crash[0].rank == 0 and "PytorchStreamWriter failed writing file" in (crash[0].message or "")
    assert max(r.step or 0 for r in recs if r.kind is Kind.STEP) == 20


def test_deepspeed_overflow_carries_the_new_loss_scale() -> None:
    # deepspeed.md D2: hysteresis first (scale kept), then halving
    recs = run(json_excerpt("excerpts_deepspeed.json", "Excerpt D2"))
    assert {r.event for r in recs} == {OVERFLOW}
    assert [r.metrics["loss_scale"] for r in recs] == [65536, 32768, 16384, 8192, 4096, 2048, 1024, 512]
    assert recs[0].metrics["hysteresis"] == 1 and recs[0].rank == 0


# ── whole healthy runs ──────────────────────────────────────────────────────
def test_speedrun_gives_only_its_checkpoint() -> None:
    recs = run(raw_lines(SPEEDRUN))
    assert [(r.event, r.step) for r in recs] == [(Event.CHECKPOINT_SAVED, 16704)]


def test_sft_run_gives_nothing() -> None:
    # goes NaN from step 9: that is the rules' job, not a crash
    assert run(raw_lines(SFT)) == []


def test_ordinary_lines_take_the_fast_path() -> None:
    # every step line of the 17k-line speedrun is rejected by the one-character gate
    steps = [line for line in raw_lines(SPEEDRUN) if line.startswith("step ")]
    assert len(steps) > 16000
    assert not any(_worth_a_look(line) for line in steps)


def test_gate_lets_through_every_line_a_pattern_matches() -> None:
    # over all corpus text: `_worth_a_look` never hides a line `_classify` would report
    texts = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.md"))]
    texts += [e["t"] for p in sorted((CORPUS / "raw").glob("excerpts_*.json")) for e in _flat(p)]
    missed = [line for text in texts for line in text.splitlines()
              if _classify(line) is not None and not _worth_a_look(line)]
    assert missed == []


def _flat(path: Path) -> list[dict[str, str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    items = [e for group in data.values() for e in group] if isinstance(data, dict) else data
    return [e for e in items if isinstance(e, dict) and "t" in e]


@settings(max_examples=300)
@given(st.lists(st.text(max_size=300), max_size=30))
def test_feed_never_raises(lines: list[str]) -> None:
    det = EventDetector()
    for line in lines:
        rec = det.feed(line)
        assert rec is None or (rec.kind == Kind.EVENT and len(rec.message or "") <= 500)
    det.flush()


@settings(max_examples=200)
@given(st.lists(st.sampled_from(json_excerpt(FAILURES, "F19 —") + json_excerpt(FAILURES, "F9 —")
                                + json_excerpt(FAILURES, "F23 —")), max_size=60))
def test_feed_never_raises_on_shuffled_real_lines(lines: list[str]) -> None:
    for rec in run(lines):
        assert all(not math.isnan(v) for v in rec.metrics.values())


def test_metric_lines_that_print_memory_take_the_fast_path_too() -> None:
    """torchtitan prints `memory: 66.91GiB(37.51%)` on every step line, DeepSpeed `MA 1.2 GB … max_mem`:
    the gate once let every such line through to every pattern (`emory`), a seventh of a torchtitan line."""
    texts = [e["t"] for p in sorted((CORPUS / "raw").glob("excerpts_*.json")) for e in _flat(p)]
    lines = [x for t in texts for x in t.splitlines() if "emory" in x and _classify(x) is None]
    titan = [x for x in lines if "[titan]" in x and " step: " in x]
    assert len(titan) >= 3
    assert not any(_worth_a_look(x) for x in titan)


ACCELERATE_HEALTHY = Path(__file__).parents[1] / "fixtures/realruns/accelerate-healthy/run/train.log"


def test_a_loops_own_last_word_is_a_finish_line() -> None:
    """A new user's review: a plain loop that ended with `Training finished` and exited 0 read `process_exit:
    gone before the run finished` live (no total, no finish line). The run lab's accelerate loop says
    `training finished after 600 steps`; the PyTorch tutorial prints `Finished Training`."""
    [line] = [ln for ln in ACCELERATE_HEALTHY.read_text().splitlines() if "training finished" in ln]
    assert [(r.event, r.message) for r in run([line])] == [(Event.FINISHED, line)]
    said = ["Finished Training", "2026-11-25 18:09:19,591 INFO Training finished", "Training complete.",
            "Training completed in 3h 12m 5s", "Done training!"]
    assert [r.event for r in run(said)] == [Event.FINISHED] * len(said)
    not_an_end = ["-------Training completed. Results--------", "Training finished, saving the model to out/",
                  "Training done: 37%", "Resuming training finished checkpoints"]
    assert run(not_an_end) == []


def test_an_abort_with_its_core_dumped_and_a_finish_with_a_sentence_after_it() -> None:
    """A review's HiFi-TSE log, relaunched by hand after each death: the shell's `/tmp/tmp6c9asv8v: line 3:  3904
    Aborted                 (core dumped) python train.py …` after glibc's `free(): invalid pointer` was no event,
    and its last line, `Training complete. Final checkpoint: ./checkpoints/checkpoint_final.pt`, no finish (the run
    read `ended`). A header before results (`---Training completed. Results---`) is still none."""
    from tests.support.found import found_lines

    lines = found_lines("hifi_tse_relaunches_abort_segfault.log.gz")
    said = [(r.event, r.message) for r in run(lines) if r.event != Event.CHECKPOINT_SAVED]
    assert [e for e, _ in said] == [Event.SEGFAULT, Event.SEGFAULT, Event.DATALOADER_ERROR, Event.FINISHED]
    assert said[0][1] == next(x for x in lines if "Aborted" in x)
    assert said[-1][1] == "Training complete. Final checkpoint: ./checkpoints/checkpoint_final.pt"


def test_cpythons_fatal_error_is_a_native_crash() -> None:
    """A review's TensorFlow DCGAN, two launches in one `nohup.out`: the first aborted at `tf.Session()`
    (`CUDA_ERROR_OUT_OF_MEMORY`, then TensorFlow's `F …] Attempting to fetch value instead of handling error` and
    CPython's faulthandler `Fatal Python error: Aborted` over the threads' frames): no event, no note. It is a native
    crash, and the launch after it went on (`check`'s note). The words inside a line are none."""
    from tests.support.found import FOUND, found_lines
    from tests.support.realruns import check_json

    name = "dcgan_tf_abort_then_relaunch.log"
    said = [(r.event, r.message) for r in run(found_lines(name))]
    assert said == [(Event.SEGFAULT, "Fatal Python error: Aborted")]
    assert _classify("Fatal Python error: Floating point exception") is not None
    assert _classify("we saw 'Fatal Python error: Aborted' once") is None
    code, [report], _ = check_json(FOUND / name)
    assert (report["state"], report["step"], report["total_steps"]) == ("ended", 392, 6825), report
    assert any("went on after a fatal error" in n and "Fatal Python error: Aborted" in n for n in report["notes"])


def test_the_shells_word_on_a_native_crash_after_cpythons_is_the_same_crash() -> None:
    """CPython's faulthandler says `Fatal Python error: Segmentation fault`, dumps the threads' frames, and the shell
    that ran it then says `bash: line 1:  4022 Segmentation fault      python3 …`: one crash, not two (a code review).
    Two processes' crashes one after the other, each with its own `Fatal Python error:`, stay two. Recorded from
    CPython and bash themselves (tests/fixtures/found/README.md)."""
    from tests.support.found import found_lines

    lines = found_lines("faulthandler_abort_segv_under_bash.txt")
    assert sum("Segmentation fault" in x for x in lines) == 2
    said = [(r.event, r.message) for r in run(lines)]
    assert said == [(Event.SEGFAULT, "Fatal Python error: Aborted"),
                    (Event.SEGFAULT, "Fatal Python error: Segmentation fault")]
    assert [r.event for r in run([x for x in lines if x][-1:])] == [Event.SEGFAULT]  # the shell's alone is one


def test_a_crash_a_logger_said_and_its_traceback_raised_is_one_event() -> None:
    """A review's CLIP run: `ERROR - root -   Training failed with error: CUDA out of memory. …`, then at once the
    traceback that ends in the same `torch.OutOfMemoryError`: `oom=2`, and two `! oom:` lines for one exception.
    The traceback right after a crash line that says the same is the same crash; one that ends in another is not."""
    from tests.support.found import found_lines

    lines = found_lines("clip_retrieval_oom_logged_and_raised.log")
    said = [(r.event, r.message) for r in run(lines)]
    assert said == [(Event.OOM, next(x for x in lines if "Training failed with error" in x)[:500])]
    nccl = "torch.distributed.DistBackendError: NCCL error in: ProcessGroupNCCL.cpp:1970, unhandled cuda error"
    other = [*lines[:lines.index(next(x for x in lines if x.startswith("torch.OutOfMemoryError")))], nccl]
    assert [r.event for r in run(other)] == [Event.OOM, Event.NCCL_ERROR]


def test_more_loops_last_words_are_finish_lines() -> None:
    """A review: LeRobot's `End of training`, GaitSet's `Training COMPLETE` and STTN's `End training....` read `ended`."""
    from tests.support.found import found_lines

    said = [next(x for x in found_lines(name) if text in x) for name, text in (
        ("lerobot_train_log_excerpt.txt", "End of training"), ("gaitset_training_complete_tail.out", "COMPLETE"),
        ("sttn_thread_exceptions_at_exit_tail.out", "End training"))]
    assert [(r.event, r.message) for r in run(said)] == [(Event.FINISHED, x) for x in said]


def test_a_loggers_training_complete_and_early_stop_with_its_reason_are_finish_lines() -> None:
    """A review: a loop whose logger said `INFO:Trainer:Early stopping triggered. No validation improvement for 6
    epochs.` then `INFO:Trainer:Training Complete.` read "incomplete: stopped at 18/30"."""
    from tests.support.found import found_lines

    lines = found_lines("verf_tgm_earlystop_epoch18of30.md")
    ends = [x for x in lines if "Early stopping triggered" in x or "Training Complete" in x]
    assert len(ends) == 2
    assert [(r.event, r.message) for r in run(lines)] == [(Event.FINISHED, x) for x in ends]
    [done] = [x for x in found_lines("verf_tgm_bars_epoch_summaries_30ep.log") if "Training Complete" in x]
    assert [r.event for r in run([done])] == [Event.FINISHED]
    lines = found_lines("phi2_qlora_logging_complete.log")  # `… in 3 days, 17:44:15.4`, `🎉 === Training Complete ===`
    ends = [x for x in lines if "Training completed in" in x or "Training Complete" in x]
    assert len(ends) == 2 and [(r.event, r.message) for r in run(lines)] == [(Event.FINISHED, x) for x in ends]
    lines = found_lines("nanogpt_to_chat_time_limit_completed.log")  # `Training completed 2026-03-10 21:59:56.279026`
    [done] = [x for x in lines if x.startswith("Training completed")]  # a review: read "no finish line"
    assert [(r.event, r.message) for r in run(lines)] == [(Event.FINISHED, done)]


def test_lightnings_early_stopping_signal_is_a_finish_line() -> None:
    """A review: a Lightning run stopped by its EarlyStopping callback (`… did not improve in the last 5 records.
    Best score: 0.034. Signaling Trainer to stop.`) read `ended`; its `Metric val_loss improved …` lines are none."""
    from tests.support.found import found_lines

    lines = found_lines("lightning_earlystopping_signal_tail.out")
    [stop] = [x for x in lines if "Signaling Trainer to stop" in x]
    assert [(r.event, r.message) for r in run(lines)] == [(Event.FINISHED, stop)]


@pytest.mark.parametrize(("name", "said"), [
    ("fastai_early_stop.log", "No improvement since epoch 2: early stopping"),
    ("tabnet_early_stop.log", "Early stopping occurred at epoch 3 with best_epoch = 0"),
    ("tabnet_max_epochs.log", "Stop training because you reached max_epochs = 8"),
    ("skorch_checkpoint_earlystop.log", "Stopping since valid_loss has not improved in the last 4 epochs."),
])
def test_tabular_libraries_last_words_are_finish_lines(name: str, said: str) -> None:
    """A new user's review read these fits `ended` (a live follower warned `process_exit … no finish line` when fastai's
    ended): fastai's and pytorch-tabnet's early stops, tabnet at its `max_epochs`, skorch's early stop, each as the
    library printed it (tests/fixtures/printed). The finish is the fit's last word, its only one."""
    lines = (FIXTURES / "printed" / name).read_text(encoding="utf-8").splitlines()
    [stop] = [x for x in lines if x.startswith(said)]
    assert [(r.event, r.message) for r in run(lines)] == [(Event.FINISHED, stop)]


def test_argparses_refusal_of_a_command_line_is_a_crash_event() -> None:
    """`prog: error: argument …` after argparse's `usage:` block: the script exited (status 2) before it
    trained. Every launch of the review's nohup.out gives one event; its `usage:` lines (`[--log_level
    {debug,info,warning,error,…}]`) give none."""
    lines = (Path(__file__).parents[1] / "fixtures" / "found" / "chatglm_hf_trainer_nohup.log").read_text().splitlines()
    det = EventDetector()
    got = [(i, r) for i, line in enumerate(lines, 1) if (r := det.feed(line)) is not None]
    assert [i for i, _ in got] == [138, 276, 414, 552, 690, 828]
    assert all(r.event == Event.TRACEBACK for _, r in got)
    assert got[0][1].message == lines[137]


def test_training_completed_successfully_is_the_runs_finish() -> None:
    """A new user's review: a Lightning run stopped early whose script's logger said `Training completed
    successfully!` read `ended`, not `finished`."""
    lines = (Path(__file__).parents[1] / "fixtures" / "found" / "lightning_wandb_output_earlystop.log").read_text(
        encoding="utf-8").splitlines()
    assert lines[-1].endswith("Training completed successfully!")
    det = EventDetector()
    found = [r.event for line in lines if (r := det.feed(line)) is not None]
    assert found[-2:] == ["finished", "finished"] and found.count("finished") == 2  # EarlyStopping's signal too


def test_a_chain_of_bare_tracebacks_ends_with_the_exception_that_ended_the_program() -> None:
    """A new user's review: a Lightning run killed by W&B's `AuthenticationError` at the end of a chain of four
    tracebacks was reported as `TimeoutError`, the first of them (caught, handled, raised again)."""
    lines = (Path(__file__).parents[1] / "fixtures" / "found" / "lightning_wandb_output_authcrash.log").read_text(
        encoding="utf-8").splitlines()
    found = [r.message for r in run(lines) if r.event == Event.TRACEBACK]
    assert lines[-1].startswith("wandb.errors.errors.AuthenticationError: ")
    assert found[0] == "TimeoutError: The read operation timed out"
    assert found[-1] == lines[-1]


def test_yoloxs_last_word_is_the_runs_finish() -> None:
    """A second review: YOLOX's `Training of experiment is done and the best AP is 90.00` was no finish: a run
    that trained its 300 epochs read `ended`, `incomplete: stopped at 14093/14100`."""
    from tests.support.found import found_lines

    lines = found_lines("yolox_voc_crlf_train_log.txt.gz")
    det = EventDetector()
    done = [line for line in lines if (r := det.feed(line)) is not None and r.event == Event.FINISHED]
    assert [x.rsplit(" - ", 1)[1] for x in done] == [
        "Training of experiment is done and the best AP is 0.00", "Training of experiment is done and the best AP is 90.00"]


def test_the_word_language_models_end_of_training_is_its_finish(capsys: pytest.CaptureFixture[str]) -> None:
    """PyTorch's word_language_model example ends `| End of training | test loss   nan | test ppl      nan`: no
    finish, its 6 epochs read `ended` at 17715/17898 (a review). Its NaN from the first logged batch on stays."""
    from runwatch.cli import main

    log = Path(__file__).parents[1] / "fixtures" / "found" / "word_language_model_rnn_relu_nan.log"
    [end] = [x for x in log.read_text(encoding="utf-8").splitlines() if "End of training" in x]
    assert EventDetector().feed(end) == Record(Kind.EVENT, event=Event.FINISHED, message=end)
    assert main(["check", str(log), "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["state"] == "finished"
    assert [(a["rule"], a["labels"]["metric"], a["first_step"]) for a in report["alerts"]] == [
        ("nonfinite", "loss", 200), ("nonfinite", "val_loss", 2800), ("nonfinite", "test_loss", 17715)]


def test_a_crash_written_after_a_bars_frame_on_its_line_ends_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    """`29948it [35:34,  7.00s/it]slurmstepd: error: *** JOB 25883692 ON gr015 CANCELLED AT … ***`: the frame was
    drawn, then the job cancelled. Its step came after the kill, and read as the run going on after it: `check`
    said `ended` and "the run went on after a fatal error it printed" (a review)."""
    from runwatch.cli import main

    log = Path(__file__).parents[1] / "fixtures" / "found" / "deformable_detr_tqdm_slurm_cancelled.out"
    assert main(["check", str(log), "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert (report["state"], report["step"]) == ("crashed", 29948)
    assert not any("went on" in note for note in report["notes"])
    [crash] = [a for a in report["alerts"] if a["rule"] == "crash"]
    assert crash["labels"] == {"event": "killed"} and "CANCELLED AT 2022-10-13T04:10:12" in crash["summary"]


def test_a_list_of_possible_causes_is_no_cause() -> None:
    """Ray's raylet after a worker died lists "Some common causes include: (1) … OOM killer …, (3) … SIGSEGV":
    read as a segfault, the crash was named for a guess (a review). The ActorUnavailableError traceback before
    it is what the run died of; verl's `step:N - actor/pg_loss:…` lines are its steps (vLLM's CUDA-graph bars
    read as tqdm's had made the run start again twice)."""
    from tests.support.found import found_lines, source_records

    [hedged] = [x for x in found_lines("verl_grpo_ray_actor_died.out.gz") if "common causes include" in x]
    assert "SIGSEGV" in hedged and "OOM killer" in hedged
    assert _classify(hedged) is None
    fmt, recs = source_records("verl_grpo_ray_actor_died.out.gz")
    assert fmt == "kv"
    assert [r.step for r in recs if r.kind is Kind.STEP] == list(range(1, 22))
    crashes = [r for r in recs if r.kind is Kind.EVENT and r.event != Event.CHECKPOINT_SAVED]
    assert [r.event for r in crashes] == [Event.TRACEBACK]
    assert [r.step for r in recs if r.event == Event.CHECKPOINT_SAVED] == [20]  # `Saved model to …/global_step_20/…`
    assert "ActorUnavailableError" in (crashes[0].message or "")


def test_a_job_slurm_cancelled_is_killed() -> None:
    """`*** JOB 334949 ON dgx-03 CANCELLED AT … ***` with no `DUE TO TIME LIMIT`: `scancel`, preemption or a
    node failure killed it. Read as nothing, a run that stopped at step 12,800 of 200,000 read OK (a review)."""
    from tests.support.found import found_lines

    lines = [x for x in found_lines("openpi_slurm_scancel_tail.out") if x]
    hit = _classify(lines[-1])
    assert hit is not None and hit.event == Event.KILLED and hit.key == ("job", "334949")
    assert [h.event for h in map(_classify, lines[:-1]) if h is not None] == []


def test_a_second_signal_while_torch_elastic_stops_is_the_same_stop() -> None:
    """A review's OLMo run under torchrun: `Received 15 death signal, shutting down workers`, `SignalException: Process
    49154 got signal: 15`, and while that was handled `… got signal: 1` as its terminal went: the crash was named by the
    second, with advice to run under nohup, for a SIGTERM. The first names it; other chained exceptions keep theirs."""
    from tests.support.found import FOUND, found_lines
    from tests.support.realruns import check_json

    name = "olmo_20m_sigterm_then_sighup.log.gz"
    said = [r.message for r in run(found_lines(name)) if r.event in (Event.TRACEBACK, Event.KILLED)]
    assert said == ["torch.distributed.elastic.multiprocessing.api.SignalException: Process 49154 got signal: 15"]
    code, [report], _ = check_json(FOUND / name)
    crash = [a for a in report["alerts"] if a["rule"] == "crash"]
    assert code == 2 and (report["state"], report["step"], report["total_steps"]) == ("crashed", 750, 1000), report
    assert crash[0]["summary"].endswith("got signal: 15 (SIGTERM: a scheduler (preemption, a time limit, a cancelled "
                                        "job) or a `kill` stopped it)")


def test_lsfs_job_report_says_how_the_job_was_stopped() -> None:
    """A review's PaiNN run under LSF, stopped by `bkill`: the workers' KeyboardInterrupt tracebacks, `Terminated`,
    then LSF's report with `TERM_OWNER: job killed by owner.` and `Exited with exit code 143.`: read `ended`,
    `interrupted`, no alert. It is a kill (a crash alert, as Slurm's `CANCELLED AT`); a run limit is the time limit,
    a memory limit the host's OOM."""
    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    code, [report], _ = check_json(FOUND / "painn_lsf_bkill_report.md.gz")
    crash = [a for a in report["alerts"] if a["rule"] == "crash"]
    assert code == 2 and (report["state"], report["step"], report["total_steps"]) == ("crashed", 622, 1000), report
    assert [a["labels"].get("event") for a in crash] == ["killed"]
    assert crash[0]["summary"] == "process killed: TERM_OWNER: job killed by owner."
    limit = _classify("TERM_RUNLIMIT: job killed after reaching LSF run time limit.")
    memory = _classify("TERM_MEMLIMIT: job killed after reaching LSF memory usage limit.")
    assert limit is not None and limit.event == Event.TIME_LIMIT
    assert memory is not None and memory.event == Event.OOM and memory.metrics == {"host_oom": 1.0}
    assert _classify("echo TERM_OWNER: job killed by owner.") is None and _classify("TERM_OWNER") is None


def test_pbs_says_it_killed_the_job_at_its_walltime() -> None:
    """A review's timm ViTAE-S ImageNet run under PBS, 310 epochs planned, its output ending at epoch 42 with `=>> PBS:
    job killed: walltime 604842 exceeded limit 604800`: read `ended`, no alert. It is the time limit, as Slurm's
    `DUE TO TIME LIMIT`; PBS's memory limits (`mem`, `vmem`, `pmem`) are the host's OOM, any other resource a kill."""
    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    code, [report], _ = check_json(FOUND / "timm_vitaes_pbs_walltime_killed.log.gz")
    crash = [a for a in report["alerts"] if a["rule"] == "crash"]
    assert code == 2 and (report["state"], report["step"], report["total_steps"]) == ("crashed", 426678, 3102790), report
    assert [a["labels"].get("event") for a in crash] == ["time_limit"]
    assert crash[0]["summary"].endswith("=>> PBS: job killed: walltime 604842 exceeded limit 604800")
    memory = _classify("=>> PBS: job killed: vmem 92954931200 exceeded limit 86973087744")
    other = _classify("=>> PBS: job killed: ncpus 9.2 exceeded limit 8")
    assert memory is not None and memory.event == Event.OOM and memory.metrics == {"host_oom": 1.0}
    assert other is not None and other.event == Event.KILLED
    assert _classify('grep -q "PBS: job killed: walltime" job.err') is None  # a script's own text


def test_killed_glued_to_a_tqdm_frame_is_the_runs_kill() -> None:
    """The shell's `Killed` after the last frame a process drew (`8080/8192 [25:19<00:26,  4.29it/s]Killed`): the
    bar's `\r` ends no line, so the word was never alone on one, and a review's NoWag fine-tune read `ended`,
    "incomplete", with no crash. Text that merely ends in the word after a bracket is none."""
    from tests.support.found import FOUND, found_lines
    from tests.support.realruns import check_json

    name = "nowag_finetune_tqdm_frame_killed.log.gz"
    last = [x for x in found_lines(name) if x.strip()][-1].split("\r")[-1]
    assert last.endswith("4.29it/s]Killed")
    hit = _classify(last)
    assert hit is not None and hit.event == Event.KILLED
    assert _classify("[step 3] Killed") is None and _classify("Process [rank 1] Killed by the user") is None
    code, [run], _ = check_json(FOUND / name)
    crash = [a for a in run["alerts"] if a["rule"] == "crash"]
    assert code == 2 and run["state"] == "crashed" and run["step"] == 8080, run
    assert [a["labels"].get("event") for a in crash] == ["killed"], crash


def test_a_loops_total_training_time_in_minutes_is_its_finish() -> None:
    """A review's poetry Transformer ended `Total Training Time: 4.57 min` after its 99th epoch: read `ended`. Not
    the same words mid-line, nor a time with no unit."""
    from tests.support.found import found_lines

    [last] = [x for x in found_lines("poetic_transformer_epoch_batch_totals.out") if x.startswith("Total Training")]
    hit = _classify(last)
    assert hit is not None and hit.event == Event.FINISHED
    assert _classify("Estimated Total Training Time: 4.57 min") is None and _classify("Total Training Time: 4.57") is None


def test_paddledetections_save_of_its_checkpoint_is_a_save() -> None:
    """A review: PaddleDetection's `[06/24 11:23:17] ppdet.utils.checkpoint INFO: Save checkpoint:
    output/rtdetr_r101vd_6x_coco_gd` (its output folder; the weights go in it by epoch) after each saved epoch was no
    checkpoint event, 45 of them over 11 launches."""
    from tests.support.found import found_lines

    lines = found_lines("paddledet_weights_download_bar_launches.log.gz")
    said = [x for x in lines if "Save checkpoint: " in x]
    hits = [_classify(x) for x in said]
    assert len(said) == 45 and all(h is not None and h.event == Event.CHECKPOINT_SAVED for h in hits)
    assert [r.event for r in run(lines) if r.event == Event.CHECKPOINT_SAVED] == [Event.CHECKPOINT_SAVED] * 45


def test_training_complete_then_the_best_after_a_semicolon_is_a_finish() -> None:
    """A review's DETR fine-tune loop ended `training complete; best val loss = 1.1703282733758291` after its 8 epochs:
    read `ended`. The best after a semicolon is said as after a period; a line that goes on otherwise is no finish."""
    from tests.support.found import FOUND, found_lines
    from tests.support.realruns import check_json

    [last] = [x for x in found_lines("detr_finetune_training_complete_best.log") if x.startswith("training complete")]
    hit = _classify(last)
    assert hit is not None and hit.event == Event.FINISHED
    assert _classify("training complete; resuming from the last checkpoint") is None
    code, [report], _ = check_json(FOUND / "detr_finetune_training_complete_best.log")
    assert code == 0 and (report["state"], report["step"]) == ("finished", 7), report


def test_a_script_that_does_not_compile_is_a_traceback() -> None:
    """Python prints a SyntaxError with no `Traceback` header: the `File "…", line 31` block, then `SyntaxError:
    invalid syntax`. The job died at launch; read as nothing, a run that never started read as waiting."""
    from tests.support.found import found_lines

    lines = [x for x in found_lines("lsf_two_ranks_syntaxerror.err") if x]
    assert lines[-1] == "SyntaxError: invalid syntax"
    det = EventDetector()
    recs = [r for line in lines for r in [det.feed(line)] if r is not None]
    assert [r.event for r in recs] == [Event.TRACEBACK] and "SyntaxError: invalid syntax" in (recs[0].message or "")
    assert _classify("SyntaxError    : host='https://swanlab.cn',") is None  # the other process's half-line


@pytest.mark.parametrize(("name", "step"), [
    ("llava_med_sft_save_excerpt.log", 90),  # `save models to …/checkpoint-90`
    ("neuroslm_saved_checkpoint_excerpt.log", None),  # `[train] saved checkpoints\neuroslm_small_chat_1000.pt`
    ("qwen3_llmc_style_resume_head.out", 47850),  # `[Checkpoint] saved ./checkpoints/ckpt_step0047850.pt`
    ("gpt2_lora_epoch_end_excerpt.log", None),  # `💎 New best checkpoint saved: outputs/…/best_checkpoint.pt`
    ("p2igan_best_model_saved_excerpt.out", None),  # `New best model saved at weights/p2igan_gan_v2/best.pt (val_loss=…)`
    ("d2_fvcore_checkpoint_excerpt.log", 999),  # detectron2's `fvcore.common.checkpoint INFO: Saving checkpoint to …/model_0000999.pth`
])
def test_a_loops_own_save_line_naming_its_file_is_a_checkpoint(name: str, step: int | None) -> None:
    """Loops that print their own save line, naming the file: none was a checkpoint (a review), so a run's
    checkpoints went unseen (`checkpoint_stale`, the report's checkpoints). Its other lines are none."""
    from tests.support.found import found_lines

    hits = [(h.event, h.step) for h in map(_classify, found_lines(name)) if h is not None]
    assert hits[0] == (Event.CHECKPOINT_SAVED, step)
    assert all(event == Event.CHECKPOINT_SAVED for event, _ in hits)
    det = EventDetector()  # and through the gate a line passes first (`saved:` was not in it)
    assert [r.event for line in found_lines(name) if (r := det.feed(line)) is not None][:1] == [Event.CHECKPOINT_SAVED]


def test_a_capitalised_save_of_a_file_with_dots_after_it_is_a_checkpoint() -> None:
    """A review: a BYOL loop's `==> Saving ./result/supcon/cifar10/resnet50/1.pt...` after each epoch was no checkpoint
    (the gate let no capitalised `Saving ` through, and the name's trailing dots ended no file): five saves, then the
    host's `Killed`."""
    from tests.support.found import found_lines

    det = EventDetector()
    got = [(r.event, r.message) for line in found_lines("byol_saving_pt_killed.out") if (r := det.feed(line)) is not None]
    saves = [m for e, m in got if e == Event.CHECKPOINT_SAVED]
    assert saves == [f"==> Saving ./result/supcon/cifar10/resnet50/{n}.pt..." for n in range(1, 6)]
    assert [e for e, _ in got][-1] == Event.KILLED


def test_mxnets_save_of_its_params_file_in_quotes_is_a_checkpoint() -> None:
    """MXNet's `Module.save_checkpoint` logs `Saved checkpoint to "models/img_cls-0001.params"` after each epoch (a
    review's ResNet log): the quoted name and the `.params` weights were no checkpoint's."""
    from tests.support.found import found_lines

    det = EventDetector()
    got = [r for line in found_lines("mxnet_cls_speedometer.log.gz") if (r := det.feed(line)) is not None]
    assert [r.event for r in got] == [Event.CHECKPOINT_SAVED] * 10
    assert got[-1].message == 'INFO:root:Saved checkpoint to "models/img_cls-0010.params"'


def test_the_estimators_checkpoints_and_last_word() -> None:
    """TensorFlow's Estimator: `Saving checkpoints for 399 into …/model.ckpt.` at each save (a review's BERT run: none
    seen) and `Loss for final step: 0.0025181356.` when `train` returns, its finish (it read `ended`)."""
    from tests.support.found import found_lines

    det = EventDetector()
    got = [r for line in found_lines("tf_estimator_bert_eval_dict.log.gz") if (r := det.feed(line)) is not None]
    saves = [r.step for r in got if r.event == Event.CHECKPOINT_SAVED]
    assert saves[:3] == [0, 399, 814] and saves[-1] == 5468 and len(saves) == 15
    assert [r.event for r in got if r.event != Event.CHECKPOINT_SAVED] == [Event.FINISHED]


def test_abseils_failure_signal_report_says_how_the_process_ended() -> None:
    """Abseil's handler (TensorFlow, JAX, Ray): `*** SIGTERM received at time=1744039120 on cpu 20 ***` and the stack's
    addresses, then Ray's copy of it behind its logger's prefix: a review's Ray run, stopped so, read as nothing
    (`UNREAD`, exit 3). A SIGTERM stopped it from outside; SIGABRT is a crash as SIGSEGV is, SIGINT a Ctrl-C."""
    from tests.support.found import FOUND, found_lines
    from tests.support.realruns import check_json

    det = EventDetector()
    got = [r for line in found_lines("lmapf_ray_absl_sigterm.log") if (r := det.feed(line)) is not None]
    assert [r.event for r in got] == [Event.KILLED, Event.KILLED]
    assert got[0].message == "*** SIGTERM received at time=1744039120 on cpu 20 ***"
    code, [run], _ = check_json(FOUND / "lmapf_ray_absl_sigterm.log")
    assert code == 2 and [a["labels"]["event"] for a in run["alerts"] if a["rule"] == "crash"] == ["killed"]
    for name, event in (("SIGABRT", Event.SEGFAULT), ("SIGINT", Event.SIGNAL), ("SIGHUP", Event.KILLED)):
        rec = EventDetector().feed(f"*** {name} received at time=1744039120 on cpu 3 ***")
        assert rec is not None and rec.event == event, name


def test_lerobots_checkpoint_line_is_a_checkpoint_at_its_step() -> None:
    """LeRobot's `Checkpoint policy after step 5000` every 5,000 steps (a review's run: none seen)."""
    from tests.support.found import found_lines

    det = EventDetector()
    got = [r for line in found_lines("lerobot_rounded_steps.log") if (r := det.feed(line)) is not None]
    assert [r.step for r in got if r.event == Event.CHECKPOINT_SAVED] == list(range(5000, 50_001, 5000))


def test_gaussian_splattings_saved_point_cloud_is_a_checkpoint_at_its_iteration() -> None:
    """3D Gaussian Splatting's loop (and the forks on it) saves its model as `[ITER 7000] Saving Gaussians [22/07
    03:20:53]` (the point cloud of that iteration): review 60 saw no checkpoint in such a run. A line that only
    mentions it is none."""
    from tests.support.found import found_lines

    det = EventDetector()
    got = [r for line in found_lines("gs2d_colab_evaluating_attributeerror.log") if (r := det.feed(line)) is not None]
    assert [(r.event, r.step) for r in got if r.event == Event.CHECKPOINT_SAVED] == [(Event.CHECKPOINT_SAVED, 7000)]
    saving = next(x for x in found_lines("gs2d_colab_evaluating_attributeerror.log") if "Saving Gaussians" in x)
    assert EventDetector().feed("Not " + saving) is None


def test_early_stopping_at_its_patience_is_a_finish_that_a_later_step_takes_back() -> None:
    """A review: a YOLO loop's last line `EarlyStopping counter: 9 out of 8` (epoch 57 of 100) read `incomplete`. At its
    patience the helper's count is a finish; this loop went on after `8 out of 8` (its check came a count later), and
    its next step took that one back: the run's state is its last line's."""
    from tests.support.found import found_lines, source_records

    name = "yolo_loop_early_stopping_tail.txt"
    lines = found_lines(name)
    counts = [x for x in lines if x.startswith("EarlyStopping counter")]
    assert counts == [f"EarlyStopping counter: {n} out of 8" for n in (7, 8, 9)]
    assert [(r.event, r.message) for r in run(lines)] == [(Event.FINISHED, x) for x in counts[1:]]
    _, recs = source_records(name)
    assert recs[-1].event == Event.FINISHED and any(r.kind is Kind.STEP for r in recs[recs.index(
        next(r for r in recs if r.kind is Kind.EVENT)):])


def test_a_loops_early_stop_and_kerass_are_finishes() -> None:
    """A review: a loop of folds, each ended by its own `🛑 Early stopping triggered.`, read "incomplete: stopped at
    14/40"; Keras's callback says `Epoch 21: early stopping` where it stops."""
    from tests.support.found import found_lines, source_records

    name = "epilepsy_folds_early_stopping_head.log"
    said = [x for x in found_lines(name) if "Early stopping" in x]
    assert len(said) >= 2 and [(r.event, r.message) for r in run(said)] == [(Event.FINISHED, x) for x in said]
    _, recs = source_records(name)
    assert [r.line for r in recs if r.event == Event.FINISHED] == [
        i for i, x in enumerate(found_lines(name), 1) if "Early stopping" in x]
    keras = [x for x in found_lines("keras_lstm_nan_settings_dict_console.log") if x.endswith("early stopping")]
    assert keras == ["Epoch 21: early stopping"] and [r.event for r in run(keras)] == [Event.FINISHED]


def test_an_early_stop_in_capitals_with_its_reason_in_brackets_is_a_finish() -> None:
    """A review: a SchNet loop's `Early Stopping Triggered. (Best MAE: 0.7743)` read `ended` (its capitals, and a
    reason whose number holds a full stop)."""
    from tests.support.found import found_lines, source_records

    name = "schnet_early_stopping_report.log"
    said = [x for x in found_lines(name) if x.startswith("Early Stopping")]
    assert said == ["Early Stopping Triggered. (Best MAE: 0.7743)"] and [r.event for r in run(said)] == [Event.FINISHED]
    _, recs = source_records(name)
    assert [r.line for r in recs if r.event == Event.FINISHED][:1] == [found_lines(name).index(said[0]) + 1]
    assert run(["Start 3D SchNet Training (Early Stopping applied)..."]) == []  # said before it started: no finish
    assert run(["Early stopping triggered: False", "Early Stopping Triggered: No"]) == []  # a summary's setting (review)


def test_ssds_saving_state_is_a_checkpoint_and_its_iter_no_metric() -> None:
    """A review: ssd.pytorch's `iter 2000 || Loss: 1.1745 || Saving state, iter: 2000` gave no checkpoint, and its second
    `iter` a metric series of its own."""
    from tests.support.found import found_lines, source_records

    name = "ssd_saving_state_excerpt.log"
    line = next(x for x in found_lines(name) if "Saving state" in x)
    assert [(r.event, r.step) for r in run([line])] == [(Event.CHECKPOINT_SAVED, 2000)]
    _, recs = source_records(name)
    steps = [r for r in recs if r.kind is Kind.STEP]
    assert steps and all("iter" not in r.metrics for r in steps) and steps[-1].step == 2000


def test_a_traceback_logged_at_warning_level_is_no_crash() -> None:
    """A review: torch._dynamo logs `WON'T CONVERT … due to:` and the compiler's whole traceback behind a glog
    WARNING prefix (`W0530 14:48:26.433000 2622492 …/convert_frame.py:1233] `), then runs the function eagerly; the run
    trained on to step 7151, and `check` read "critical crash" and "42 fatal errors" from 42 such dumps. Logged at
    that level, a traceback is a message, not the end of the process; the same lines without the prefix still are."""
    from tests.support.found import found_lines

    lines = found_lines("moddedgpt_dynamo_wont_convert_head.log.gz")
    assert any(x.endswith("] Traceback (most recent call last):") for x in lines)
    assert events(lines) == []
    bare = [x.split("] ", 1)[1] if x.startswith("W0530 ") else x for x in lines]  # the glog prefix taken off
    assert events(bare[:138]) == ["traceback"]


def test_a_traceback_behind_a_bracketed_warning_level_is_no_crash() -> None:
    """Before torch 2.2 its loggers wrote `[2023-11-30 17:00:45,568] torch._dynamo.convert_frame: [WARNING] ` before
    each line of a `WON'T CONVERT` traceback: a review's PaiNN job read 13 fatal errors where 4 launches had failed
    (each `FileNotFoundError`, `Exited with exit code 1.`); the other nine were these. The same lines without the
    prefix, or behind an `[ERROR]` level, are still a traceback."""
    from tests.support.found import found_lines

    lines = found_lines("painn_lsf_dynamo_warning_tracebacks.log.gz")
    dumps = [i for i, x in enumerate(lines) if x.endswith("[WARNING] Traceback (most recent call last):")]
    assert len(dumps) == 9
    assert events(lines).count("traceback") == 4
    cut = dumps[0] - 2, dumps[0] + 9  # `WON'T CONVERT … due to:` to the exception's line
    assert events(lines[cut[0]:cut[1]]) == []
    assert events([x.split("[WARNING] ", 1)[-1] for x in lines[cut[0]:cut[1]]]) == ["traceback"]
    assert events([x.replace("[WARNING]", "[ERROR]") for x in lines[cut[0]:cut[1]]]) == ["traceback"]
    platform = found_lines("langgraph_platform_info_traceback_excerpt.log")  # a level with no logger's name: a tag
    assert any(x == "[INFO] Traceback (most recent call last):" for x in platform)  # on all output (a code review)
    assert [(r.event, r.message) for r in run(platform)] == [(Event.TRACEBACK, "asyncio.exceptions.CancelledError")]


def test_detectron2s_total_training_time_is_a_finish_line() -> None:
    """A review's detectron2 log: its IterationTimer's `Total training time: 0:14:31 (0:00:01 on hooks)` at each
    launch's end read as nothing, and the relaunch after a finished launch as a 5-minute stall. Each is a finish
    (an interrupted launch prints it too, and its writer's last `iter:` line after it takes it back)."""
    from tests.support.found import found_lines

    said = [x for x in found_lines("d2_mask2former_three_launches.log.gz") if "Total training time" in x]
    assert len(said) == 3
    assert [(r.event, r.message) for r in run(said)] == [(Event.FINISHED, x) for x in said]
    assert run(["[08/30 23:15:00] d2.engine.hooks INFO: Overall training speed: 1998 iterations in 0:14:30"]) == []


def test_the_deepspeed_launchers_exits_are_the_runs_end() -> None:
    """The DeepSpeed launcher says how its processes ended: `Process N exits successfully.` for each of a run that
    ended well (a review's DeepSpeed-Chat runs, 16 epochs done, read `ended`), one exit of code 0 for all of them;
    `… exits with return code = -6` of one that failed, a worker's failure with its code, before it kills the rest."""
    from tests.support.found import FOUND, found_lines
    from tests.support.realruns import check_json

    name = "deepspeed_chat_opt13b_sft_launcher_exits.log.gz"
    lines = found_lines(name)
    det = EventDetector()
    events = [(i, r) for i, line in enumerate(lines, 1) if (r := det.feed(line)) is not None and r.kind is Kind.EVENT]
    exits = [(i, r.metrics) for i, r in events if r.event == Event.EXIT]
    said = [i for i, line in enumerate(lines, 1) if line.endswith("exits successfully.")]
    assert len(said) == 16 and exits == [(said[0], {"exit_code": 0.0})]
    code, [run], _ = check_json(FOUND / name)
    assert code == 0 and (run["state"], run["step"]) == ("finished", 7360) and not run["alerts"], run

    name = "olora_deepspeed_nccl_timeout_launcher_abort.log"
    det = EventDetector()
    failed = [r for line in found_lines(name) if (r := det.feed(line)) is not None and r.event == Event.CHILD_FAILED]
    assert [(r.metrics, r.message[-27:]) for r in failed] == [({"exitcode": -6.0}, "exits with return code = -6")]
    code, [run], _ = check_json(FOUND / name)
    assert code == 2 and run["state"] == "crashed", run


def test_training_finished_with_the_best_result_after_it_between_rules_is_the_runs_finish() -> None:
    """A YOLOv4 trainer ends `=====Training Finished.   best_test_mAP:0.997%====` (a review's run of 120 epochs
    read `ended`, and stalled live once its last line was read)."""
    from tests.support.found import FOUND, found_lines
    from tests.support.realruns import check_json

    name = "yolov4_pytorch_stamped_call_site.log.gz"
    [line] = [ln for ln in found_lines(name) if "Training Finished" in ln]
    record = EventDetector().feed(line)
    assert record is not None and record.event == Event.FINISHED
    code, [run], _ = check_json(FOUND / name)
    assert (code, run["state"], run["step"], run["total_steps"]) == (0, "finished", 23633, 23640), run


def test_finish_training_with_the_best_result_after_it_is_the_runs_finish() -> None:
    """A spiking neural network's loop ends `Finish training: the best validation accuracy of SNN is 0.7677 in epoch
    299.`, then saves: a review's run of 117,000 steps, 116,910 logged, read `ended`."""
    from tests.support.found import FOUND, found_lines
    from tests.support.realruns import check_json

    name = "asgl_snn_bracketed_finish_training.log.gz"
    [line] = [ln for ln in found_lines(name) if "Finish training" in ln]
    record = EventDetector().feed(line)
    assert record is not None and record.event == Event.FINISHED
    code, [run], _ = check_json(FOUND / name)
    assert (code, run["state"], run["step"]) == (0, "finished", 116910), run


def test_the_deepspeed_launchers_sigint_is_an_interrupt(capsys: pytest.CaptureFixture[str]) -> None:
    """A review: a TRL DPO run under the DeepSpeed launcher, stopped after its first loss: `Killing subprocess …` for
    each rank, then `[launch.py:328:sigkill_handler] Main process received SIGINT, exiting`, read OK with no word of
    it (and live, running). A Ctrl-C, as `KeyboardInterrupt` is: the run stopped early, said so."""
    from runwatch.cli import main
    from tests.support.found import FOUND, found_lines

    name = "cnminiphi3_dpo_deepspeed_sigint.log"
    line = next(x for x in found_lines(name) if "Main process received" in x)
    hit = _classify(line)
    assert hit is not None and hit.event == Event.SIGNAL
    assert _worth_a_look(line)
    assert main(["check", str(FOUND / name), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["state"] == "ended" and any("Main process received SIGINT" in w for w in report["warnings"])


def test_a_fine_tunings_own_last_word_is_its_finish() -> None:
    """A review: a speech model's LoRA fine-tuning logs `Finetuning completed successfully!` at the end of each of
    its three launches: its finish (`Finetuning complete! LoRA-based model saved to …`, with more after it, is not)."""
    from tests.support.found import found_lines

    lines = found_lines("csm_finetune_three_launches.log")
    done = [i for i, x in enumerate(lines) if (hit := _classify(x)) is not None and hit.event == Event.FINISHED]
    assert done == [i for i, x in enumerate(lines) if x.endswith("Finetuning completed successfully!")]
    assert len(done) == 3 and all(_worth_a_look(lines[i]) for i in done)


def test_torch_elastics_root_cause_is_told_by_its_exception_and_signal() -> None:
    """A review's torchtitan run (tests/fixtures/found/README.md): torchrun's `Root Cause` holds `exitcode  : -6 (pid:
    162380)` and `traceback : Traceback (most recent call last):` with 110 lines under it, the last `RuntimeError:
    Triton Error [CUDA]: device-side assert triggered`. The alert ended with the traceback's header, which says
    nothing; and -6 is SIGABRT."""
    from tests.support.found import FOUND
    from tests.support.realruns import check_json

    _, [report], _ = check_json(FOUND / "torchtitan_vlm_triton_assert_sigabrt.log.gz")
    (crash,) = [a for a in report["alerts"] if a["rule"] == "crash"]
    assert "exitcode -6 (SIGABRT, pid 162380)" in crash["summary"], crash["summary"]
    assert crash["summary"].endswith("; RuntimeError: Triton Error [CUDA]: device-side assert triggered"), crash["summary"]


def test_torch_elastics_root_cause_is_its_exceptions_first_line_and_its_signal_is_read() -> None:
    """torchrun's report as torch 2.13 prints it (recorded here, tests/fixtures/found/README.md): the root cause's
    exception has four lines, each shaped like an exception (`DetailError: Call to function failed.`), and the alert
    named the second; each exit code has its signal after the pid (`-15 (pid: 8104)  (SIGTERM)`), which left the
    field unread (the run lab's SIGKILLed rank: no exit code in its alert, and a SIGSEGV would have been no
    segfault)."""
    from tests.support.found import found_lines
    from tests.support.realruns import REALRUNS

    det = EventDetector()
    events = [r for x in found_lines("torchrun_record_multiline_exception.log") if (r := det.feed(x)) is not None]
    events += [r for r in (det.flush(),) if r is not None]
    (failed,) = [r for r in events if r.event == Event.CHILD_FAILED]
    assert failed.message is not None
    assert failed.message.endswith("exitcode 1 (pid 8105); on localhost; RuntimeError: collective failed in: "
                                   "worker.cpp:42, unhandled error"), failed.message
    det = EventDetector()
    lines = (REALRUNS / "torchrun-tee-killrank/run/train.log").read_text(encoding="utf-8").splitlines()
    killed = [r for x in lines if (r := det.feed(x)) is not None and r.event == Event.KILLED]
    assert killed and "exitcode -9 (SIGKILL, pid 16119)" in (killed[-1].message or ""), killed


def test_the_deepspeed_launchers_command_line_is_a_launch() -> None:
    """Its `runner.py` logs the command it starts once a launch (a review's log of three experiments, in the
    found README); `launch.py`'s per-process lines and a `cmd =` of anything else are none."""
    from tests.support.found import found_lines

    lines = found_lines("megatron_ds_pdsh_three_launches_third_fails_at_start.log.gz")
    assert lines[34].startswith("[2026-03-24 11:43:01,082] [INFO] [runner.py:630:main] cmd = pdsh -S -f 1024")
    rec = EventDetector().feed(lines[34])
    assert rec is not None and rec.event == Event.LAUNCHED
    assert "export" not in (rec.message or "") and "NCCL_SOCKET_IFNAME" not in (rec.message or "")  # its environment
    assert events([line for line in lines if "cmd = " in line]) == [Event.LAUNCHED] * 3
    assert EventDetector().feed("[INFO] [config.py:1000:print] cmd = None") is None


def test_a_threads_exception_that_quotes_a_traceback_ends_the_threads_own() -> None:
    """A review's Paddle3D run (tests/fixtures/found/README.md): a DataLoader thread dies (`Exception in thread
    Thread-2:`, its traceback, `KeyError: 'DataLoader worker(1) caught KeyError with message:\\nTraceback (most
    recent call last):\\n …'` on one line), then the main thread's traceback ends in `SystemError: (Fatal) Blocking
    queue is killed …`. The KeyError line, read as a traceback's header for the text it quotes, kept the thread's
    traceback open through the main one: no crash at all (`check`: UNREAD, exit 3). The thread's is still none."""
    from tests.support.found import found_lines

    lines = found_lines("paddle3d_thread_then_main_traceback_workerlog.log")
    recs = run(lines)
    assert [(r.event, r.message) for r in recs] == [
        (Event.TRACEBACK, "SystemError: (Fatal) Blocking queue is killed because the data reader raises an exception.")]
    assert lines.index("Exception in thread Thread-2:") == 375 and lines[387].startswith("KeyError: 'DataLoader worker")


def test_paddles_out_of_memory_is_an_oom() -> None:
    """A review's PaddleGAN log (tests/fixtures/found/README.md): a traceback ending `SystemError: (Fatal) Operator
    uniform_random raises an paddle::memory::allocation::BadAlloc exception.`, `ResourceExhaustedError:` and `Out of
    memory error on GPU 2. Cannot allocate 392.000244MB memory …` after it: a plain traceback before. The message's
    own line after the exception is the same OOM, not a second."""
    from tests.support.found import found_lines

    [rec] = run(found_lines("paddlegan_badalloc_oom_traceback_excerpt.log"))
    assert rec.event == Event.OOM and "paddle::memory::allocation::BadAlloc" in (rec.message or "")


@pytest.mark.parametrize(("name", "event", "message"), [
    ("llmc_cuda_check_oom_before_step.log", "oom", "[CUDA ERROR] at file train_gpt2.cu:265: out of memory"),
    ("llmc_cuda_check_misaligned.log", "traceback", "[CUDA ERROR] at file train_gpt2.cu:754: misaligned address"),
    ("llmc_cublas_check_val_nan.log", "traceback", "[cuBLAS ERROR]: 13 llmc/matmul.cuh 216"),
])
def test_llmc_failed_checks_are_its_crash(name: str, event: str, message: str) -> None:
    """llm.c checks each CUDA, NCCL and cuBLAS call and exits on a failure, printing `[CUDA ERROR] at file F:N:` over
    what failed (`out of memory`), or `[cuBLAS ERROR]: status file line` on one line. Three real Slurm jobs dead so
    before their first step read `nothing understood`, no record (a review): each is one crash record, an OOM where
    the runtime said so, its message the two lines as one."""
    from tests.support.found import source_records

    _, recs = source_records(name)
    assert [(r.event, r.message) for r in recs if r.kind == Kind.EVENT] == [(event, message)]


def test_a_failed_cuda_check_cut_off_by_the_end_is_still_a_crash() -> None:
    """The header is the last line the input has (the job killed while printing, or a live read between the two
    lines): the crash is told at the end (`flush`), its message the header's."""
    lines = (FIXTURES / "found" / "llmc_cuda_check_misaligned.log").read_text().splitlines()
    header = next(i for i, x in enumerate(lines) if x.startswith("[CUDA ERROR]"))
    det = EventDetector()
    assert [det.feed(x) for x in lines[:header + 1]] == [None] * (header + 1)
    rec = det.flush()
    assert rec is not None and (rec.event, rec.message) == ("traceback", "[CUDA ERROR] at file train_gpt2.cu:754:")


def test_a_loguru_traceback_with_its_values_is_told_by_its_exception() -> None:
    """A review: YOLOX's loguru tracebacks (`diagnose=True`: each frame's values drawn under it with `│` and `└`, a
    tensor's and a module's repr at length) run 257 lines; cut at 200, each of five launches' crashes was told by a
    frame's line, `return forward_call(*input, **kwargs)`. Once a traceback shows those annotations it may run 2,000
    lines: each is told by its `RuntimeError: cuDNN error: CUDNN_STATUS_INTERNAL_ERROR`, on both readers."""
    from tests.support.found import found_bytes
    from tests.support.readers import check

    recs, _ = check(found_bytes("yolox_s_seven_launches_cudnn_errors.log.gz"), (1 << 20, 5000))
    told = [r.message for r in recs if r.event == Event.TRACEBACK]
    assert told == ["RuntimeError: cuDNN error: CUDNN_STATUS_INTERNAL_ERROR"] * 5


def test_a_failed_c_assert_is_the_abort_it_causes() -> None:
    """A review: llm.c's `…: Assertion `total_batch_size % tokens_per_fwdbwd == 0' failed.`, then the shell's `Aborted
    (core dumped)`, was told by the shell's line, not what failed. The assertion is the crash (an abort), the shell's
    line after it the same one; a CUDA kernel's device-side assert, once a thread, is none (the Python exception after
    it ends the run)."""
    from tests.support.found import source_records

    _, recs = source_records("llmc_assert_failed_aborted.log")
    assert [(r.event, r.message) for r in recs if r.kind == Kind.EVENT] == [(
        "segfault", "train_gpt2cu: train_gpt2.cu:1518: int main(int, char**): Assertion `total_batch_size % "
                    "tokens_per_fwdbwd == 0' failed.")]
    device = ("/pytorch/aten/src/ATen/native/cuda/IndexKernel.cu:92: operator(): block: [0,0,0], thread: [5,0,0] "
              "Assertion `-sizes[i] <= index && index < sizes[i] && \"index out of bounds\"` failed.")
    assert _classify(device) is None


def test_two_ranks_failed_cuda_checks_are_one_oom() -> None:
    """A code review: llm.c under `mpirun` prints each rank's `[CUDA ERROR] at file …:` before either's `out of
    memory`; the second header was taken for what failed. The real log's two lines, each printed twice as two ranks
    print them: one OOM. A traceback header right after the check's line is no word of what failed: the check's
    crash, then the traceback (a real one, a GRPO run's Ctrl-C) read as its own."""
    lines = (FIXTURES / "found" / "llmc_cuda_check_oom_before_step.log").read_text().splitlines()
    header = next(i for i, x in enumerate(lines) if x.startswith("[CUDA ERROR]"))
    two = lines[:header] + [lines[header], lines[header], lines[header + 1], lines[header + 1]]
    det = EventDetector()
    found = [r for x in two if (r := det.feed(x)) is not None] + [r for r in [det.flush()] if r is not None]
    assert [(r.event, r.message) for r in found] == [("oom", "[CUDA ERROR] at file train_gpt2.cu:265: out of memory")]
    grpo = (FIXTURES / "found" / "grpo_deepspeed_vllm_capture_bars_sigint.log").read_text().splitlines()
    start = next(i for i, x in enumerate(grpo) if x.startswith("Traceback"))
    end = next(i for i in range(start, len(grpo)) if grpo[i].startswith("KeyboardInterrupt"))
    det = EventDetector()
    found = [r for x in [lines[header], *grpo[start:end + 1]] if (r := det.feed(x)) is not None]
    assert [(r.event, r.message) for r in found] == [("traceback", "[CUDA ERROR] at file train_gpt2.cu:265:"),
                                                     ("signal", "KeyboardInterrupt")]


def test_lit_gpts_lora_weights_are_a_checkpoint_at_the_iteration_its_file_names() -> None:
    """A review: lit-gpt's `Saving LoRA weights to '…/iter-000031-ckpt.pth'` was no checkpoint (its words have `LoRA`
    before `weights`), and `iter-000031` no step."""
    from tests.support.found import found_lines

    lines = found_lines("litgpt_issue592_lora_val_save.log")
    assert [(r.event, r.step) for r in run(lines)] == [(Event.CHECKPOINT_SAVED, 31)]
    assert saved_step(next(x for x in lines if x.startswith("Saving LoRA"))) == 31


def test_a_traceback_after_a_ctrl_c_cut_off_before_its_exception_is_an_interrupt() -> None:
    """A review's OpenNMT-py log ends in the terminal's echo of a Ctrl-C and the traceback under it, cut off before its
    `KeyboardInterrupt`: `check` said "critical crash", its summary a stack frame. The same traceback without the
    `^C` is still a crash (a traceback the input ends in)."""
    from runwatch.cli import main
    from tests.support.found import FOUND, found_lines

    lines = found_lines("onmt_yoruba_embedding_transformer.log.gz")
    assert lines[-2].startswith("^CTraceback")
    [interrupt] = run(lines[-3:])
    assert interrupt.event == "signal" and "Ctrl-C" in (interrupt.message or "")
    assert [r.event for r in run([lines[-3], lines[-2][2:], lines[-1]])] == ["traceback"]
    assert main(["check", str(FOUND / "onmt_yoruba_embedding_transformer.log.gz")]) == 0


def test_fairseqs_save_is_one_checkpoint_at_its_updates_not_one_per_shard_file() -> None:
    """A review: fairseq's trainer says `Saving checkpoint to …` and `Finished saving checkpoint to …` of each shard's
    file, then checkpoint_utils `Saved checkpoint ./checkpoint_last-rank-0-shard0.pt (epoch 1 @ 25 updates, …)`: five
    checkpoint events for one save. The last is the save, at the updates it states."""
    from tests.support.found import found_lines

    lines = found_lines("fairseq_moe_json_azure.log")
    saves = [r for r in run(lines) if r.event == Event.CHECKPOINT_SAVED]
    assert [(r.step, "checkpoint_utils | Saved checkpoint" in (r.message or "")) for r in saves] == [(25, True)]
    hydra = found_lines("fairseq_hydra_json_slurm_cancelled.log.gz")  # its Hydra logging: `[fairseq.trainer][INFO] - `
    saved = [x for x in hydra if "][fairseq.checkpoint_utils][INFO] - Saved checkpoint " in x]
    events = [r for r in run(hydra) if r.event == Event.CHECKPOINT_SAVED]
    assert len(saved) >= 3 and [r.message for r in events] == saved and all(r.step for r in events)


def test_recboles_early_stop_is_the_finish() -> None:
    """RecBole's trainer, stopped early: `Finished training, best eval result in epoch 219` (a review's run: `tail`
    said `running … ETA 2m06s` of a run that had ended)."""
    line = "17 Jul 15:06    INFO  Finished training, best eval result in epoch 219"
    rec = EventDetector().feed(line)
    assert rec is not None and rec.event == Event.FINISHED
    assert EventDetector().feed("17 Jul 15:06    INFO  Finished training, best eval result so far") is None


@pytest.mark.parametrize(("name", "host"), [("found/tf_cifar10_gpu_oom_issue_excerpt.log", False),
                                            ("printed/tf_oom_cpu.log", True)])
def test_tensorflows_oom_when_allocating_a_tensor_is_an_oom(name: str, host: bool) -> None:
    """TensorFlow's `OOM when allocating tensor with shape[…]` (logged by the kernel, then its `ResourceExhaustedError`)
    read as a plain traceback (a new user's review); on the CPU's allocator (TensorFlow names its device) it is the
    host's memory."""
    from tests.support.paths import FIXTURES
    from tests.support.realruns import check_json

    rc, runs, _ = check_json(FIXTURES / name)
    crash = next(a for a in runs[0]["alerts"] if a["rule"] == "crash")
    assert rc == 2 and runs[0]["state"] == "crashed" and crash["labels"]["event"] == "oom"
    assert ("host out of memory" in crash["summary"]) == host


def test_a_runs_word_that_its_loss_was_not_finite_is_a_nonfinite_event() -> None:
    """A loop's guard (`[WARNING] NaN loss detected! Skipping batch.`, twelve times in a real diffusion-LM run whose
    logged losses are all finite: `check` said OK, a new user's review) is a `nonfinite` event carrying a NaN loss;
    the run's state puts it at the bar's step (state.run)."""
    from tests.support.found import source_records

    fmt, recs = source_records("thunder_prefixlm_tqdm_nan_loss_skipped.log.gz")
    said = [r for r in recs if r.event == Event.NONFINITE]
    assert fmt == "tqdm" and len(said) == 12
    assert all(math.isnan(r.metrics["loss"]) and r.message == "[WARNING] NaN loss detected! Skipping batch."
               for r in said)
    # improved-diffusion's guard before it raises (tests/fixtures/found/README.md)
    fmt, recs = source_records("improved_diffusion_tables_loss_diverges.out.gz")
    [said_there] = [r for r in recs if r.event == Event.NONFINITE]
    assert said_there.message == "Non-finite loss detected, stopping training."


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_timms_engine_stopping_on_a_non_finite_loss_is_a_nonfinite_event(value: float) -> None:
    """timm's, DeiT's, MAE's and DETR's `train_one_epoch`: `if not math.isfinite(loss_value): print("Loss is {},
    stopping training".format(loss_value)); sys.exit(1)`; its metric logger's last line was finite. The line is
    made by that very format call, not typed."""
    line = "Loss is {}, stopping training".format(value)  # noqa: UP032 (the engine's own call)
    hit = _classify(line)
    assert _worth_a_look(line) and hit is not None and hit.event == Event.NONFINITE
    loss = hit.metrics["loss"]
    assert (math.isnan(loss) and math.isnan(value)) or loss == value


@pytest.mark.parametrize("line", [
    "No NaN loss detected in the last 100 steps",  # a loop's all-clear: no event
    "Loss is 2.3125, stopping training",  # a finite loss under another guard: not this one's word
    "Number of NaN loss detected: 0",  # a count of them (a code review)
])
def test_a_line_that_only_mentions_a_non_finite_loss_is_no_event(line: str) -> None:
    hit = _classify(line)
    assert hit is None or hit.event != Event.NONFINITE


def test_keras_model_checkpoint_saves_are_counted_once_each() -> None:
    """Keras's `ModelCheckpoint(verbose=1)`: Keras 2 says `Epoch 00001: loss improved from inf to 2.41777, saving model
    to …/bilstm_ner.h5` (a review's real fit: 126 saves, none counted); Keras 3 (a run lab recording) says `Epoch 1:
    val_loss improved from None to 1.84249, saving model to best.keras`, then `Epoch 1: finished saving model to
    best.keras` of the same save: five saves, not ten."""
    from tests.support.found import source_records
    from tests.support.realruns import REALRUNS

    _, recs = source_records("keras2_bilstm_ner_modelcheckpoint_h5_nohup.out.gz")
    saves = [r for r in recs if r.event == Event.CHECKPOINT_SAVED]
    assert len(saves) == 126 and saves[0].message.startswith("Epoch 00001: loss improved from inf to 2.41777, saving")
    lines = (REALRUNS / "keras-v2-checkpoint-healthy" / "run" / "train.log").read_text().splitlines()
    said = [_classify(line) for line in lines]
    assert [h.event if h else None for h in said if h] == [Event.CHECKPOINT_SAVED] * 5
    assert sum("finished saving model to best.keras" in line for line in lines) == 5


def test_an_hdf5_file_is_a_checkpoint_only_when_the_line_says_a_model_or_weights() -> None:
    """A data-preparation script's `print(f"💾 Saving to {h5_path}...")` (a code review found it in public code) writes
    data; Keras 2's `Epoch 00001: saving model to weights_best.h5` (a real fit, tests/fixtures/found) is a model."""
    from tests.support.found import found_lines

    h5_path = "processed/data.h5"
    assert _classify(f"💾 Saving to {h5_path}...") is None
    saves = [ln for ln in found_lines("keras_tf2_verbose2_checkpoint.log") if "saving model to" in ln]
    hits = [_classify(ln) for ln in saves]
    assert saves and all(h is not None and h.event == Event.CHECKPOINT_SAVED for h in hits)


def test_an_exception_whose_message_starts_on_the_next_line_is_told_with_it() -> None:
    """multiprocessing's `RuntimeError: ` (its message begins with a newline) in a real detectron2 run whose spawned
    DataLoader workers died before iteration 0: each traceback said only `RuntimeError:`. Its message's first line
    is the record's; a log cut right after the exception line still tells the crash; a traceback's header there
    is no message. torch elastic's `ChildFailedError: ` (its failure report follows) is not waited on (the corpus's
    reports, tests above)."""
    from tests.support.found import found_lines, source_records

    _, recs = source_records("detectron2_spawn_bootstrap_no_iteration.log.gz")
    told = [r.message for r in recs if r.event == Event.TRACEBACK]
    assert told and all(m == "RuntimeError: An attempt has been made to start a new process before the" for m in told)
    assert [r.event for r in recs if r.event == Event.DATALOADER_ERROR] == [Event.DATALOADER_ERROR] * 2
    lines = found_lines("detectron2_spawn_bootstrap_no_iteration.log.gz")
    i = next(i for i, ln in enumerate(lines) if ln.startswith("RuntimeError: "))
    assert [(r.event, r.message) for r in run(lines[:i + 1])] == [(Event.TRACEBACK, "RuntimeError:")]
    # another worker's traceback right after the blank message (the lines between left out): no message, and
    # that header still opens the next traceback, told as it is without the first
    j = next(k for k in range(i + 1, len(lines)) if lines[k].startswith("Traceback (most recent call last):"))
    spliced, rest = run(lines[:i + 1] + lines[j:]), run(lines[j:])
    assert [(r.event, r.message) for r in spliced] == [(Event.TRACEBACK, "RuntimeError:")] + [
        (r.event, r.message) for r in rest]


def test_detectron2s_traceback_under_exception_during_training_ended_the_training() -> None:
    """detectron2's trainer logs `d2.engine.train_loop ERROR: Exception during training:` on the line before the
    traceback it re-raises as training stops (a real mask2former run's evaluation hook: `AssertionError: Dataset
    'coco_instance_rgbd_val' is empty!`). That crash, read from the source as by the detector alone, says
    the training ended (`ENDED_TRAINING`); a traceback with no such line before it says nothing of the kind."""
    from runwatch.model import ENDED_TRAINING
    from tests.support.found import found_lines, source_records

    lines = found_lines("mask2former_d2_eval_hook_reraised.log.gz")
    said = sum("ERROR: Exception during training:" in ln for ln in lines)
    for recs in (source_records("mask2former_d2_eval_hook_reraised.log.gz")[1], run(lines)):
        ended = [r for r in recs if r.kind == Kind.EVENT and r.metrics.get(ENDED_TRAINING) == 1.0]
        assert len(ended) == said == 9  # launches that died of a DataLoader error or an OOM, and the one that trained
        assert ended[-1].message == "AssertionError: Dataset 'coco_instance_rgbd_val' is empty!"
    i = next(i for i, ln in enumerate(lines) if ln.endswith("Exception during training:"))
    alone = next(r for r in run(lines[i + 1:i + 80]) if r.event == Event.TRACEBACK)
    assert ENDED_TRAINING not in alone.metrics


def test_detectron2s_total_training_time_after_a_crash_that_ended_training_is_no_finish() -> None:
    """detectron2's hooks print `Total training time: 0:35:55 (0:00:04 on hooks)` in `after_train`, on the way out
    after the traceback too: line mode printed `finished` under the crash (a review). Only the launches that ended by
    their own schedule or a Ctrl-C (no traceback before it) say so."""
    from runwatch.model import ENDED_TRAINING
    from tests.support.found import found_lines, source_records

    lines = found_lines("mask2former_d2_eval_hook_reraised.log.gz")
    said = [i + 1 for i, ln in enumerate(lines) if "d2.engine.hooks INFO: Total training time: " in ln]
    for recs in (source_records("mask2former_d2_eval_hook_reraised.log.gz")[1], run(lines)):
        crashes = [r for r in recs if r.metrics.get(ENDED_TRAINING) == 1.0]
        finished = [r for r in recs if r.event == Event.FINISHED]
        assert len(said) == 12 and len(crashes) == 9 and len(finished) == 3
        assert all(not any(0 < f.line - c.line <= 4 for c in crashes) for f in finished if f.line)


def test_a_traceback_under_loggings_logging_error_is_no_crash() -> None:
    """Python logging prints `--- Logging error ---`, the traceback of a message it could not format, `Call stack:`
    and the message, and drops the record; the program goes on. A review's PPO evaluation (its line glued to a bar's
    frame, `10it [00:07,  1.39it/s]--- Logging error ---`) ran to 1,250 items and `check` said it "went on after a
    fatal error". The same traceback without that line is one."""
    from tests.support.found import FOUND, found_lines, source_records
    from tests.support.realruns import check_json

    name = "ppo_pipeline_logging_error_nohup.out.gz"
    lines = found_lines(name)
    i = next(i for i, ln in enumerate(lines) if ln.endswith("--- Logging error ---"))
    assert lines[i + 1] == "Traceback (most recent call last):" and not lines[i].startswith("---")
    end = next(j for j in range(i, len(lines)) if lines[j].startswith("TypeError: not all arguments converted"))
    assert events(lines[i:end + 1]) == [] and events(lines[i + 1:end + 1]) == [Event.TRACEBACK]
    _, recs = source_records(name)
    assert [r for r in recs if r.event == Event.TRACEBACK] == []
    _, [report], _ = check_json(FOUND / name)
    assert report["step"] == 1250 and not report["alerts"]
    assert not [n for n in report["notes"] if "fatal error" in n], report["notes"]


def test_a_template_is_proven_never_to_wake_the_detector_only_where_no_text_of_it_can_be_printed() -> None:
    """`never_wakes`: the template formats' step lines are proven (runwatch.parsers.source.quick_reader); a form whose
    literal text holds a text the gate wakes on, or fields that could print one, is not."""
    from runwatch.parsers import llmc, nanochat, nanogpt
    from runwatch.parsers.events import never_wakes
    from runwatch.parsers.stepline import FIELD_CHARS

    for module in (nanogpt, llmc, nanochat):
        assert never_wakes(module.STEP_LINE.texts, module.STEP_LINE.chars), module.__name__
    assert not never_wakes(("iter \0: loss \0", "Saved checkpoint at \0"), FIELD_CHARS)
    assert not never_wakes(("step \0 Traceback \0",), FIELD_CHARS)
    assert not never_wakes(("step \0 | \0",), FIELD_CHARS + "Kiled")  # a field that could print `Killed`
    assert not never_wakes(("Exception ignored in \0",), FIELD_CHARS)  # a head
