"""Number text and unit tables shared by every parser (runwatch/parsers/numbers.py)."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch import patterns
from runwatch.parsers.numbers import (
    GIB,
    MEMORY_LETTERS,
    SECONDS,
    SI,
    clock_seconds,
    held_numbers,
    in_unit,
    log_seconds,
    parse_number,
    spelled_seconds,
)
from runwatch.parsers.source import SourceParser


@pytest.mark.parametrize(("text", "value"), [
    ("1,051,311", 1051311.0),  # nanochat `tok/sec: 1,051,311`
    ("1.500E-04", 1.5e-4),  # Megatron `learning rate: 1.500E-04`
    ("'4.437'", 4.437),  # transformers 5 quotes numbers
    ("3e-4", 3e-4),
    ("infxxx", math.inf), ("-infxx", -math.inf),  # PaddleOCR's `{:x<6f}` fills to six characters
    ("  -2.5 ", -2.5),
])
def test_numbers_as_logs_print_them(text: str, value: float) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["nan", "NaN", "-nan", "inf", "Infinity", "-inf", "nanxxx"])
def test_non_finite_values_are_kept(text: str) -> None:
    got = parse_number(text)
    assert got is not None and not math.isfinite(got)


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "12.5k", "805,", "1,2", "1,0513,11", "xxx", "0x", "1.5x"])  # a cut `tok/sec: 805,` is no 805
def test_not_a_number(text: str) -> None:
    assert parse_number(text) is None


@pytest.mark.parametrize(("value", "unit", "table", "expected"), [
    (997.40, "ms", SECONDS, 0.9974),  # DESIGN §2: `dt: 997.40ms` → 0.9974
    (350.0, "ms", SECONDS, 0.35),
    (1.2, "s", SECONDS, 1.2),
    (181.5, "m", SECONDS, 181.5 * 60),  # nanochat `eta: 181.5m`
    (2.0, "h", SECONDS, 7200.0),
    (12.3, "GiB", GIB, 12.3),
    (12.3, "GB", GIB, 12.3),  # DeepSpeed's `GB` is a size divided by 1024**3
    (2048.0, "MiB", GIB, 2.0),
    (2.0, "TiB", GIB, 2048.0),
    (2.0 * 1024**3, "B", GIB, 2.0),
])
def test_units_convert_to_the_design_units(value: float, unit: str, table: dict[str, tuple[float, float]],
                                           expected: float) -> None:
    assert in_unit(value, unit, table) == pytest.approx(expected, rel=1e-12)


def test_milliseconds_are_divided_as_the_framework_parsers_do() -> None:
    # 997.40 / 1000 and 997.40 * 0.001 differ in the last bit: the kv and nanochat parsers must agree exactly
    assert in_unit(997.40, "ms", SECONDS) == 997.40 / 1000


def test_unknown_units_are_none() -> None:
    assert in_unit(1.0, "GiB", SECONDS) is None
    assert in_unit(1.0, "ms", GIB) is None
    assert in_unit(1.0, "parsecs", SECONDS) is None


def test_count_suffixes_and_memory_letters() -> None:
    assert 12.5 * SI["k"] == 12500.0 and 1.2 * SI["M"] == pytest.approx(1.2e6) and SI["G"] == SI["B"] == 1e9
    assert all(MEMORY_LETTERS[letter] in GIB for letter in MEMORY_LETTERS)
    assert in_unit(512.0, MEMORY_LETTERS["M"], GIB) == 0.5


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_parse_number_never_raises(text: str) -> None:
    parse_number(text)


@pytest.mark.parametrize(("text", "seconds"), [
    ("76.5ms", 0.0765), ("3.52s", 3.52), ("1m 54s", 114.0), ("2h 3m 4s", 7384.0), ("0us", 0.0),  # CatBoost
    ("1h 08m 11s", 4091.0), ("2d 03h 10m", 184200.0),  # StyleGAN's `dnnlib.util.format_time`
    ("3h 35m 58s", 12958.0), ("6s", 6.0),  # ms-swift's dicts
    ("1.6s", 1.6),  # YOLO's own bar
    ("", None), ("soon", None), ("5", None), ("1s 2m", None), ("1h 1h", None), ("3 s", None), ("1m-2s", None),
])
def test_durations_spelled_in_units(text: str, seconds: float | None) -> None:
    assert spelled_seconds(text) == (pytest.approx(seconds) if seconds is not None else None)


@pytest.mark.parametrize(("text", "seconds"), [
    ("00:12", 12.0), ("1:05", 65.0), ("2:26:31", 8791.0), ("12", 12.0),  # tqdm, Keras, rich
    ("0:00:30.424134", 30.424134),  # a `timedelta` with microseconds
    ("1 day, 2:37:00", 95820.0), ("30 days, 14:24:49", 2643889.0),  # a `timedelta` of a day and more
    ("?", None), ("-:--:--", None), ("", None), (None, None), ("1:2:3:4", None), ("1.5:30", None), ("١:٠٥", None),
    ("9" * 320, None), ("1:" + "9" * 5000, None),  # more digits than a run's clock (a float overflows: a code review)
])
def test_clocks(text: str | None, seconds: float | None) -> None:
    assert clock_seconds(text) == (pytest.approx(seconds) if seconds is not None else None)


def test_a_log_duration_is_a_clock_or_units() -> None:
    assert (log_seconds("1:05"), log_seconds("4s"), log_seconds("1m 54s"), log_seconds("?"), log_seconds(None)) == (
        65.0, 4.0, 114.0, None, None)


@given(st.integers(0, 99), st.integers(0, 59), st.integers(0, 59))
def test_a_clock_and_its_units_agree(h: int, m: int, s: int) -> None:
    expected = float(h * 3600 + m * 60 + s)
    assert clock_seconds(f"{h}:{m:02d}:{s:02d}") == spelled_seconds(f"{h}h {m:02d}m {s:02d}s") == expected


@given(st.text(max_size=40))
@settings(max_examples=300)
def test_duration_readers_never_raise(text: str) -> None:
    for read in (spelled_seconds, clock_seconds, log_seconds):
        value = read(text)
        assert value is None or (isinstance(value, float) and value >= 0)


_HELD_LOGS = ("torch_print_tensor_nan.log", "torch_dict_tensor_nan.log", "numpy_dict_scalars_nan.log",
              "jax_dict_array_diverged.log", "tf_print_tensor_diverged.log", "tf_dict_tensor_diverged.log",
              "torch_print_one_element_nan.log")
"""Loops that print the object holding each number (tests/fixtures/printed, print_tensor_values.py and
print_jax_tf_values.py): a tensor, a NumPy scalar or 0-d array, a JAX array, a TensorFlow tensor."""


def _printed(name: str) -> list[str]:
    from tests.support.paths import FIXTURES

    return (FIXTURES / "printed" / name).read_text().splitlines()


@pytest.mark.parametrize("name", _HELD_LOGS)
def test_a_number_printed_inside_the_object_holding_it_is_that_number(name: str) -> None:
    """Each holder's repr gives way to its number, and nothing else of the line changes: the numbers left are the
    line's own numbers and the held ones, in order."""
    holders = patterns.compile(r"tensor\(|Array\(|array\(|np\.float|tf\.Tensor")
    for line in _printed(name):
        held = held_numbers(line)
        assert holders.search(line) and not holders.search(held), line
        inner = re.findall(r"(?:\(\[?|numpy=)(-?[\d.e+-]+|nan|inf)\]?[,)>]", line)
        assert inner and all(f" {v}" in held for v in inner), (line, held)
        assert held.replace(" ", "") == re.sub(r"(?:np\.float\d\d|tensor|Array|array)\(\[?([^,()\[\]]+)\]?(?:, [^()]*)?\)"
                                               r"|tf\.Tensor\(([^,]+), shape=\(\), dtype=\w+\)"
                                               r"|<tf\.Tensor: [^>]*numpy=([^>]+)>", r"\1\2\3", line).replace(" ", "")


