"""gramschmidt: modified Gram-Schmidt QR decomposition, A (m x n) = Q R; A is overwritten."""

import math


def gramschmidt(m: int, n: int, A: "float64[m, n]", R: "float64[n, n]", Q: "float64[m, n]"):
    for k in range(n):
        nrm = 0.0
        for i in range(m):
            nrm += A[i, k] * A[i, k]
        R[k, k] = math.sqrt(nrm)
        for i in range(m):
            Q[i, k] = A[i, k] / R[k, k]
        for j in range(k + 1, n):
            R[k, j] = 0.0
            for i in range(m):
                R[k, j] += Q[i, k] * A[i, j]
            for i in range(m):
                A[i, j] = A[i, j] - Q[i, k] * R[k, j]
