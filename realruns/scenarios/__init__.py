"""Every scenario of the lab, one module per framework (each exports `SCENARIOS`)."""

from __future__ import annotations

import importlib
import pkgutil

from lab.scenario import Scenario


def all_scenarios() -> dict[str, Scenario]:
    found: dict[str, Scenario] = {}
    for info in pkgutil.iter_modules(__path__):
        mod = importlib.import_module(f"{__name__}.{info.name}")
        for sc in getattr(mod, "SCENARIOS", ()):
            if sc.name in found:
                raise ValueError(f"two scenarios named {sc.name}")
            found[sc.name] = sc
    return found
