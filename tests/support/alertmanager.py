"""The real Alertmanager binary, started on 127.0.0.1 with a temp config whose webhook receiver a test runs.

Debian's package installs it as `prometheus-alertmanager` (CI's `.ci/run` installs it); upstream's
binary is `alertmanager`. `find_alertmanager()` says which, or None, so tests skip with the reason.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.ports import free_port
from tests.support.waiting import wait_for

BINARIES = ("prometheus-alertmanager", "alertmanager")
MISSING = "the Alertmanager binary (Debian package prometheus-alertmanager) is not installed"


def find_alertmanager() -> str | None:
    for name in BINARIES:
        found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
        if found:
            return found
    return None


def config(webhook_url: str, *, group_wait: str = "1s", group_interval: str = "1s",
           repeat_interval: str = "1h") -> str:
    """A route that sends every alert, grouped by rule and run, to one webhook receiver (YAML is JSON's
    superset, so the file is written as JSON)."""
    return json.dumps({
        "route": {"receiver": "hook", "group_by": ["alertname", "run"], "group_wait": group_wait,
                  "group_interval": group_interval, "repeat_interval": repeat_interval},
        "receivers": [{"name": "hook", "webhook_configs": [{"url": webhook_url, "send_resolved": True}]}],
    })


class Alertmanager:
    """One Alertmanager process; `stop()` ends it (SIGTERM, then SIGKILL after a grace)."""

    def __init__(self, binary: str, workdir: Path, webhook_url: str, **timing: str) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        cfg = workdir / "alertmanager.yml"
        cfg.write_text(config(webhook_url, **timing))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "alertmanager.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [binary, f"--config.file={cfg}", f"--storage.path={workdir / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address=", "--log.level=debug"],
                stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for(self._ready, timeout=60.0, interval=0.1)
        except BaseException:
            self.stop()
            raise

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"alertmanager exited with {self.proc.returncode}:\n{self.log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def alerts(self, **params: str) -> list[dict[str, Any]]:
        """`GET /api/v2/alerts` (active ones by default)."""
        query = "&".join(f"{k}={v}" for k, v in params.items())
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts{'?' + query if query else ''}", timeout=5) as r:
            data = json.loads(r.read())
        assert isinstance(data, list)
        return data

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(15)


def notifications(bodies: list[Any]) -> list[tuple[str, dict[str, str]]]:
    """(status, labels) of every alert in the webhook bodies Alertmanager sent, in order."""
    return [(a["status"], a["labels"]) for body in bodies for a in body.get("alerts", [])]


@contextlib.contextmanager
def started(binary: str, workdir: Path, webhook_url: str, **timing: str):  # type: ignore[no-untyped-def]
    am = Alertmanager(binary, workdir, webhook_url, **timing)
    try:
        yield am
    finally:
        am.stop()
