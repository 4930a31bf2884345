"""Findings the recorded runs show that runwatch does not make yet, each with why.

A test for an entry here is a strict xfail: it fails CI the day the finding is made, so the
entry must then be removed. Keys: (recording name, what) where `what` is an expected rule id,
`"healthy"` (alerts on a healthy run) or `"steps"` (steps that disagree with the training loop).
"""

_TQDM_LAG = (
    "tqdm's iterator writes its count back only when it prints (every `mininterval`, 0.1 s): `set_postfix` "
    "after each step redraws the last printed count with this step's loss (`14/120 … loss=1.97` for steps "
    "15-27), so a loss is read at a step up to a tenth of a second's steps early; the log says no more"
)

KNOWN_MISSES: dict[tuple[str, str], str] = {
    ("tutorial-tqdm-healthy", "steps"): _TQDM_LAG,
    ("tutorial-tqdm-nan", "steps"): _TQDM_LAG,
    ("tutorial-tqdm-dlhang", "steps"): _TQDM_LAG,
    ("tutorial-epochbars-nan", "steps"): _TQDM_LAG,
    ("tutorial-quickstart-old-healthy", "steps"): (
        "the quickstart tutorial's earlier count, `batch * len(X)` from `[    0/12000]`, printed every 10th batch, says "
        "the batch size only times the interval (their common divisor): its steps are the printed lines' intervals "
        "(0 to 35, the epochs right), not the optimizer's; the log says no more"
    ),
    ("keras-v1-nan-terminate", "steps"): (
        "Keras's bar ends an epoch that `TerminateOnNaN` stopped at its 50th batch (step 250) with a frame of `200/200` "
        "and the NaN mean loss (step 400); the frames before it are the loop's, and nothing in the log tells that last "
        "frame from an epoch run to its end"
    ),
}
