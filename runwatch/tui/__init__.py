"""The Textual front end (`runwatch tail` on a terminal, `runwatch demo`).

Import `runwatch.tui.app` lazily: this package is the only place that imports
Textual, and the headless path must not pay for it. The TUI reads
`RunSnapshot`s and acts through a `runwatch.model.Controller`; it never
imports the engine, watcher, parsers or rules.
"""
