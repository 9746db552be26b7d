#!/bin/bash
# Issue 5's seven kernels at the BENCH sizes (benchmarks/search_sizes.py), each tuned with 300 trials (model
# strategy, seed 0, 1 thread) by `polyopt compare`, which then times the tuned schedule side by side with gcc,
# GCC Graphite, clang, clang+Polly and polyopt's own heuristics, every one in a fresh process, outputs verified.
#   bash benchmarks/run_search_300.sh OUT_DIR        (about 45 minutes on the 2-core Zen5)
# OUT_DIR/tuning.db keeps the measurements: a second run re-times without tuning again.
set -euo pipefail
out=${1:?usage: run_search_300.sh OUT_DIR}
mkdir -p "$out"
declare -A P=(
 [gemm]="--param ni=800 --param nj=800 --param nk=800"
 [2mm]="--param ni=400 --param nj=400 --param nk=400 --param nl=400"
 [syrk]="--param m=600 --param n=600"
 [lu]="--param n=700"
 [seidel-2d]="--param tsteps=40 --param n=500"
 [jacobi-2d]="--param tsteps=200 --param n=800"
 [heat-3d]="--param tsteps=100 --param n=100"
)
for k in gemm 2mm syrk lu seidel-2d jacobi-2d heat-3d; do
  echo "=== $k $(date +%T)"
  # shellcheck disable=SC2086
  polyopt compare --kernels "$k" ${P[$k]} \
    --contenders gcc,graphite,clang,polly,polyopt-original,polyopt-pluto,polyopt-polly,polyopt-tuned \
    --threads 1 --trials 300 --db "$out/tuning.db" --seed 0 --specialize-sizes --repeats 5 --timeout 5400 \
    --out "$out/$k"
done
