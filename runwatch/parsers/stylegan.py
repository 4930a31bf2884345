"""The console of NVlabs' image-generation training loop: StyleGAN2-ADA, StyleGAN3 and EDM (the diffusion
models' loop kept its status line). Progress is counted in thousands of images shown to the discriminator
(`kimg`), and a status line is printed once a tick (`kimg_per_tick`, 4 by default: minutes apart):

    Training for 25000 kimg...

    tick 0     kimg 0.0      time 1m 26s       sec/tick 7.3     sec/kimg 1828.68 maintenance 78.3   cpumem 5.42   gpumem 11.32  augment 0.000
    Evaluating metrics...
    {"results": {"fid50k_full": 447.91339439137664}, "metric": "fid50k_full", …, "snapshot_pkl": "network-snapshot-000000.pkl", "timestamp": 1624959292.3564472}
    tick 1     kimg 4.0      time 29m 25s      sec/tick 579.4   sec/kimg 144.85  maintenance 1099.8 cpumem 4.52   gpumem 7.49   augment 0.006
    …

The step is the images shown (`kimg` × 1000; the loop counts `cur_nimg`, and its snapshots are named by it in
kimg), the total the `Training for N kimg` it plans. The losses are not printed (they go to `stats.jsonl`),
so no line shows a NaN; the status line's fields after the time are `name value` pairs, read by name (forks
add `reserved`, `lr`): `sec/kimg` becomes `step_time` per image, memory in GiB as printed. A metric's JSON
line is an evaluation at its snapshot's kimg; the run is finished when its kimg reaches the plan (the loop's
last tick is that one). With no key before the numbers and `time` a clock of words, no other reader took these
lines: a review's StyleGAN2-ADA run read as nothing at all, `UNREAD`.
"""

from __future__ import annotations

import json
from typing import ClassVar

from runwatch import patterns
from runwatch.model import Kind, Record
from runwatch.parsers.base import GuardedParser
from runwatch.parsers.numbers import NUMBER_TEXT, parse_number, spelled_seconds
from runwatch.parsers.reads import Reads

_TICK = patterns.compile(r"tick (\d{1,9}) +kimg (\d{1,12}(?:\.\d{1,3})?) +time ((?:\d{1,7}[dhms] {0,2}){1,4}) +(.*)")
"""The status line's head: the tick, the kimg, the elapsed time as `dnnlib.util.format_time` spells it
(`26s`, `29m 25s`, `1h 08m 11s`, `2d 03h 10m`), then the other fields."""
_FIELD = patterns.compile(rf"([a-z][a-z/_]{{0,30}}) +({NUMBER_TEXT})(?= |$)")
_NAMES = {
    "sec/tick": "sec_per_tick", "sec/kimg": "sec_per_kimg", "maintenance": "maintenance_sec",
    "cpumem": "cpu_mem_gib", "gpumem": "gpu_mem_gib", "reserved": "gpu_reserved_gib", "augment": "augment_p",
}
_PLANNED = patterns.compile(r"Training for (\d{1,12}) kimg\.\.\.$")
_SNAPSHOT = patterns.compile(r"snapshot-(\d{1,12})\.pkl")


class StyleGANParser(GuardedParser):
    """NVlabs' tick lines, the kimg they plan and the metrics they evaluate (see the module notes)."""

    name: ClassVar[str] = "stylegan"
    reads: ClassVar[Reads | None] = Reads(heads=("tick ", "Training for ", '{"results": '))

    def __init__(self) -> None:
        self._total: int | None = None
        """The images the run plans (`Training for N kimg...` × 1000)."""

    def _parse(self, line: str) -> Record | None:
        text = line.strip()
        if text.startswith("tick "):
            return self._tick(text)
        if text.startswith('{"results": '):
            return self._metric(text)
        if (m := _PLANNED.match(text)) is not None:
            self._total = int(m[1]) * 1000
        return None

    def _tick(self, text: str) -> Record | None:
        m = _TICK.fullmatch(text)
        if m is None:
            return None
        metrics = {"tick": float(m[1]), "elapsed": spelled_seconds(m[3]) or 0.0}
        for key, value in _FIELD.findall(m[4]):
            number = parse_number(value)
            if number is not None:
                metrics.setdefault(_NAMES.get(key) or key.replace("/", "_per_"), number)
        if "sec_per_kimg" in metrics:
            metrics["step_time"] = metrics["sec_per_kimg"] / 1000  # a step is an image
        return Record(Kind.STEP, step=round(float(m[2]) * 1000), total_steps=self._total, metrics=metrics)

    def _metric(self, text: str) -> Record | None:
        """`{"results": {"fid50k_full": 447.9}, …, "snapshot_pkl": "network-snapshot-000000.pkl", "timestamp": …}`:
        the evaluation of the snapshot saved at that kimg."""
        try:
            doc = json.loads(text)
        except ValueError:
            return None
        results = doc.get("results") if isinstance(doc, dict) else None
        if not isinstance(results, dict):
            return None
        metrics = {str(k): float(v) for k, v in results.items() if isinstance(v, int | float) and not isinstance(v, bool)}
        snapshot = _SNAPSHOT.search(str(doc.get("snapshot_pkl", "")))
        if not metrics or snapshot is None:
            return None
        stamp = doc.get("timestamp")
        t = float(stamp) if isinstance(stamp, int | float) and not isinstance(stamp, bool) else 0.0
        return Record(Kind.EVAL, step=int(snapshot[1]) * 1000, total_steps=self._total, metrics=metrics, t=t)

    def score(self, line: str) -> int:
        """2 for a tick's status line, 0 for any other line."""
        return 2 if line.lstrip().startswith("tick ") and _TICK.fullmatch(line.strip()) is not None else 0
