"""Which decoder turns a structured source's item batches into Records (`tail`, `parse` and `check` alike).

A decoder keeps state between batches (a CSV's header, W&B's step mapping,
entries already seen), so there is one per source, kept by the caller in
`decoders`; but Hugging Face log history has one per run, because each
checkpoint's `trainer_state.json` and the final one repeat the same entries
and one decoder drops what it has seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from runwatch.model import Record, SystemSample
from runwatch.parsers.base import ItemDecoder
from runwatch.parsers.boundary import checked_all

HF_HISTORY = "hf_log_history"


def decoder_for(decoders: dict[tuple[str, str], ItemDecoder], run: str, path: str, kind: str) -> ItemDecoder | None:
    """The decoder of `kind` batches from `path` in `run`, made on first use; None for a kind nobody decodes."""
    key = ("run " + run if kind == HF_HISTORY else path, kind)
    decoder = decoders.get(key)
    if decoder is None:
        from runwatch.parsers.items import make_decoder
        from runwatch.watcher.metric_files import is_eval_events

        options = {"eval_source": is_eval_events(path)} if kind == "tfevents" else {}
        try:
            decoder = decoders[key] = _Checked(make_decoder(kind, **options), path)
        except KeyError:
            return None
    return decoder


def decode(decoders: dict[tuple[str, str], ItemDecoder], run: str, path: str, kind: str, items: list[object],
           t: float) -> list[Record]:
    """The records of one batch of `kind` items from `path` in `run` (none for a kind nobody decodes)."""
    decoder = decoder_for(decoders, run, path, kind)
    return decoder.feed(items, t) if decoder is not None else []


@dataclass
class SideRecords:
    """A structured source's records split into the run's own and W&B's others: its metadata (the run's
    details: name, config, summary) and its system stats (the training machine's GPUs)."""

    own: list[Record]
    meta: dict[str, Any] = field(default_factory=dict)
    samples: list[SystemSample] = field(default_factory=list)


def split_side_records(kind: str, recs: list[Record]) -> SideRecords:
    """`recs` of a `kind` batch, run metadata (W&B's; trainer_state.json's settings) and W&B system stats
    taken out of the run's own records."""
    from runwatch.parsers.wandb_meta import RUN_META, run_meta
    from runwatch.parsers.wandb_stats import system_sample

    wandb = kind.startswith("wandb")
    if not wandb and not any(r.event == RUN_META for r in recs):
        return SideRecords(recs)
    out = SideRecords([])
    for rec in recs:
        meta = run_meta(rec)
        if meta is not None:
            out.meta.update(meta)
            continue
        sample = system_sample(rec) if wandb else None
        if sample is not None:
            out.samples.append(sample)
            continue
        out.own.append(rec)
    return out


class _Checked(ItemDecoder):
    """A decoder whose records pass `boundary.checked`, as a log parser's do in SourceParser: a metric
    file's `"step": 1e400` or a step past its total is no step, wherever the number came from. Its
    records name the file they came from (`source`), so the run state can tell a metric file's late
    flush from the log that reported the run's end (runwatch.state.ending.RESUME_AFTER_S)."""

    def __init__(self, inner: ItemDecoder, source: str) -> None:
        self.inner, self.source = inner, source

    def feed(self, items: list[object], t: float) -> list[Record]:
        return self._named(checked_all(self.inner.feed(items, t)))

    def flush(self) -> list[Record]:
        return self._named(checked_all(self.inner.flush()))

    def _named(self, recs: list[Record]) -> list[Record]:
        return [r if r.source else replace(r, source=self.source) for r in recs]
