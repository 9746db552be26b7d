"""Problem sizes of the search benchmark: each kernel's original schedule runs 0.05-1 s on the 2-core
Zen5 host (single thread), as issue 5 asks; shared by bench_search.py and search_dataset.py."""

BENCH_SIZES: dict[str, dict[str, int]] = {
    "gemm": {"ni": 800, "nj": 800, "nk": 800},
    "2mm": {"ni": 400, "nj": 400, "nk": 400, "nl": 400},
    "syrk": {"m": 600, "n": 600},
    "lu": {"n": 700},
    "jacobi-2d": {"tsteps": 200, "n": 800},
    "seidel-2d": {"tsteps": 40, "n": 500},
    "heat-3d": {"tsteps": 100, "n": 100},
}
