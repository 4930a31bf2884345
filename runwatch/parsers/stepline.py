"""A format's step line, described once: the per-line reader and the columnar layout both come from it.

Before, a step line was written down twice, as a regex over text for the
per-line parser and as a regex over *shapes* (the line with its digits turned
into `0`) for the columnar fast path, and differential tests kept the two in
step. A `StepLine` is a template; `read` (live lines, and the lines the fast
path leaves over) and `layout` (runwatch.parsers.columnar) are derived from it.

Template syntax, e.g. nanoGPT's `iter {step:int}: loss {loss}, time {step_time/1000}ms[, mfu {mfu}%]`:

- `{name}` a number: `digits[.digits][e±digits]` in a shape; in text any
  word up to the next literal that `float()` reads (so `nan`, `inf`, a sign
  and odd spellings are read per line, never by the fast path: a parser's
  sentinel such as `mfu -100.00` stays its own rule); `{name:signed}` a
  number that always has its sign (`(+0.12z)`);
- `{name:int}` ASCII digits (the counter: `step`, `total`; `epoch`);
  `{name:pad}` the same after optional blanks (`step %4d`);
- `{name:commas}` digits with thousands separators (`1,051,311`);
- `{name/1000}`, `{name*60}`: the value divided or multiplied, as the parser's
  unit conversion (`ms` → s, minutes → s) does it: one IEEE operation, so the
  two readers agree to the bit;
- `{name:signed|+nan}`: `+nan` printed in the number's place means "no value"
  (llm.c's z-score before it has history): the metric is left out, on both
  paths (the text may hold no digit: a shape cannot check digits);
- `{name|-}`: a negative number means "no value" (llm.c prints MFU as
  `-100.0%` on a GPU it has no peak FLOPs for): left out on both paths, so
  such a log stays on the fast path;
- `{_}`, `{_:int}`: a number that must be there but is not kept (a percent);
- `[...]` an optional part (may nest); any other text is literal. A literal
  with digits inside an optional part (`[bf16_]`) is checked byte for byte by
  the fast path, whose shapes cannot tell `bf16_` from `bf99_`.

`step` is required; `total` is the planned steps. Metrics come out in
template order, which is line order, in both readers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runwatch import patterns

_TOKEN = patterns.compile(
    r"\{(?P<name>\w+)(?::(?P<kind>\w+))?(?:(?P<op>[*/])(?P<factor>[\d.]+))?(?:\|(?P<none>[^{}\[\]\d]+))?\}|\[|\]"
)
_TEXT = {
    "num": r"([-+.0-9A-Za-z]+)",
    "signed": r"([-+.0-9A-Za-z]+)",
    "int": r"([0-9]+)",
    "pad": r" *([0-9]+)",
    "commas": r"([0-9]{1,3}(?:,[0-9]{3})*)",
}
"""Per-line: what a field's text may be. Permissive for `num` (`nan`, `-inf`, `1e-05`): float() has the last
word, and every text here is one it reads as a log means it (ASCII, no `_`: float() takes `1_0` and `٣`)."""
_STRICT = {
    "num": ("", r"[0-9]+(?:\.[0-9]+)?(?:[eE][-+][0-9]+)?"),
    "signed": ("", r"[-+][0-9]+(?:\.[0-9]+)?(?:[eE][-+][0-9]+)?"),
    "int": ("", r"[0-9]+"),
    "pad": (" *", r"[0-9]+"),
    "commas": ("", r"[0-9]{1,3}(?:,[0-9]{3})*"),
}
"""Quick reading (`StepLine.quick`): a field's text as `_SHAPE` takes it, digits for its zeros (lead, number):
exactly the lines the fast path reads in columns, whose records no parser's own rule (a sentinel, a sign, `nan`)
makes otherwise."""
FIELD_CHARS = "0123456789.eE+-, "
"""Every character a field's text may hold on a line `quick` reads (the number forms above, a pad's blanks)."""
_SHAPE = {
    "num": rb"0+(?:\.0+)?(?:[eE][-+]0+)?",
    "signed": rb"[-+]0+(?:\.0+)?(?:[eE][-+]0+)?",
    "int": rb"0+",
    "pad": rb" *0+",
    "commas": rb"0{1,3}(?:,000)*",
}
"""Fast path: the shapes of a field the columnar reader converts exactly (digits as `0`)."""
NEGATIVE = "-"
"""The no-value mark `{name|-}`: any negative number."""


@dataclass(frozen=True, slots=True)
class Field:
    """One number of a step line: its metric (or `step`/`total`, or None: not kept) and conversion."""

    name: str | None
    kind: str
    scale: float = 1.0
    """Multiplied by (> 0) or divided by (< 0: by its absolute value), as the parser converts units."""
    optional: bool = False
    """Inside `[...]`: a line may lack it."""
    none: str | None = None
    """Text printed in the number's place that means "no value" (`+nan`): the metric is left out."""


