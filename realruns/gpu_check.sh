#!/usr/bin/env bash
# The device machine's checks in one call (a GPU box with PyTorch, Lightning and transformers but no
# package index): record the GPU scenarios (realruns/scenarios/gpu.py); run runwatch's real NVML
# sampler beside a healthy GPU run; watch a run that hangs and a run starved off its GPU live, as they
# are recorded; then the sampler's cost with the real driver.
#
#   device run, carry [".whl"]:  bash realruns/gpu_check.sh
#   PARTS="record" SCENARIOS="gpu-nanogpt-*" bash realruns/gpu_check.sh   # some of it
#
# `.whl/` holds the wheels of runwatch's dependencies that the machine lacks (textual,
# mdit-py-plugins, platformdirs, watchdog), fetched here with `pip download` (see the device
# tool's README). What it finds lands in $OUT: machine.txt, sampler.txt, summary.txt and gpu.tgz
# (every log, JSON line and recording; the tool brings back 8 files at most).
set -u
REPO=$(pwd)
OUT=${OUT:-/tmp/gpu-check}
W=/tmp/gpu-check-work
rm -rf "$W" && mkdir -p "$OUT" "$W/rec"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$REPO PYTHONUNBUFFERED=1
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; python3 --version
  python3 -c 'import runwatch, textual, torch; print("runwatch", runwatch.__version__, "textual", textual.__version__, "torch", torch.__version__)'; } > "$OUT/machine.txt" 2>&1

PARTS=${PARTS:-record live watch sampler}
part() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
# gpu_util_low's window and hold shortened so a minute of stepping is judged (defaults: 60 s and 5 min)
GPU_RULES=(--rule gpu_util_low.window=15s --rule gpu_util_low.for=15s)
metrics() { python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$1"; }

# 1. the GPU recordings
if part record; then
  set -f  # SCENARIOS is a list of globs for record.py, not for the shell
  # shellcheck disable=SC2086
  timeout 300 python3 realruns/record.py ${SCENARIOS:-gpu-*} --out "$W/rec" > "$W/record.txt" 2>&1
  set +f
fi

# 2. the real sampler beside a healthy GPU run (a larger model, so the GPU is busy for ~40 s), with
#    gpu_util_low's short window: a busy run must raise nothing; /metrics read once in the middle
if part live; then
  mkdir -p "$W/live" && cd "$W/live" || exit 1
  PYTHONPATH=$REPO/realruns python3 -u "$REPO/realruns/scripts/nanogpt_loop.py" --device cuda --iters 4000 --d 512 \
    --layers 8 --batch 32 --ctx 256 --vocab 8192 --log-interval 20 --eval-interval 1000 > train.log 2>&1 &
  TRAIN=$!
  sleep 2
  timeout -s INT 50 python3 -m runwatch tail train.log --headless --json --interval 5 "${GPU_RULES[@]}" \
    --listen 127.0.0.1:9464 > "$W/live-tail.jsonl" 2> "$W/live-tail.err" &
  sleep 30; metrics http://127.0.0.1:9464/metrics > "$W/live-metrics.txt" 2>&1
  wait %2; kill $TRAIN 2>/dev/null; wait $TRAIN 2>/dev/null
  cd "$REPO" || exit 1
fi

# 3. a hang and a starved loop, each recorded by record.py while `runwatch tail` follows the log it
#    writes, with the real sampler (the process found by itself, as for `python train.py | tee log`)
if part watch; then
  for sc in ${WATCH:-gpu-nanogpt-hang gpu-nanogpt-starve}; do
    python3 realruns/record.py "$sc" --out "$W/rec" > "$W/$sc-record.txt" 2>&1 &
    REC=$!
    for _ in $(seq 100); do log=$(ls /tmp/lab-"$sc"-*/run/train.log 2>/dev/null | head -1); [ -n "$log" ] && break; sleep 0.1; done
    timeout -s INT -k 5 300 python3 -m runwatch tail "$log" --headless --json --interval 5 "${GPU_RULES[@]}" > "$W/$sc-tail.jsonl" 2> "$W/$sc-tail.err" &
    TAIL=$!
    wait $REC; sleep 12; kill -INT $TAIL; wait $TAIL
  done
fi

# 4. the sampler's own cost with the real driver
part sampler && timeout 60 python3 benchmarks/sampler_overhead.py --seconds 30 --real-nvml > "$OUT/sampler.txt" 2>&1

# what came of it, in short: each followed run's states, GPU utilisation and alert transitions
for f in "$W"/*tail.jsonl; do
  [ -e "$f" ] || continue
  echo "== $(basename "$f")"
  python3 - "$f" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o.get("type") == "status":
        g = [x.get("util") for x in o.get("gpus") or []]
        print(f"status {o['time']} {o.get('state')} step={o.get('step')} util={g} gpu_status={o.get('gpu_status')!r} "
              f"process={(o.get('process') or {}).get('pid')} alerts={[(a['rule'], a['state']) for a in o.get('alerts', [])]}")
    elif o.get("type") == "alert":
        print(f"alert {o.get('ends_at') or o.get('starts_at')} {o['rule']} {o['state']}: {o.get('summary')}")
PY
done > "$OUT/summary.txt" 2>&1
tar czf "$OUT/gpu.tgz" -C "$W" .
ls -la "$OUT"
