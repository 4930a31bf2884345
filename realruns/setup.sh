#!/usr/bin/env bash
# Create the run lab's venv at realruns/.venv (CPU only; about 1.5 GB).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
"$PY" -m venv .venv
.venv/bin/pip install -q --upgrade pip
# torch first, alone: with nothing else asking for it, pip takes the CPU build.
# Where no CPU wheel lies on disk, point TORCH_INDEX at PyTorch's CPU wheel index to avoid a CUDA build.
.venv/bin/pip install -q "$(grep '^torch==' requirements.txt)" ${TORCH_INDEX:+--index-url "$TORCH_INDEX"}
.venv/bin/pip install -q -r requirements.txt
KERAS_BACKEND=torch .venv/bin/python -c "import torch, transformers, lightning, keras, accelerate; print('lab ready: torch', torch.__version__)"