@dataclass(frozen=True, slots=True, eq=False)
class StepLine:
    """A compiled template (see the module docstring)."""

    template: str
    whole: bool = True
    """The template must cover the whole line; False: a line may go on after it (per line only:
    the fast path always needs the whole line understood, and leaves such lines to `read`)."""
    fields: tuple[Field, ...] = field(init=False)
    text: re.Pattern[str] = field(init=False)
    shape: re.Pattern[bytes] = field(init=False)
    prefix: bytes = field(init=False)
    literals: Mapping[str, bytes] = field(init=False)
    """Shape group → its exact text, for literals with digits (`bf16_`)."""
    chars: str = field(init=False)
    """Every character a field may print on a line `quick` reads: `FIELD_CHARS` and the no-value texts'."""
    texts: tuple[str, ...] = field(init=False)
    """The template's literal text in each of its forms (each optional part in or out), `\\0` where a number
    stands: what may be said of every line it reads whatever its numbers (runwatch.parsers.events.never_wakes)."""
    read: Callable[[str], tuple[int, int | None, dict[str, float]] | None] = field(init=False)
    """(step, total, metrics) of a line this template covers, or None.

    None also when a number is not one float() reads: the format parser's own
    general reading then has the last word on such a line. A function made
    for this template (`_reader`): it runs for every live line of the format.
    """
    quick: Callable[[str], tuple[int, int | None, dict[str, float]] | None] = field(init=False)
    """`read` of a whole line whose numbers are plain (`_STRICT`), else None: the lines the fast path reads
    in columns, one at a time. Their record is the template's (less the parser's `fast_omit`, as the fast
    path leaves it out), so a live step line may skip its parser's general reading (runwatch.parsers.source)."""

    def __post_init__(self) -> None:
        fields, text, shape, literals, strict = _compile(self.template)
        names = [f.name for f in fields if f.name]
        if "step" not in names or len(names) != len(set(names)):
            raise ValueError(f"a step line needs one {{step}} and distinct names: {self.template!r}")
        prefix = re.match(r"[^{\[]*", self.template)
        set_ = object.__setattr__
        set_(self, "fields", tuple(fields))
        if not self.whole:  # where the line goes on, a number must have ended (`loss 3_1` is no `loss 3`)
            text += r"(?![-+.\w])"
        set_(self, "text", patterns.compile(text))
        set_(self, "shape", patterns.compile(shape))
        set_(self, "prefix", (prefix.group(0) if prefix else "").encode())
        set_(self, "literals", literals)
        set_(self, "read", _reader(self.text.fullmatch if self.whole else self.text.match, self.fields))
        set_(self, "quick", _reader(patterns.compile(strict).fullmatch, self.fields, strict=True))
        set_(self, "texts", tuple(_forms(self.template)))
        set_(self, "chars", "".join(dict.fromkeys(FIELD_CHARS + "".join(f.none or "" for f in fields))))

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metric names, in template (= line) order."""
        return tuple(f.name for f in self.fields if f.name and f.name not in ("step", "total"))

    @property
    def groups(self) -> dict[str, tuple[str, float]]:
        """Shape group → (metric, scale) of the kept numbers, as runwatch.parsers.columnar wants them."""
        return {f.name: (f.name, f.scale) for f in self.fields if f.name and f.name not in ("step", "total")}



def _reader(match: Callable[[str], re.Match[str] | None], fields: Sequence[Field], strict: bool = False,
            ) -> Callable[[str], Any]:
    """The per-line reader of a template, as Python source made for it and compiled once.

    A generic loop over the fields (a tuple per field, a test per option)
    cost 10 µs on a nanochat line, three times the match itself; the
    straight-line code a person would write for one format costs a third
    of that, and this writes that code. Only names and numbers from the
    template's own fields go into it (metric names are `\\w+`). `strict`: the
    match is `_STRICT`'s, whose group of a no-value field is None on a line
    that prints none.
    """
    kept = [f for f in fields if f.name]
    names = [f"v{i}" for i in range(len(kept))]
    body = ["def read(line):", "    m = match(line)", "    if m is None:", "        return None",
            f"    ({', '.join(names)},) = m.groups()", "    metrics = {}", "    try:"]
    for var, f in zip(names, kept, strict=True):
        if f.name in ("step", "total"):
            continue
        value = f"float({var}.replace(',', ''))" if f.kind == "commas" else f"float({var})"
        if f.scale != 1.0:
            value += f" * {f.scale!r}" if f.scale > 0 else f" / {-f.scale!r}"
        line = f"metrics[{f.name!r}] = {value}"
        unset = [] if not f.none else [f"{var}[:1] != '-'"] if f.none == NEGATIVE else [f"{var} != {f.none!r}"]
        if strict and f.none:
            unset = [f"{var} is not None"]
        test = " and ".join(([f"{var} is not None"] if f.optional and not (strict and f.none) else []) + unset)
        body += [f"        if {test}:", f"            {line}"] if test else [f"        {line}"]
    step = names[[f.name for f in kept].index("step")]
    totals = [v for v, f in zip(names, kept, strict=True) if f.name == "total"]
    total = f"None if {totals[0]} is None else int({totals[0]})" if totals else "None"
    body += ["        pass", "    except ValueError:", "        return None", f"    return int({step}), {total}, metrics"]
    scope: dict[str, Any] = {"match": match}
    exec("\n".join(body), scope)  # the template's own code, see the docstring
    reader: Callable[[str], Any] = scope["read"]
    return reader


def _compile(template: str) -> tuple[list[Field], str, bytes, dict[str, bytes], str]:
    """The fields, the text regex, the shape regex, the checked literals and the quick regex of a template."""
    fields: list[Field] = []
    text: list[str] = []
    shape: list[bytes] = []
    strict: list[str] = []
    literals: dict[str, bytes] = {}
    depth = 0
    pos = 0
    for m in _TOKEN.finditer(template):
        _literal(template[pos:m.start()], text, shape, literals, strict)
        pos = m.end()
        tok = m.group(0)
        if tok == "[":
            depth += 1
            text.append("(?:")
            shape.append(b"(?:")
            strict.append("(?:")
            continue
        if tok == "]":
            if not depth:
                raise ValueError(f"unbalanced ] in {template!r}")
            depth -= 1
            text.append(")?")
            shape.append(b")?")
            strict.append(")?")
            continue
        name, kind = m.group("name"), m.group("kind") or "num"
        if kind not in _TEXT:
            raise ValueError(f"unknown field kind {kind!r} in {template!r}")
        if name in ("step", "total") and kind not in ("int", "pad"):
            kind = "int"
        factor = float(m.group("factor")) if m.group("factor") else 1.0
        keep = None if name.startswith("_") else name
        none = m.group("none")
        fields.append(Field(keep, kind, factor if m.group("op") != "/" else -factor, depth > 0, none))
        text.append(_TEXT[kind] if keep else "(?:" + _TEXT[kind][1:])
        lead, number = _STRICT[kind]
        body = _SHAPE[kind]
        if keep and none is not None and keep not in ("step", "total"):  # the group is absent on such a line
            unset = b"-" + body if none == NEGATIVE else re.escape(none.encode())
            shape.append(b"(?:(?P<%s>%s)|%s)" % (keep.encode(), body, unset))
            strict.append(f"{lead}(?:({number})|{'-' + number if none == NEGATIVE else re.escape(none)})")
        else:
            shape.append(b"(?P<%s>%s)" % (keep.encode(), body) if keep else b"(?:%s)" % body)
            strict.append(f"{lead}({number})" if keep else f"{lead}(?:{number})")
    _literal(template[pos:], text, shape, literals, strict)
    if depth:
        raise ValueError(f"unbalanced [ in {template!r}")
    # a per-line group per kept field, in order: non-capturing everywhere else, so group i is kept field i
    return fields, "".join(text), b"".join(shape), literals, "".join(strict)


def _forms(template: str) -> list[str]:
    """The template's literal text in each form its optional parts make, a number as `\\0` (`StepLine.texts`)."""
    stack: list[list[str]] = [[""]]  # the forms of each open part so far
    pos = 0
    for m in _TOKEN.finditer(template):
        piece = template[pos:m.start()]
        pos = m.end()
        stack[-1] = [f + piece for f in stack[-1]]
        tok = m.group(0)
        if tok == "[":
            stack.append([""])
        elif tok == "]":
            inner = stack.pop()
            stack[-1] = [f + g for f in stack[-1] for g in ("", *inner)]
        else:
            stack[-1] = [f + "\0" for f in stack[-1]]
    return list(dict.fromkeys(f + template[pos:] for f in stack[-1]))


def _literal(piece: str, text: list[str], shape: list[bytes], literals: dict[str, bytes], strict: list[str]) -> None:
    if not piece:
        return
    if "{" in piece or "}" in piece:
        raise ValueError(f"not a field: {piece!r} (a no-value text may not hold a digit)")
    text.append(re.escape(piece))
    strict.append(re.escape(piece))
    raw = piece.encode()
    shaped = re.escape(bytes(48 if 48 <= c <= 57 else c for c in raw))
    if any(48 <= c <= 57 for c in raw):  # `bf16`: a shape cannot tell it from `bf99`, so it is checked
        group = f"lit{len(literals)}"
        literals[group] = raw
        shape.append(b"(?P<%s>%s)" % (group.encode(), shaped))
        return
    shape.append(shaped)
