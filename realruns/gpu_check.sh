#!/usr/bin/env bash
# The device machine's checks in one call (a GPU box with PyTorch, Lightning and transformers but no
# package index): record the GPU scenarios (realruns/scenarios/gpu.py), then run runwatch's real
# NVML sampler beside a real GPU training run, then the sampler's cost with the real driver.
#
#   device run, carry [".whl"]:  bash realruns/gpu_check.sh
#   PARTS="record" SCENARIOS="gpu-nanogpt-*" bash realruns/gpu_check.sh   # some of it
#
# `.whl/` holds the wheels of runwatch's dependencies that the machine lacks (textual,
# mdit-py-plugins, platformdirs, watchdog), fetched here with `pip download` (see the device
# tool's README). Everything it finds lands in $OUT (8 files at most come back).
set -u
REPO=$(pwd)
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$REPO PYTHONUNBUFFERED=1
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; python3 --version
  python3 -c 'import runwatch, textual, torch; print("runwatch", runwatch.__version__, "textual", textual.__version__, "torch", torch.__version__)'; } > "$OUT/machine.txt" 2>&1

PARTS=${PARTS:-record live sampler}
part() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# 1. the GPU recordings
if part record; then
  set -f  # SCENARIOS is a list of globs for record.py, not for the shell
  # shellcheck disable=SC2086
  timeout 300 python3 realruns/record.py ${SCENARIOS:-gpu-*} --out /tmp/rec > "$OUT/record.txt" 2>&1
  set +f
  tar czf "$OUT/recordings.tgz" -C /tmp/rec .
fi

# 2. the real sampler beside a real GPU run (a larger model, so the GPU is busy for ~40 s)
if part live; then
mkdir -p /tmp/live && cd /tmp/live || exit 1
PYTHONPATH=$REPO/realruns python3 -u "$REPO/realruns/scripts/nanogpt_loop.py" --device cuda --iters 4000 --d 512 --layers 8 \
  --batch 32 --ctx 256 --vocab 8192 --log-interval 20 --eval-interval 1000 > train.log 2>&1 &
TRAIN=$!
sleep 2
timeout 40 python3 -m runwatch tail train.log --headless --json --interval 5 > "$OUT/tail.jsonl" 2> "$OUT/tail.err"
kill $TRAIN 2>/dev/null; wait $TRAIN 2>/dev/null
cp train.log "$OUT/live-train.log"
cd "$REPO" || exit 1
fi

# 3. the sampler's own cost with the real driver
part sampler && timeout 60 python3 benchmarks/sampler_overhead.py --seconds 30 --real-nvml > "$OUT/sampler.txt" 2>&1
ls -la "$OUT"
