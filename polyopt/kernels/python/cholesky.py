"""cholesky: in-place Cholesky factorisation A = L L^T (L in the lower triangle)."""

import math


def cholesky(n: int, A: "float64[n, n]"):
    for i in range(0, n):
        for j in range(0, i):
            for k in range(0, j):
                A[i, j] -= A[i, k] * A[j, k]
            A[i, j] /= A[j, j]
        for k in range(0, i):
            A[i, i] -= A[i, k] * A[i, k]
        A[i, i] = math.sqrt(A[i, i])
