"""Command line: argument parsing, and the only place that exits (DESIGN §3)."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from runwatch import __version__
from runwatch.errors import EXIT_GAVE_UP, EXIT_INTERNAL, EXIT_USAGE, BadValueError, RunwatchError, UsageError
from runwatch.text import one_line

if TYPE_CHECKING:
    from runwatch.config import WatchConfig

_N = TypeVar("_N", int, float)
_T = TypeVar("_T")


def _positive(number: Callable[[str], _N], noun: str) -> Callable[[str], _N]:
    """An argparse `type` for a number > 0, whose errors say what was wrong with the text."""

    def parse(text: str) -> _N:
        try:
            v = number(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {noun}: {text!r}") from None
        if v <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0: {text!r}")
        return v

    return parse


_positive_float = _positive(float, "a number")
_positive_int = _positive(int, "an integer")


def _as_seconds(text: str) -> float:
    """Seconds as a number (`5`, `0.5`) or as the config writes a duration (`5s`, `2m`, `500ms`)."""
    try:
        return float(text)
    except ValueError:
        from runwatch.durations import parse_duration

        return parse_duration(text)


_positive_seconds = _positive(_as_seconds, "a number of seconds or a duration such as 5s")


def _listen_address(text: str):  # type: ignore[no-untyped-def]
    """An argparse `type` for `--listen HOST:PORT` (runwatch.serve.address)."""
    from runwatch.serve.address import parse_listen

    try:
        return parse_listen(text)
    except BadValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad command line exits `EXIT_USAGE` (64), not 2: `check` exits 2 for a critical alert."""

    commands: Mapping[str, argparse.ArgumentParser]
    """The top level's commands by name (`build_parser`), so that an argument none of a command's options
    takes is that command's error, shown with its usage: argparse leaves such arguments to the top level,
    whose usage (`runwatch [-h] [--version] COMMAND ...`) tells a user nothing about `check --bogus`."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {one_line(message)}\n")


def parse_command_line(parser: _Parser, argv: Sequence[str] | None) -> argparse.Namespace:
    """`parser.parse_args(argv)`, with unrecognized arguments reported by the command they were given to."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        command = parser.commands.get(getattr(args, "command", None) or "", parser)
        command.error(f"unrecognized arguments: {' '.join(extras)}{_meant(command, extras)}")
    return args


_LINE_MODE = ("--lines", "--line", "--line-mode", "--no-tui", "--plain", "--text")
"""What a user types for the line mode the README describes (a review: `tail FILE --lines`): `--headless`."""


def _meant(command: argparse.ArgumentParser, extras: Sequence[str]) -> str:
    """` (did you mean --headless?)` for an option the command has under another name."""
    options = {o for a in command._actions for o in a.option_strings}
    for extra in extras:
        flag = extra.split("=", 1)[0]
        if flag in _LINE_MODE and "--headless" in options:
            return " (did you mean --headless, the line mode?)"
        close = difflib.get_close_matches(flag, sorted(options), n=1, cutoff=0.75) if flag.startswith("--") else []
        if close:
            return f" (did you mean {close[0]}?)"
    return ""


