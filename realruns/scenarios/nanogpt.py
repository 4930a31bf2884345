"""nanoGPT's training loop (a tiny GPT on the CPU, 600 iterations): `iter N: loss X, time Yms, mfu Z%`
every 5 iterations, an evaluation and a checkpoint line every 200, and the scalars written to
TensorBoard by `SummaryWriter` in `runs/` beside the log. The log prints its own step time, so a
slowdown is visible one-shot too."""

from lab.scenario import Expect, Scenario

PY = ("{py}", "-u", "{scripts}/nanogpt_loop.py", "--tensorboard", "runs")
NAN = Expect("nonfinite", severity="critical", metric="loss")

SCENARIOS = [
    Scenario("nanogpt-tb-healthy", "torch", PY),
    Scenario("nanogpt-tb-nan", "torch", PY, fault="nan@300", expect=(NAN,)),
    Scenario("nanogpt-tb-gradnan", "torch", PY, fault="gradnan@300", expect=(NAN,),
             notes="one gradient NaN after backward: this step's loss prints finite, the next ones NaN"),
    Scenario("nanogpt-tb-spike", "torch", PY, fault="spike@300+1x100",
             expect=(Expect("loss_spike", resolves=True),)),
    Scenario("nanogpt-tb-diverge", "torch", PY, fault="diverge@300x100",
             expect=(Expect("loss_divergence"), Expect("loss_spike")),
             notes="learning rate x100 from iteration 300 on: the loss jumps to thousands and stays far above where it was"),
    Scenario("nanogpt-tb-slowfor", "torch", PY, fault="slowfor@250+100x8",
             expect=(Expect("step_time_drift", resolves=True),),
             notes="8x slower for 100 iterations, then back: the printed `time` shows it"),
    Scenario("nanogpt-tb-hang", "torch", PY, fault="hang@350~75",
             expect=(Expect("stall", resolves=True, live_only=True),)),
    Scenario("nanogpt-tb-raise", "torch", PY, fault="raise@300",
             expect=(Expect("crash", severity="critical"),)),
]
