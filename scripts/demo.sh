#!/usr/bin/env bash
# Set up, then run papernet's main job on the shipped regressor spec (VGG-11, 224×224×3 →
# 224×224×1): check it, summarise it, compile it to Keras source, run that source, and train
# it for two epochs on synthetic data, shrunk to 32×32 so the run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
spec=specs/vgg11_regression.pn
mkdir -p out
set -x
.venv/bin/papernet check "$spec"
.venv/bin/papernet summary "$spec"
.venv/bin/papernet compile "$spec" -o out/vgg11_regression.py
TF_CPP_MIN_LOG_LEVEL=3 .venv/bin/python out/vgg11_regression.py
TF_CPP_MIN_LOG_LEVEL=3 .venv/bin/papernet train "$spec" --input 32x32x3 --regression 32x32x1 \
    --synthetic 32 --epochs 2 --batch-size 8 --output out/vgg11_regression_run
