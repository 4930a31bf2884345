"""Crash and incident lines → `kind=event` Records (DESIGN §2 `event`).

Every log line of every run passes through `EventDetector.feed`, so the common
case, a line that says nothing alarming, is rejected by `_worth_a_look`: a
chain of one-character `in` tests (memchr speed) that guard the few substring
tests behind them. A regex scan costs ~5 ns a character in CPython and a flat
list of substring tests ~40 ns each; the gate keeps an ordinary line at a
few hundred ns. Anything that passes goes to the precise patterns in `_classify`.

Decisions, so rules and users can rely on them:
- Memory exhaustion is `oom`, on the GPU (CUDA/HIP/XLA) and on the host alike: the
  CPU allocator's refusal (`DefaultCPUAllocator: can't allocate memory`), Python's
  `MemoryError`, C++'s `std::bad_alloc` and the kernel OOM killer (`Out of memory:
  Killed process N`) carry `host_oom=1`, since the fixes differ (batch size vs.
  host RAM / dataloader workers). Before, a host OOM read as a generic traceback.
- A Python traceback is one record, emitted at its final exception line; an
  OOM, NCCL, DataLoader or SIGKILL exception there gives that specific event
  instead of `traceback`. A chained traceback ("During handling of the above
  exception…") adds a record only when it says something more specific, or
  when it and the one before are both bare: the last of a chain is the
  exception that ended the program, which a crash alert names.
  `KeyboardInterrupt` is `signal`. Tracebacks after `Exception ignored in:`
  (printed at interpreter shutdown, not raised) give nothing, nor does the traceback of a thread that died
  (`Exception in thread Thread-1:` before it, within `_THREAD_WINDOW` lines: the process goes on; a
  tensorboardX writer's `OSError: handle is closed` at exit read as the crash of a run that had ended well).
- argparse's refusal of a command line (`train.py: error: argument --fp16: …`) is
  a `traceback` too: the script exited before training, as an uncaught exception would.
- torch elastic's failure report (agent line `failed (exitcode: N)`, launcher
  traceback, `ChildFailedError` table) is one record at the table's closing
  rule: `child_failed`, or `killed` / `segfault` / `signal` when the root
  cause's exit code is -9 or -15 / -11 / -2 (SIGINT: a Ctrl-C, no crash), as
  the DeepSpeed launcher's is read. metrics: `exitcode`, `root_cause_rank`,
  `local_rank`, `pid`.
- Repeats are folded: the same NCCL work (rank, SeqNum) once, one
  `dataloader_retry` per burst of retry lines, one `checkpoint_saved` per step,
  one `time_limit` per SLURM job.
- `rank` is set only where the line names one (`[Rank 3]`, `[rank3]:`,
  `OVERFLOW! Rank 0`); the caller fills in the rank of the line's prefix.
"""

from __future__ import annotations

import math
import re
import signal
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from runwatch import patterns
from runwatch.model import (
    COMMAND_LINE_REFUSED,
    ELASTIC_SIGNAL,
    ENDED_TRAINING,
    FATAL_EVENTS,
    Event,
    Kind,
    Record,
)
from runwatch.parsers.reads import Reads

OVERFLOW = Event.OVERFLOW
"""fp16 loss-scale overflow (DeepSpeed, apex). Not yet a member of `Event`."""

_MAX_MESSAGE = 500
_MAX_TRACEBACK = 200
_MAX_ANNOTATED = 2000
"""The lines a traceback may run to once it shows loguru's values under its frames (`diagnose=True`: `│` and `└`
under each name, a tensor's or a module's repr at length): YOLOX's tracebacks of a cuDNN error ran 257 lines, and
cut at 200 the crash was told by a frame's line (`return forward_call(*input, **kwargs)`), not its exception (a
review)."""
_ANNOTATIONS = ("└ ", "│ ")
_WENT_ON = 10
"""Step lines after a traceback header with no exception line after it that make it a logged one: training
went on, so it was no crash (one stray or cut `Traceback (most recent call last):` line read as a crash
200 lines later, or at the end of the log)."""
_MAX_REPORT = 300
_CHAIN_WINDOW = 4
_MAX_SEEN = 512

_CRASHES = frozenset({
    Event.OOM, Event.NCCL_TIMEOUT, Event.NCCL_ERROR, Event.DATALOADER_ERROR, Event.KILLED, Event.SEGFAULT,
})
_TRACEBACK, _SIGNAL, _RETRIED, _SAVED = Event.TRACEBACK, Event.SIGNAL, Event.DATALOADER_RETRY, Event.CHECKPOINT_SAVED
"""The members the lines of every logged traceback look at, once: an enum member looked up on its class
costs ~0.2 µs in Python 3.11, a dozen of them a third of a traceback's exception line."""
_CHAINED = _CRASHES | {_TRACEBACK, _SIGNAL}
"""Events a chained traceback (`During handling of the above exception…`) may follow."""


_ESTIMATOR_DONE = "Loss for final step: "
"""TensorFlow's Estimator at the end of `train` (`INFO:tensorflow:Loss for final step: 0.0025181356.`): training done,
the evaluation after it no part of it (a review's BERT run, 5468 of 5468 steps, read `ended`)."""


_GPU_FAULT_TEXT = "Memory access fault by GPU node-"
"""ROCm's word for a kernel's bad access (`_GPU_FAULT`), as the gate and the detector look for it."""


_GATE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("T", ("Traceback",)),
    ("K", ("Killed", "SIGKILL")),
    ("V", ("NVRM", "SIGSEGV")),
    # not `emory`: Megatron, DeepSpeed, torchtitan print memory always
    ("y", ("of memory", "OfMemory", "MemoryError", "allocate memory", "Retrying in", "Fatal Python error: ",
           "allocation::BadAlloc", _GPU_FAULT_TEXT)),
    ("OOM when", ("OOM when allocating tensor",)),  # TensorFlow's
    ("W", ("Watchdog caught", "Writing checkpoint")),
    ("D", ("DataLoader worker", "DistBackendError")),
    ("x", ("exitcode", "Unexpected bus error", "exits successfully", "exits with return code")),
    ("S", ("Segmentation fault", "Saved ", "Saving ", "Save checkpoint: ", "Stopping since ", "Stop training because")),  # a loop's own and fvcore's (`Saving checkpoint to …/model_0000999.pth`)
    ("C", ("NCCL", "ChildFailedError", "CANCELLED AT", "Checkpoint global_step", "Checkpoint policy after")),  # `C`, not `L`: TFLOP/s on
    ("v", ("saving ", "saved ", "saved:", "save ")),                                # every Megatron line
    ("G", ("Grad overflow", "Gradient overflow")),
    ("arlyStopping", ("EarlyStopping counter",)),
    ("arly stopping", ("Early stopping triggered", "early stopping", "Early stopping occurred")),
    ("arly Stopping", ("Early Stopping Triggered", "Early Stopping triggered")),
    ("Signaling Trainer", ("Signaling Trainer to stop",)),
    ("!", ("OVERFLOW!",)),
    ("q", ("thrown while requesting",)),
    ("B", ("Bus error", "PBS: job killed")),
    ("ERROR]", ("[CUDA ERROR] at file ", "[NCCL ERROR] at file ", "[cuBLAS ERROR]: ")),  # llm.c's checks
    ("core dumped", ("Aborted",)),
    ("Assertion `", ("' failed.",)),
    ("R", ("Received SIG",)),
    ("process received SIG", ("process received SIG",)),
    ("uning ", ("uning complete", "uning Complete", "uning COMPLETE", "uning finished", "uning Finished", "uning done",
                "uning Done")),
    ("received at time=", ("received at time=",)),
    ("KeyboardInterrupt, attempting", ("Detected KeyboardInterrupt",)),  # a line holding it holds the other
    ("_", ("bad_alloc", "TERM_")),  # LSF's job report
    ("final step: ", (_ESTIMATOR_DONE,)),
    (": error: ", ("error: argument ", "error: unrecognized arguments", "error: the following arguments")),
    ("loss detected", ("NaN loss detected", "nan loss detected", "on-finite loss detected")),
    ("ing training", ("Loss is nan, stopping training", "Loss is inf, stopping training",
                      "Loss is -inf, stopping training", "Invalid loss, terminating training")),
    ("rror", ("SyntaxError", "IndentationError", "TabError")),
    ("cmd = ", ("main] cmd = ",)),  # DeepSpeed's launcher
    ("Done!", ("] Done!", ") Done!")),  # icefall's last word (under DDP its rank before it)
    (" MODEL : ", (" > BEST MODEL : ",)),  # Coqui TTS's trainer
    ("CHECKPOINT : ", (" > CHECKPOINT : ",)),
    ("已", ("已杀死",)),  # a character no ASCII line holds: ruled out at once
    ("raining", ("raining finished", "raining complete", "raining Complete", "raining Finished", "raining Done",
                 "raining done", "inished training", "inished Training",
                 "one training", "raining of experiment is done", "raining COMPLETE", "nd training", "nd of training",
                 "raining time ", "raining time: ", "raining Time: ", " finished", "inish training", "INISH training",
                 "inish Training", "INISH Training")),  # one substring test on an ordinary line: no one character holds them all
)
"""The gate's texts, each behind a character they all hold (or, where none is rare enough, a short text: one
substring test): a line holding none of them is nothing to `_classify`.
Keep it in step when a pattern is added to `_classify`; the gate (`_worth_a_look`) and the lines the fast
path must read (`WAKES`) are both made from it."""


def _gate_function(gate: tuple[tuple[str, tuple[str, ...]], ...]) -> Callable[[str], bool]:
    """`_GATE` as straight-line code: a chain of one-character `in` tests (memchr speed) guarding the
    substring tests behind them, as a person would write it (a loop over the table costs twice as much)."""
    terms = [f"({c!r} in s and ({' or '.join(f'{t!r} in s' for t in texts)}))" for c, texts in gate]
    scope: dict[str, Any] = {}
    exec("def worth_a_look(s):\n    return (" + "\n        or ".join(terms) + ")", scope)  # the table's own code
    found: Callable[[str], bool] = scope["worth_a_look"]
    return found


_worth_a_look = _gate_function(_GATE)
"""False for almost every ordinary line, cheaply; never False for a line `_classify` would match."""


