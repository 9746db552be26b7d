"""Leave-one-kernel-out pairwise ranking accuracy over random-search databases (bench_search.py writes them).

    python benchmarks/ranking_check.py DB.random0 [DB2.random0 ...]
"""
import sys
sys.path.insert(0, __file__.rsplit("/", 1)[0])
import numpy as np
from bench_search import _loko
from polyopt.cli.common import load_scop
names = {load_scop(f"suite:{k}").fingerprint: k for k in ("gemm", "2mm", "syrk", "lu", "jacobi-2d", "seidel-2d", "heat-3d")}
acc = _loko(sys.argv[1:])
print("leave-one-kernel-out pairwise ranking accuracy (random-search records of", ", ".join(sys.argv[1:]), "):")
print({names.get(w, w): round(a, 3) for w, a in acc.items()}, "mean %.3f" % np.mean(list(acc.values())))
