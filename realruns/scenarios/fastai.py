"""fastai 2 `Learner.fit_one_cycle`, 8 epochs × 200 batches with a validation set and `accuracy`. Its log is
fastai's epoch table, one row an epoch (`epoch  train_loss  valid_loss  accuracy  time`), after fastprogress's
bar frames: fastprogress 1.1 draws them on a pipe too (`Epoch 2/8 : |███---| 15.00% [60/200 00:00<00:03...
1.4730]`, the smoothed loss after the dots), each row after a `\\r`."""

from lab.scenario import Expect, Scenario

PY = ("{py}", "{scripts}/fastai_fit.py")
EPOCHS = "epochs"
"""A row is an epoch (from 0), its `train_loss` the loss fastai smoothed up to the epoch's last batch."""

SCENARIOS = [
    Scenario("fastai-healthy", "fastai", PY, counts=EPOCHS),
    Scenario("fastai-nan", "fastai", PY, fault="nan@500", counts=EPOCHS, expect=(Expect("nonfinite", severity="critical", metric="loss"),),
             notes="NaN from step 500 (the 100th batch of epoch 2, counted from 0 as the table counts): the row's train_loss, valid_loss and the bar's loss all nan"),
    Scenario("fastai-raise", "fastai", PY, fault="raise@700", counts=EPOCHS,
             expect=(Expect("crash", severity="critical"),)),
    Scenario("fastai-nobar-healthy", "fastai", (*PY, "--no-bar"), counts=EPOCHS,
             notes="inside learn.no_bar(): no frames, no header; a row an epoch as the recorder's Python list"),
    Scenario("fastai-nobar-nan", "fastai", (*PY, "--no-bar"), fault="nan@500", counts=EPOCHS,
             expect=(Expect("nonfinite", severity="critical", metric="loss"),),
             notes="inside learn.no_bar(), NaN from step 500: `[2, nan, nan, 0.1, '00:00']`, no header naming it"),
]
