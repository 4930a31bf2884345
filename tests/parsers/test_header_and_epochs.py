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

import pytest

from runwatch.model import Kind
from runwatch.parsers.keyvalue import KeyValueParser
from tests.support.fast_path_logs import cut
from tests.support.readers import check, chunked, per_line
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
