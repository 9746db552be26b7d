"""Bring tuning databases to the current FEATURE_VERSION (not a test; for benchmark data): every record of a
suite kernel gets the features of its candidate under the current code (the loop nest's, then its machine
code's: each candidate is compiled again, ~0.1 s), and the current version number.

    python benchmarks/refeaturize.py DB [DB ...] [--kernels gemm,2mm,syrk] [--cache F.pkl] [--keep-machine-code]

The tuner's transfer model and the ranking benchmarks use only records of the current feature version, so
after a feature change the measurements of earlier runs serve again without being re-measured. Records
of workloads that are not suite kernels stay as they are. A database is rewritten in one transaction.
--keep-machine-code keeps each record's stored machine-code columns instead of compiling the candidate
again: right when a version changed only the loop-nest part (v10), and three times faster.
"""
from __future__ import annotations

import argparse
import json
import pickle
import sqlite3
import time
from pathlib import Path

import numpy as np
from polyopt.search import backend
from polyopt.search.asm_features import ASM_FEATURE_NAMES, compiled_features
from polyopt.search.features import FEATURE_VERSION
from polyopt.search.featurize import Featurizer

from polyopt.cli.common import load_scop



def _machine_code(scop, cand: str, params: dict) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The record's machine-code features (NaN where the candidate does not compile, as the tuner stores)."""
    try:
        return compiled_features(scop, backend.apply(scop, backend.candidate_from_json(cand)), params)
    except Exception:  # noqa: BLE001
        return np.full(len(ASM_FEATURE_NAMES), np.nan)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dbs", nargs="+")
    ap.add_argument("--kernels", default=None, help="comma-separated suite kernels (default: all of them)")
    ap.add_argument("--cache", default=None, help="pickle of computed features, kept between runs")
    ap.add_argument("--keep-machine-code", action="store_true",
                    help="keep the stored machine-code columns (when only the loop-nest features changed)")
    args = ap.parse_args()
    from polyopt.kernels.registry import names

    kernels = args.kernels.split(",") if args.kernels else names()
    scops = {s.fingerprint: (k, s) for k, s in ((k, load_scop(f"suite:{k}")) for k in kernels)}
    cache: dict = pickle.loads(Path(args.cache).read_bytes()) if args.cache and Path(args.cache).exists() else {}
    fzs: dict = {}
    t0 = time.time()
    for path in args.dbs:
        con = sqlite3.connect(path)
        rows = con.execute("SELECT id, workload, params, candidate, threads, features FROM measurements").fetchall()
        updates = []
        for rid, wl, params, cand, threads, stored in rows:
            if wl not in scops:
                continue
            key = (wl, params, cand, threads)
            if key not in cache:
                fz = fzs.get((wl, params, threads))
                if fz is None:
                    fz = fzs[(wl, params, threads)] = Featurizer(scops[wl][1], json.loads(params),
                                                                  threads=threads or None)
                v = fz.one(backend.candidate_from_json(cand), cand)
                old = json.loads(stored or "[]")
                if v is not None and args.keep_machine_code and len(old) == len(v) + len(ASM_FEATURE_NAMES):
                    v = np.concatenate([v, np.asarray(old[len(v):], dtype=np.float64)])
                elif v is not None:
                    v = np.concatenate([v, _machine_code(scops[wl][1], cand, json.loads(params))])
                cache[key] = None if v is None else [round(float(x), 6) for x in v]   # as Database.add stores them
            updates.append((json.dumps(cache[key] or []), FEATURE_VERSION, rid))
        with con:
            con.executemany("UPDATE measurements SET features = ?, feature_version = ? WHERE id = ?", updates)
        con.close()
        print(f"{path}: {len(updates)} records at feature version {FEATURE_VERSION} ({time.time() - t0:.0f} s)",
              flush=True)
        if args.cache:
            Path(args.cache).write_bytes(pickle.dumps(cache))


if __name__ == "__main__":
    main()
