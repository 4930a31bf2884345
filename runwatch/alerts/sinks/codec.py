"""Notifications to JSON and back, for the outbox.

The outbox must hold everything a sink needs after a restart (the Slack
message uses the alert's context lines and history, which the §5 payload
leaves out), so the whole `Notification` is kept. Fields are walked with
`dataclasses.fields`, so a new simple field in `Alert` round-trips without a
change here; unknown keys from a newer runwatch are ignored.
"""

from __future__ import annotations

import dataclasses
import math
from enum import Enum
from typing import Any

from runwatch.alerts.types import Alert, Notification
from runwatch.model import AlertState, Severity, json_number

_ENUMS: dict[str, type[Enum]] = {"state": AlertState, "severity": Severity}
_FLOAT = "float"
"""Key of the one-key object that holds a non-finite float ("nan", "inf"): strict JSON has none."""


def notification_to_json(n: Notification) -> dict[str, Any]:
    out = {f.name: _encode(getattr(n, f.name)) for f in dataclasses.fields(n) if f.name != "alert"}
    out["alert"] = {f.name: _encode(getattr(n.alert, f.name)) for f in dataclasses.fields(n.alert)}
    return out


def notification_from_json(data: dict[str, Any]) -> Notification:
    """Raises KeyError, TypeError or ValueError when `data` is not a notification."""
    alert = Alert(**_decode_fields(Alert, data["alert"]))
    return Notification(alert=alert, **_decode_fields(Notification, data, skip="alert"))


def _decode_fields(cls: type, data: dict[str, Any], skip: str = "") -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)} - {skip}
    out = {k: _decode(v) for k, v in data.items() if k in names}
    for key, enum in _ENUMS.items():
        if key in out:
            out[key] = enum(out[key])
    return out


def _encode(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return {_FLOAT: json_number(v)}
    if isinstance(v, Enum):
        return v.value
    if isinstance(v, tuple | list):
        return [_encode(x) for x in v]
    return v


def _decode(v: Any) -> Any:
    if isinstance(v, dict) and set(v) == {_FLOAT}:
        return float(v[_FLOAT])
    if isinstance(v, list):
        return tuple(_decode(x) for x in v)
    return v
