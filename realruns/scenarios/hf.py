"""Hugging Face Trainer (transformers 5): tiny GPT-2, 120 optimizer steps, a loss dict every 5 steps,
evaluation every 40 (its nested eval bar), gradient accumulation 2. `-wandb` runs also report to W&B
offline and save a checkpoint every 40 steps."""

from lab.scenario import Expect, Scenario

PY = ("{py}", "{scripts}/hf_trainer.py")
WANDB = (*PY, "--wandb", "--save-steps", "40")
NAN = Expect("nonfinite", severity="critical")

SCENARIOS = [
    Scenario("hf-healthy", "transformers", PY),
    Scenario("hf-nan", "transformers", PY, fault="nan@33", expect=(NAN,),
             notes="the NaN loss is filtered from the logged mean (logging_nan_inf_filter); the grad norm is NaN"),
    Scenario("hf-gradnan", "transformers", PY, fault="gradnan@33", expect=(NAN,),
             notes="one gradient NaN: the logged loss reads finite, then 0, the grad norm NaN"),
    Scenario("hf-oom", "transformers", PY, fault="oom@50", expect=(Expect("crash", cause="oom", severity="critical"),)),
    Scenario("hf-wandb-healthy", "transformers", WANDB),
    Scenario("hf-wandb-nan", "transformers", WANDB, fault="nan@33", expect=(NAN,)),
]
