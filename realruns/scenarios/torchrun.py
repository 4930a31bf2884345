"""`torchrun --nproc_per_node 2` (gloo on the CPU) of a plain DDP loop; each rank prints nanoGPT-style
progress every 5 iterations, unbuffered (PYTHONUNBUFFERED=1, as launch scripts set). `-tee` runs put
both ranks on the console with torchrun's `[default0]:` prefixes (`--tee 3`); `-logdir` runs send
each rank's output to its own files (`--log-dir logs --redirects 3`: `logs/<run id>/attempt_0/<rank>/
stdout.log` and `stderr.log`), so the console log holds only the launcher's lines."""

from lab.scenario import Expect, Scenario

RUN = ("{bin}/torchrun", "--nproc_per_node", "2", "--tee", "3", "{scripts}/ddp_loop.py")
LOGDIR = ("{bin}/torchrun", "--nproc_per_node", "2", "--log-dir", "logs", "--redirects", "3", "{scripts}/ddp_loop.py")
ENV = (("PYTHONUNBUFFERED", "1"),)

SCENARIOS = [
    Scenario("torchrun-tee-healthy", "torch", RUN, env=ENV),
    Scenario("torchrun-tee-nan", "torch", RUN, env=ENV, fault="nan@150",
             expect=(Expect("nonfinite", severity="critical", metric="loss"),)),
    Scenario("torchrun-tee-hang", "torch", RUN, env=ENV, fault="hang@150~75r1",
             expect=(Expect("stall", resolves=True, live_only=True),),
             notes="rank 1 sleeps 75 s; rank 0 waits in the next all-reduce; both processes live"),
    Scenario("torchrun-tee-raise", "torch", RUN, env=ENV, fault="raise@150r1",
             expect=(Expect("crash", severity="critical"),),
             notes="an IndexError in rank 1; torchrun reports the child failure"),
    Scenario("torchrun-tee-killrank", "torch", RUN, env=ENV, fault="kill@150r1",
             expect=(Expect("crash", severity="critical"),),
             notes="SIGKILL to rank 1 (as the kernel's OOM killer does); torchrun reports the signal"),
    Scenario("torchrun-logdir-healthy", "torch", LOGDIR, env=ENV),
    Scenario("torchrun-logdir-nan", "torch", LOGDIR, env=ENV, fault="nan@150",
             expect=(Expect("nonfinite", severity="critical", metric="loss"),)),
    Scenario("torchrun-logdir-raise", "torch", LOGDIR, env=ENV, fault="raise@150r1",
             expect=(Expect("crash", severity="critical"),),
             notes="the traceback is in rank 1's stderr.log; the console has torchrun's failure report"),
]
