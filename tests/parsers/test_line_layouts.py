"""A live step line read without its parser gives the parser's records: a keyed format's by its shape's learned
layout, a template format's by its template (`quick_reader`).

runwatch.parsers.learned.LineLayouts reads a live step line of Megatron,
DeepSpeed, torchtitan, `key=value` or the tutorial loop by the layout
learned for its shape, as the fast path reads a block's rows. The
reference is the parser itself (`fast_path=False`: every line to it). The
lines are every real line of the fixtures, then each again with every digit
moved on (so its shape stays and the layout learned from the first reads
it), then moved on by three, one line at a time as a live follower feeds
them.
"""

from __future__ import annotations

import re

import pytest

from runwatch.parsers.events import WAKES
from runwatch.parsers.registry import format_names, parser_class
from runwatch.parsers.source import SourceParser, line_layouts, quick_reader
from runwatch.watcher.snapshot import split_block
from tests.parsers.test_screen import fixture_lines
from tests.support.readers import js

LEARNED = [name for name in format_names() if line_layouts(name) is not None]
HEAD = 3000


def _moved(line: bytes, by: int) -> bytes:
    return re.sub(rb"[0-9]", lambda m: b"%d" % ((int(m.group()) + by) % 10), line)


def _spelled(line: bytes) -> list[bytes]:
    """`line` again with one of its numbers after the first (a step) negated, or spelled `nan` or `inf`, for each."""
    out = []
    for m in list(re.finditer(rb"[0-9][0-9.]*", line))[1:]:
        a, b = m.span()
        out += [line[:a] + b"-" + line[a:], line[:a] + b"nan" + line[b:], line[:a] + b"inf" + line[b:]]
    return out


def _live(lines: list[str], fmt: str, fast_path: bool) -> tuple[list[str], SourceParser]:
    sp = SourceParser("log", fmt=fmt, fast_path=fast_path)
    out = []
    for i, line in enumerate(lines, 1):
        out += sp.feed([line], i, 1000.0)
        out += sp.settle()
    return js(out + sp.flush()), sp


def _live_counted(lines: list[str], fmt: str) -> tuple[list[str], SourceParser, int]:
    """`_live` with the fast path on, and how many lines the format's learned layouts read."""
    layouts = line_layouts(fmt)
    assert layouts is not None
    read = 0
    original = layouts.read

    def counted(line: str) -> object:
        nonlocal read
        rec = original(line)
        read += rec is not None
        return rec

    layouts.read = counted  # type: ignore[method-assign]
    try:
        got, sp = _live(lines, fmt, True)
    finally:
        del layouts.read
    return got, sp, read


def test_the_keyed_formats_have_layouts() -> None:
    assert {"megatron", "deepspeed", "torchtitan", "kv", "bracketed"} <= set(LEARNED)


@pytest.mark.parametrize("fmt", LEARNED)
def test_live_lines_read_by_layouts_are_the_parsers_records(fmt: str) -> None:
    raw = list(fixture_lines())
    data = b"\n".join(raw + [_moved(x, 1) for x in raw] + [_moved(x, 3) for x in raw]) + b"\n"
    lines = split_block(data)
    got, sp, read = _live_counted(lines, fmt)
    want, ref = _live(lines, fmt, False)
    assert got == want
    assert (sp.lines, sp.records, sp.failures.counts) == (ref.lines, ref.records, ref.failures.counts)
    assert read >= 10  # the layouts read lines (else this compared the parser with itself)



