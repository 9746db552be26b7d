"""cholesky: in-place Cholesky factorisation A = L L^T (L in the lower triangle)."""

import math


def cholesky(n: int, A: "float64[n, n]"):
    for i in range(n):
        for j in range(i):
            for k in range(j):
                A[i, j] -= A[i, k] * A[j, k]
            A[i, j] /= A[j, j]
        for k in range(i):
            A[i, i] -= A[i, k] * A[i, k]
        A[i, i] = math.sqrt(A[i, i])
