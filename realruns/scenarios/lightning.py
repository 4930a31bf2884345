"""Lightning 2 with `train_loss` and `val_loss` on the progress bar and a CSVLogger: 4 epochs × 60
steps. `-tqdm` runs pick the TQDM bar; `-default` runs leave Lightning its own choice on a pipe."""

from lab.scenario import Expect, Scenario

TQDM = ("{py}", "{scripts}/lightning_run.py", "--bar", "tqdm")
DEFAULT = ("{py}", "{scripts}/lightning_run.py", "--bar", "default")
NAN = Expect("nonfinite", severity="critical", metric="loss")

SCENARIOS = [
    Scenario("lightning-tqdm-healthy", "lightning", TQDM),
    Scenario("lightning-tqdm-nan", "lightning", TQDM, fault="nan@100", expect=(NAN,)),
    Scenario("lightning-tqdm-inf", "lightning", TQDM, fault="inf@150", expect=(NAN,),
             notes="the postfix prints train_loss=inf.0, then nan.0"),
    Scenario("lightning-tqdm-dlhang", "lightning", TQDM, fault="dlhang@130~75",
             expect=(Expect("stall", resolves=True),),
             notes="the training Dataset's __getitem__ sleeps 75 s; the process lives"),
    Scenario("lightning-default-healthy", "lightning", DEFAULT),
    Scenario("lightning-default-nan", "lightning", DEFAULT, fault="nan@100", expect=(NAN,)),
]
