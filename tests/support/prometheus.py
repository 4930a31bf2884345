"""The real Prometheus server (Debian's `prometheus`) for tests: a temp config scraping given targets every
second, on 127.0.0.1, storage in a temp dir; PromQL through its HTTP API."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.ports import free_port

PROMETHEUS = shutil.which("prometheus")
SKIP_REASON = "the prometheus binary is not installed (Debian package `prometheus`; .ci/run installs it)"


class Prometheus:
    """One Prometheus scraping `targets` (HOST:PORT) every second; `stop()` ends it."""

    def __init__(self, tmp: Path, targets: list[str]) -> None:
        assert PROMETHEUS is not None
        self.port = free_port()
        config = tmp / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: runwatch\n    static_configs:\n"
            f"      - targets: {json.dumps(targets)}\n")
        self.log = (tmp / "prometheus.log").open("wb")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
            return json.loads(r.read()) if path.startswith("/api/") else r.read().decode()

    def ready(self) -> bool:
        try:
            return "Ready" in self.get("/-/ready")
        except OSError:
            return False

    def query(self, promql: str) -> list[dict[str, Any]]:
        """The instant vector `promql` gives now (its samples' `metric` labels and `value` [t, "v"])."""
        got = self.get("/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
        assert got["status"] == "success", got
        return list(got["data"]["result"])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()