# ── single-line patterns ────────────────────────────────────────────────────
_OOM_KILLER = patterns.compile(r"[Oo]ut of memory: Killed process (\d+)")
_DATALOADER = patterns.compile(
    r"DataLoader worker \(pid.*?\) (?:is killed by signal|exited unexpectedly)|Unexpected bus error encountered in worker"
)
_OOM = patterns.compile(
    r"(?:CUDA|HIP|XPU|MPS backend) out of memory|CUDA error: out of memory|OutOfMemoryError"
    r"|RESOURCE_EXHAUSTED: Out of memory|CUDA error \d{1,4} 'out of memory'"  # the last: Marian's, the CUDA runtime's
    r"|paddle::memory::allocation::BadAlloc|Out of memory error on GPU \d"  # PaddlePaddle's (its `SystemError`, then
    # `ResourceExhaustedError:` and `Out of memory error on GPU 2. Cannot allocate 392.000244MB …`: read as a plain
    # traceback, a review)
    r"|OOM when allocating tensor"  # TensorFlow's: `RESOURCE_EXHAUSTED: OOM when allocating tensor with shape[…] and type
    # float on /job:localhost/…/device:GPU:0 by allocator GPU_0_bfc` logged, then its `ResourceExhaustedError: …` (a
    # new user's review: a crash by a plain traceback); not the allocator's `ran out of memory trying to allocate
    # 3.28GiB … The caller indicates that this is not a failure`, a warning of no failure
)
_RECOVERED = patterns.compile(r"\busing CPU\b|\bretrying\b|\bfalling back\b|\bskipp(?:ing|ed)\b", re.IGNORECASE)
"""What a warning of an out-of-memory error says was done instead (Ultralytics' `WARNING ⚠️ CUDA OutOfMemoryError in
TaskAlignedAssigner, using CPU`: it assigns on the CPU and trains on): no crash. Read as one, a run that stopped
later of another cause read as an OOM quoting that warning (a review)."""
_HOST_OOM = patterns.compile(r"DefaultCPUAllocator: can't allocate memory|^MemoryError\b|std::bad_alloc")
_OOM_ALLOC = patterns.compile(r"Tried to allocate (\d+(?:\.\d+)?) ?(bytes|[KMGT]iB|B)\b")
_OOM_GPU = patterns.compile(r"\bGPU (\d+)\b")
_UNITS = {"bytes": 1, "B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
_WATCHDOG = patterns.compile(r"Watchdog caught collective")  # `… operation timeout`; real logs cut it short
_SEQ = patterns.compile(r"SeqNum=(\d+)")
_TIMEOUT_MS = patterns.compile(r"Timeout\(ms\)=(\d+)")
_RAN_FOR = patterns.compile(r"ran for (\d+) milliseconds")
_NCCL_ERROR = patterns.compile(r"NCCL error|DistBackendError|NCCL communicator was aborted")
_NATIVE_CHECK = patterns.compile(r"\[(CUDA|NCCL) ERROR\] at file \S{1,300}:\d{1,7}:\s*$")
"""llm.c's (and CUDA C programs written after it) check of a CUDA or NCCL call: `printf("[CUDA ERROR] at file %s:%d:\\n%s
\\n", …)` and `exit(EXIT_FAILURE)`; what went wrong is the next line (`out of memory`, `misaligned address`). Three
llm.c Slurm logs that died so before their first step read `nothing understood` (a review)."""
_CUBLAS_CHECK = patterns.compile(r"\[cuBLAS ERROR\]: -?\d{1,6} \S{1,300} \d{1,7}\s*$")
"""llm.c's check of a cuBLAS call, on one line: `[cuBLAS ERROR]: 13 llmc/matmul.cuh 216` (status, file, line), then
`exit(EXIT_FAILURE)`."""
_KILLED = patterns.compile(r"^\s*Killed(?::\s*9)?\s*$|\d\s+Killed\s|(?<=/s\])Killed\s*$|Signals\.SIGKILL|已杀死")
"""The shell's word for a SIGKILL (the kernel's OOM killer, `kill -9`): alone on its line, after a job's number, or
glued to the last frame of a tqdm bar the process was drawing (`8080/8192 [25:19<00:26,  4.29it/s]Killed`: the
bar's `\r` ends no line, a review's run read `ended`)."""
_SEGFAULT = patterns.compile(
    r"Segmentation fault|SIGSEGV|Bus error|\bAborted\s{1,40}\(core dumped\)"
    r"|^Fatal Python error: (?:Aborted|Floating point exception|Illegal instruction)")
"""A native crash: a segfault, a bus error, and an abort with its core dumped (the shell's `line 3:  3904 Aborted
                 (core dumped) python train.py …` after glibc's `free(): invalid pointer`: a review's HiFi-TSE run
died so, and no event said it), and CPython's own word for one, its faulthandler's `Fatal Python error: Aborted` before
the threads' frames (a TensorFlow DCGAN's first launch aborted by `CUDA_ERROR_OUT_OF_MEMORY`: no event, a review)."""
_GPU_FAULT = patterns.compile(r"Memory access fault by GPU node-\d{1,6} \(Agent handle: ")
"""ROCm's runtime when a kernel touched memory it may not (`Memory access fault by GPU node-1 (Agent handle: 0x5f6d730)
on address 0x7fb5d8712000. Reason: Page not present or supervisor privilege.`), then aborts the process: the crash, said
first (the shell's `Aborted (core dumped)` after it is the same one, `_NATIVE_WINDOW`), often glued to the last frame of
the bar the process was drawing. Told by the abort alone, a new user's review read `process aborted (SIGABRT)` of a GPU
fault."""
_HEDGED = patterns.compile(r"(?i)\b(?:common|possible|likely) causes (?:include|are)\b")
"""A list of what may have happened, no diagnosis: Ray's raylet after a worker died, "Some common causes include:
(1) the process was killed by the OOM killer due to high memory usage, (2) ray stop --force was called, or (3)
the worker crashed unexpectedly due to SIGSEGV", read as a segfault (a review); the traceback before it says."""
_CANCELLED = patterns.compile(r"\*\*\* (?:JOB|STEP) (\d+)\S* ON \S+ CANCELLED AT \S+(?: DUE TO ([A-Z][A-Z ]{0,40}?))? ?\*\*\*")
"""Slurm's `slurmstepd: error: *** JOB 334949 ON dgx-03 CANCELLED AT 2026-01-06T04:52:18 ***`: at its time limit
(`DUE TO TIME LIMIT`), else killed by the scheduler (`scancel`, `DUE TO PREEMPTION`, `DUE TO NODE FAILURE`): an
`scancel`ed run read OK, its end unexplained (a review)."""
_LSF_ENDED = patterns.compile(r"^TERM_([A-Z]{2,12}(?:_[A-Z]{2,12}){0,2}): [Jj]ob ")
"""LSF's job report, appended to the job's output file (`bsub -o`): `TERM_OWNER: job killed by owner.` (`bkill`),
`TERM_RUNLIMIT: job killed after reaching LSF run time limit.`, `TERM_MEMLIMIT: …memory usage limit.` and the rest of
its termination reasons, before `Exited with exit code 143.`: the job was stopped from outside. A review's `bkill`ed
PaiNN run read `ended` (`interrupted: KeyboardInterrupt`, the workers' traceback) with no alert, where Slurm's
`CANCELLED AT` is a kill."""
_PBS_KILLED = patterns.compile(r"(?:^|=>> )PBS: job killed: ([a-z_]{1,16})\b")
"""PBS's and Torque's word on a job they killed, written to its output (`=>> PBS: job killed: walltime 604842 exceeded
limit 604800`; `mem`, `vmem` or `pmem` for memory, `cput` for CPU time): a review's timm ImageNet run killed at its
walltime at epoch 42 of 310 read OK, `ended`, no alert (Slurm's `CANCELLED AT` and LSF's `TERM_` were read)."""
_PBS_TIME_LIMITS = frozenset({"walltime", "cput", "pcput"})
_PBS_MEMORY_LIMITS = frozenset({"mem", "vmem", "pmem", "pvmem"})
_LSF_TIME_LIMITS = frozenset({"RUNLIMIT", "CPULIMIT", "DEADLINE", "WINDOW"})
_LSF_MEMORY_LIMITS = frozenset({"MEMLIMIT", "SWAP"})
_ASSERTION = patterns.compile(r"^\S{1,300}: \S{1,300}:\d{1,7}: [^\n]{0,300}?Assertion `[^\n]{1,600}' failed\.\s*$")
"""C's `assert` failing (glibc's `train_gpt2cu: train_gpt2.cu:1518: int main(int, char**): Assertion `total_batch_size %
tokens_per_fwdbwd == 0' failed.`), which aborts the program: the crash, said first (the shell's `Aborted (core dumped)`
after it is the same one, `_NATIVE_WINDOW`). Told by the abort alone, a review's llm.c run quoted the shell's line,
not what failed. A CUDA kernel's device-side assert (`…: block: [0,0,0], thread: [0,0,0] Assertion `…` failed.`, once
a thread, its expression closed by a backtick) is no abort, nor matched: the Python exception after it ends the run."""
_FAULTHANDLER = "Fatal Python error: "
_NATIVE_WINDOW = 256
"""Lines within which the shell's word on a native crash after CPython's (`Fatal Python error: Segmentation fault`,
faulthandler's dump of every thread's frames, then `bash: line 1:  4022 Segmentation fault      python3 …`) is the
same crash's."""
_RECEIVED = patterns.compile(r"Received (SIG(?:TERM|HUP|QUIT|INT)): \d{1,2}\b")
"""Lightning's signal handler on a rank, `[rank: 2] Received SIGTERM: 15`, glued to the training bar's last frame: the
job was stopped from outside (a scheduler, `kill`), and the DataLoader workers the signal killed after it were read
as the run's cause (a review). SIGINT is a Ctrl-C, as `KeyboardInterrupt` is; the others end the process."""
_FAILURE_SIGNAL = patterns.compile(r"\*\*\* (SIG[A-Z]{3,6}) received at time=\d{1,12}")
"""Abseil's failure signal handler (in TensorFlow, JAX, Ray, glog's own since 0.7): `*** SIGTERM received at
time=1744039120 on cpu 20 ***`, then the stack's addresses. SIGTERM, SIGHUP and SIGQUIT stopped the process from
outside, SIGINT is a Ctrl-C, the others (SIGABRT, SIGBUS, SIGILL, SIGFPE; SIGSEGV is `_SEGFAULT`'s) crashed it. A
review's Ray run, stopped so, read as nothing at all."""
_LAUNCHER_SIGNAL = patterns.compile(r"\[launch\.py:\d{1,6}:sigkill_handler\] Main process received (SIG[A-Z]{2,6}), exiting")
"""The DeepSpeed launcher's word when a signal stopped it (`[launch.py:328:sigkill_handler] Main process received SIGINT,
exiting`, after `Killing subprocess …` for each rank): SIGINT a Ctrl-C, the others from outside. A review's DPO run,
stopped so after its first loss, read OK with no alert (and live, running)."""
_STOPPED_BY = frozenset({"SIGTERM", "SIGHUP", "SIGQUIT", "SIGKILL"})
_GRACEFUL = patterns.compile(r"(?<![\"'])Detected KeyboardInterrupt, attempting graceful shutdown")
"""Lightning's word for a Ctrl-C it caught (`trainer/call.py: UserWarning: Detected KeyboardInterrupt, attempting
graceful shutdown...`), with no traceback after it: the run was stopped, and read as still running it turned
`stalled` 34 s later (a review). Not the source line Python's warnings print under it (`rank_zero_warn("Detected …")`)."""
_USAGE = patterns.compile(
    r"[\w.\-/]{1,200}: error: (?:argument |unrecognized arguments: |the following arguments are required: )"
)
"""argparse's refusal of a command line (`train_bash.py: error: argument --fp16: Truthy value expected…`, after
its `usage:` block): the script exits with status 2 before training, with no traceback. A `traceback`
event, so that a job that died at launch is a crash (a review saw `UNREAD`, exit 3, for one)."""
_LOSS_NOT_FINITE = patterns.compile(
    r"(?:(?<![Nn]o )(?<!NO )(?<!of )\b(?:NaN|nan|[Nn]on-finite) loss detected(?!\s{0,4}[:=]\s{0,4}0\b)|\bLoss is (nan|-?inf), stopping training"
    r"|\bInvalid loss, terminating training)"
)
"""A run saying its loss was not finite where no logged loss need be: timm's, DeiT's, MAE's and DETR's engines
(`Loss is nan, stopping training`, then `sys.exit(1)`: the metric logger's last line, every `print_freq` batches,
was finite), Keras's `TerminateOnNaN` (`Batch 49: Invalid loss, terminating training`), a loop's own guard
(`[WARNING] NaN loss detected! Skipping batch.`, a new user's review: twelve of them read `OK`;
improved-diffusion's `Non-finite loss detected, stopping training.`). A `nonfinite` event whose loss is NaN: the
run's loss at the step it had reached (`RunTracker`), judged by the `nonfinite` rule as a logged NaN is (an infinite
one where the line says so). Not a count of them (`Number of NaN loss detected: 0`), nor an all-clear (`No NaN loss
detected`)."""
_COMPILE_ERROR = patterns.compile(r"(?:SyntaxError|IndentationError|TabError)\w{0,40}: ")
"""A script Python could not compile: `  File "train.py", line 232`, the line and a caret, then `SyntaxError: invalid
syntax` at the start of a line, with no `Traceback` header (nothing ran). Two ranks printing at once glue theirs
(`SyntaxErrorSyntaxError: : invalid syntaxinvalid syntax`, an LSF job's two processes). A `traceback` event: the
job died at launch (a review saw an earlier job's JSONDecodeError named as the cause)."""
_LAUNCHER_OK = patterns.compile(r"\[launch\.py:\d{1,6}:main\] Process \d{1,10} exits successfully\.\s*$")
_LAUNCHER_FAILED = patterns.compile(r" exits with return code = (-?\d{1,4})\s*$")
"""The DeepSpeed launcher's last word on its processes (`deepspeed train.py`, `python -m deepspeed.launcher.launch`):
`[INFO] [launch.py:460:main] Process 73588 exits successfully.` for each when all ended well, and when one failed
`[ERROR] [launch.py:184:sigkill_handler] ['python3', '-u', 'train.py', …] exits with return code = 1` before it kills
the rest. An exit of code 0, or the failure it names (a killed or interrupted one by its signal): a review's
DeepSpeed-Chat runs, whose every process exited successfully after their 16 epochs, read `ended`."""
_DS_LAUNCH = patterns.compile(r"\[runner\.py:\d{1,5}:main\] cmd = \S")
"""The `deepspeed` launcher's command line (`[INFO] [runner.py:630:main] cmd = pdsh -S -f 1024 -w …`, or `cmd =
/usr/bin/python3 -u -m deepspeed.launcher.launch …`), printed once each time it starts the program: a launch. A
script that runs three experiments into one log crashed in the third before its first step; read as the second's
end, `check` said `step 20/20 crashed` (a review). The command is not quoted (`_LAUNCH_MESSAGE`): over pdsh it
begins with an `export` of each variable of the job's environment, a token among them as like as not."""
_LAUNCH_MESSAGE = "the deepspeed launcher started the program (its runner's `cmd =` line)"
_XID = patterns.compile(r"NVRM: Xid \([^)]*\): (\d+)")
_OFF_BUS = patterns.compile(r"NVRM: .*fallen off the bus")
_PID = patterns.compile(r"\bpid=(\d+)")
_RETRY = patterns.compile(r"Retrying in \d|thrown while requesting")
_RETRY_NUMBERS = patterns.compile(r"Retrying in (\d+(?:\.\d+)?) ?s\w*\.? \[(?:Retry )?(\d+)/(\d+)\]")
_CHECKPOINT = patterns.compile(
    r"Saved model (?:parameters|file) to:? (?P<path>\S+)"                  # nanochat
    r"|Saving model checkpoint to (?P<hf>\S+)"                            # HF Trainer
    r"|(?P<start>saving checkpoint at iteration\s+\d|\[Torch\] Saving \S"     # starts (Megatron's, DeepSpeed's): no save yet
    r"|(?:\| fairseq\.trainer \||\[fairseq\.trainer\]\[INFO\] -) (?:Finished s|S)aving checkpoint to \S)"  # fairseq's
    # trainer, each shard's file (its plain and its Hydra logging)
    r"|\b[Ss]aved checkpoint \S+ \(epoch \d+ @ (?P<fq>\d+) updates"           # fairseq's checkpoint_utils: the save
    r"|successfully saved checkpoint (?:from|at) iteration\s+(?P<it2>\d+)"  # Megatron, done
    r"|saving checkpoint to \S"                                           # nanoGPT
    r"|global step (?P<gs>\d+): .*saving model to "                       # Lightning ModelCheckpoint
    r"|Writing checkpoint at step (?P<st>\d+)"                            # llm.c
    r"|Checkpoint global_step(?P<ds>\d+) is ready now"                    # DeepSpeed
    r"|Finished saving the checkpoint"                                    # torchtitan
    r"|Saving state, iter: (?P<ss>\d+)"                                    # ssd.pytorch and the detectors after it
    r"|Saving checkpoint at (?:(?P<mm>\d+) iterations|\d+ epochs)"         # mmengine (an epoch's step: the run's)
    r"|^\s{0,8}save checkpoint at \S"                                     # PaddlePaddle's Model.fit
    r"|\bppdet\.utils\.checkpoint INFO: Save checkpoint: \S"              # PaddleDetection (its output folder)
    r"|Saving checkpoints for (?P<tf>\d+) into \S"                        # TensorFlow's Estimator, MonitoredSession
    r"|Checkpoint policy after step (?P<lr>\d+)"                          # LeRobot
    r"|^\[ITER (?P<gs3>\d+)\] Saving Gaussians"                           # 3D Gaussian Splatting (its point cloud)
    r"|^saving the (?:model at the end of epoch \d+, iters (?P<jz>\d+)|latest model \(epoch \d+, total_iters (?P<jz2>\d+)\))"
    # pytorch-CycleGAN-and-pix2pix's train.py: its `iters` count the images seen, as its loss lines' do
    r"|Saving model weights and runtime parameters to \S+\.iter(?P<mr>\d+)\.npz"  # Marian (its `.iterN` copy)
    r"|Saving model and optimizer state at iteration \d+ to (?:\S*?_(?P<vi>\d+)\.\w+(?=\s*$)|\S)"  # VITS: its `iteration` the epoch,
    # the file's `G_19000.pth` the step (so-vits-svc's too)
    r"|^\s{0,8}> (?:BEST MODEL|CHECKPOINT) : \S*?_(?P<cq>\d+)\.pth(?:\.tar)?(?=\s*$)"  # Coqui TTS (`best_model_1000037.pth`)
    r"|(?<![Nn]o )[Cc]heckpoint saved(?: to|:) (?P<ck>\S*?step[-_]?\d+\S*)"     # OLMo (`Unsharded checkpoint saved to …/step500-unsharded`), a loop's `Checkpoint saved: /checkpoints/step_20`
    r"|(?<![Ff]inished )\b[Ss]av(?:e|ed|ing)(?: the)?(?: (?:LoRA |adapter )?(?P<word>models?|checkpoints?|weights))?(?: to| at| in|:)? [\"']?"  # a loop's own
    r"(?P<any>[^\s'\"]*?(?:checkpoint[-_]?\d+|ckpt[\w.\-]*|[\w.\-]+\.(?:pt|pth|ckpt|safetensors|bin|params|keras"
    r"|(?(word)(?:h5|hdf5)|(?!)))))"  # HDF5 a model's (Keras 2) only where the line says so: `Saving to data.h5` is data
    r"(?=[\s'\"|,;]|\.{0,3}$)"
)
"""Checkpoint messages, each framework's, and a loop's own that names the file it wrote (`save models to
…/checkpoint-90`, LLaVA's; lit-gpt's `Saving LoRA weights to '…/iter-000031-ckpt.pth'`; `[train] saved checkpoints\\neuroslm_small_chat_1000.pt`; `[Checkpoint] saved
./checkpoints/ckpt_step0047850.pt`): a review saw none of those three taken for a checkpoint. The file named must
be one (`checkpoint-N`, `ckpt…`, weights by their suffix), not any under a checkpoint folder (OLMo's `Global data
order indices saved to '…/checkpoints/…/global_indices.npy'`). Capitalised too: detectron2's fvcore `Saving checkpoint
to ./output/model_0000999.pth` and a loop's `==> Saving ./result/…/1.pt...` were no checkpoint (a review); nor was
MXNet's `Saved checkpoint to "models/img_cls-0001.params"` (the file in quotes, its weights `.params`), nor Keras's
`ModelCheckpoint` (`Epoch 00001: loss improved from inf to 2.41777, saving model to …/bilstm_ner.h5`, a review: 126
saves, none counted; Keras 3 says `… saving model to best.keras`, then `Epoch 1: finished saving model to best.keras`
of the same save, which is not counted again).
Megatron says when a save starts (`saving checkpoint at iteration      20 to …`) and when it is done (`successfully
saved checkpoint from iteration …`), and so does DeepSpeed's checkpoint engine for each file (`[Torch] Saving
…/global_step2500/layer_14-model_01-model_states.pt...`, then `Checkpoint global_step2500 is ready now!`): the starts
are matched to be no save, as a loop's own words for one could read them (a review's run whose disk filled while it
wrote step 20's had that checkpoint saved, then its traceback). So are fairseq's trainer's `Saving checkpoint to …` and
`Finished saving checkpoint to …`, said of each shard's file before its checkpoint_utils says `Saved checkpoint …
(epoch 1 @ 25 updates, …)` once (a review's MoE run counted 5 saves of one)."""
_PATH_STEP = patterns.compile(r"(?:checkpoint-|global_step|iter[-_]|step[-_]?)(\d+)|model_(\d+)\.")
"""A step in a checkpoint's path: `checkpoint-500`, `global_step2500`, lit-gpt's `iter-000031-ckpt.pth`, detectron2's
`model_0000999.pth`; not a model
shard's number (DeepSpeed's `global_step2500/layer_14-model_01-model_states.pt` saved step 2500, not step 1)."""
_DS_OVERFLOW = patterns.compile(
    r"OVERFLOW! Rank (\d+) Skipping step\.(?: Attempted loss scale: (\d+)"
    r"(?:, reducing to (\d+)|, but hysteresis is \d+\. Reducing hysteresis to (\d+))?)?"
)
_GRAD_OVERFLOW = patterns.compile(r"Grad(?:ient)? overflow(?: on iteration (\d+))?(?:.*reducing loss scale to (\d+(?:\.\d+)?))?")
_RANK_IN_LINE = patterns.compile(r"\[(?:rank|Rank )(\d+)\]")

# ── block patterns ──────────────────────────────────────────────────────────
_TB_HEADER = patterns.compile(r"Traceback \(most recent call last\)")
_CHAIN_TEXTS = ("During handling of the above exception", "The above exception was the direct cause")
_WRAPPER = patterns.compile(r"Caught \w+ in (?:replica \d+ on device \d+|DataLoader worker process \d+)\.\s*$")
"""torch's `ExceptionWrapper` re-raising a replica's or a DataLoader worker's exception: `torch.OutOfMemoryError:
Caught OutOfMemoryError in replica 0 on device 0.`, then `Original Traceback (most recent call last):` and the
original's frames and exception line, all one exception's message. The original's line says what happened (`CUDA out
of memory. Tried to allocate 512.00 MiB …`): the block goes on to it, one event (a review saw the wrapper's line
quoted and one OOM counted twice)."""
_SIGNAL_EXCEPTION = "SignalException: "
"""torch elastic's exception for a signal its agent received (`SignalException: Process 49154 got signal: 15`)."""
_CHAIN = patterns.compile(r"^\s*(?:" + "|".join(map(re.escape, _CHAIN_TEXTS)) + ")")
_IGNORED = "Exception ignored in"
"""Printed before a traceback at interpreter shutdown: that traceback was not raised (`_start_block`)."""
_LOGGING_ERROR = "--- Logging error ---"
"""Python logging's `Handler.handleError` before the traceback of a message it could not format (`TypeError: not all
arguments converted during string formatting`), then `Call stack:` and the message: the record was dropped, the
program goes on. A review's PPO evaluation, its line glued to a bar's frame (`10it [00:07,  1.39it/s]--- Logging error
---`), was told it "went on after a fatal error"."""
_LOGGED_BELOW_ERROR = patterns.compile(r"(?:^|[\s:])(?:[WI]\d{4} \d\d:\d\d:\d\d\.\d{1,6}\s+\d+\s+[^\]\s]+:\d+\]"
                                r"|[A-Za-z_][\w.]{0,200}: \[(?:WARNING|WARN|INFO|DEBUG)\])\s*$")
"""A logger's prefix of level WARNING or INFO before a traceback: a message logged with its traceback, not an
exception that ended the process. torch's loggers write a glog prefix (`W0530 14:48:26.433000 2622492
…/convert_frame.py:1233] `), and before torch 2.2 a bracketed level behind the logger's name (`[2023-11-30
17:00:45,568] torch._dynamo.convert_frame: [WARNING] `); a bracketed level alone is a platform's tag on all its output,
a crash's too (LangGraph Platform's `[INFO] Traceback …`, a code review). torch._dynamo logs `WON'T CONVERT … due to:`
and the compiler's traceback so and runs the function eagerly: a review's run that trained on read "critical crash"
and "42 fatal errors" from its 42 such dumps, another's "13 fatal errors" where 4 launches had failed."""
_THREAD = "Exception in thread "
"""`threading`'s header before the traceback of a thread's uncaught exception: the thread died, the process
did not. Threads print theirs interleaved (two headers, a line of the main thread's, then both tracebacks)."""
_THREAD_WINDOW = 4
"""Lines after a thread's header within which a traceback that starts is a thread's."""
_RERAISED = "Exception during training:"
"""detectron2's trainer logging, on the line before the traceback, the exception it re-raises as it stops training
(`d2.engine.train_loop ERROR: Exception during training:`): the traceback ended the training, whatever the loop's
hooks print after it. Its `after_train` writes the events once more (`iter: 4999`, one logging stride past the last),
which read as the run going on from an evaluation hook's `AssertionError: Dataset 'coco_instance_rgbd_val' is empty!`:
`check` said `ended` (a new user's review). Its event carries `ENDED_TRAINING` (runwatch.state.ending)."""
WAKES = Reads(heads=(_IGNORED, _THREAD, *_CHAIN_TEXTS), holds=tuple(text for _, texts in _GATE for text in texts))
"""The lines an idle detector does more with than count (runwatch.parsers.reads): those the gate lets
through, a chained traceback's first line (`_CHAIN`), and `Exception ignored in`, which the next line's
traceback depends on. Inside a traceback it reads other lines too (`absorbs` says which it only counts)."""


def never_wakes(forms: tuple[str, ...], chars: str) -> bool:
    """Whether no line made of one of `forms` (literal text, `\\0` where a field of `chars` stands) can be one
    `WAKES` admits, whatever its fields: proven once for a step template (runwatch.parsers.stepline.StepLine),
    so that its lines need not be fed (`skip`), as the fast path's rows are not.

    A text of `WAKES` on such a line holds its characters outside `chars` in runs, each of which a field
    cannot print and so must stand in one form's literal text; one run found in no form rules the text out.
    A text made of `chars` alone is not ruled out: no line is then proven."""
    split = patterns.compile("[" + re.escape(chars) + "]+")
    for text in (*WAKES.heads, *WAKES.holds):
        runs = [run for run in split.split(text) if run]
        if not runs or all(any(run in form for form in forms) for run in runs):
            return False
    return True


_EXCEPTION = patterns.compile(
    r"(?P<type>(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*"
    r"(?:Error|Exception|Interrupt|Exit|Iteration|Failure|Failed|Fault|Warning|Timeout|Unsupported|Abort|Aborted))"
    r"(?::\s?(?P<msg>.*))?$"
)
_EXCEPTION_INSIDE = patterns.compile(r"(?:^|[^\w.])(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception): ")
_AGENT_FAILED = patterns.compile(
    r"failed \(exitcode: (-?\d+)\) local_rank: (\d+) \(pid: (\d+)\)(?: of binary: (\S+))?"
)
_TB_TEXT = "Traceback (most recent call last):"
_REPORT_START = patterns.compile(r"ChildFailedError:\s*$")
_REPORT_FIELD = patterns.compile(
    r"^\s*(?:rank\s*:\s*(?P<rank>-?\d+)(?:\s*\(local_rank:\s*(?P<local>\d+)\))?"
    r"|exitcode\s*:\s*(?P<exit>-?\d+)(?:\s*\(pid:\s*(?P<pid>\d+)\))?(?:\s*\(SIG[A-Z0-9]{1,10}\))?"
    r"|host\s*:\s*(?P<host>\S+)"
    r"|traceback\s*:\s*(?P<tb>.+))\s*$"
)
_ANSI = patterns.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_FINISHED = patterns.compile(
    r"(?:(?:\b(?:[Tt]raining|[Ff]ine-?[Tt]uning) (?:[Ff]inished|[Cc]ompleted?|[Dd]one|COMPLETED?)|\b[Ff]inished [Tt]raining"
    r"|\b[Dd]one training"
    r"|\bEnd (?:of )?training)"
    r"(?: successfully)?(?:(?:[.!]{1,4}|;)(?:\s{1,3}(?:Final|final|Best|best)[ _][^\n]{0,200})?|\s+(?:after|in)\s(?:\d{1,4} days?, )?[^,;]{0,40}|\s{1,3}={2,}"
    r"|, best eval result in epoch \d{1,9}"  # RecBole's trainer, stopped early
    r"|\s{1,3}(?:at\s)?\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d{1,6})?)?"
    r"|\bTraining of experiment is done and the best AP is [\d.]{1,12}"  # YOLOX's trainer
    r"|\(trainer:\d{1,6}\) INFO: The training was finished at \d{1,6} epochs"  # ESPnet2's trainer
    r"|^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO \[train\.py:\d{1,6}\] (?:\(\d{1,5}/\d{1,5}\) )?Done!"  # icefall's (DDP: its rank)
    r"|\b(?:Finish|FINISH) [Tt]raining(?:[.!]{1,4}|: [^\n]{1,200})"  # `Finish training: the best validation accuracy …`
    r"|^\|\s{0,3}End of training\s{0,3}\|.{0,200}"  # PyTorch's word_language_model, its test loss after
    r"|^Training time \d{1,6}:\d\d:\d\d"  # torchvision-style mains (DETR, DeiT, MAE) at their end
    r"|\bTotal training time: \d{1,6}:\d\d:\d\d \(\d{1,6}:\d\d:\d\d on hooks\)"  # detectron2's IterationTimer
    r"|^Total [Tt]raining [Tt]ime: \d{1,9}(?:\.\d{1,6})? ?(?:min|mins|minutes|s|sec|secs|seconds|h|hrs|hours)\.?"
    r"|^(?:\[[\d/: -]{8,24}\] )?training [A-Za-z][\w.-]{0,60} finished)\s*$"  # PaddleVideo's, after its stamp
)
"""A custom loop's own last word (`print("Finished Training")`, the PyTorch tutorial's; `Training finished
after 600 steps`, `Training complete.` (and what is final or best after it: `Training complete. Final checkpoint:
./checkpoints/…`, HiFi-TSE's, a review's run read "ended"; YOLOv4-pytorch's `=====Training Finished.   best_test_mAP:0.997%====`; not any sentence: the HF Trainer's own `Training completed.
Do not forget to share your model …` is its parser's), `Training Complete.` (a logger's `INFO:Trainer:Training Complete.`, a
review's run read "incomplete"), a loop's `training complete; best val loss = 1.1703282733758291` (a review's DETR
fine-tune read "ended"), `Training completed successfully!`, `Training COMPLETE`, `End training....`; a logger's `Training completed in 3 days, 17:44:15.424134` and `=== Training Complete ===`;
a loop's `Training completed 2026-03-10 21:59:56.279026` (`print("Training completed", datetime.now())`);
LeRobot's `End of training`; PaddleVideo's `[12/25 15:48:20] training Res18 finished`; PyTorch's word_language_model example's `| End of training | test loss   nan | test
ppl      nan`; DETR's, DeiT's and MAE's `Training time 0:13:00`; detectron2's `Total training time: 0:14:31 (0:00:01 on
hooks)` (printed on an interrupted run too, but then its writer's last `iter:` line comes after it and takes it back);
a loop's `Total Training Time: 4.57 min` after its last epoch (a review's run read "ended"); a spiking neural network's
`Finish training: the best validation accuracy of SNN is 0.7677 in epoch 299.` (a review's run read "ended"); YOLOX's `Training of experiment is done and the best AP is 90.00`), ending its line:
with none, a
clean exit of a run with no known total read `process_exit: gone before the run finished` live (a new
user's review). A step after it (one
epoch's "training done") takes it back."""
_EARLY_STOP = patterns.compile(r"\bEarlyStopping counter: (\d{1,6}) out of (\d{1,6})\s*$")
"""The early-stopping helper many loops copy (`print(f'EarlyStopping counter: {self.counter} out of {self.patience}')`):
at its patience the loop stops, a finish (a review's YOLO loop ended `EarlyStopping counter: 9 out of 8` at epoch 57 of
100 and read "incomplete"). A loop that goes on after it (one that breaks a check later) takes it back with its next
step, as any finish line."""
_STOPPED_EARLY = patterns.compile(
    r"(?:\bEarly [Ss]topping [Tt]riggered(?![:=] ?(?:False|No|None|0)\s*$)(?:[.!]?|[.!:,]? (?:\([^()]{1,120}\)|[^.!?]{1,120}[.!]?))"
    r"|^Epoch \d{1,6}: early stopping"
    r"|^No improvement since epoch \d{1,6}: early stopping|^Early stopping occurred at epoch \d{1,6} with best_epoch = "
    r"\d{1,6} and best_[\w.]{1,80} = \S{1,40})\s*$")
"""A loop's own `Early stopping triggered.` (or with its reason: `Early stopping triggered. No validation improvement
for 6 epochs.`, a review's run read "incomplete"; `Early Stopping Triggered. (Best MAE: 0.7743)`, a SchNet loop's,
`ended`) and Keras's `Epoch 21: early stopping` (its callback, at the epoch it
stops), fastai's `EarlyStoppingCallback`'s `No improvement since epoch 2: early stopping` and pytorch-tabnet's `Early
stopping occurred at epoch 3 with best_epoch = 0 and best_val_0_auc = 0.46121` (a new user's review read both runs
`ended`): a finish, taken back by a step after it (a loop of folds stops each fold early; a review's 110 folds read
"incomplete: stopped at 14/40")."""
_STOPPED_SINCE = patterns.compile(
    r"^(?:Stopping since [\w.]{1,80} has not improved in the last \d{1,6} epochs\.|Stop training because you reached "
    r"max_epochs = \d{1,9} with best_epoch = \d{1,9} and best_[\w.]{1,80} = \S{1,40})\s*$")
"""skorch's `EarlyStopping` when it ends a fit (`Stopping since valid_loss has not improved in the last 4 epochs.`) and
pytorch-tabnet at its `max_epochs` (`Stop training because you reached max_epochs = 8 with best_epoch = 7 and
best_val_0_auc = 0.85637`): a finish (a new user's review read them `ended`)."""
_TRAINER_STOPPED = patterns.compile(r"Signaling Trainer to stop\.?\s*$")
"""Lightning's EarlyStopping callback when it ends the fit: `Monitored metric val_loss did not improve in the last 5
records. Best score: 0.034. Signaling Trainer to stop.` (also its `… is not finite …`, stopping and divergence
thresholds): a finish, taken back by a step after it (a review read a finished Lightning run `ended`)."""
_BAR_END = patterns.compile(r"(?:it/s|s/it)[^\[\]]*\]")
_SHAPE = str.maketrans(
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "0" * 10 + "a" * 52
)


@dataclass(slots=True)
class _Hit:
    """What `_classify` found in a line: event name, where it starts, numbers, step.

    Not frozen: a frozen dataclass sets each field through `object.__setattr__` (1.2 µs a `_Hit` against
    0.3), and every logged traceback's exception line makes one. Nothing changes one once made."""

    event: str
    start: int
    metrics: dict[str, float] = field(default_factory=dict)
    step: int | None = None
    key: object = None
    """Identity for folding repeats (NCCL work, SLURM job), or None."""


def _classify(line: str) -> _Hit | None:
    """The event one line states on its own, by the most specific pattern first.

    Each regex is guarded by a substring test, so a line that passed the gate
    on a near miss (`overflow_check:`, `ProcessGroupNCCL.cpp`) costs tens of ns
    a pattern instead of a scan each.
    """
    if "auses" in line and _HEDGED.search(line):
        return None
    if "Killed process" in line and (m := _OOM_KILLER.search(line)):
        return _Hit(Event.OOM, m.start(), {"pid": float(m[1]), "host_oom": 1.0})
    if ("emory" in line or "bad_alloc" in line) and (m := _HOST_OOM.search(line)):
        return _Hit(Event.OOM, m.start(), {**_oom_metrics(line), "host_oom": 1.0})
    if ("DataLoader" in line or "bus error" in line) and (m := _DATALOADER.search(line)):
        return _Hit(Event.DATALOADER_ERROR, m.start())
    if ("emory" in line or "OOM when" in line) and (m := _OOM.search(line)):
        if "WARNING" in line and _RECOVERED.search(line, m.end()) and "WARNING" in line[:m.start()]:
            return None
        host = {"host_oom": 1.0} if "/device:CPU:" in line[m.end():] else {}  # TensorFlow's names its device
        return _Hit(Event.OOM, m.start(), {**_oom_metrics(line), **host})
    if "Watchdog" in line and (m := _WATCHDOG.search(line)):
        return _nccl_timeout(line, m.start())
    if ("NCCL" in line or "DistBackend" in line) and (m := _NCCL_ERROR.search(line)):
        return _Hit(Event.NCCL_ERROR, m.start())
    if ("Killed" in line or "SIGKILL" in line or "已杀死" in line) and (m := _KILLED.search(line)):
        return _Hit(Event.KILLED, m.start())
    if ("Segmentation" in line or "SIGSEGV" in line or "Bus error" in line or "Aborted" in line
            or "Fatal Python" in line) and (
            m := _SEGFAULT.search(line)):
        return _Hit(Event.SEGFAULT, m.start())
    if _GPU_FAULT_TEXT in line and (m := _GPU_FAULT.search(line)):
        return _Hit(Event.SEGFAULT, m.start())
    if "[cuBLAS ERROR]: " in line and (m := _CUBLAS_CHECK.search(line)):
        return _Hit(_TRACEBACK, m.start())
    if "Assertion `" in line and _ASSERTION.match(line):
        return _Hit(Event.SEGFAULT, 0)
    if "main] cmd = " in line and (m := _DS_LAUNCH.search(line)):
        return _Hit(Event.LAUNCHED, m.start())
    if "Received SIG" in line and (m := _RECEIVED.search(line)):
        return _Hit(_SIGNAL if m[1] == "SIGINT" else Event.KILLED, m.start())
    if "process received SIG" in line and (m := _LAUNCHER_SIGNAL.search(line)):
        return _Hit(_SIGNAL if m[1] == "SIGINT" else Event.KILLED, m.start())
    if "received at time=" in line and (m := _FAILURE_SIGNAL.search(line)):
        name = m[1]
        event = _SIGNAL if name == "SIGINT" else Event.KILLED if name in _STOPPED_BY else Event.SEGFAULT
        return _Hit(event, m.start())
    if "KeyboardInterrupt" in line and (m := _GRACEFUL.search(line)):
        return _Hit(_SIGNAL, m.start())
    if "exits " in line and (at := line.find("[launch.py:")) >= 0:
        if _LAUNCHER_OK.search(line, at) is not None:
            return _Hit(Event.EXIT, at, {"exit_code": 0.0})
        if (m := _LAUNCHER_FAILED.search(line, at)) is not None:
            code = int(m[1])
            return _Hit(_exited(code), m.start(), {"exitcode": float(code)})  # a long command: the message keeps its end
    if "CANCELLED AT" in line and (m := _CANCELLED.search(line)):
        return _Hit(Event.TIME_LIMIT if m[2] == "TIME LIMIT" else Event.KILLED, m.start(), key=("job", m[1]))
    if line.startswith("TERM_") and (m := _LSF_ENDED.match(line)):
        if m[1] in _LSF_MEMORY_LIMITS:
            return _Hit(Event.OOM, 0, {"host_oom": 1.0})
        return _Hit(Event.TIME_LIMIT if m[1] in _LSF_TIME_LIMITS else Event.KILLED, 0)
    if "PBS: job killed" in line and (m := _PBS_KILLED.search(line)):
        if m[1] in _PBS_MEMORY_LIMITS:
            return _Hit(Event.OOM, m.start(), {"host_oom": 1.0})
        return _Hit(Event.TIME_LIMIT if m[1] in _PBS_TIME_LIMITS else Event.KILLED, m.start())
    if "NVRM" in line:
        if m := _XID.search(line):
            pid = _PID.search(line, m.end())
            return _Hit(Event.XID, m.start(), {"xid": float(m[1]), **({"pid": float(pid[1])} if pid else {})})
        if m := _OFF_BUS.search(line):
            return _Hit(Event.XID, m.start())
    if ("Retrying" in line or "thrown while" in line) and (m := _RETRY.search(line)):
        return _retry(line, m.start())
    if ("heckpoint" in line or "aved model" in line or "aving model" in line or "saved " in line or "aving the " in line
            or "aving state" in line or "Sav" in line or " MODEL : " in line
            or "CHECKPOINT : " in line) and (
            m := _CHECKPOINT.search(line)) and not m["start"]:  # `saved `: `New best model saved at …/best.pt (…)`
        return _checkpoint(m)
    if "OVERFLOW!" in line and (m := _DS_OVERFLOW.search(line)):
        return _Hit(OVERFLOW, m.start(), _overflow_metrics(m))
    if "overflow" in line and (m := _GRAD_OVERFLOW.search(line)):
        return _Hit(OVERFLOW, m.start(), {"loss_scale": float(m[2])} if m[2] else {},
                    step=int(m[1]) if m[1] else None)
    if ": error: " in line and (m := _USAGE.match(line)):
        return _Hit(Event.TRACEBACK, m.start(), {COMMAND_LINE_REFUSED: 1.0})
    if ("loss detected" in line or "ing training" in line) and (m := _LOSS_NOT_FINITE.search(line)):
        return _Hit(Event.NONFINITE, m.start(), {"loss": float(m[1]) if m[1] else math.nan})  # `float("-inf")`
    if "rror" in line and (m := _COMPILE_ERROR.match(line)):
        return _Hit(Event.TRACEBACK, m.start())
    if ("raining" in line or "uning " in line or " Done!" in line) and (m := _FINISHED.search(line)):
        return _Hit(Event.FINISHED, m.start())
    if _ESTIMATOR_DONE in line:
        return _Hit(Event.FINISHED, line.index(_ESTIMATOR_DONE))
    if "EarlyStopping counter" in line and (m := _EARLY_STOP.search(line)) and int(m[1]) >= int(m[2]):
        return _Hit(Event.FINISHED, m.start())
    if ("arly stopping" in line or "arly Stopping" in line) and (m := _STOPPED_EARLY.search(line)):
        return _Hit(Event.FINISHED, m.start())
    if "Stop" in line and (m := _STOPPED_SINCE.match(line)):
        return _Hit(Event.FINISHED, 0)
    if "Signaling Trainer" in line and (m := _TRAINER_STOPPED.search(line)):
        return _Hit(Event.FINISHED, 0)
    return None


def _oom_metrics(line: str) -> dict[str, float]:
    out: dict[str, float] = {}
    if m := _OOM_ALLOC.search(line):
        out["requested_bytes"] = float(m[1]) * _UNITS[m[2]]
    if m := _OOM_GPU.search(line):
        out["gpu"] = float(m[1])
    return out


def _overflow_metrics(m: re.Match[str]) -> dict[str, float]:
    """DeepSpeed's new loss scale; with hysteresis left the scale stays at the attempted one."""
    attempted, reduced, hysteresis = m[2], m[3], m[4]
    out: dict[str, float] = {}
    if reduced or attempted:
        out["loss_scale"] = float(reduced or attempted)
    if hysteresis:
        out["hysteresis"] = float(hysteresis)
    return out


def _nccl_timeout(line: str, start: int) -> _Hit:
    metrics: dict[str, float] = {}
    for name, rx in (("seq_num", _SEQ), ("timeout_ms", _TIMEOUT_MS), ("ran_for_ms", _RAN_FOR)):
        if m := rx.search(line, start):
            metrics[name] = float(m[1])
    rank = _RANK_IN_LINE.search(line)
    key = ("work", rank[1] if rank else None, metrics.get("seq_num")) if "seq_num" in metrics else None
    return _Hit(Event.NCCL_TIMEOUT, start, metrics, key=key)


def _retry(line: str, start: int) -> _Hit:
    m = _RETRY_NUMBERS.search(line)
    if m is None:
        return _Hit(Event.DATALOADER_RETRY, start)
    return _Hit(Event.DATALOADER_RETRY, start,
                {"retry_delay_s": float(m[1]), "retry": float(m[2]), "retry_max": float(m[3])})


def saved_step(line: str) -> int | None:
    """The step of the checkpoint a line says was saved, as the crash detector reads it (`_CHECKPOINT`), None where
    it says none (or a load: a resumed run loads one)."""
    m = _CHECKPOINT.search(line)
    return None if m is None or m["start"] else _checkpoint(m).step


def _checkpoint(m: re.Match[str]) -> _Hit:
    number = (m["it2"] or m["gs"] or m["st"] or m["ds"] or m["mm"] or m["ss"] or m["tf"] or m["lr"]
              or m["mr"] or m["vi"] or m["cq"] or m["fq"] or m["gs3"] or m["jz"] or m["jz2"])
    if number is None and (path := m["path"] or m["hf"] or m["ck"] or m["any"]):
        found = _PATH_STEP.findall(path)
        number = (found[-1][0] or found[-1][1]) if found else None
    return _Hit(Event.CHECKPOINT_SAVED, m.start(), step=int(number) if number else None)


def _exception_event(text: str) -> _Hit:
    """The event a traceback's final exception line stands for."""
    hit = _classify(text)
    if hit is not None and hit.event in _CRASHES:
        return hit
    if text.startswith("KeyboardInterrupt"):
        return _Hit(_SIGNAL, 0)
    if _SIGNAL_EXCEPTION in text and (m := ELASTIC_SIGNAL.search(text)) is not None:
        # the launcher itself was stopped (SIGTERM, SIGHUP, SIGQUIT from outside; SIGINT a Ctrl-C) and stops every
        # worker as it goes (`Sending process 12227 closing signal SIGHUP`): a kill, no bare traceback a run might
        # survive (read as one, a review's GRPO run stopped at step 935 of 936 showed `running` with an ETA live
        # while `check` said crashed: a bare traceback's badge waits two step intervals, 6 min there)
        return _Hit(_SIGNAL if int(m[1]) == signal.SIGINT else Event.KILLED, 0)
    return _Hit(_TRACEBACK, 0)


def _message(line: str, start: int = 0) -> str:
    """The line as a message: a glued progress bar and escapes dropped, at most 500 chars."""
    cut = 0
    for bar in _BAR_END.finditer(line, 0, start):
        cut = bar.end()
    text = line[cut:]
    if len(text) > _MAX_MESSAGE and start - cut > _MAX_MESSAGE - 100:
        at = start - cut - 100
        text = text[at:at + _MAX_MESSAGE + 100]
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    return text.strip()[:_MAX_MESSAGE]


# ── multi-line blocks ───────────────────────────────────────────────────────
@dataclass(slots=True)
class _Traceback:
    """An open `Traceback (most recent call last):` block."""

    prefix_shape: str
    """Shape of the text before `Traceback` on the header (a CI timestamp, `[rank0]: `), stripped from
    later lines of the same shape."""
    chained_from: str | None = None
    told: str = ""
    """The crash event a line said just before the header (`EventDetector._logged`): an exception of that event
    ending this traceback is the same crash, told again."""
    ignored: bool = False
    lines: int = 0
    last: str = ""
    steps: int = 0
    """Training step lines seen since the header (`EventDetector.stepped`)."""
    wrapper: str = ""
    """A re-raised exception's line (`_WRAPPER`) whose original traceback follows in the same block."""
    cap: int = _MAX_TRACEBACK
    """The lines it may run to: `_MAX_ANNOTATED` once a line shows loguru's annotations (`_ANNOTATIONS`)."""
    reraised: bool = False
    """The line before the header was a trainer's word that it stops on this exception (`_RERAISED`)."""
    interrupted: bool = False
    """The header comes right after the terminal's echo of a Ctrl-C (`^CTraceback (most recent call last):`)."""
    exception: str = ""
    """An exception line whose message is blank (`RuntimeError: `): the message starts with a newline, on the
    next line (multiprocessing's `An attempt has been made to start a new process before the current process has
    finished its bootstrapping phase.`), where `traceback: RuntimeError:` told the user nothing (a review's
    detectron2 run). The block ends at that next line."""

    def body(self, line: str) -> str:
        n = len(self.prefix_shape)
        if n and line[:n].translate(_SHAPE) == self.prefix_shape:
            return line[n:]
        return line


@dataclass(slots=True)
class _CheckFailed:
    """A failed CUDA or NCCL check's first line (`_NATIVE_CHECK`), whose next line says what failed."""

    header: str
    start: int
    nccl: bool

    def record(self, said: str) -> Record:
        """The crash: an `oom` where the CUDA runtime said `out of memory`, an `nccl_error` for NCCL's check, else a
        `traceback` (the program exits at once, as an uncaught exception ends one), its message the two lines as one."""
        event = Event.NCCL_ERROR if self.nccl else Event.OOM if said.startswith("out of memory") else _TRACEBACK
        return _record(_Hit(event, self.start), f"{self.header.rstrip()} {said}".rstrip())


@dataclass(slots=True)
class _Report:
    """torch elastic's failure report: agent line, launcher traceback, `ChildFailedError` table."""

    agent: str = ""
    in_table: bool = False
    rules: int = 0
    section: str = ""
    script: str = ""
    lines: int = 0
    agent_fields: dict[str, float] = field(default_factory=dict)
    first: dict[str, str] = field(default_factory=dict)
    root: dict[str, str] = field(default_factory=dict)

    def take(self, line: str) -> bool | None:
        """Fold one line in: True when the report is complete, None when the line is no part of it.

        Before the table only the agent's own output belongs here (its log
        lines, the launcher traceback); anything else means there will be no
        table, as when torchrun restarts the worker group.
        """
        self.lines += 1
        s = line.strip()
        if not self.in_table:
            if _REPORT_START.search(s):
                self.in_table = True
            elif s and line[0] not in " \t" and not _is_agent_output(s):
                return None
            return False
        if s and s.strip("=") == "":
            self.rules += 1
            return self.rules >= 2
        if s.startswith("Root Cause"):
            self.section = "root"
        elif s.startswith("Failures:"):
            self.section = "failures"
        elif self.rules == 1 and not self.section and s.endswith("FAILED"):
            self.script = s
        elif m := _REPORT_FIELD.match(s):
            into = self.root if self.section == "root" else self.first
            for name, value in m.groupdict().items():
                if value is not None:
                    into.setdefault(name, value)
        elif (into := self.root if self.section == "root" else self.first).get("tb", "").startswith(_TB_TEXT):
            # the field's traceback, indented under it: its exception is the first such line after its last frame
            # (not a line of the exception's message: NCCL's `ncclUnhandledCudaError: Call to CUDA function failed.`
            # after `DistBackendError: NCCL error in: …`; a code review)
            if s.startswith('File "'):
                into.pop("exc", None)
                into["framed"] = "1"
            elif "framed" in into and "exc" not in into and len(line) - len(line.lstrip()) <= 2 and _EXCEPTION.match(s):
                into["exc"] = s
        return False

    def record(self) -> Record:
        info = self.root or self.first
        metrics = dict(self.agent_fields)
        # the numbers are the root cause's, else the agent line's: the first entry under `Failures:` of a table
        # cut before its root cause is as like as not a rank the agent stopped after another failed (`exitcode : -15`)
        fields = self.root or ({} if self.agent_fields else self.first)
        for name, key in (("exit", "exitcode"), ("local", "local_rank"), ("pid", "pid")):
            if name in fields:
                metrics[key] = float(fields[name])
        if "rank" in self.root:
            metrics["root_cause_rank"] = float(self.root["rank"])
        if "SIGKILL" in info.get("tb", ""):
            metrics["exitcode"] = -9.0
        code = metrics.get("exitcode")
        event = Event.CHILD_FAILED if code is None else _exited(code)
        return Record(Kind.EVENT, event=str(event), message=self._message(info), metrics=metrics)

    def _message(self, info: dict[str, str]) -> str:
        if not info:
            return _message(self.agent) if self.agent else "ChildFailedError"
        parts = [self.script or "ChildFailedError"]
        if "rank" in info:
            parts.append(f"root cause rank {info['rank']}" + (f" (local_rank {info['local']})" if "local" in info else ""))
        if "exit" in info:
            said = [x for x in (_signal_of(info["exit"]), f"pid {info['pid']}" if "pid" in info else "") if x]
            parts.append(f"exitcode {info['exit']}" + (f" ({', '.join(said)})" if said else ""))
        if "host" in info:
            parts.append(f"on {info['host']}")
        if "tb" in info and not info["tb"].startswith("To enable traceback"):
            # a traceback's header says nothing: its exception does (`RuntimeError: Triton Error [CUDA]: device-side
            # assert triggered`, 110 lines under it; a review's alert ended `Traceback (most recent call last):`)
            parts.append(info["exc"] if "exc" in info and info["tb"].startswith(_TB_TEXT) else info["tb"])
        return _message("; ".join(parts))


def _exited(code: float) -> Event:
    """What a worker's exit code says stopped it, as a launcher reports it: a signal from outside (SIGKILL, SIGTERM), a
    segfault, SIGINT (someone's Ctrl-C, as a `KeyboardInterrupt` is: no crash), else a failure of its own. torch
    elastic's report of a Ctrl-C'd rank (`exitcode : -2`, `Signal 2 (SIGINT) received by PID …`, after the rank's own
    `KeyboardInterrupt`) read as a critical crash (a new user's review)."""
    return (Event.KILLED if code in (-9, -15) else Event.SEGFAULT if code == -11 else _SIGNAL if code == -2
            else Event.CHILD_FAILED)


def _signal_of(code: str) -> str:
    """`SIGABRT` for a worker's exit code `-6` (the signal that killed it), else nothing."""
    try:
        return signal.Signals(-int(code)).name if int(code) < 0 else ""
    except ValueError:
        return ""


def _is_agent_output(s: str) -> bool:
    return bool(_TB_HEADER.search(s) or _EXCEPTION.match(s) or "distributed/elastic" in s
                or "distributed.elastic" in s or "distributed.run" in s)


FRAME_LEAD = " \t"
"""What a frame of a traceback starts with (`is_frame`)."""


def is_frame(line: str) -> bool:
    """An indented line (a traceback's frame, its code, a caret line) or an empty one: an open traceback
    only counts it, keeping the last indented one with text as its last line (`_traceback_line`),
    whatever it holds besides. The caller makes sure no other reader wants it (a format parser reads
    Megatron's indented step lines)."""
    return not line or line[0] in FRAME_LEAD


class EventDetector:
    """Turns a stream of log lines (launcher prefixes already removed) into event Records.

    One instance per source. Stateful because tracebacks and failure reports
    span lines, pure because it does no I/O and reads no clock: `t` is left
    0.0 for the source to stamp.
    """

    def __init__(self) -> None:
        self._n = 0
        self._block: _Traceback | _Report | _CheckFailed | None = None
        self._prev = ""
        self._chain_event: str | None = None
        self._chain_signal = False
        """Whether the event a chained traceback may follow was torch elastic's `SignalException` (`_end_traceback`)."""
        self._chain_until = -1
        self._logged: tuple[str, int] = ("", -1)
        """The crash event a line said on its own, and until which line a traceback after it tells the same crash
        (`_start_block`)."""
        self._retry_at = -10
        self._exit_at = -10
        self._native_at = -_NATIVE_WINDOW - 1
        """The line of the last `Fatal Python error:` told (`_emit`)."""
        self._last_checkpoint: int | None = None
        self._seen: dict[object, None] = {}
        self._threads = 0
        self._threads_until = -1
        """Threads' headers (`_THREAD`) whose tracebacks have not started, and the last line they may start at."""
        self._told: tuple[str, int] = ("", -1)
        """The crash the last traceback ended in, and the last line its message may go on to (`_CHAIN_WINDOW` lines
        after its exception line): a line there that states the same crash again is no second one (PaddlePaddle's
        `SystemError: … BadAlloc exception.`, then `Out of memory error on GPU 2. …`: one OOM, not two)."""
        self._ended_until = -1
        """The last line a trainer's hooks may say `Total training time` on after a crash it said ended the training
        (`_RERAISED`): detectron2's `after_train` runs on the way out, and line mode printed `finished` under the
        traceback of a run its evaluation hook killed."""

    def feed(self, line: str) -> Record | None:
        """The event this line completes, or None."""
        self._n += 1
        if self._block is not None:
            return self._feed_block(self._block, line)
        return self._idle_line(line)

    def _idle_line(self, line: str) -> Record | None:
        """`feed` of a line that no open block takes."""
        if line.startswith(_THREAD):
            self._threads, self._threads_until = min(self._threads + 1, 64), self._n + _THREAD_WINDOW
        if not _worth_a_look(line):
            if self._chain_until >= self._n and _CHAIN.match(line):
                self._block = _Traceback("", chained_from=self._chain_event)
            self._prev = line
            return None
        prev, self._prev = self._prev, line
        if self._start_block(line, prev):
            return None
        return self._line_event(line)

    @property
    def idle(self) -> bool:
        """No traceback or failure report is open: the next line is read on its own (see `skip`)."""
        return self._block is None

    def absorbable(self, n: int) -> int:
        """How many of the next `n` plain lines `skip` may count now without their text.

        Idle, all of them. Inside a traceback too, short of the line that
        would reach `_MAX_TRACEBACK` (that one closes the block, so it must
        be fed): a plain line there only counts towards that cap. A traceback
        whose header had a prefix (`[rank0]: `, a CI timestamp) strips that
        prefix's shape from later lines, which could make a plain line read
        otherwise, and a failure report looks at every line: none, there.
        Without this, one logged traceback header with no exception line
        after it sent the next 200 step lines of a fast path one by one.
        """
        block = self._block
        if block is None:
            return max(n, 0)
        if isinstance(block, _Traceback) and not block.prefix_shape and not block.exception:
            return max(0, min(n, block.cap - 1 - block.lines))
        return 0

    def skip(self, n: int, last: str = "", steps: int | None = None) -> None:
        """Count `n` lines that `feed` would only count: as if `feed` had seen each (at most `absorbable(n)`).

        For a caller that knows lines to be nothing to this detector without
        reading them: the step lines of a columnar fast path (`_worth_a_look`
        rejects them, none is a chained-traceback line, an exception line or
        an indented traceback line), lines none of `WAKES` admits while idle,
        lines `absorbs` takes inside a traceback. Inside a traceback `steps`
        of them (all by default) count as steps (`stepped`). `last` is the
        last of them as far as the next line cares: when idle, only one that
        starts with `Exception ignored in` changes what follows (the
        traceback after it is not reported); inside a traceback, the last of
        them that starts with a blank (Megatron prints its step lines so;
        the frames of the traceback itself), which `feed` keeps as the
        block's last line, the one a traceback cut off by the end reports.
        The default stands for any other line.
        """
        if n <= 0:
            return
        self._n += n
        block = self._block
        if block is None:
            self._prev = last
        elif isinstance(block, _Traceback):
            block.lines += n
            block.steps += n if steps is None else steps
            if last[:1] in (" ", "\t") and last.strip(" \t^~"):
                block.last = last.strip()  # as `_traceback_line` keeps an indented line

    def absorbs(self, line: str) -> bool:
        """Whether `skip(1, line, steps=0)` stands for feeding `line` now: a traceback is open (see
        `absorbable`) and the line is one of its frames (`is_frame`)."""
        return is_frame(line) and self._block is not None and self.absorbable(1) == 1

    def stepped(self) -> None:
        """The line just fed was a training step (the format parser read one): an open traceback that
        training goes on through, with no exception line, is a logged one, not a crash (see `flush`)."""
        if isinstance(self._block, _Traceback):
            self._block.steps += 1

    def flush(self) -> Record | None:
        """The record of a block the input ended in (a cut-off traceback or report), or None."""
        block, self._block = self._block, None
        self._chain_until = -1
        if isinstance(block, _CheckFailed):
            return self._emit_check(block, "")  # the input ended before the line saying what failed
        if isinstance(block, _Report):
            return block.record()
        if block is not None and block.exception:  # the input ended before its message
            return self._end_traceback(block, block.exception, "")
        if block is None or block.chained_from is not None or block.ignored or block.steps >= _WENT_ON:
            return None
        if block.wrapper:
            return _record(_exception_event(block.wrapper), block.wrapper)
        if block.interrupted:  # cut off before its `KeyboardInterrupt`: someone's Ctrl-C all the same, no crash (a
            # review's OpenNMT log ended `^CTraceback …` and one frame, and `check` said "critical crash")
            return _record(_Hit(_SIGNAL, 0), f"^C (Ctrl-C), its traceback cut off at: {block.last or _TB_TEXT}")
        return _record(_Hit(_TRACEBACK, 0), block.last or "Traceback (most recent call last):")

    # ── internals ──
    def _start_block(self, line: str, prev: str) -> bool:
        if "Traceback" in line and (m := _TB_HEADER.search(line)):
            ignored = (prev.lstrip().startswith(_IGNORED) or prev.rstrip().endswith(_LOGGING_ERROR) or self._thread_died()
                       or (m.start() > 0 and _LOGGED_BELOW_ERROR.search(line, 0, m.start()) is not None))
            said, until = self._logged
            self._block = _Traceback(line[:m.start()].translate(_SHAPE), ignored=ignored,
                                     told=said if until >= self._n else "", interrupted=line.endswith("^C", 0, m.start()),
                                     reraised=_RERAISED in prev)
        elif "exitcode" in line and (m := _AGENT_FAILED.search(line)):
            fields = {"exitcode": float(m[1]), "local_rank": float(m[2]), "pid": float(m[3])}
            self._block = _Report(agent=line, agent_fields=fields)
        elif "ChildFailedError" in line and _REPORT_START.search(line):
            self._block = _Report(in_table=True)
        elif "ERROR] at file " in line and (m := _NATIVE_CHECK.search(line)):
            self._block = _CheckFailed(line, m.start(), m[1] == "NCCL")
        else:
            return False
        return True

    def _thread_died(self) -> bool:
        """Whether the traceback starting now is a thread's (`_THREAD`): one of its headers came lately."""
        if not self._threads or self._n > self._threads_until:
            self._threads = 0
            return False
        self._threads -= 1
        return True

    def _line_event(self, line: str) -> Record | None:
        hit = _classify(line)
        if hit is None:
            return None
        if hit.event == self._told[0] and self._n <= self._told[1]:
            return None  # the traceback's own message, on the lines after its exception
        if hit.event in _CRASHES:
            self._logged = (hit.event, self._n + _CHAIN_WINDOW)  # `ERROR - root - Training failed with error: CUDA
            # out of memory. …`, then its traceback ending in the same `torch.OutOfMemoryError`: one OOM, told twice
        return self._emit(hit, line)

    def _feed_block(self, block: _Traceback | _Report | _CheckFailed, line: str) -> Record | None:
        if isinstance(block, _CheckFailed):
            if "ERROR] at file " in line and _NATIVE_CHECK.search(line):
                return None  # another rank's failed check (llm.c under `mpirun`): what failed comes after both
            self._block, prev = None, self._prev
            self._prev = line
            if "Traceback" in line and _TB_HEADER.search(line):  # no word of what failed: the header alone
                told = self._emit_check(block, "")
                self._start_block(line, prev)
                return told
            return self._emit_check(block, line.strip())
        if isinstance(block, _Report):
            done = block.take(line)
            if done is False and block.lines < _MAX_REPORT:
                return None
            self._block = None
            if done is None:  # the report ended without a table; this line may open the next block
                self._start_block(line, self._prev)
            self._prev = line
            return block.record()
        block.lines += 1
        if block.exception and (text := block.body(line)).strip():
            return self._exception_said(block, line, text)
        if block.cap == _MAX_TRACEBACK and line.lstrip(" ").startswith(_ANNOTATIONS):
            block.cap = _MAX_ANNOTATED
        rec = self._traceback_line(block, block.body(line))
        if rec is None and self._block is block and block.lines >= block.cap:
            return self.flush()
        return rec

    def _exception_said(self, block: _Traceback, line: str, text: str) -> Record | None:
        """The line after an exception line with a blank message (`_Traceback.exception`): its message, unless
        another traceback starts there or a chain's words (`During handling of the above exception…`): then the
        exception ends its traceback as it stood, and the line is read as if no block were open (a header opens
        one, a chain's words a chained one: neither is an event of its own)."""
        if not (_TB_HEADER.search(text) or _CHAIN.match(text)):
            return self._end_traceback(block, f"{block.exception.rstrip()} {text.strip()}", "")
        told = self._end_traceback(block, block.exception, "")  # no report follows: not a `ChildFailedError`
        own = self._idle_line(line)
        return told if told is not None else own

    def _traceback_line(self, block: _Traceback, text: str) -> Record | None:
        if not text.strip():
            return None
        m = _EXCEPTION.match(text) if text[0] not in " \t│╭╰┃" else None
        if m is None and (text[0] in " \t│╭╰┃" or _TB_HEADER.search(text) or _CHAIN.match(text)):
            if text.strip(" \t^~") and text[0] not in "│╭╰┃":
                block.last = text.strip()
            return None
        if m is not None:  # before a header's text: an exception whose message quotes a traceback ends its own
            # (Paddle's DataLoader thread: `KeyError: 'DataLoader worker(1) caught KeyError with message:\nTraceback
            # (most recent call last):\n …'` on one line; read as a header, the thread's traceback went on through the
            # main thread's after it, whose `SystemError` then ended a thread's: the crash unseen, a review)
            if not block.wrapper and "Caught " in text and _WRAPPER.search(text):
                block.wrapper = block.last = text.strip()  # its original traceback follows: that one ends the block
                return None
            if m["msg"] is not None and not m["msg"].strip() and not m["type"].endswith("ChildFailedError"):
                block.exception = text  # its message on the next line
                return None
            return self._end_traceback(block, text, m["type"])
        if not _worth_a_look(text):  # another rank's output, interleaved
            return None
        if _AGENT_FAILED.search(text):  # the launcher gave up before the traceback ended
            rec = self.flush()
            self._start_block(text, "")
            return rec
        hit = _classify(text)
        if hit is None:
            return None
        if hit.event in _CRASHES and _EXCEPTION_INSIDE.search(text):  # the exception, behind some prefix
            return self._end_traceback(block, text, "")
        return self._emit(hit, text)

    def _end_traceback(self, block: _Traceback, text: str, exc_type: str) -> Record | None:
        if exc_type.endswith("ChildFailedError"):
            self._block = _Report(in_table=True)
            return None
        self._block = None
        hit = _exception_event(text)
        if block.ignored:
            return None
        if hit.event in _CRASHES:
            self._told = (hit.event, self._n + _CHAIN_WINDOW)
        if (block.chained_from is not None and (_folded(hit.event, block.chained_from)
                                                or (self._chain_signal and _SIGNAL_EXCEPTION in text))
                or hit.event == block.told):  # a second signal while torch elastic's agent shut down for the first
            # (`got signal: 15`, then `got signal: 1` as its terminal closed): the first says why (a review's
            # OLMo run was told "SIGHUP: run it under nohup" of a SIGTERM)
            self._chain_until = self._n + _CHAIN_WINDOW
            return None
        rec = self._emit(hit, text)
        if rec is not None and block.reraised and rec.event in FATAL_EVENTS:
            rec = replace(rec, metrics={**rec.metrics, ENDED_TRAINING: 1.0})
            self._ended_until = self._n + _CHAIN_WINDOW
        return rec

    def _emit_check(self, block: _CheckFailed, said: str) -> Record:
        rec = block.record(said)
        if rec.event in _CRASHES:
            self._logged = (rec.event, self._n + _CHAIN_WINDOW)
        return rec

    def _emit(self, hit: _Hit, line: str) -> Record | None:
        """The record for a hit, unless it repeats one already given (or is a teardown's word: `_ended_until`)."""
        if hit.event == Event.FINISHED and self._n <= self._ended_until:
            return None
        if hit.key is not None:
            if hit.key in self._seen:
                return None
            if len(self._seen) >= _MAX_SEEN:
                self._seen.clear()
            self._seen[hit.key] = None
        if hit.event == _RETRIED:
            burst, self._retry_at = self._n - self._retry_at <= 3, self._n
            if burst:
                return None
        if hit.event == Event.EXIT:
            together, self._exit_at = self._n - self._exit_at <= 3, self._n
            if together:
                return None  # the launcher's line for each of its processes: one exit
        if hit.event == Event.SEGFAULT:
            if not line.startswith(_FAULTHANDLER) and "Assertion `" not in line and _GPU_FAULT_TEXT not in line:
                if self._n - self._native_at <= _NATIVE_WINDOW:
                    return None  # the shell's `Segmentation fault (core dumped)` after CPython's own word on it, its
                    # threads' frames between: one crash (another `Fatal Python error:` is another process's)
            else:
                self._native_at = self._n
        if hit.event == _SAVED:
            if hit.step is not None and hit.step == self._last_checkpoint:
                return None
            self._last_checkpoint = hit.step
        if hit.event in _CHAINED:
            self._chain_event, self._chain_until = hit.event, self._n + _CHAIN_WINDOW
            self._chain_signal = _SIGNAL_EXCEPTION in line
        return _record(hit, line)


def _folded(event: str, chained_from: str) -> bool:
    """Whether a chained traceback's exception adds nothing to the one it followed: the same specific event
    again, or a bare traceback after a specific one (an OOM, then the `RuntimeError` raised while handling
    it). A bare traceback after a bare one is kept: the last exception of a chain is the one that ended the
    program (W&B's `TimeoutError`, then `ReadTimeoutError`, then the `AuthenticationError` that killed a
    Lightning run: the crash was named by the first)."""
    return event == chained_from != _TRACEBACK or (event == _TRACEBACK and chained_from != _TRACEBACK)


def _record(hit: _Hit, line: str) -> Record:
    rank_m = _DS_OVERFLOW.search(line) if hit.event == OVERFLOW else None
    rank_m = rank_m or _RANK_IN_LINE.search(line)
    message = _LAUNCH_MESSAGE if hit.event == Event.LAUNCHED else _message(line, hit.start)
    if hit.start and hit.event == Event.SEGFAULT and line.startswith(_GPU_FAULT_TEXT, hit.start):
        message = _message(line[hit.start:])  # what comes before it is the bar's frame it was glued to
    if hit.event == _SIGNAL:
        message = _WARNED_AT.sub("", message)
    return Record(Kind.EVENT, step=hit.step, rank=int(rank_m[1]) if rank_m else None,
                  metrics=hit.metrics, event=str(hit.event), message=message)


_WARNED_AT = patterns.compile(r"^\S{1,300}:\d{1,7}: \w{0,40}Warning: ")
"""The `file:line: UserWarning: ` Python's warnings print before a message, dropped from a signal's (Lightning's
`…/call.py:54: UserWarning: Detected KeyboardInterrupt, attempting graceful shutdown...`): `check` said the run
stopped "interrupted: /usr/local/lib/…", the file where its words should be."""
