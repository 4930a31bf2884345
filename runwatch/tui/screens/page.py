"""A page over the run view: one scrolling box of text, closed by escape (help, the overview)."""

from __future__ import annotations

from rich.console import RenderableType
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class PageScreen(ModalScreen[None]):
    """A modal page: `title` in the box's border, `body()` inside it; subclasses bind their close keys."""

    DEFAULT_CSS = """
    PageScreen { align: center middle; }
    PageScreen > VerticalScroll {
        width: 80; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; border-title-color: $text; padding: 0 1; background: $surface;
    }
    PageScreen Static { width: 100%; }
    """
    title_text = ""

    def body(self) -> RenderableType:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        box = VerticalScroll()
        box.border_title = self.title_text
        box.border_subtitle = "escape closes"
        with box:
            yield Static(self.body(), id="page-body")

    def action_close(self) -> None:
        self.dismiss(None)
