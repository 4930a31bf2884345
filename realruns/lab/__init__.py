"""The run lab's shared parts: planted faults, the ground-truth step log, synthetic data.

Imported by the training scripts in `realruns/scripts/` (which run in the lab's own venv, with
torch and the frameworks) and by `realruns/record.py` (which needs only the standard library).
Nothing in `runwatch/` or `tests/` imports this package.
"""
