"""Made-up nanochat logs for the columnar fast path: every step-line variant at every width, lines
that must fall back to the per-line parser, noise, mfu barriers, tracebacks and elastic reports."""

from __future__ import annotations

import itertools
from collections.abc import Sequence


def _step_line(step: int, total: int | None, grad: bool, mfu: str, epoch: str | None, eta: bool,
               loss: str = "10.757717", tok: str = "833,525", dt: str = "629.00") -> str:
    head = f"step {step:05d}" + (f"/{total:05d}" if total is not None else "") + " (0.01%)"
    parts = [head, f"loss: {loss}"]
    if grad:
        parts[-1] += " | grad norm: 0.8123"
    parts += ["lrm: 1.00", f"dt: {dt}ms", f"tok/sec: {tok}", f"{mfu}: 52.10"]
    if epoch == "plain":
        parts.append("epoch: 1")
    elif epoch == "pqrg":
        parts.append("epoch: 2 pq: 117 rg: 64")
    parts.append("total time: 12.34m")
    if eta:
        parts.append("eta: 183.2m")
    return " | ".join(parts)


VARIANTS = list(itertools.product((1234567, None), (False, True), ("mfu", "bf16_mfu"), (None, "plain", "pqrg"),
                                  (False, True)))
WIDTHS = [  # (step, loss, tok/sec, dt): numbers of every width the format prints (the total, 1234567, holds them all)
    (0, "10.397165", "29,001", "18077.85"),
    (7, "9.809756", "999", "5.71"),
    (12345, "0.000001", "1,000", "392094.88"),
    (1234567, "123.456789", "1,051,311", "0.00"),
    (99, "2.388741", "1,234,567,890", "1048.30"),
]
MUST_FALL_BACK = [
    "step 00129 (0.00%) | loss: nan | lrm: 1.00 | dt: 4.98ms | tok/sec: 25,697 | mfu: 0.00 | epoch: 1 | total time: 0.01m",
    "step 00130/00200 (0.00%) | loss: inf | lrm: 1.00 | dt: 4.98ms | tok/sec: 25,697 | mfu: 0.00 | total time: 0.01m",
    "step 00131/00200 (0.00%) | loss: 1.000000 | grad norm: nan | lrm: 1.00 | dt: 4.98ms | tok/sec: 25,697 | mfu: 0.00 | total time: 0.01m",
    "step 00132/00200 (0.00%) | loss: 1.000000 | lrm: 1.00 | dt: 4.98ms | tok/sec: 25,697 | mfu: -1.00 | total time: 0.01m",
    "step 00133/00200 (0.00%) | loss: 1.000000 | lrm: 1.00 | dt: 4.98ms | tok/sec: 25,697 | mfu: 0.00 | total time: 0.01m ",
    "step 00134/00200 (0.00%) | loss: 1.000000 | lrm: 1.00 | dt: 4.98ms | tok/sec: 8,33,525 | mfu: 0.00 | total time: 0.01m",
    "step 00135/00200 (0.00%) | loss: 1234567.890123456 | lrm: 1.00 | dt: 4.98ms | tok/sec: 25,697 | mfu: 0.00 | total time: 0.01m",
    "step 00136/00200 (0.00%) | loss: 1.000000 | lrm: 1.00 | dt: 4.98ms | tok/sec: 25,697 | bf32_mfu: 0.00 | total time: 0.01m",
    "step 00137/00200 (0.00%) | loss: 1.000000 | lrm: 1.00 | dt: 4.98ms | tok/sec: 25,697 | mfu: 0.00 | foo: 3.0 | total time: 0.01m",
    "step 00138/00200 (0.00%) | loss: 1.000000 | lrm: 1.00 | dt: 4.98ms | tok/sec: 25,697 | mfu: 0.00 | total time: 0.01m\x1b[0m",
    "step 00139 (99.8%) | loss: 3.452771 | lrm: 0.00 | dt: 1014ms | tok/sec: 129,238 | mfu: 18.3% | epoch: 1 | remaining: 0s",
    "step 00140/00200 (0.00%) | loss: 1.000000 | lrm: 1.00 | dt: 4,98ms | tok/sec: 25,697 | mfu: 0.00 | total time: 0.01m",
    "step 00141/00200 (0.00%) | loss: 1.000000 | lrm: 1.00 | dt: 4.98ms | tok/sec: 25,697 | mfu: 0.00 | total time: 0.01m | é",
    "step 00142/00200 (0.00%) | loss: 1.000000 | lrm: 1.00 | dt: .98ms | tok/sec: 25,697 | mfu: 0.00 | total time: 0.01m",
    "[80746] [rank0]: step 00143/00200 (0.00%) | loss: 1.000000 | lrm: 1.00 | dt: 4.98ms | tok/sec: 25,697 | mfu: 0.00 | total time: 0.01m",
    "^[step 00000/21400 (0.00%) | loss: 11.090355 | lrm: 1.00 | dt: 23156.74ms | tok/sec: 22,640 | mfu: 1.00 | total time: 0.00m",
    "Step 00250 | Validation bpb: 0.812345",
    "step 00144/00200 (0.00%) | loss: 1.000000",
    "",
]
NOISE = [
    "[GC rank3] gen2: 139.2ms collected 10 objects",
    "2026-02-01 20:37:26,202 - nanochat.common - \x1b[32m\x1b[1mINFO\x1b[0m - Distributed world size: 8",
    "Total training time: 179.44m",
    "Evaluating: hellaswag (0-shot, type: multiple_choice)... accuracy: 0.2500 | centered: 0.0000 | time: 3.21s",
]
PREFIXES = ["[rank3]:", "[default0]:", "[rank12]: ", "[trainer_7]:"]
"""A launcher's rank prefix before a step line (torchrun `--tee`, its TORCHELASTIC template form with a blank)."""
ODD_PREFIXES = [p + _step_line(143, 200, False, "mfu", None, False) for p in
                ("[rank0]:[rank1]:", "[0rank]:", "[rank1234567]:", "[rank3]:\x1b[0m", "[rank3]", "[-rank3]:")]
