#!/usr/bin/env python3
"""GPU tuning check: polyopt.tune(target="cuda") on sgemm N=4096 and ResNet-18 conv layers (C2, C6, C9,
C12 by default; batch 1, fp32, NCHW, pad K//2, as in anchors.md), against torch (cuBLAS / cuDNN, TF32 off).

Finishes in under 160 s on an H100/H200 (each workload has a time box); prints progress; writes
$OUT/gpu_tune.json (and $OUT/gpu_tune_records.jsonl, the tuning records) when $OUT is set.
The tuned best kernel of every workload is re-run on torch's inputs and compared with torch's output.

Run from the repository root (after the wheels in ../shared/wheels/device-cp312 are installed):
  python3 scripts/gpu_tune_check.py [--trials-gemm 32] [--trials-conv 24]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gpu_check as G

T0 = time.time()
RESULTS: dict = {"workloads": [], "errors": []}
LAYERS = {name: spec for name, *spec in G.RESNET}      # name -> (H, in channels, out channels, K, stride)


def say(*a: object) -> None:
    print(f"[{time.time() - T0:6.1f}s]", *a, flush=True)


def progress(name: str, unit: str, flops: float):
    def show(trial, best_gflops: float) -> None:  # type: ignore[no-untyped-def]
        now = f"{trial.seconds * 1e6:9.1f} us" if trial.error == 0 else f"error {trial.error}"
        best = f"{flops / (best_gflops * 1e9) * 1e6:.1f} us" if unit == "us" and best_gflops else \
            f"{best_gflops / 1e3:.2f} TFLOP/s"
        say(f"  {name} trial {trial.index + 1:3d}: {now:>14s}   best {best}")
    return show


def tune_one(name: str, scop, params: dict, trials: int, budget: float, db: str, unit: str, seed: int):  # type: ignore[no-untyped-def]
    from polyopt.search.features import count_flops

    import polyopt

    flops = count_flops(scop, params)
    t = time.time()
    res = polyopt.tune(scop, target="cuda", params=params, trials=trials, db=db, seed=seed, batch_size=8,
                       transfer=False, time_budget=budget, progress=progress(name, unit, flops))
    row = {"workload": name, "params": params, "trials": len(res.history), "errors": res.errors,
           "tune_seconds": round(time.time() - t, 1), "flops": flops,
           "default_mapping_s": res.baselines.get("default")}
    if res.best is not None:
        row.update(best_s=res.best.seconds, best_tflops=flops / res.best.seconds / 1e12,
                   best_candidate=json.loads(res.best.candidate_json),
                   curve_tflops=[round(v / 1e3, 3) for v in res.best_curve()])
    return res, row


def sgemm(args, db: str) -> None:  # type: ignore[no-untyped-def]
    import torch

    n = 4096
    scop = G.gemm_acc(G.DType.FLOAT32)
    res, row = tune_one("sgemm4096", scop, {"N": n}, args.trials_gemm, args.budget_gemm, db, "tflops",
                         args.seed)
    A = torch.rand(n, n, device="cuda")
    B = torch.rand(n, n, device="cuda")
    t_cublas = G.torch_time(lambda: torch.matmul(A, B))
    row["cublas_s"] = t_cublas
    row["cublas_tflops"] = 2.0 * n ** 3 / t_cublas / 1e12
    if res.best is not None:
        k = res.compile()
        C = torch.zeros(n, n, device="cuda")
        k(N=n, C=C, A=A, B=B)
        torch.cuda.synchronize()
        ref = torch.matmul(A, B)
        row["rel_err_vs_torch"] = float((C - ref).abs().max() / ref.abs().max())
        row["pct_cublas"] = 100 * t_cublas / res.best.seconds
        say(f"sgemm 4096: tuned {row['best_tflops']:.2f} TFLOP/s, default mapping "
            f"{2.0 * n ** 3 / row['default_mapping_s'] / 1e12:.2f}, cuBLAS {row['cublas_tflops']:.2f} "
            f"({row['pct_cublas']:.0f}% of cuBLAS), rel err {row['rel_err_vs_torch']:.1e}")
    RESULTS["workloads"].append(row)


def conv_layer(name: str, args, db: str) -> None:  # type: ignore[no-untyped-def]
    import torch
    import torch.nn.functional as Fn

    H, Cin, F, K, s = LAYERS[name]
    pad = K // 2
    HO = (H + 2 * pad - K) // s + 1
    scop, HP = G.conv(F, Cin, HO, K, s)
    res, row = tune_one(name, scop, {}, args.trials_conv, args.budget_conv, db, "us", args.seed)
    x = torch.rand(1, Cin, H, H, device="cuda")
    w = torch.rand(F, Cin, K, K, device="cuda")
    t_cudnn, modes = G.cudnn_conv_time(x, w, s, pad)
    row["cudnn_us"] = t_cudnn * 1e6
    row["cudnn_modes_us"] = {m: t * 1e6 for m, t in modes.items()}
    row["cudnn_call_us"] = G.cudnn_conv_time(x, w, s, pad, hide_launch=False)[0] * 1e6
    if res.best is not None:
        k = res.compile()
        ref = Fn.conv2d(x, w, stride=s, padding=pad)[0]
        xp = Fn.pad(x, (pad, pad, pad, pad))[0][:, :HP, :HP].contiguous()
        o = torch.zeros(F, HO, HO, device="cuda")
        k(out=o, W=w.contiguous(), inp=xp)
        torch.cuda.synchronize()
        row["rel_err_vs_torch"] = float((o - ref).abs().max() / ref.abs().max())
        row["best_us"] = res.best.seconds * 1e6
        row["vs_cudnn"] = t_cudnn / res.best.seconds
        row["best_call_us"] = float(np.median(k.benchmark(out=o, W=w, inp=xp, repeat=20, hide_launch=False))) * 1e6
        say(f"{name}: tuned {row['best_us']:.1f} us (default mapping {row['default_mapping_s'] * 1e6:.1f} us), "
            f"cuDNN {row['cudnn_us']:.1f} us ({row['vs_cudnn']:.2f}x of cuDNN speed; cuDNN heuristic / autotuned: "
            f"{row['cudnn_modes_us']['benchmark=False']:.1f} / {row['cudnn_modes_us']['benchmark=True']:.1f} us), "
            f"rel err {row['rel_err_vs_torch']:.1e}; launch included: {row['best_call_us']:.1f} us vs cuDNN "
            f"{row['cudnn_call_us']:.1f} us")
    RESULTS["workloads"].append(row)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials-gemm", type=int, default=32)
    ap.add_argument("--trials-conv", type=int, default=20)
    ap.add_argument("--budget-gemm", type=float, default=40.0, help="seconds of tuning for sgemm")
    ap.add_argument("--budget-conv", type=float, default=20.0, help="seconds of tuning per conv layer")
    ap.add_argument("--layers", default="C2,C6,C9,C12")
    ap.add_argument("--no-gemm", action="store_true", help="tune the conv layers only")
    ap.add_argument("--seed", type=int, default=0, help="the tuner's random seed")
    args = ap.parse_args()
    RESULTS["seed"] = args.seed
    try:
        import torch
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        RESULTS["device"] = torch.cuda.get_device_name(0)
        torch.zeros(1, device="cuda")
        say("device:", RESULTS["device"])
    except Exception as e:  # noqa: BLE001
        RESULTS["errors"].append(f"torch: {e}")
    from polyopt.search.gpu import gpu_target_fingerprint, require_gpu

    from polyopt.errors import BackendUnavailableError

    try:
        RESULTS["target"] = gpu_target_fingerprint(*require_gpu())
    except BackendUnavailableError as e:
        say(f"no GPU backend: {e}")
        RESULTS["errors"].append(str(e))
        args.layers, jobs_ok = "", False
    else:
        jobs_ok = True
        say("target:", RESULTS["target"])
    db = os.path.join(tempfile.mkdtemp(), "gpu_tune.db")
    jobs = [] if not jobs_ok or args.no_gemm else [("sgemm", lambda: sgemm(args, db))]
    jobs += [] if not jobs_ok else [(n, (lambda n=n: conv_layer(n, args, db))) for n in args.layers.split(",") if n]
    for name, fn in jobs:
        say(f"=== {name}")
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - keep going with the next workload
            RESULTS["errors"].append(f"{name}: {type(e).__name__}: {e}")
            traceback.print_exc()
    convs = [r for r in RESULTS["workloads"] if r.get("vs_cudnn")]
    if convs:
        RESULTS["geomean_vs_cudnn"] = float(np.exp(np.mean([np.log(r["vs_cudnn"]) for r in convs])))
        calls = [r["cudnn_call_us"] / r["best_call_us"] for r in convs]
        RESULTS["geomean_vs_cudnn_launch_included"] = float(np.exp(np.mean(np.log(calls))))
        say(f"conv layers ({len(convs)}): geomean {RESULTS['geomean_vs_cudnn']:.2f}x of cuDNN's speed (GPU time); "
            f"{RESULTS['geomean_vs_cudnn_launch_included']:.2f}x with launch overhead included on both sides")
    RESULTS["total_seconds"] = round(time.time() - T0, 1)
    outdir = os.environ.get("OUT")
    if outdir:
        Path(outdir).mkdir(parents=True, exist_ok=True)
        Path(outdir, "gpu_tune.json").write_text(json.dumps(RESULTS, indent=1, default=str))
        try:
            from polyopt.search.database import Database
            Database(db).export_jsonl(Path(outdir, "gpu_tune_records.jsonl"))
        except Exception as e:  # noqa: BLE001
            RESULTS["errors"].append(f"export: {e}")
        say("wrote", Path(outdir, "gpu_tune.json"))
    summary = [{k: r.get(k) for k in ("workload", "trials", "best_tflops", "cublas_tflops", "best_us", "cudnn_us",
                                      "rel_err_vs_torch")} for r in RESULTS["workloads"]]
    print(json.dumps({"summary": summary, "errors": RESULTS["errors"], "total_seconds": RESULTS["total_seconds"]},
                     default=str))


if __name__ == "__main__":
    main()
