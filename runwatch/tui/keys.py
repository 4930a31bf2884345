"""Every key the TUI answers to, in one table: the help screen lists it and a test
checks it against the bindings, so help and behaviour cannot drift apart."""

from __future__ import annotations

KEYS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Everywhere", (
        ("q", "quit"),
        ("p", "pause / resume following (the view freezes; the engine is told)"),
        ("?", "this help"),
        ("b", "terminal bell on new critical alerts: on / off"),
        ("escape", "close help, menu or compare view"),
    )),
    ("Run view", (
        ("tab / shift+tab", "next / previous panel (runs, charts, alerts, ranks, system, log)"),
        ("1-9", "show run 1-9"),
        ("[ / ]", "previous / next run"),
        ("/", "filter metrics by name (enter keeps it, escape clears it)"),
        ("l", "log scale: the focused chart, or every chart when none is focused"),
        ("f", "y axes to every value, warm-up included (▲/▼ mark values off the axis), or back"),
        ("S", "smoothing: off → EMA 0.6 → 0.9 → 0.99, drawn over the raw line in grey"),
        ("x", "x axis: steps / wall time (counted back from the newest point; a hang is a hole) / tokens seen "
              "(a run that logs them)"),
        ("g", "a chart for every metric (the grid scrolls), or the key charts and sparklines"),
        ("o", "the run's overview: name, host, sources, progress, config, summary, last values, alerts"),
        ("r", "the runs table: state, step, loss, rate, ETA and firing alerts of every run"),
        ("z", "zoom: all steps → last 10k → last 1k → last 100 steps"),
        ("s", "silence the selected alert (30m, 1h, 2h, 1d)"),
        ("a", "acknowledge the selected alert (it still resolves)"),
        ("c", "compare the focused chart's metric across runs"),
        ("up / down", "move in the focused panel (alerts, runs, log)"),
        ("w", "log panel: wrap long lines / cut them at the edge"),
        ("end", "log panel: back to the newest line (it follows new lines again)"),
    )),
    ("Compare view", (
        ("m / right", "next metric"),
        ("left", "previous metric"),
        ("l", "log scale"),
        ("z", "zoom"),
        ("c / escape", "back to the run view"),
    )),
    ("Overview", (
        ("o / escape", "back to the run view"),
    )),
    ("Runs table", (
        ("enter", "open the highlighted run"),
        ("space", "pin it: the compare view (c) overlays only pinned runs"),
        ("click a header", "sort by that column (again: the other way)"),
        ("r / escape", "back to the run view"),
    )),
)
