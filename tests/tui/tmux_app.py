"""The TUI on a FakeController, for the real-terminal test: `python -m tests.tui.tmux_app`.

Prints nothing itself; the test reads the screen through `tmux capture-pane`.
"""

from __future__ import annotations

import sys

from runwatch.tui.app import run_tui
from tests.support.fake_controller import FakeController


def main() -> int:
    return run_tui(FakeController(live=True, advance=2), refresh_s=0.5, bell=False)


if __name__ == "__main__":
    sys.exit(main())
