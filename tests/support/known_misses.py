"""Findings the recorded runs show that runwatch does not make yet, each with why.

A test for an entry here is a strict xfail: it fails CI the day the finding is made, so the
entry must then be removed. Keys: (recording name, what) where `what` is an expected rule id,
`"healthy"` (alerts on a healthy run) or `"steps"` (steps that disagree with the training loop).
"""

KNOWN_MISSES: dict[tuple[str, str], str] = {}
