#!/usr/bin/env bash
# One call on a lent GPU machine: install the carried wheels, run the GPU-marked tests, the tuning check
# (scripts/gpu_tune_check.py) and the benchmark check (scripts/gpu_check.py). Logs and JSON go to $OUT.
#
# Prepare here (no GPU needed):
#   bash ../shared/device/prepare.sh && pip wheel -q --no-deps -w .whl .
# Then, with the device tool: carry [".whl"], command `bash scripts/gpu_session.sh [sections]`
# (sections: a b c d of gpu_check.py, all by default; "none" skips gpu_check; TUNE=0 skips the tuning,
# TUNE_ARGS replaces the tuning check's arguments).
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site
OUT=${OUT:-/tmp/gpu_out}
mkdir -p "$OUT"
R=$PWD
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv,noheader
command -v nvcc && nvcc --version | tail -2
(cd /tmp && timeout 120 python3 -m pytest -q -m gpu -p no:cacheprovider "$R/tests/unit/test_cuda_codegen.py" \
    "$R/tests/unit/test_cuda_split.py" >"$OUT/pytest.log" 2>&1; echo "pytest -m gpu: exit $?"; tail -3 "$OUT/pytest.log")
if [ "${TUNE:-1}" != 0 ]; then
  # shellcheck disable=SC2086
  timeout "${TUNE_TIMEOUT:-200}" python3 scripts/gpu_tune_check.py ${TUNE_ARGS:---budget-gemm 35 --budget-conv 18} \
      >"$OUT/tune.log" 2>&1
  echo "gpu_tune_check: exit $?"
  grep -v " trial " "$OUT/tune.log" | tail -25
fi
if [ "${1:-}" != none ]; then
  timeout "${CHECK_TIMEOUT:-330}" python3 scripts/gpu_check.py "$@" >"$OUT/check.log" 2>&1
  echo "gpu_check: exit $?"
  grep -E "===|best|cuDNN [0-9]|WRONG|error|Error" "$OUT/check.log" | grep -v "^\[.*\]    " | tail -60
fi
