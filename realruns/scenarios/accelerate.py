"""`accelerate launch --multi_gpu --num_processes 2` of a plain loop that asks `Accelerator(cpu=True)`
(accelerate's `--cpu` flag starts a single process; `--multi_gpu` is what starts two, through
torch's elastic launcher, and the loop then runs on gloo): rank 0 draws a tqdm bar with the loss as
postfix and logs `step N: val_loss X` every 100 steps through `accelerate.logging`, glued to the
bar's last frame as a plain `logging` call does; 3 epochs of 200 steps per process."""

from lab.scenario import Expect, Scenario

RUN = ("{bin}/accelerate", "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
       "--mixed_precision", "no", "--dynamo_backend", "no", "{scripts}/accelerate_loop.py")
ENV = (("PYTHONUNBUFFERED", "1"),)

SCENARIOS = [
    Scenario("accelerate-healthy", "accelerate", RUN, env=ENV),
    Scenario("accelerate-nan", "accelerate", RUN, env=ENV, fault="nan@250",
             expect=(Expect("nonfinite", severity="critical", metric="loss"),)),
    Scenario("accelerate-hang", "accelerate", RUN, env=ENV, fault="hang@300~75r1",
             expect=(Expect("stall", resolves=True),),
             notes="rank 1 sleeps 75 s; rank 0 waits in the next all-reduce"),
    Scenario("accelerate-killrank", "accelerate", RUN, env=ENV, fault="kill@300r1",
             expect=(Expect("crash", severity="critical"),),
             notes="SIGKILL to rank 1 (as the kernel's OOM killer does); the launcher reports the signal"),
]
