"""A report as a list of blocks, written as Markdown or as one self-contained HTML file.

One structure, two writers: the HTML is not converted from the Markdown (no
Markdown library, no second wording), and every text from a log or a run file
is made one printable line (runwatch.text) before it is written, then escaped
for the format.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from runwatch.text import one_line


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]


@dataclass(frozen=True)
class Image:
    file: str
    alt: str
    width: int
    height: int


Block = Heading | Para | Table | Image


def markdown(blocks: Sequence[Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append("#" * b.level + " " + one_line(b.text))
        elif isinstance(b, Para):
            out.append(one_line(b.text))
        elif isinstance(b, Table):
            out.append(_md_row(b.header))
            out.append("|" + "|".join("---" for _ in b.header) + "|")
            out.extend(_md_row(r) for r in b.rows)
        else:
            out.append(f"![{_md_cell(b.alt)}]({b.file})")
        out.append("")
    return "\n".join(out)


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(_md_cell(c) for c in cells) + " |"


def _md_cell(text: str) -> str:
    return one_line(text).replace("\\", "\\\\").replace("|", "\\|")


STYLE = ("body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em;color:#222}"
         "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;"
         "text-align:left;vertical-align:top}th{background:#f3f3f3}img{max-width:100%;height:auto}")


def html_page(title: str, blocks: Sequence[Block], image: Callable[[str], bytes]) -> str:
    """One HTML file with every plot inlined (base64 PNG), for mail or a cluster without a server;
    `image(file)` gives a plot's bytes."""
    body: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            body.append(f"<h{b.level}>{_h(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            body.append(f"<p>{_h(b.text)}</p>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{_h(c)}</th>" for c in b.header)
            rows = "".join("<tr>" + "".join(f"<td>{_h(c)}</td>" for c in r) + "</tr>" for r in b.rows)
            body.append(f"<table><tr>{head}</tr>{rows}</table>")
        else:
            data = base64.b64encode(image(b.file)).decode("ascii")
            body.append(f'<p><img alt="{_h(b.alt)}" width="{b.width}" height="{b.height}" '
                        f'src="data:image/png;base64,{data}"></p>')
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + _h(title) + "</title><style>"
            + STYLE + "</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def _h(text: str) -> str:
    return html.escape(one_line(text))


def read_image(directory: Path) -> Callable[[str], bytes]:
    return lambda name: (directory / name).read_bytes()