def test_a_holder_of_several_numbers_or_a_word_ending_in_a_holders_name_is_left() -> None:
    """A tensor of several numbers is no metric, and `my_array(3)` is a call, not NumPy's repr."""
    for text in ("weights: tensor([0.25, 0.75])", "my_array(3) loss: 2.5", "x.tensor(3)", "plain loss: 2.5"):
        assert held_numbers(text) == text
    text = "loss: 2.5 (tensor parallel)"
    assert held_numbers(text) is text  # no holder's repr: the text itself, no copy


_PIECES = ("tensor(", "np.float32(", "np.int8(", "array(", "Array(", "DeviceArray(", "tf.Tensor(", "<tf.Tensor: ",
           "<tf.Variable 'loss:0' ", "shape=()", "shape=(), ", " dtype=float32", ", dtype=float32", "numpy=", ")", "(",
           "[", "]", ", ", "nan", "0.5", "-1e-3", "12", "grad_fn=<MulBackward0>", "device='cuda:0'", ">", "{", "}",
           "'loss': ", "loss: ", " ")


@given(st.lists(st.sampled_from(_PIECES), max_size=16).map("".join) | st.text(max_size=60))
@settings(max_examples=500)
def test_held_numbers_never_raises_and_only_takes_characters_away(text: str) -> None:
    """Text built from holders' pieces (or any text): the result is the text with characters taken away, in order
    (a holder's repr gives way to the number it holds; nothing is added or moved)."""
    held = held_numbers(text)
    rest = iter(text)
    assert all(c in rest for c in held)


