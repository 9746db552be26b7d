"""How well a timing at smaller sizes ranks candidates at the real sizes (not a test).

    python benchmarks/proxy_check.py [DB ...] [--divisor 4] [--kernels gemm,lu]
    python benchmarks/proxy_check.py benchmarks/data/random_bench_v15_seed100.jsonl.gz

DB: a tuning database or a JSON-lines export of one (default: the kept random-search records of the seven
benchmark kernels at the BENCH sizes, benchmarks/data). Every successful record of a benchmark kernel is
built at its sizes divided by --divisor (at least 8) and timed in this process, one thread, median of
repeats until 20 ms. Prints, per kernel, the pairwise ranking accuracy
(ties in the ranking count half) of the proxy time and of the analytic estimate stored in the records
(the cost model's prior), over all pairs and over the pairs whose real times differ by more than 10%
(beyond the measurement noise), and the seconds spent compiling. With --fit, also the accuracy of the
tuner's cost model trained on those proxy timings (features of the loop nests at the small sizes, 32 of the
records or all of them) and ranking the candidates at the real sizes: what a kernel's records at other sizes
could give a transfer model (tried in the tuner and reverted: benchmarks/results/search_xsize_2026-11-27.md).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import numpy as np
from bench_search import KERNELS, load_records

DEFAULT_DB = __file__.rsplit("/", 1)[0] + "/data/random_bench_v15_seed100.jsonl.gz"


def proxy_params(params: dict[str, int], divisor: int) -> dict[str, int]:
    """Every size divided by divisor, at least 8 (never above the real size)."""
    return {p: min(int(v), max(8, round(int(v) / divisor))) for p, v in params.items()}


def proxy_seconds(scop, candidate: str, params: dict[str, int], inputs: dict) -> float:  # type: ignore[no-untyped-def]
    from polyopt.search import backend

    kernel = backend.compile_kernel(scop, backend.apply(scop, backend.candidate_from_json(candidate)), "cpu",
                                    params, threads=1)
    saved = {a: np.array(v) for a, v in inputs.items() if isinstance(v, np.ndarray)}
    times: list[float] = []
    while len(times) < 3 or (sum(times) < 0.02 and len(times) < 50):
        for a, v in saved.items():
            np.copyto(inputs[a], v)
        t0 = time.perf_counter()
        backend.call_kernel(kernel, inputs)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dbs", nargs="*", default=[DEFAULT_DB])
    ap.add_argument("--divisor", type=int, default=4)
    ap.add_argument("--kernels", default=",".join(KERNELS))
    ap.add_argument("--fit", action="store_true", help="also train the cost model on the proxy timings")
    args = ap.parse_args()
    from polyopt.cli.common import load_scop
    from polyopt.search.cost_model import pairwise_accuracy
    from polyopt.search.features import ANALYTIC_COST, FEATURE_VERSION, feature_names
    from polyopt.search.inputs import measure_inputs

    col = feature_names().index(ANALYTIC_COST)
    records = [r for p in args.dbs for r in load_records(p) if r.ok]
    print(f"$ python {' '.join(sys.argv)}")
    rows = []
    for k in args.kernels.split(","):
        scop = load_scop(f"suite:{k}")
        recs = [r for r in records if r.workload == scop.fingerprint]
        if len(recs) < 4:
            continue
        small = proxy_params(json.loads(recs[0].params), args.divisor)
        inputs = measure_inputs(scop, small, 0)
        t0 = time.time()
        proxy = np.array([proxy_seconds(scop, r.candidate, small, inputs) for r in recs])
        y = np.array([1.0 / r.median for r in recs])
        est = np.array([-r.features[col] if r.feature_version == FEATURE_VERSION and r.features else 0.0
                        for r in recs])
        row = [pairwise_accuracy(-proxy, y), pairwise_accuracy(-proxy, y, min_ratio=1.1),
               pairwise_accuracy(est, y), pairwise_accuracy(est, y, min_ratio=1.1)]
        line = (f"{k:10s} {len(recs):3d} candidates at {small}: proxy {row[0]:.3f} (pairs >10% apart {row[1]:.3f}),"
                f" analytic estimate {row[2]:.3f} ({row[3]:.3f})")
        if args.fit:
            row += fitted_accuracy(scop, recs, small, proxy, y)
            line += f"; model of the proxy timings, 32 / all records: {row[4]:.3f} / {row[5]:.3f}"
        rows.append(row)
        print(f"{line}; {time.time() - t0:.0f} s", flush=True)
    mean = np.mean(rows, axis=0)
    print(f"mean over {len(rows)} kernels: proxy {mean[0]:.3f} ({mean[1]:.3f}), "
          f"analytic estimate {mean[2]:.3f} ({mean[3]:.3f})"
          + (f", model of the proxy timings {mean[4]:.3f} / {mean[5]:.3f}" if args.fit else ""))


def fitted_accuracy(scop, recs, small: dict[str, int], proxy: np.ndarray, y: np.ndarray) -> list[float]:  # type: ignore[no-untyped-def]
    """Accuracy at the real sizes of the tuner's cost model trained on the proxy timings: on 32 records
    (mean of 5 draws) and on all of them."""
    from polyopt.search import backend
    from polyopt.search.cost_model import XGBoostCostModel, pairwise_accuracy
    from polyopt.search.features import extract, n_features
    from polyopt.search.tuner import cpu_model_params

    small_x = np.array([extract(backend.loop_program(scop, backend.apply(scop, backend.candidate_from_json(
        r.candidate)), small), threads=1) for r in recs])
    full_x = np.array([r.features[:n_features()] for r in recs])
    out = []
    for n, draws in ((min(32, len(recs)), 5), (len(recs), 1)):
        acc = []
        for d in range(draws):
            pick = np.random.default_rng(d).permutation(len(recs))[:n]
            model = XGBoostCostModel(cpu_model_params(), seed=0)
            model.fit(small_x[pick], 1.0 / proxy[pick], ["proxy"] * n)
            acc.append(pairwise_accuracy(model.predict(full_x), y))
        out.append(float(np.mean(acc)))
    return out


if __name__ == "__main__":
    main()
