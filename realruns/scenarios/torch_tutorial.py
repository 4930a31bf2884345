"""The pytorch-tutorial loop: `Epoch [e/E], Step [s/S], Loss: x`; 120 steps an epoch."""

from lab.scenario import Expect, Scenario

PY = ("{py}", "-u", "{scripts}/torch_tutorial.py")

SCENARIOS = [
    Scenario("tutorial-healthy", "torch", PY),
    Scenario("tutorial-nan", "torch", PY, fault="nan@330",
             expect=(Expect("nonfinite", severity="critical", metric="loss"),)),
]