def build_parser() -> _Parser:
    from runwatch.parsers.registry import format_names

    p = _Parser(
        prog="runwatch",
        description="Watch machine-learning training runs from the terminal: follow logs of any "
        "framework, see progress, ETA and metrics, catch NaNs, spikes, stalls and crashes.",
    )
    p.add_argument("--version", action="version", version=f"runwatch {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    p.commands = sub.choices

    # DESIGN §3's format names: the log formats, and `wandb` (every PATH is then read as a W&B run).
    common = _Parser(add_help=False)
    formats = [*format_names(), "wandb"]
    common.add_argument("--format", choices=formats, metavar="NAME",
                        help=f"skip format detection ({', '.join(formats)}; wandb: every PATH is a W&B run)")
    common.add_argument("--total-steps", type=_positive_int, metavar="N",
                        help="planned steps, when the log does not say")
    once = common

    alerts = _Parser(add_help=False)
    alerts.add_argument("--config", type=Path, metavar="FILE", help="TOML config: [rules.<id>], [[sinks]], [watch], [state] (README: Alerts)")
    alerts.add_argument("--rule", action="append", default=[], metavar="RULE.PARAM=VALUE",
                        help="override a rule parameter, e.g. --rule stall.after=30m (repeatable)")

    sinks = _Parser(add_help=False)
    sinks.add_argument("--webhook", metavar="URL", help="POST alerts as JSON to this URL")
    sinks.add_argument("--slack-webhook-env", metavar="VAR",
                       help="send alerts to the Slack incoming webhook whose URL is in $VAR")
    sinks.add_argument("--alertmanager", action="append", default=[], metavar="URL",
                       help="send alerts to Alertmanager at URL (POST /api/v2/alerts, re-sent every 60 s while "
                            "active); repeat for each member of an HA cluster")
    sinks.add_argument("--on-alert", metavar="CMD",
                       help="run CMD (split like a shell would, but never run by one) with the alert as JSON on stdin")

    system = _Parser(add_help=False)
    system.add_argument("--pid", type=_positive_int, action="append", default=[], metavar="PID",
                        help="the training process (and its children); found automatically where possible")
    system.add_argument("--no-gpu", action="store_true", help="do not sample GPUs (NVML)")

    follow = _Parser(add_help=False)
    follow.add_argument("--poll", action="store_true",
                        help="rely on polling only (NFS, Lustre, GPFS, sshfs deliver no inotify events)")
    follow.add_argument("--poll-interval", type=_positive_seconds, default=1.0, metavar="S",
                        help="seconds between stat polls (default 1)")
    follow.add_argument("--headless", action="store_true", help="line mode even on a terminal")
    follow.add_argument("--no-bell", action="store_true", help="no terminal bell on a new critical alert")
    follow.add_argument("--json", action="store_true", help="one JSON object per line: status, alert and event objects (README)")
    follow.add_argument("--interval", type=_positive_seconds, metavar="S",
                        help="seconds (5, or 5s, 2m) between status lines (default 10; demo 2)")

    t = sub.add_parser("tail", parents=[common, follow, alerts, sinks, system], help="follow training logs live",
                       description="Follow training logs live. PATH is a log file, a glob, a directory "
                       "of logs, - for standard input, or a node: http(s)://HOST:PORT, or HOST:PORT when no file "
                       "of that name exists (the runs a `runwatch watch --listen` there follows).")
    t.add_argument("paths", nargs="+", metavar="PATH")
    t.add_argument("--listen", type=_listen_address, metavar="HOST:PORT",
                   help="also serve /metrics, /api/v1/runs, /api/v1/alerts and /healthz here while it runs "
                   "(as `runwatch watch --listen`)")

    d = sub.add_parser("demo", parents=[follow, alerts, sinks, system], help="a simulated run with planted faults",
                       description="Simulate a training run (a real log file written live, with a loss "
                       "spike, a NaN and a stall planted) and watch it.")
    d.add_argument("--speed", type=_positive_float, default=1.0, metavar="X",
                   help="simulation speed multiplier (default 1)")
    d.add_argument("--keep", action="store_true", help="keep the simulated log and print its path")

    pa = sub.add_parser("parse", parents=[once], help="print the records of a log, once",
                        description="Parse what the paths hold now and print the records. PATH is a log "
                        "file, a glob, a directory (its logs, metric files, checkpoints and wandb/ runs), "
                        "a metric file, a .wandb file or W&B run directory, or - for standard input.")
    pa.add_argument("paths", nargs="+", metavar="PATH")
    pa.add_argument("--output", "-o", choices=["jsonl", "csv", "table", "summary"], default="table")

    w = sub.add_parser("watch", parents=[common, alerts, sinks, system], help="the watchdog daemon: alerts to sinks",
                       description="Watch runs in the background and send alerts (headless; logs to stderr).")
    w.add_argument("paths", nargs="+", metavar="PATH")
    w.add_argument("--state-dir", type=Path, metavar="DIR", help="read offsets, alert state, silences, undelivered alerts (default: the user state dir)")
    w.add_argument("--log-file", type=Path, metavar="FILE", help="log here instead of stderr")
    w.add_argument("--pidfile", type=Path, metavar="FILE")
    # Defaults come from the config's [watch] table, else these; a flag given wins over both.
    w.add_argument("--interval", type=_positive_seconds, metavar="S",
                   help="seconds (60, or 60s, 2m) between status lines in the log (default: [watch] interval, else 60)")
    w.add_argument("--poll", action=argparse.BooleanOptionalAction, default=None,
                   help="rely on polling only, for network filesystems (default: [watch] poll, else no)")
    w.add_argument("--poll-interval", type=_positive_seconds, metavar="S",
                   help="seconds between stat polls (default: [watch] poll_interval, else 1)")
    w.add_argument("--listen", type=_listen_address, metavar="HOST:PORT",
                   help="serve /metrics (Prometheus), /api/v1/runs, /api/v1/alerts and /healthz here; a bare "
                   "PORT means 127.0.0.1; other peers need RUNWATCH_TOKEN (default: [watch] listen, else off)")
    w.add_argument("--textfile", type=Path, metavar="PATH",
                   help="write the /metrics exposition to PATH (atomically) with each status line, for "
                   "node_exporter's textfile collector (default: [watch] textfile, else off)")

    c = sub.add_parser("check", parents=[once, alerts], help="health check of a whole log, once",
                       description="Replay everything the paths hold (as for parse) through the rules and "
                       "report what fired. Exit 0: nothing fired; 1: only warnings; 2: something critical; 3: some input "
                       "was not understood or could not be read (2 still comes first); 64: a bad command line; "
                       "71: a runwatch bug. "
                       "A run that stopped below its known total is reported incomplete (a warning line; "
                       "no alert, so it does not change the exit code).")
    c.add_argument("paths", nargs="+", metavar="PATH")
    c.add_argument("--json", action="store_true", help="one JSON object per run")

    r = sub.add_parser("report", parents=[alerts], help="a run report (Markdown or HTML) with PNG plots",
                       description="Read the paths as check does and write, per run, a report in the order a run "
                       "is read (overview, hyperparameters, curves, summaries, health) with PNG plots: one run "
                       "into DIR (DIR/report.md), several into DIR/<run>/. Prints each report's path. Exit "
                       "codes as check: 0 nothing fired, 1 warnings, 2 critical, 3 nothing readable.")
    r.add_argument("paths", nargs="+", metavar="PATH")
    r.add_argument("-o", "--output-dir", type=Path, default=Path("runwatch-report"), metavar="DIR",
                   help="where the report and its plots go (default ./runwatch-report)")
    r.add_argument("--format", choices=["md", "html"], default="md",
                   help="md: report.md beside the PNGs; html: one report.html with the plots inlined")
    r.add_argument("--total-steps", type=_positive_int, metavar="N", help="planned steps, when the log does not say")
    r.add_argument("--json", action="store_true", help="also print the numbers, one JSON object per run")

    co = sub.add_parser("compare", parents=[alerts], help="what differs between runs, curves overlaid",
                        description="Read each path as report does and print a table of the settings that differ "
                        "and the runs' outcomes (final and best loss, runtime, throughput, alerts); write overlaid "
                        "PNGs aligned by --x and DIR/compare.md.")
    co.add_argument("paths", nargs="+", metavar="RUN", help="a run's log, directory or W&B run (two or more runs)")
    co.add_argument("-o", "--output-dir", type=Path, default=Path("runwatch-compare"), metavar="DIR",
                    help="where compare.md and the plots go (default ./runwatch-compare)")
    co.add_argument("--x", choices=["step", "tokens", "time"], default="step",
                    help="align the curves by step, tokens seen (when known) or wall time (default step)")
    co.add_argument("--json", action="store_true", help="print the comparison as one JSON object")

    sub.add_parser("rules", parents=[alerts], help="the rules, their defaults and what they watch")

    si = sub.add_parser("silence", help="mute a rule for a while; list or expire silences",
                        description="Silences are kept in the state dir; a running `runwatch watch` obeys them.")
    si.add_argument("rule", nargs="?", metavar="RULE", help="a rule id, or * for every rule")
    si.add_argument("--run", metavar="R", help="only this run")
    si.add_argument("--for", dest="duration", metavar="DURATION", help="how long, e.g. 30m, 2h, 1d")
    si.add_argument("--comment", default="", metavar="TEXT")
    si.add_argument("--list", action="store_true", help="list active silences")
    si.add_argument("--expire", metavar="ID", help="end a silence now")
    si.add_argument("--config", type=Path, metavar="FILE",
                    help="take the state dir from its [state] dir, as `runwatch watch --config FILE` does")
    si.add_argument("--state-dir", type=Path, metavar="DIR", help="the daemon's state dir (wins over --config)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_command_line(build_parser(), argv)
    try:
        if args.command == "parse":
            from runwatch.commands.parse import run_parse

            return run_parse(args.paths, fmt=args.format, output=args.output,
                             total_steps=args.total_steps, out=sys.stdout)
        if args.command == "tail":
            return _tail(args, args.paths)
        if args.command == "demo":
            return _demo(args)
        if args.command == "check":
            from runwatch.commands.check import run_check

            return run_check(args.paths, config=_config(args), fmt=args.format, total_steps=args.total_steps,
                             as_json=args.json, out=sys.stdout)
        if args.command == "report":
            from runwatch.commands.report import run_report

            return run_report(args.paths, config=_config(args), fmt=None, total_steps=args.total_steps,
                              out_dir=args.output_dir, doc_format=args.format, as_json=args.json, out=sys.stdout)
        if args.command == "compare":
            from runwatch.commands.compare import run_compare
            from runwatch.model import XAxis

            return run_compare(args.paths, config=_config(args), out_dir=args.output_dir, axis=XAxis(args.x),
                               as_json=args.json, out=sys.stdout)
        if args.command == "rules":
            from runwatch.commands.rules_cmd import run_rules

            return run_rules(_config(args), sys.stdout)
        if args.command == "silence":
            from runwatch.commands.silence import run_silence

            return run_silence(rule=args.rule, run=args.run, duration=args.duration, list_=args.list,
                               expire=args.expire, comment=args.comment, state_dir=_state_dir(args),
                               out=sys.stdout)
        if args.command == "watch":
            return _watch(args)
    except RunwatchError as e:  # a path or a value from the command line may hold escape sequences
        # BadValueError (ConfigError, SinkConfigError…) among them: they already name the file/flag and key.
        print(one_line(f"runwatch: {e}"), file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `runwatch parse … | head`: the reader left; not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:
        return _internal_error(e)
    return 2


def _internal_error(e: Exception) -> int:
    """Report an exception no command turned into a user error: a bug of runwatch's, not bad input.

    A bare ValueError used to exit 64 as `runwatch: <message>`, so a broken invariant inside runwatch read as a
    typo on the command line, with nothing to report. The traceback goes first, then one line that says it is
    a bug, last on stderr where a user looks, and the exit status is `EXIT_INTERNAL`, which no verdict or usage
    error shares.
    """
    import traceback

    traceback.print_exc(file=sys.stderr)
    print(one_line(f"runwatch: internal error: {type(e).__name__}: {e} "
                   "(a bug; please report it with the traceback above)"), file=sys.stderr)
    return EXIT_INTERNAL


def use_tui(args: argparse.Namespace, *, environ: dict[str, str] | None = None) -> bool:
    """The Textual interface only on a real terminal; line mode for pipes, nohup, cron, TERM=dumb.

    Textual itself does not fall back: without a TTY it writes escape codes and never exits.
    """
    if args.headless or args.json:
        return False
    term = (os.environ if environ is None else environ).get("TERM", "")
    return sys.stdin.isatty() and sys.stdout.isatty() and term not in ("", "dumb")


def _stop_event() -> threading.Event:
    """Set on SIGINT/SIGTERM so front ends stop cleanly."""
    stop = threading.Event()

    def handler(signum: int, frame: object) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    return stop


def _tail(args: argparse.Namespace, paths: list[str], until_done: bool = False) -> int:
    from runwatch.engine import Engine, EngineOptions
    from runwatch.headless import HeadlessPrinter
    from runwatch.model import RunState

    if paths.count("-") > 1:
        raise UsageError("'-' (standard input) can be given only once")
    opts = EngineOptions(fmt=getattr(args, "format", None), poll_only=args.poll,
                         poll_interval=args.poll_interval, total_steps=getattr(args, "total_steps", None),
                         pids=tuple(args.pid), gpu=not args.no_gpu)
    interval = args.interval or (2.0 if args.command == "demo" else 10.0)
    from runwatch.remote.address import is_node

    nodes: list[Any] = []
    if any(is_node(p) for p in paths):  # the remote view's HTTP client is imported only for a node (start-up)
        from runwatch.commands.nodes import split_targets

        paths, nodes = split_targets(paths)
    # With nothing to validate, rules and sinks load on the engine's worker after the first status.
    needs_check = any(getattr(args, k, None) for k in ("config", "rule", "webhook", "slack_webhook_env", "on_alert",
                                                     "alertmanager"))
    alerting = _alerting(args) if needs_check else (lambda: _alerting(args))
    if nodes:
        return _tail_nodes(args, nodes, Engine(paths, opts, alerting=alerting) if paths else None, interval)
    if use_tui(args):
        from runwatch.tui.app import run_tui

        engine = Engine(paths, opts, alerting=alerting)
        with engine, _listening(engine, args):
            return run_tui(engine, refresh_s=min(interval, 1.0), bell=not args.no_bell,
                           runs_first=any(os.path.isdir(p) for p in paths))
    stop = _stop_event()
    engine = Engine(paths, opts, alerting=alerting)
    listening = _listening(engine, args)
    printer = HeadlessPrinter(sys.stdout, sys.stderr, interval=interval, as_json=args.json)

    def done(snaps: list) -> bool:  # type: ignore[type-arg]
        if engine.all_ended:
            return True
        return until_done and bool(snaps) and all(s.state in (RunState.FINISHED, RunState.CRASHED,
                                                                 RunState.ENDED) for s in snaps)

    gave_up = engine.supervisor.gave_up
    with engine, listening:
        snaps = printer.run(engine, lambda: stop.is_set() or gave_up.is_set(), done)
    if gave_up.is_set():  # not blind and silent: say so and stop, as `watch` does
        print(f"runwatch: runwatch's own threads failed too often; stopping (exit {EXIT_GAVE_UP})", file=sys.stderr)
        return EXIT_GAVE_UP
    if args.command == "demo":
        return 0  # its faults are planted: no verdict on a run of the user's
    return printer.exit_code(snaps)  # check's contract (README, "Exit statuses")


def _tail_nodes(args: argparse.Namespace, nodes: list[Any], engine: Any, interval: float) -> int:
    """`runwatch tail http://NODE:PORT … [PATH…]`: the nodes' runs (and the local ones) in one view."""
    from runwatch.commands.nodes import NodeView
    from runwatch.headless import HeadlessPrinter

    if getattr(args, "listen", None) is not None:
        raise UsageError("--listen serves the runs followed on this machine: run it on each node "
                         "(`runwatch watch --listen`), not with node addresses")
    view = NodeView(nodes, engine)
    with engine if engine is not None else contextlib.nullcontext(), view as controller:
        if use_tui(args):
            from runwatch.tui.app import run_tui

            return run_tui(controller, refresh_s=min(interval, 1.0), bell=not args.no_bell, runs_first=True)
        stop = _stop_event()
        HeadlessPrinter(sys.stdout, sys.stderr, interval=interval, as_json=args.json).run(controller, stop.is_set)
    return 0


def _listening(engine: Any, args: argparse.Namespace) -> contextlib.AbstractContextManager[object]:
    """`tail --listen`: the listener, bound now (a port in use stops here), serving while the context holds;
    said on stderr before the view starts."""
    if getattr(args, "listen", None) is None:
        return contextlib.nullcontext()
    from runwatch.commands.serving import Exports, listening_line, open_exports

    listener, _ = open_exports(engine, Exports(listen=args.listen))
    assert listener is not None
    print(f"runwatch: {listening_line(listener)}", file=sys.stderr)
    return listener


def _config(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from runwatch.config import load_config

    return load_config(getattr(args, "config", None), overrides=getattr(args, "rule", []))


def _state_dir(args: argparse.Namespace) -> Path:
    """`--state-dir`, else the config's `[state] dir`, else the platform's user state dir (`runwatch/`)."""
    from runwatch.alerts.store import default_state_dir
    from runwatch.config import load_config

    if args.state_dir is not None:
        return Path(args.state_dir).expanduser()
    configured = load_config(args.config).state_dir if args.config is not None else None
    return configured or default_state_dir()


def _flags(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from runwatch.alerting import AlertFlags

    return AlertFlags(webhook=getattr(args, "webhook", None),
                      slack_webhook_env=getattr(args, "slack_webhook_env", None),
                      on_alert=getattr(args, "on_alert", None),
                      alertmanager=tuple(getattr(args, "alertmanager", None) or ()))


def _alerting(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """Rules and sinks for `tail`/`demo`: live alerts, not persisted (the daemon keeps state)."""
    from runwatch.alerting import Alerting, build_sinks
    from runwatch.commands.serving import Exports, linked_sinks

    config = _config(args)
    exports = Exports(listen=getattr(args, "listen", None))
    sinks = build_sinks(linked_sinks([*config.sinks, *_flags(args).sink_configs()], exports))
    return Alerting(config, sinks=sinks, persist=False,
                    on_sink_error=lambda name, msg: print(f"runwatch: sink {name}: {msg}", file=sys.stderr))


def _watch(args: argparse.Namespace) -> int:
    from runwatch.commands.serving import Exports
    from runwatch.commands.watch import PidFile, run_watch, setup_logging
    from runwatch.engine import EngineOptions

    watch = _config(args).watch  # refuses a bad config first
    interval, poll, poll_interval = watch_timing(args, watch)
    _flags(args)
    state_dir = _state_dir(args)
    if state_dir.exists() and not state_dir.is_dir():  # before anything starts: alert state cannot be kept
        raise UsageError(f"state dir {state_dir} is not a directory")
    setup_logging(args.log_file)
    opts = EngineOptions(fmt=args.format, poll_only=poll, poll_interval=poll_interval,
                         total_steps=args.total_steps, pids=tuple(args.pid), gpu=not args.no_gpu)
    stop = _stop_event()
    pid = PidFile(args.pidfile) if args.pidfile else None
    try:
        if pid is not None:
            pid.__enter__()
    except RuntimeError as e:
        raise UsageError(str(e)) from None
    try:
        return run_watch(args.paths, load=lambda: _config(args), flags=_flags(args), options=opts,
                         state_dir=state_dir, interval=interval, stop=stop,
                         exports=Exports(args.listen or watch.listen, args.textfile or watch.textfile))
    finally:
        if pid is not None:
            pid.__exit__(None, None, None)


def watch_timing(args: argparse.Namespace, watch: WatchConfig) -> tuple[float, bool, float]:
    """`runwatch watch`'s status interval, polling and poll interval: flag, else `[watch]`, else default."""
    return (_first(args.interval, watch.interval, 60.0), _first(args.poll, watch.poll, False),
            _first(args.poll_interval, watch.poll_interval, 1.0))


def _first(*values: _T | None) -> _T:
    """The first value that is set: a flag, then the config, then the default (last, never None)."""
    return next(v for v in values if v is not None)


def _demo(args: argparse.Namespace) -> int:
    import tempfile

    from runwatch.demo import DemoRun

    tmp = tempfile.mkdtemp(prefix="runwatch-demo-")
    log = Path(tmp) / "train.log"
    log.touch()
    sim = DemoRun(log, speed=args.speed)
    # The planted stall is 12 s of simulated time: let the stall rule speak after half of it
    # (real runs keep the 10-minute default).
    if not any(r.startswith("stall.") for r in args.rule):
        args.rule = [*args.rule, f"stall.after={max(1.0, 6.0 / args.speed):.1f}s", "stall.resolve_after=1s"]
    if not use_tui(args):
        print(f"runwatch demo: simulating a nanochat run into {log} "
              "(planted: loss spike ~step 420, NaN at 760, 12 s stall at 950); Ctrl-C to stop",
              file=sys.stderr)
    sim.start()
    try:
        return _tail(args, [str(log)], until_done=True)
    finally:
        sim.stop()
        sim.join(5.0)
        if args.keep:
            print(f"runwatch demo: log kept at {log}", file=sys.stderr)
        else:
            log.unlink(missing_ok=True)
            os.rmdir(tmp)


if __name__ == "__main__":
    sys.exit(main())