"""Prefixes the fast path leaves to the per-line way: stacked, no role, too many digits, an escape after."""
# Lines that change whether NanochatParser reports mfu, in order: unknown, known, unknown, known.
BARRIERS = [
    "GPU: NVIDIA GeForce GTX 1660 SUPER | Peak FLOPS (BF16): inf",
    "GPU: NVIDIA H100 80GB HBM3 | Peak FLOPS (BF16): 9.89e+14",
    "2026-03-16 22:57:30,775 - nanochat.common - \x1b[33m\x1b[1mWARNING\x1b[0m - Peak flops undefined for: "
    "NVIDIA GeForce GTX 1660 SUPER, MFU will show as 0%",
    "[rank0]: GPU: NVIDIA H100 80GB HBM3 | Peak FLOPS (BF16): 9.89e+14",
]


def synthetic_log(prefixed: bool = True) -> tuple[bytes, list[int]]:
    """Every variant at every width, between noise, fall-back lines and barriers; the indices of clean step lines.
    `prefixed`: every 13th behind a launcher's rank prefix (`PREFIXES`)."""
    lines: list[str] = []
    clean: list[int] = []
    rows = [_step_line(w[0], *v, loss=w[1], tok=w[2], dt=w[3]) for v in VARIANTS for w in WIDTHS]
    for i, row in enumerate(rows):
        if i % 60 == 30:
            lines.append(BARRIERS[i // 60 % len(BARRIERS)])
        if i % 7 == 0:
            lines.append(NOISE[i // 7 % len(NOISE)])
        if i % 11 == 0:
            lines.append(MUST_FALL_BACK[i // 11 % len(MUST_FALL_BACK)])
        clean.append(len(lines))
        lines.append(PREFIXES[i % len(PREFIXES)] + row if prefixed and i % 13 == 0 else row)  # read after it
    lines += MUST_FALL_BACK + ODD_PREFIXES + NOISE
    return ("\n".join(lines) + "\n").encode(), clean


def cut(data: bytes, sizes: Sequence[int]) -> list[bytes]:
    """`data` in pieces of about `sizes` bytes (cycled), each ending after a `\\n` (but the last)."""
    pieces, pos, i = [], 0, 0
    while pos < len(data):
        end = data.find(b"\n", pos + sizes[i % len(sizes)]) + 1 or len(data)
        pieces.append(data[pos:end])
        pos, i = end, i + 1
    return pieces


def row(step: int, total: int | None = 10000, **kw: object) -> str:
    return _step_line(step, total, False, "mfu", "plain", step > 10, **kw)  # type: ignore[arg-type]


TRACEBACK = [
    "Traceback (most recent call last):",
    '  File "/home/u/nanochat/scripts/base_train.py", line 301, in <module>',
    row(600),  # another rank's step line, inside the open traceback
    "    loss = model(x, y)",
    row(601),
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
]
ELASTIC = [
    "[2025-01-01 10:00:00,000] torch.distributed.elastic.multiprocessing.api: [ERROR] failed (exitcode: -9) "
    "local_rank: 0 (pid: 4242) of binary: /usr/bin/python",
    row(700),
    "torch.distributed.elastic.multiprocessing.errors.ChildFailedError:",
    "============================================================",
    "scripts/base_train.py FAILED",
    "------------------------------------------------------------",
    "Root Cause (first observed failure):",
    "[0]:",
    "  rank      : 0 (local_rank: 0)",
    "  exitcode  : -9 (pid: 4242)",
    "============================================================",
]
IGNORED = ["Exception ignored in: <function _after_fork at 0x7f>", "Traceback (most recent call last):",
           '  File "threading.py", line 1, in _after_fork', "AssertionError: "]


def every_case_log(prefixed: bool = True) -> bytes:
    """Header, all variants (from the columnar tests), tracebacks and reports among steps, frames, CRLF, escapes;
    `prefixed`: some step lines of other ranks behind a launcher's prefix (rows of several ranks)."""
    head = [
        "Autodetected device type: cuda",
        "2026-02-01 20:37:26,202 - nanochat.common - \x1b[32m\x1b[1mINFO\x1b[0m - Distributed world size: 8",
        BARRIERS[0],  # mfu unknown first
        *(row(i) for i in range(0, 40)),
        BARRIERS[1],
        *(row(i) for i in range(40, 80)),
    ]
    body = synthetic_log(prefixed)[0].decode().split("\n")[:-1]
    tail = [
        *(row(i) for i in range(500, 560)), *TRACEBACK, *(row(i) for i in range(602, 640)),
        *ELASTIC, *(row(i) for i in range(701, 740)), *IGNORED, *(row(i) for i in range(740, 760)),
        "\x1b[32m" + row(760) + "\x1b[0m",  # a coloured step line: per line
        "Evaluating:  10%|#  | 1/10\rEvaluating:  20%|## | 2/10\rEvaluating:  20%|## | 2/10",  # frames
        "\r" + row(761), row(762) + "\r" + row(763), "\r\r", "",
        *(row(i) for i in range(764, 800)),
        "Step 00800 | Validation bpb: 0.812345",
        *(row(i) for i in range(800, 820)),
        "Total training time: 179.44m",
    ]
    crlf = "\r\n".join(row(i) for i in range(820, 880)) + "\r\n"
    mixed = "\r\n".join([row(880), "x\r\ry", row(881), "\x1b[0m\r\x1b[K", row(882)]) + "\r\n"
    text = "\n".join(head + body + tail) + "\n" + crlf + mixed + "\n".join(row(i) for i in range(883, 900))
    return text.encode()  # the last line without its `\n`


POOL = [
    *(row(i) for i in range(3)), row(5, total=None), *MUST_FALL_BACK, *NOISE, *BARRIERS,
    *TRACEBACK, *ELASTIC[:3], *IGNORED, "Step 00250 | Validation bpb: 0.812345", "x\ry", "\r", "a\r\n",
    "During handling of the above exception, another exception occurred:", "Killed",
    "\x1b[31mERROR\x1b[0m NCCL error in: ProcessGroupNCCL.cpp:1", "caf\xe9".encode("latin-1").decode("latin-1"),
]
