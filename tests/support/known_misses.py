"""Findings the recorded runs show that runwatch does not make yet, each with why.

A test for an entry here is a strict xfail: it fails CI the day the finding is made, so the
entry must then be removed. Keys: (recording name, what) where `what` is an expected rule id,
`"healthy"` (alerts on a healthy run) or `"steps"` (steps that disagree with the training loop).
"""

_RICH_BAR_ON_A_PIPE = (
    "Lightning's default (Rich) progress bar prints nothing to a pipe until the run ends: the metrics "
    "are only in CSVLogger's metrics.csv, which the recording has without arrival times, so the live "
    "replay (which writes the console log at its recorded pace) cannot show them; `check` finds the NaN "
    "in the CSV"
)

_SIDE_FILES_NOT_REPLAYED = (
    "the live replay writes only the console log at its recorded pace; the recording has no arrival "
    "times for side files ({what}), so live they are not replayed at all"
)

KNOWN_MISSES: dict[tuple[str, str], str] = {
    ("nanogpt-tb-spike", "live"): (
        "the log prints every 5th step and shows the recovering spike in 2 records (the spike rule wants 3); "
        "the per-step TensorBoard scalars that show it reach the disk only when SummaryWriter flushes (every "
        "120 s, or at exit), and " + _SIDE_FILES_NOT_REPLAYED.format(what="runs/events.out.tfevents.*")
    ),
    ("torchrun-logdir-nan", "live"): _SIDE_FILES_NOT_REPLAYED.format(
        what="the ranks' logs/<id>/attempt_0/<rank>/stdout.log; the console log is empty with --redirects 3"),
    ("lightning-default-nan", "live"): _RICH_BAR_ON_A_PIPE,
}
