"""`--listen` and `--textfile` for the commands that follow runs live (`watch`, `tail`): the HTTP listener
and the metrics textfile over one engine, on one Prometheus registry (runwatch.serve)."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from runwatch.alerts.sinks.redact import register_secret
from runwatch.errors import UsageError
from runwatch.serve.address import ListenAddress

if TYPE_CHECKING:
    from runwatch.config import SinkConfig
    from runwatch.engine import Engine
    from runwatch.serve.server import Listener
    from runwatch.serve.textfile import TextfileWriter

TOKEN_ENV = "RUNWATCH_TOKEN"


@dataclass(frozen=True)
class Exports:
    """What a live command shows beyond its own output: the HTTP listener (`--listen`) and the metrics
    textfile (`--textfile`)."""

    listen: ListenAddress | None = None
    textfile: Path | None = None


def open_exports(engine: Engine, exports: Exports) -> tuple[Listener | None, TextfileWriter | None]:
    """The listener (bound, not yet serving: a port in use is a UsageError before any thread starts) and
    the textfile writer that `exports` asks for."""
    if exports.listen is None and exports.textfile is None:
        return None, None
    from runwatch.serve.api import Api
    from runwatch.serve.metrics import registry_for
    from runwatch.serve.server import Listener
    from runwatch.serve.textfile import TextfileWriter

    registry = registry_for(engine, socket.gethostname())
    listener = None
    if exports.listen is not None:
        token = os.environ.get(TOKEN_ENV) or None
        if token is not None:
            register_secret(token)  # never in a log or message, whatever quotes it
        try:
            listener = Listener(exports.listen, Api(engine), registry, token=token)
        except OSError as e:
            raise UsageError(str(e)) from None
    return listener, TextfileWriter(exports.textfile, registry) if exports.textfile is not None else None


def listening_line(listener: Listener) -> str:
    """What a command says once it listens (never the token)."""
    others = "other peers need the bearer token" if listener.token else f"only this machine is answered (no {TOKEN_ENV})"
    return f"listening on {listener.address}: /metrics, /api/v1/runs, /api/v1/alerts, /healthz; {others}"


WILDCARD_HOSTS = ("", "0.0.0.0", "::")


def linked_sinks(configs: Sequence[SinkConfig], exports: Exports) -> list[SinkConfig]:
    """`configs` with every Alertmanager sink that names no `generator_url` of its own linked back to this
    command's listener (`http://HOST:PORT/api/v1/alerts`): Alertmanager shows the link on each alert, and
    it leads to the daemon that raised it. A listener on every address is named by this machine's name;
    one on port 0 (a free port, tests) has no address to give yet."""
    listen = exports.listen
    if listen is None or listen.port == 0:
        return list(configs)
    host = socket.gethostname() if listen.host in WILDCARD_HOSTS else listen.host
    where = f"[{host}]:{listen.port}" if ":" in host else f"{host}:{listen.port}"
    url = f"http://{where}/api/v1/alerts"
    return [replace(sc, settings=replace(sc.settings, generator_url=url))
            if sc.type == "alertmanager" and sc.settings is not None and not sc.settings.generator_url else sc
            for sc in configs]
