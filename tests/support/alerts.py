"""Alerts and notifications as the lifecycle makes them, for tests of whatever shows or sends them."""

from __future__ import annotations

import dataclasses
from typing import Any

from runwatch.alerts.types import Alert, Notification, make_labels
from runwatch.model import AlertState, Severity


def make_alert(**kw: Any) -> Alert:
    run = kw.pop("run", "nanochat-d24")
    labels = kw.pop("labels", None) or make_labels(run=run, rank=0, metric="grad_norm")
    base: dict[str, Any] = dict(
        rule="nonfinite", labels=labels, state=AlertState.FIRING, severity=Severity.CRITICAL,
        summary="grad_norm is NaN at step 380", active_since=1_800_000_000.0, fired_at=1_800_000_000.0,
        value=float("nan"), threshold=None, step=380, metric="grad_norm", source="logs/train.log",
        context=("step 379 | loss 2.31 | grad_norm 1.02", "step 380 | loss nan | grad_norm nan"),
        history=(1.0, 1.1, 0.9, 1.3, float("nan")),
    )
    base.update(kw)
    return Alert(**base)


def make_notification(nid: str = "n1", state: AlertState = AlertState.FIRING, **alert: Any) -> Notification:
    a = make_alert(**alert)
    if state == AlertState.RESOLVED:
        a = dataclasses.replace(a, state=state, resolved_at=1_800_000_600.0)
    return Notification(alert=a, state=state, at=1_800_000_000.0, id=nid)
