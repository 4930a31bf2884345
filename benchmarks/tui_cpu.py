"""CPU of the TUI following a live run at its default refresh (goal: under 5% of one core).

The FakeController of the TUI tests plays the engine: every refresh it advances
its runs by `--steps-per-tick` steps (all ten metrics of each run), so each
tick brings a new snapshot, new chart data and a redraw. Its work is counted
too, as the engine's would be in the same process.

  in-process (default): the app on Textual's headless driver at 160×48
  --terminal: the app in a real terminal (a private tmux server, 160×48),
              measured from /proc, so the cost of writing to the tty counts

    python benchmarks/tui_cpu.py [--seconds S] [--refresh R] [--terminal]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from runwatch.tui.app import RunwatchApp  # noqa: E402
from tests.support.fake_controller import FakeController  # noqa: E402

SIZE = (160, 48)


async def in_process(seconds: float, refresh: float, steps: int) -> float:
    app = RunwatchApp(FakeController(live=True, advance=steps), refresh_s=refresh, bell=False, host="bench")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(2.0)  # start-up and first layout are not the steady state
        cpu, wall = time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        used, elapsed = time.process_time() - cpu, time.monotonic() - wall
        await pilot.press("q")
    return 100.0 * used / elapsed


def in_terminal(seconds: float, refresh: float, steps: int) -> float:
    tmux = shutil.which("tmux")
    if tmux is None:
        raise SystemExit("--terminal needs tmux")
    server = ["-L", f"runwatch-bench-{os.getpid()}"]
    code = ("import sys; from runwatch.tui.app import run_tui; from tests.support.fake_controller import FakeController; "
            f"sys.exit(run_tui(FakeController(live=True, advance={steps}), refresh_s={refresh}, bell=False))")
    cmd = f"{sys.executable} -c '{code}'"
    subprocess.run([tmux, *server, "new-session", "-d", "-x", str(SIZE[0]), "-y", str(SIZE[1]), "-c", str(ROOT),
                    cmd], check=True, env={**os.environ, "TERM": "xterm-256color"})
    try:
        time.sleep(3.0)
        pid = int(subprocess.run([tmux, *server, "list-panes", "-F", "#{pane_pid}"], capture_output=True,
                                 text=True, check=True).stdout.split()[0])
        tick = os.sysconf("SC_CLK_TCK")

        def cpu() -> float:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / tick  # utime + stime

        c0, w0 = cpu(), time.monotonic()
        time.sleep(seconds)
        return 100.0 * (cpu() - c0) / (time.monotonic() - w0)
    finally:
        subprocess.run([tmux, *server, "kill-server"], capture_output=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--refresh", type=float, default=1.0, help="the TUI's refresh period (default 1 s)")
    ap.add_argument("--steps-per-tick", type=int, default=5)
    ap.add_argument("--terminal", action="store_true", help="run in a real terminal (tmux) instead")
    args = ap.parse_args()
    if args.terminal:
        where, pct = "real terminal (tmux)", in_terminal(args.seconds, args.refresh, args.steps_per_tick)
    else:
        where, pct = "headless driver", asyncio.run(in_process(args.seconds, args.refresh, args.steps_per_tick))
    print(f"TUI following a live run ({where}, {SIZE[0]}×{SIZE[1]}, refresh {args.refresh:g}s, "
          f"{args.steps_per_tick} steps/tick, 2 runs): {pct:.1f}% of one core over {args.seconds:g}s")
    print(f"goal < 5% of one core: {'met' if pct < 5 else 'NOT met'}")


if __name__ == "__main__":
    main()
