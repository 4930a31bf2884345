"""Keras 3 `model.fit` on the torch backend, 5 epochs × 200 steps with a validation set:
`-v1` runs draw Keras's progress bar (on a pipe), `-v2` runs print one line per epoch; then
`model.evaluate` on the validation set. No loss-spike scenario: the bar's loss is a mean over the
epoch, and an LR spike strong enough to show in it (×1000 for 3 steps) leaves the model worse than
at its start for the rest of the run (a divergence, not a spike that recovers)."""

from lab.scenario import Expect, Scenario

V1 = ("{py}", "{scripts}/keras_fit.py", "--verbose", "1")
V2 = ("{py}", "{scripts}/keras_fit.py", "--verbose", "2")
TQDM = ("{py}", "{scripts}/keras_fit.py", "--tqdm")
"""tqdm's TqdmCallback instead of Keras's bar: an epoch bar (`1/5 [00:04<00:16, 4.02s/epoch, loss=…, val_loss=…]`)
and a batch bar redrawn under it (`57.0/200 [00:01<00:02, 53.2batch/s, accuracy=…, loss=…]`)."""
NAN = Expect("nonfinite", severity="critical", metric="loss")

SCENARIOS = [
    Scenario("keras-v1-healthy", "keras", V1),
    Scenario("keras-v1-nan", "keras", V1, fault="nan@250", expect=(NAN,),
             notes="the bar's loss is Keras's running mean over the epoch: NaN from step 250 to the epoch's end"),
    Scenario("keras-v1-slow", "keras", V1, fault="slow@400x8",
             expect=(Expect("step_time_drift"),),
             notes="8x slower from step 400 (epoch 3's first): the bar's ms/step is the epoch's mean, so it shows at once"),
    Scenario("keras-v1-dlhang", "keras", V1, fault="dlhang@330~75",
             expect=(Expect("stall", resolves=True),),
             notes="the bar prints no time but a mean step time: the mean times the batches is its clock, so "
                   "one-shot check sees the hang too"),
    Scenario("keras-v1-nan-terminate", "keras", (*V1, "--terminate-on-nan"), fault="nan@250", expect=(NAN,),
             notes="Keras's TerminateOnNaN stops the fit at the NaN batch (`Batch 49: Invalid loss, terminating "
                   "training`); then the evaluation on the validation set"),
    Scenario("keras-v2-healthy", "keras", V2),
    Scenario("keras-v2-nan", "keras", V2, fault="inf@250", expect=(NAN,)),
    Scenario("keras-v2-checkpoint-healthy", "keras", (*V2, "--checkpoint", "best.keras"),
             notes="ModelCheckpoint(save_best_only=True, verbose=1): `Epoch 1: val_loss improved from inf to …, "
                   "saving model to best.keras` after each better epoch"),
    Scenario("keras-tqdmcb-healthy", "keras", TQDM),
    Scenario("keras-tqdmcb-nan", "keras", TQDM, fault="nan@250", expect=(NAN,),
             notes="the batch bar's loss is Keras's running mean over the epoch: NaN from step 250 to the epoch's end"),
    Scenario("keras-tqdmcb-dlhang", "keras", TQDM, fault="dlhang@330~75",
             expect=(Expect("stall", resolves=True),),
             notes="the bars print their elapsed time: one-shot check sees the hang too"),
]
