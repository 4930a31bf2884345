"""The metrics textfile for node_exporter: the same exposition as /metrics, replaced atomically."""

from __future__ import annotations

import logging
import math
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from runwatch.model import RunSnapshot
from runwatch.serve.metrics import registry_for
from runwatch.serve.textfile import TextfileWriter
from tests.serve.conftest import LAST_STEP
from tests.serve.test_metrics import Snaps
from tests.support.ports import free_port
from tests.support.waiting import wait_for


def values(path: Path) -> dict[tuple[str, str | None], float]:
    return {(s.name, s.labels.get("metric")): s.value
            for f in text_string_to_metric_families(path.read_text()) for s in f.samples}


def test_written_whole_and_replaced_by_rename(tmp_path: Path, nan_snapshots: list[RunSnapshot]) -> None:
    path = tmp_path / "runwatch.prom"
    snaps = Snaps(nan_snapshots)
    writer = TextfileWriter(path, registry_for(snaps, "node7"))
    assert writer.write()
    got = values(path)
    assert got[("runwatch_step", None)] == LAST_STEP and math.isnan(got[("runwatch_metric", "loss")])
    inode = path.stat().st_ino
    snaps.snaps = []
    assert writer.write()
    assert path.stat().st_ino != inode  # a new file renamed over the old: a reader never sees half of one
    assert ("runwatch_step", None) not in values(path)
    assert [p.name for p in tmp_path.iterdir()] == ["runwatch.prom"]  # no temp file left behind


def test_a_failed_write_is_logged_once_and_tried_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "gone" / "runwatch.prom"
    writer = TextfileWriter(path, registry_for(Snaps([]), "node7"))
    with caplog.at_level(logging.INFO, logger="runwatch.serve"):
        assert not writer.write() and not writer.write()
        (tmp_path / "gone").mkdir()
        assert writer.write()
    said = [r.getMessage() for r in caplog.records]
    assert said == [f"{path}: metrics textfile not written: No such file or directory",
                    f"{path}: metrics textfile written again"]


class Failing:
    def snapshots(self) -> list[RunSnapshot]:
        raise RuntimeError("planted")


def test_a_collector_bug_is_logged_and_does_not_reach_the_daemons_loop(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    writer = TextfileWriter(tmp_path / "runwatch.prom", registry_for(Failing(), "node7"))
    with caplog.at_level(logging.INFO, logger="runwatch.serve"):
        assert not writer.write() and not writer.write()
    assert [r.getMessage() for r in caplog.records] == [
        f"{tmp_path / 'runwatch.prom'}: metrics textfile not written: RuntimeError: planted"]
    assert list(tmp_path.iterdir()) == []  # nor a temp file left behind


NODE_EXPORTER = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")


@pytest.mark.skipif(NODE_EXPORTER is None, reason="node_exporter is not installed (Debian package "
                    "`prometheus-node-exporter`; .ci/run installs it)")
def test_node_exporters_textfile_collector_reads_it(tmp_path: Path, nan_snapshots: list[RunSnapshot]) -> None:
    """The real node_exporter, its textfile collector only, on the directory the file is written to: it
    re-exports runwatch's series and reports no error reading the file."""
    assert NODE_EXPORTER is not None
    writer = TextfileWriter(tmp_path / "runwatch.prom", registry_for(Snaps(nan_snapshots), "node7"))
    assert writer.write()
    port = free_port()
    proc = subprocess.Popen([NODE_EXPORTER, "--collector.disable-defaults", "--collector.textfile",
                             f"--collector.textfile.directory={tmp_path}", f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def scraped() -> str | None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                    return str(r.read().decode())
            except OSError:
                return None

        text = wait_for(scraped, timeout=60, interval=0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(text) for s in f.samples}
    assert samples[("node_textfile_scrape_error", ())] == 0.0
    assert samples[("runwatch_step", (("host", "node7"), ("run", "train")))] == LAST_STEP
    assert math.isnan(samples[("runwatch_metric", (("host", "node7"), ("metric", "loss"), ("run", "train")))])
