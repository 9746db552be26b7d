"""Offline check of the cost model's features: re-featurize measured candidates with the current features
and compare pairwise ranking accuracy with the features stored in the records (no new measurements). Only the
loop-nest part (features.extract) counts here; ranking_check.py judges the full vectors.

    python benchmarks/feature_check.py DB [DB ...] [--kernels gemm,2mm,syrk,lu] [--cache F.pkl]

Prints, for the stored and the current features: leave-one-kernel-out accuracy (train on the other kernels,
rank this one's candidates) and within-kernel accuracy (train on half of a kernel's candidates, rank the
other half; mean of 3 splits). Records are de-duplicated by (kernel, candidate); only those of the
requested suite kernels count. Re-featurizing takes ~0.1 s a candidate (lu: ~3.5 s).
"""
from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np
from polyopt.search import backend
from polyopt.search.cost_model import XGBoostCostModel, pairwise_accuracy
from polyopt.search.tuner import cpu_model_params
from polyopt.search.database import Database
from polyopt.search.features import n_features
from polyopt.search.featurize import Featurizer

from polyopt.cli.common import load_scop


def loko(X: np.ndarray, y: np.ndarray, g: np.ndarray) -> dict[str, float]:
    out = {}
    for w in sorted(set(g)):
        tr, te = g != w, g == w
        if not tr.any():
            continue                       # one kernel only: nothing to train on
        m = XGBoostCostModel(cpu_model_params(), seed=0)
        m.fit(X[tr], y[tr], list(g[tr]))
        out[w] = pairwise_accuracy(m.predict(X[te]), y[te])
    return out


def within(X: np.ndarray, y: np.ndarray, g: np.ndarray) -> dict[str, float]:
    out = {}
    for w in sorted(set(g)):
        accs = []
        for seed in range(3):
            idx = np.flatnonzero(g == w)
            np.random.default_rng(seed).shuffle(idx)
            h = len(idx) // 2
            m = XGBoostCostModel(cpu_model_params(), seed=0)
            m.fit(X[idx[:h]], y[idx[:h]], [w] * h)
            accs.append(pairwise_accuracy(m.predict(X[idx[h:]]), y[idx[h:]]))
        out[w] = float(np.mean(accs))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dbs", nargs="+")
    ap.add_argument("--kernels", default="gemm,2mm,syrk,lu")
    ap.add_argument("--cache", default=None, help="pickle of re-computed features (kept between runs)")
    args = ap.parse_args()
    names = {load_scop(f"suite:{k}").fingerprint: k for k in args.kernels.split(",")}
    recs = {}
    for p in args.dbs:
        for r in Database(p).records():
            if r.workload in names and r.features:
                recs[(r.workload, r.candidate)] = r
    versions = {r.feature_version for r in recs.values()}
    if len(versions) != 1:
        sys.exit(f"records with several feature versions {sorted(versions)}: pass databases of one version")
    cached: dict = {}
    if args.cache and Path(args.cache).exists():
        cached = pickle.loads(Path(args.cache).read_bytes())
    t0 = time.time()
    for w, k in names.items():
        rs = [r for r in recs.values() if r.workload == w]
        if not rs:
            continue
        fz = Featurizer(load_scop(f"suite:{k}"), json.loads(rs[0].params), threads=1)
        for r in rs:
            if (w, r.candidate) not in cached:
                cached[(w, r.candidate)] = fz.one(backend.candidate_from_json(r.candidate), r.candidate)
        print(f"{k}: {len(rs)} candidates featurized ({time.time() - t0:.0f} s)", flush=True)
    if args.cache:
        Path(args.cache).write_bytes(pickle.dumps(cached))
    keep = [r for r in recs.values() if cached.get((r.workload, r.candidate)) is not None]
    y = np.asarray([1 / r.median if r.ok else 0.0 for r in keep])
    g = np.asarray([names[r.workload] for r in keep])
    version = versions.pop()
    width = n_features() if version >= 8 else None     # v8 records: loop nest, then machine code (compare the first)
    for tag, X in ((f"stored v{version}", np.asarray([r.features[:width] for r in keep])),
                   ("current", np.asarray([cached[(r.workload, r.candidate)] for r in keep]))):
        a, b = loko(X, y, g), within(X, y, g)
        print(f"{tag:10s} leave-one-kernel-out", {str(k): round(v, 3) for k, v in a.items()}, f"mean {np.mean(list(a.values())) if a else float('nan'):.3f}")
        print(f"{tag:10s} within-kernel       ", {str(k): round(v, 3) for k, v in b.items()}, f"mean {np.mean(list(b.values())):.3f}")


if __name__ == "__main__":
    main()