def test_a_shape_the_parser_reads_no_record_from_is_left_unread_and_nothing_is_lost(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`QuietShapes`: once a shape has come to a keyed format's parser `SIGHTS` times and its probes
    gave no record, its lines are not read. A whole real log read so (a live follower's batches) gives the
    records it gives with every line read by the parser, including those of parsers that keep something between
    lines (the generic `kv`'s epoch heading, the meters' evaluation loss: `FormatParser.state_texts`), and lines
    were left unread (else this compared the parser with itself)."""
    from runwatch.parsers.learned import QuietShapes
    from tests.support.found import FOUND, found_lines

    unread = 0
    asked = QuietShapes.__call__

    def counted(self: QuietShapes, line: str) -> bool:
        nonlocal unread
        quiet = asked(self, line)
        unread += quiet
        return quiet

    monkeypatch.setattr(QuietShapes, "__call__", counted)
    compared = 0
    for path in sorted(FOUND.iterdir()):
        if not path.is_file() or path.suffix == ".md":
            continue
        lines = found_lines(path.name)[:HEAD]
        runs = []
        for fast in (True, False):
            sp = SourceParser(path.name, fast_path=fast)
            recs = [r for i in range(0, len(lines), 500) for r in sp.feed(lines[i:i + 500], i + 1, 0.0)] + sp.flush()
            runs.append((sp.format, js(recs), sp.failures.counts))
            if sp.format not in LEARNED:
                break
        else:
            compared += 1
            assert runs[0] == runs[1], path.name
    assert compared >= 50 and unread >= 1000, (compared, unread)


def test_each_source_has_its_own_quiet_shapes_and_long_lines_are_always_read() -> None:
    """A shape one source found recordless is no other source's finding (what its lines did to its parser,
    kv's `_stepped`, is not the other's: a code review), and a line past `QUIET_CHARS` is read however often
    its shape comes (a printed sample of tokens would make 60 KB keys)."""
    from runwatch.parsers.learned import QUIET_CHARS, SIGHTS
    from tests.support.corpus import CORPUS

    speedrun = (CORPUS / "raw/nanochat_pr492_speedrun_d24_feb01.training_output.log").read_text(encoding="utf-8")
    evaluating = next(x for x in speedrun.splitlines() if x.startswith("Evaluating: lambada_openai"))
    first = SourceParser("a.log", fmt="kv")
    assert first._quiet is not None
    assert [first._quiet(evaluating) for _ in range(SIGHTS + 1)] == [False] * (SIGHTS - 1) + [True, True]
    other = SourceParser("b.log", fmt="kv")
    assert other._quiet is not None and other._quiet is not first._quiet and not other._quiet(evaluating)
    long = " | ".join([evaluating] * (QUIET_CHARS // len(evaluating) + 1))
    assert len(long) > QUIET_CHARS and not any(first._quiet(long) for _ in range(2 * SIGHTS))


@pytest.mark.parametrize("order", ["episodes first", "steps first"])
def test_an_episode_is_no_step_after_a_stated_one_on_every_path(order: str) -> None:
    """A code review: the generic `kv` reads an RL loop's `Episode 9990 | Avg Reward: …` as step 9990 only while
    no line of the log stated a step (KeyValueParser._stepped). A step line its learned layout read never told the
    parser so, and an episode's layout, learned while none had, read on after one had: the episodes were steps with
    the fast path on (live and bulk), restarts of the run, and not with it off. The run lab's `step=N … loss=…`
    lines and a poker DQN's episodes, in either order."""
    import gzip

    from runwatch.model import Kind
    from tests.support.found import FOUND
    from tests.support.readers import check, fast_rows
    from tests.support.realruns import REALRUNS

    kv = [x for x in (REALRUNS / "kvlog-healthy" / "run" / "train.log").read_text().splitlines() if "step=" in x][:60]
    dqn = [x for x in gzip.decompress((FOUND / "poker_dqn_episodes_relaunched.log.gz").read_bytes()).decode()
           .splitlines() if "| Avg Reward:" in x][:60]
    lines = kv + dqn if order == "steps first" else dqn[:30] + kv + dqn[30:]
    got, _, read = _live_counted(lines, "kv")
    want, _ = _live(lines, "kv", False)
    assert got == want
    assert read >= 50  # the step lines were the layouts' (else the parser met itself)
    recs, chunks = check(("\n".join(lines) + "\n").encode(), (1 << 20, 4096), fmt="kv")
    assert fast_rows(chunks) >= 50  # the step lines were the fast path's (else the parser met itself)
    episodes = [r.step for r in recs if r.kind is Kind.STEP and "avg_reward" in r.metrics]
    assert episodes == ([] if order == "steps first" else [int(x.split("Episode ")[1].split()[0]) for x in dqn[:30]])


QUICK = [name for name in format_names() if quick_reader(name) is not None]


def test_the_template_formats_read_their_live_step_lines_quickly() -> None:
    assert {"picollm", "nanogpt", "llmc"} <= set(QUICK)


@pytest.mark.parametrize("fmt", QUICK)
def test_live_step_lines_read_quickly_are_the_parsers_records(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A template format's live step line with plain numbers is read by its template alone (`quick_reader`),
    not its parser, the crash detector or the launch watch: the records, counts and failures are those of
    every line through all of them, over every real line of the fixtures, each again with its digits moved
    on, and each step line again with one of its numbers negated or spelled `nan` or `inf` (a parser's own
    rules: picollm's `mfu: -1.00` is none), one line at a time as a live follower feeds them."""
    import runwatch.parsers.source as source

    quick = quick_reader(fmt)
    assert quick is not None
    read = 0

    def counted(line: str) -> object:
        nonlocal read
        got = quick(line)
        read += got is not None
        return got

    monkeypatch.setattr(source, "quick_reader", lambda name: counted if name == fmt else None)
    raw = list(fixture_lines())
    step_line = parser_class(fmt).step_line  # type: ignore[attr-defined]
    spelled = [y for x in raw if step_line.read(x.decode("utf-8", "replace")) for y in _spelled(x)]
    lines = split_block(b"\n".join(raw + [_moved(x, 1) for x in raw] + spelled) + b"\n")
    got, sp = _live(lines, fmt, True)
    want, ref = _live(lines, fmt, False)
    assert got == want
    assert (sp.lines, sp.records, sp.failures.counts) == (ref.lines, ref.records, ref.failures.counts)
    assert read >= 20  # the template read lines (else this compared the parser with itself)


def test_no_real_line_read_quickly_is_one_the_crash_detector_acts_on() -> None:
    """What `never_wakes` proves of a template, seen on data: no real line of the fixtures, nor one with its
    digits moved on, that a template reads quickly is one the idle crash detector would look at."""
    raw = list(fixture_lines())
    lines = split_block(b"\n".join(raw + [_moved(x, 5) for x in raw]) + b"\n")
    taken = 0
    for fmt in QUICK:
        quick = quick_reader(fmt)
        assert quick is not None
        for line in lines:
            if quick(line) is not None:
                taken += 1
                assert not WAKES.admits(line), (fmt, line)
    assert taken >= 30
