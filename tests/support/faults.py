"""A runwatch bug on demand: a parser method made to raise on chosen lines, the rest left as it is."""

from __future__ import annotations

from typing import Any

import pytest


def raise_on_lines(monkeypatch: pytest.MonkeyPatch, cls: type, method: str, prefixes: str | tuple[str, ...],
                   exc: Exception) -> None:
    """`cls.method(self, text, ...)` raises `exc` on a line starting with one of `prefixes`."""
    real = getattr(cls, method)

    def wrapped(self: Any, text: str, *args: Any, **kwargs: Any) -> Any:
        if text.startswith(prefixes):
            raise exc
        return real(self, text, *args, **kwargs)

    monkeypatch.setattr(cls, method, wrapped)