def test_other_holders_as_their_libraries_print_them() -> None:
    """JAX before 0.4 (`DeviceArray`), a TensorFlow variable's repr, a NumPy 8-bit integer."""
    assert held_numbers("loss: DeviceArray(nan, dtype=float32)") == "loss: nan"
    assert held_numbers("{'loss': <tf.Variable 'loss:0' shape=() dtype=float32, numpy=nan>}") == "{'loss': nan}"
    assert held_numbers("{'epoch': np.int8(3)}") == "{'epoch': 3}"


def test_a_bar_showing_its_loss_tensor_is_read_and_its_nan_is_critical() -> None:
    """`bar.set_postfix(loss=loss)` of a tensor: tqdm shows its repr, `loss=tensor(nan, grad_fn=<…>)`. The bar was read,
    its loss not (its NaN unseen)."""
    from tests.support.paths import FIXTURES
    from tests.support.realruns import check_json

    frames = (FIXTURES / "printed" / "tqdm_postfix_tensor_nan.log").read_text().replace("\r", "\n").splitlines()
    epoch, n = next((int(m[1]), int(m[2])) for x in frames
                    if (m := re.match(r"Epoch (\d+): .*?(\d+)/16 .*loss=tensor\(nan", x)))
    rc, runs, _ = check_json(FIXTURES / "printed" / "tqdm_postfix_tensor_nan.log")
    nonfinite = {a["labels"].get("metric"): a for a in runs[0]["alerts"] if a["rule"] == "nonfinite"}
    assert rc == 2 and nonfinite["loss"]["first_step"] == (epoch - 1) * 16 + n - 1  # the bar's `1/16` is step 0


@pytest.mark.parametrize("name", _HELD_LOGS)
def test_a_loop_printing_tensors_is_read_and_its_nan_is_critical(name: str) -> None:
    """Each printed epoch or step is a record with the loss it printed, and `check` says CRITICAL at the first one
    printed NaN (all six logs read nothing before: `UNREAD`, exit 0, their NaN unseen)."""
    from tests.support.paths import FIXTURES
    from tests.support.realruns import check_json

    lines = _printed(name)
    first_nan = next(int(re.search(r"\d+", x)[0]) for x in lines if "nan" in x)  # type: ignore[index]
    rc, runs, _ = check_json(FIXTURES / "printed" / name)
    nonfinite = {a["labels"].get("metric"): a for a in runs[0]["alerts"] if a["rule"] == "nonfinite"}
    assert rc == 2 and nonfinite["loss"]["severity"] == "critical" and nonfinite["loss"]["first_step"] == first_nan
    sp = SourceParser(name)
    losses = [r.metrics["loss"] for r in sp.feed(lines, 1, 0.0) + sp.flush() if "loss" in r.metrics]
    printed = [float(m[1]) for x in lines
               if (m := re.search(r"loss'?:? (?:[\w.]+\(\[?|<tf\.Tensor: [^>]*?numpy=)(nan|[-\d.e+]+)", x))]
    assert len(printed) == len(lines) and len(losses) == len(lines)
    assert all(a == b or (math.isnan(a) and math.isnan(b)) for a, b in zip(losses, printed, strict=True))
