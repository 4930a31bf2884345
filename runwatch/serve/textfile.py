"""`--textfile PATH`: the `/metrics` exposition written to a file for node_exporter's textfile collector.

`prometheus_client.write_to_textfile` writes a temp file beside PATH and renames it over PATH, so the
collector never reads half a file. A write that fails (disk full, directory gone, or a bug) is logged
once per distinct error and tried again next time: the daemon goes on.
"""

from __future__ import annotations

import logging
from pathlib import Path

from prometheus_client.exposition import write_to_textfile
from prometheus_client.registry import CollectorRegistry

log = logging.getLogger("runwatch.serve")


class TextfileWriter:
    """Writes the registry's exposition to `path` (the daemon does so with each status line)."""

    def __init__(self, path: Path, registry: CollectorRegistry) -> None:
        self.path, self.registry = path, registry
        self._last_error: str | None = None

    def write(self) -> bool:
        """Write it now; whether that worked."""
        try:
            write_to_textfile(str(self.path), self.registry)
        except OSError as e:
            said = f"{self.path}: metrics textfile not written: {e.strerror or e}"
            if said != self._last_error:
                log.warning("%s", said)
            self._last_error = said
            return False
        except Exception as e:  # a bug in the collector: logged, and the daemon's loop goes on
            said = f"{self.path}: metrics textfile not written: {type(e).__name__}: {e}"
            if said != self._last_error:
                log.exception("%s", said)
            self._last_error = said
            return False
        if self._last_error is not None:
            log.info("%s: metrics textfile written again", self.path)
        self._last_error = None
        return True
