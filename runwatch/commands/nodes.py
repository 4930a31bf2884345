"""`runwatch tail http://NODE:PORT …`: the runs other machines' `runwatch watch --listen` follow, in one
view with the local paths (runwatch.remote). Which arguments are nodes, the node controllers started
and stopped with the view, and the merged controller the front end holds."""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

from runwatch.alerts.sinks.redact import register_secret
from runwatch.commands.serving import TOKEN_ENV
from runwatch.errors import BadValueError, UsageError
from runwatch.remote.address import NodeAddress, is_node, node_labels, parse_node
from runwatch.remote.client import NodeClient
from runwatch.remote.merged import Member, MergedController
from runwatch.remote.node import CHART_WAIT_S, POLL_INTERVAL_S, RemoteNode


def split_targets(paths: Sequence[str]) -> tuple[list[str], list[NodeAddress]]:
    """The local paths and the nodes among `tail`'s arguments (in their order; a node named twice, once)."""
    local: list[str] = []
    nodes: list[NodeAddress] = []
    for arg in paths:
        if not is_node(arg):
            local.append(arg)
            continue
        try:
            node = parse_node(arg)
        except BadValueError as e:
            raise UsageError(str(e)) from None
        if node.base not in {n.base for n in nodes}:
            nodes.append(node)
    return local, nodes


class NodeView:
    """The merged controller over `nodes` (each polled on its own thread while the view is open) and the
    local engine, if any. A context manager: the nodes' pollers start on entry and stop on exit."""

    def __init__(self, nodes: Sequence[NodeAddress], local: Member | None = None, *,
                 interval: float = POLL_INTERVAL_S, chart_wait: float = CHART_WAIT_S,
                 token: str | None = None) -> None:
        token = token if token is not None else os.environ.get(TOKEN_ENV) or None
        for secret in [token, *(n.basic[1] for n in nodes if n.basic is not None)]:
            if secret:
                register_secret(secret)  # never in a log line or message, whatever quotes it
        self.nodes = [RemoteNode(NodeClient(n, token=token), interval=interval, chart_wait=chart_wait) for n in nodes]
        members: list[tuple[str, Member]] = list(zip(node_labels(list(nodes)), self.nodes, strict=True))
        if local is not None:
            members.insert(0, ("", local))
        self.controller = MergedController(members)
        self._stack = ExitStack()

    def __enter__(self) -> MergedController:
        for node in self.nodes:
            self._stack.enter_context(node)
        return self.controller

    def __exit__(self, *exc: Any) -> None:
        self._stack.close()
