"""Tutorial 5 — the GPU: mapping a schedule to CUDA blocks and threads, and the generated CUDA C.

Run it:  python docs/tutorials/05_gpu.py      (POLYOPT_DOCS_SMALL=1 for tiny sizes)

The CUDA backend maps the outermost parallel band of a schedule PPCG-style: tiles of its parallel
members become blocks, points within a tile become threads (each thread may own a small register
tile), read-only arrays with reuse are promoted to shared memory and written accumulators to registers.
The mapping options (GpuMapping) are the GPU search space. Generating CUDA C needs no GPU; running it
needs pycuda and an NVIDIA GPU, so this tutorial runs the kernel on the GPU only when one is there, and
otherwise checks the mapped kernels with the CPU emulator (tiny sizes).
"""

import os

import numpy as np
from polyopt.codegen.cuda import GpuMapping, gpu_available

import polyopt

SMALL = os.environ.get("POLYOPT_DOCS_SMALL") == "1"


def matmul(N: int, C: "float32[N, N]", A: "float32[N, N]", B: "float32[N, N]"):
    for i in range(N):
        for j in range(N):
            C[i, j] = 0.0
            for k in range(N):
                C[i, j] += A[i, k] * B[k, j]


scop = polyopt.from_python(matmul)

# 1. Map the isl schedule with explicit options: 32x32 points per block on 32x8 threads (a 1x4 register
#    tile per thread), k tiled by 32 with A and B tiles staged in shared memory.
options = GpuMapping(tile=(32, 32), threads=(32, 8), seq_tile=32, shared=True, private=True)
kernel = polyopt.compile(scop, "isl", target="cuda", options=options)
print(f"mapping: {options}")
print("\n== generated CUDA C")
print(kernel.cuda_source)

# 2. Launch geometry for a given size (grid and block of every kernel of the program).
N = 64 if SMALL else 2048
for cfg in kernel.launch_config({"N": N}):
    print("launch:", cfg)

rng = np.random.default_rng(0)
A = rng.random((N, N), dtype=np.float32)
B = rng.random((N, N), dtype=np.float32)

if gpu_available():
    # 3a. On a GPU: run, check against numpy, time with CUDA events. benchmark() reports GPU time (a
    #     busy-wait kernel hides the host's launch cost); hide_launch=False includes that cost.
    C = np.zeros((N, N), dtype=np.float32)
    kernel(C=C, A=A, B=B)
    assert np.allclose(C, A @ B, rtol=1e-3, atol=1e-3)
    seconds = min(kernel.benchmark(C=C, A=A, B=B, repeat=5))
    print(f"GPU: N={N}: {seconds * 1e3:.3f} ms, {2 * N**3 / seconds / 1e12:.2f} TFLOP/s, matches numpy")
    print("resources per kernel:", kernel.resources)
else:
    # 3b. No GPU: run the mapped kernels on the CPU emulator (every block and thread, with a race check).
    n = 16
    C = np.zeros((n, n), dtype=np.float32)
    kernel.emulate(C=C, A=A[:n, :n].copy(), B=B[:n, :n].copy())
    assert np.allclose(C, A[:n, :n] @ B[:n, :n], rtol=1e-4, atol=1e-4)
    print(f"no GPU here (needs pycuda and an NVIDIA device): emulated N={n} on the CPU, matches numpy")


# 4. Split-K. When the output is small and the reduction long (a matrix-vector product, a deep conv layer
#    at batch 1), the output tiles alone leave most SMs idle. split=P runs the outermost reduction loop in
#    P parts on a free grid dimension; each block adds its partial sums to the output with atomicAdd. It is
#    legal for '+' reductions only (the sum is reassociated), and polyopt checks that on the dependences.
def gemv_acc(M: int, K: int, y: "float32[M]", A: "float32[M, K]", x: "float32[K]"):
    for i in range(M):
        for k in range(K):
            y[i] += A[i, k] * x[k]


gemv = polyopt.from_python(gemv_acc)
M, K = (16, 64) if SMALL or not gpu_available() else (256, 1 << 16)
split = GpuMapping(tile=(16,), threads=(16,), seq_tile=8, split=8)
gk = polyopt.compile(gemv, "original", target="cuda", params={"M": M, "K": K}, options=split)
print("split-K launch:", gk.launch_config({"M": M, "K": K})[0])     # grid: (M/16 tiles, 8 parts, 1)
A2 = rng.random((M, K), dtype=np.float32)
x2 = rng.random(K, dtype=np.float32)
y2 = np.zeros(M, dtype=np.float32)
if gpu_available():
    gk(M=M, K=K, y=y2, A=A2, x=x2)
else:
    gk.emulate(M=M, K=K, y=y2, A=A2, x=x2)          # the emulator's race check knows atomicAdd
assert np.allclose(y2, A2 @ x2, rtol=1e-4)
print(f"split-K gemv M={M} K={K}: matches numpy")
