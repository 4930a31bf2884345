"""A report's text from a log reaches the Markdown and the HTML as printable text only, escaped for each."""

from __future__ import annotations

from runwatch.report.document import Heading, Image, Para, Table, html_page, markdown

HOSTILE = "loss\x1b[2J\x1b]0;pwned\x07 <script>alert(1)</script> | a\nb"


def test_markdown_keeps_no_control_sequence_and_escapes_table_cells() -> None:
    md = markdown([Heading(HOSTILE), Para(HOSTILE), Table(("k", "v"), [("key", HOSTILE)])])
    assert "\x1b" not in md and "\x07" not in md
    row = next(ln for ln in md.splitlines() if ln.startswith("| key"))
    assert row.count(" | ") == 1 and "\\|" in row  # the cell's own | cannot open a column


def test_html_escapes_text_and_inlines_images() -> None:
    page = html_page(HOSTILE, [Para(HOSTILE), Image("p.png", HOSTILE, 10, 5)], lambda name: b"\x89PNG-bytes")
    assert "<script>" not in page and "&lt;script&gt;" in page and "\x1b" not in page
    assert 'src="data:image/png;base64,iVBORy1ieXRlcw=="' in page
