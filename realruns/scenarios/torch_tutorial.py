"""The pytorch-tutorial feedforward loop: `Epoch [e/E], Step [s/S], Loss: x` every 10 steps;
120 steps an epoch, 5 epochs, a global step counted across epochs (600 in all)."""

from lab.scenario import Expect, Scenario

PY = ("{py}", "-u", "{scripts}/torch_tutorial.py")
KV = (*PY, "--style", "kv", "--epochs", "1", "--every", "1")
"""The same loop logging `step=N epoch=E loss=x lr=y` every step through `logging`: 120 lines, a format
with no signature line (live detection cannot wait for hundreds of lines)."""
BARS = (*PY, "--style", "tqdm")
"""The same loop drawing two nested tqdm bars (epochs, then each epoch's batches with `loss=` as postfix) and
printing nothing else."""
EPOCH_BARS = (*PY, "--style", "epochbars", "--batch-size", "25")
"""The same loop drawing a new bare bar over its loader each epoch and a `Validating` bar after it (as
`for batch in tqdm(loader)` loops do), printing nothing else: 5 epochs of 480 batches, 2400 steps."""
EPOCH_BARS_LOSS = (*PY, "--style", "epochbars-loss", "--batch-size", "25")
"""As EPOCH_BARS, the training bar named `Training` with the loss as its postfix."""
CIFAR = (*PY, "--style", "cifar")
"""The same loop printing what PyTorch's CIFAR-10 tutorial prints: `[1,    10] loss: 2.303`, the running loss of the
last 10 mini-batches, the count within the epoch; `Finished Training` at the end."""
PHASES = (*PY, "--style", "phases", "--epochs", "6", "--lr", "1e-4")
"""The same loop printing what the `train_model` of PyTorch's transfer-learning tutorial prints: `Epoch 0/5`, a rule,
`train Loss: 2.1270 Acc: 0.3629` and `val Loss: … Acc: …` (the epoch's means), a blank line; at the end `Training
complete in 0m 3s` and `Best val Acc: …`. One line of each phase an epoch: 6 steps. At the default rate the synthetic
validation set's loss rises from the second epoch on, a run that overfits (the `overfit` rule says so), no healthy one."""
QUICKSTART = (*PY, "--style", "quickstart", "--epochs", "3", "--lr", "1e-4")
"""The same loop printing what PyTorch's quickstart tutorial prints: `Epoch 1` over a rule, `loss: 2.302585  [  100/12000]`
every 10th batch (the samples seen so far), `Test Error:` with ` Accuracy: 41.2%, Avg loss: 2.1 ` after each epoch,
`Done!` at the end: 3 epochs of 120 batches, 360 steps."""
QUICKSTART_OLD = (*PY, "--style", "quickstart-old", "--epochs", "3", "--lr", "1e-4")
"""As QUICKSTART, the count as the tutorial's earlier versions printed it, `batch * len(X)`: `[    0/12000]` first."""
NAN = Expect("nonfinite", severity="critical", metric="loss")

SCENARIOS = [
    Scenario("tutorial-cifar-healthy", "torch", CIFAR),
    Scenario("tutorial-cifar-nan", "torch", CIFAR, fault="nan@330", expect=(NAN,),
             notes="the running loss of the 10 mini-batches holding step 330 prints `loss: nan`, and every one after"),
    Scenario("tutorial-healthy", "torch", PY),
    Scenario("tutorial-nan", "torch", PY, fault="nan@330", expect=(NAN,)),
    Scenario("tutorial-inf", "torch", PY, fault="inf@200", expect=(NAN,)),
    Scenario("tutorial-spike", "torch", PY, fault="spike@250+2x100",
             expect=(Expect("loss_spike", resolves=True),)),
    Scenario("tutorial-diverge", "torch", PY, fault="diverge@250x100", expect=(Expect("loss_divergence"), Expect("loss_spike"))),
    Scenario("tutorial-dlhang", "torch", PY, fault="dlhang@300~75",
             expect=(Expect("stall", resolves=True, live_only=True),),
             notes="the data loader stalls 75 s; the process lives"),
    Scenario("tutorial-slow", "torch", PY, fault="slow@350x10", expect=(Expect("step_time_drift", live_only=True),)),
    Scenario("tutorial-slowfor", "torch", PY, fault="slowfor@300+150x20",
             expect=(Expect("step_time_drift", resolves=True, live_only=True),),
             notes="20x slower for 150 steps (as under CPU contention), then back; at step 300 = record 30, "
                   "where 10 records of warm-up and 20 of baseline are behind it"),
    Scenario("tutorial-oom", "torch", PY, fault="oom@300", expect=(Expect("crash", cause="oom", severity="critical"),)),
    Scenario("tutorial-tqdm-healthy", "torch", BARS),
    Scenario("tutorial-tqdm-nan", "torch", BARS, fault="nan@330", expect=(NAN,)),
    Scenario("tutorial-tqdm-dlhang", "torch", BARS, fault="dlhang@300~75",
             expect=(Expect("stall", resolves=True),), notes="the data loader stalls 75 s; the bars' clocks show it"),
    Scenario("tutorial-epochbars-healthy", "torch", EPOCH_BARS),
    Scenario("tutorial-epochbars-dlhang", "torch", EPOCH_BARS, fault="dlhang@300~75",
             expect=(Expect("stall", resolves=True),), notes="the data loader stalls 75 s; the bar's clock shows it"),
    Scenario("tutorial-epochbars-nan", "torch", (*EPOCH_BARS_LOSS, "--epochs", "2"), fault="nan@630", expect=(NAN,)),
    Scenario("tutorial-phases-healthy", "torch", PHASES, counts="epochs"),
    Scenario("tutorial-quickstart-healthy", "torch", QUICKSTART),
    Scenario("tutorial-quickstart-old-healthy", "torch", QUICKSTART_OLD),
    Scenario("tutorial-quickstart-nan", "torch", QUICKSTART, fault="nan@150", expect=(NAN,),
             notes="the loss printed every 10th batch: NaN from step 150 on, first printed at step 151 (batch 30 of epoch 2)"),
    Scenario("tutorial-phases-nan", "torch", PHASES, fault="nan@330", expect=(NAN,), counts="epochs",
             notes="step 330 is in epoch 2 (from 0): its `train Loss: nan`, and every epoch's mean after it"),
    Scenario("kvlog-healthy", "torch", KV),
    Scenario("kvlog-nan", "torch", KV, fault="nan@60", expect=(NAN,)),
    Scenario("tutorial-kill", "torch", PY, fault="kill@300",
             expect=(Expect("process_exit", live_only=True),), notes="SIGKILL: the log just ends, as after the kernel OOM killer"),
]
