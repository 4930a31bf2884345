"""Regular expressions compiled when first used, not when their module is imported.

runwatch describes some 370 line shapes as module-level patterns (every
format, the crash detector, the rules' text tests). Python compiles a
pattern in Python code, so compiling all of them at import cost ~0.12 s of
every start: a third of `runwatch parse` on a short log, and of the time to
`tail`'s first status (issue 12's goal: under 0.5 s). A run reads only the
few formats it is detected as, so most of them were never used.

`patterns.compile(text, flags)` is written where `re.compile` was (at module
and class level; a pattern made inside a function is compiled there) and gives an object
with the methods of the compiled pattern: the first call of any of them
compiles it (through `re.compile`, so its cache serves equal texts) and puts
the compiled pattern's methods in the object's slots, where later calls find
them as directly as on the pattern itself. `.pattern` is the text,
without compiling: patterns are built from the texts of others.
"""

from __future__ import annotations

import re
from typing import Any, cast, overload

_BOUND = ("search", "match", "fullmatch", "findall", "finditer", "sub", "subn", "split", "scanner")
"""The compiled pattern's methods, bound into the slots at the first use."""
_READ = ("flags", "groups", "groupindex")
"""Its attributes, read from the compiled pattern at the first use (`flags` gains `re.UNICODE` there)."""


class _Deferred:
    """A pattern not compiled until used (see the module notes); stands in for `re.Pattern`."""

    __slots__ = ("pattern", "_flags", *_BOUND, *_READ)

    def __init__(self, text: str | bytes, flags: int) -> None:
        self.pattern = text
        self._flags = flags

    def __getattr__(self, name: str) -> Any:
        """Reached only for an empty slot (or no such attribute): compile, fill every slot, answer."""
        if name not in _BOUND and name not in _READ:
            raise AttributeError(name)
        compiled = re.compile(self.pattern, self._flags)
        for method in _BOUND:
            setattr(self, method, getattr(compiled, method))
        for attribute in _READ:
            setattr(self, attribute, getattr(compiled, attribute))
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"patterns.compile({self.pattern!r})"


@overload
def compile(text: str, flags: int = 0) -> re.Pattern[str]: ...
@overload
def compile(text: bytes, flags: int = 0) -> re.Pattern[bytes]: ...
def compile(text: str | bytes, flags: int = 0) -> re.Pattern[str] | re.Pattern[bytes]:
    """`re.compile(text, flags)`, compiled at its first use; typed as the pattern it stands in for."""
    return cast("re.Pattern[str] | re.Pattern[bytes]", _Deferred(text, flags))
