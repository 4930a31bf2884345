"""The Prometheus collector on the snapshots of a real run (the nanoGPT log with a NaN at step 300),
its exposition parsed back with prometheus_client's own parser."""

from __future__ import annotations

import math
import shutil
import subprocess
from dataclasses import replace

import pytest
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from runwatch.model import AlertBrief, AlertState, GpuSample, RankProgress, RunSnapshot, Severity
from runwatch.serve.metrics import label_name, registry_for
from tests.serve.conftest import LAST_STEP

HOST = "node7"


class Snaps:
    def __init__(self, snaps: list[RunSnapshot]) -> None:
        self.snaps = snaps

    def snapshots(self) -> list[RunSnapshot]:
        return self.snaps


def scrape(snaps: list[RunSnapshot]) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Sample name → (labels, value) of what a scrape of these snapshots exposes."""
    text = generate_latest(registry_for(Snaps(snaps), HOST)).decode()
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def one(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    [value] = [v for ls, v in samples.get(name, []) if all(ls.get(k) == w for k, w in labels.items())]
    return value


def test_the_contract_names_carry_the_runs_step_metrics_and_firing_nan(nan_snapshots: list[RunSnapshot]) -> None:
    got = scrape(nan_snapshots)
    assert got["runwatch_step"] == [({"run": "train", "host": HOST}, float(LAST_STEP))]
    assert math.isnan(one(got, "runwatch_metric", run="train", metric="loss"))  # NaN exported as NaN
    assert math.isnan(one(got, "runwatch_metric", run="train", metric="val_loss"))
    assert one(got, "runwatch_metric", run="train", metric="step_time") == nan_snapshots[0].metrics["step_time"]
    assert got["runwatch_alert_firing"] == [({"run": "train", "host": HOST, "rule": "nonfinite",
                                              "severity": "critical"}, 1.0)]
    alerts = {ls["metric"]: (ls, v) for ls, v in got["runwatch_alerts"]}
    assert set(alerts) == {"loss", "val_loss"}
    assert alerts["loss"] == ({"alertname": "nonfinite", "alertstate": "firing", "severity": "critical",
                               "metric": "loss", "run": "train", "host": HOST}, 1.0)


def test_per_run_series_in_base_units(nan_snapshots: list[RunSnapshot]) -> None:
    snap = nan_snapshots[0]
    got = scrape(nan_snapshots)
    assert one(got, "runwatch_mfu_ratio") == snap.metrics["mfu"] / 100  # percent in the log, a 0-1 ratio here
    assert one(got, "runwatch_step_time_seconds") == snap.metrics["step_time"]
    assert one(got, "runwatch_last_record_timestamp_seconds") == snap.last_record_t
    assert one(got, "runwatch_records_total") == snap.records > 0
    states = {ls["state"]: v for ls, v in got["runwatch_run_state"]}
    assert states[str(snap.state)] == 1.0 and sum(states.values()) == 1.0 and len(states) == 6
    assert one(got, "runwatch_checkpoints_seen") >= 1  # the run says "saving checkpoint" as it goes
    assert one(got, "runwatch_checkpoint_last_write_timestamp_seconds") > 0
    assert one(got, "runwatch_run_info", format="nanogpt") == 1.0
    assert "runwatch_planned_steps" not in got  # the log does not say: absent, not 0
    assert "runwatch_eta_seconds" not in got  # the run is over


def test_ranks_eta_and_alert_labels_that_would_shadow_ours(nan_snapshots: list[RunSnapshot]) -> None:
    snap = nan_snapshots[0]
    live = replace(snap, ranks={0: RankProgress(0, 595, 100.0), 1: RankProgress(1, 590, 99.0)},
                   progress=replace(snap.progress, total_steps=1000, eta_s=42.0), state=snap.state.RUNNING,
                   alerts=(AlertBrief("straggler", AlertState.PENDING, Severity.WARNING,
                                      labels={"rank": 1, "run": "x", "gpu-id": 3}),))
    got = scrape([live])
    assert {ls["rank"]: v for ls, v in got["runwatch_rank_step"]} == {"0": 595.0, "1": 590.0}
    assert one(got, "runwatch_rank_last_step_timestamp_seconds", rank="1") == 99.0
    assert one(got, "runwatch_planned_steps") == 1000.0 and one(got, "runwatch_eta_seconds") == 42.0
    assert got["runwatch_alert_firing"] == [({"run": "train", "host": HOST, "rule": "straggler",
                                              "severity": "warning"}, 0.0)]  # pending: not firing
    [(labels, _)] = got["runwatch_alerts"]
    assert labels["run"] == "train" and labels["label_run"] == "x" and labels["gpu_id"] == "3"
    assert labels["alertstate"] == "pending"


def test_label_names_are_valid_prometheus_names() -> None:
    assert [label_name(k) for k in ("rank", "gpu-id", "3x", "__x", "severity")] == [
        "rank", "gpu_id", "label_3x", "label___x", "label_severity"]


def test_no_runs_no_samples() -> None:
    assert scrape([]) == {}


def test_gpus_once_per_machine_with_dcgm_exporters_label_names(nan_snapshots: list[RunSnapshot]) -> None:
    gpus = (GpuSample(0, name="NVIDIA H100 80GB HBM3", uuid="GPU-aaaa", util=97.0, mem_used=60129542144,
                      mem_total=85899345920, temp_c=66.0, power_w=512.3),
            GpuSample(1, name="NVIDIA H100 80GB HBM3", uuid="GPU-bbbb", error="GPU is lost"))
    snap = replace(nan_snapshots[0], gpus=gpus)
    got = scrape([snap, replace(snap, run="other")])  # two runs on one machine: each GPU once
    dcgm = {"host": HOST, "Hostname": HOST, "gpu": "0", "UUID": "GPU-aaaa", "modelName": "NVIDIA H100 80GB HBM3"}
    assert got["runwatch_gpu_utilization_ratio"] == [(dcgm, 0.97)]
    assert got["runwatch_gpu_memory_used_bytes"] == [(dcgm, 60129542144.0)]
    assert one(got, "runwatch_gpu_memory_total_bytes") == 85899345920.0
    assert one(got, "runwatch_gpu_temperature_celsius") == 66.0 and one(got, "runwatch_gpu_power_watts") == 512.3
    assert {ls["gpu"]: v for ls, v in got["runwatch_gpu_up"]} == {"0": 1.0, "1": 0.0}  # the lost one: up 0, no values
    assert "runwatch_gpu_temperature_celsius" in got and len(got["runwatch_gpu_temperature_celsius"]) == 1
    assert "runwatch_gpu_up" not in scrape(nan_snapshots)  # no GPU sampled: no GPU series


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed (Debian package `prometheus`)")
def test_promtool_finds_nothing_to_say_about_the_names(nan_snapshots: list[RunSnapshot]) -> None:
    """Prometheus's own linter (`promtool check metrics`: suffixes, units, counters' `_total`) on everything
    runwatch exports: runs, ranks, GPUs, alerts."""
    snap = replace(nan_snapshots[0], ranks={0: RankProgress(0, 595, 100.0)},
                   gpus=(GpuSample(0, name="H100", uuid="GPU-a", util=97.0, mem_used=1, mem_total=2, temp_c=66.0,
                                   power_w=500.0),),
                   progress=replace(nan_snapshots[0].progress, total_steps=1000, eta_s=4.0, percent=59.5))
    text = generate_latest(registry_for(Snaps([snap]), HOST))
    p = subprocess.run(["promtool", "check", "metrics"], input=text.decode(), capture_output=True, timeout=60, text=True)
    said = (p.stdout + p.stderr).splitlines()
    # the one thing it says, on purpose: dcgm-exporter's label names (UUID, modelName, Hostname) on GPU series
    assert said and all(line.startswith("runwatch_gpu_") and "not 'camelCase'" in line for line in said), said
    p = subprocess.run(["promtool", "check", "metrics"], input=generate_latest(registry_for(Snaps(nan_snapshots), HOST)),
                       capture_output=True, timeout=60)
    assert p.returncode == 0 and p.stdout + p.stderr == b"", p.stdout + p.stderr  # without GPUs: nothing at all
