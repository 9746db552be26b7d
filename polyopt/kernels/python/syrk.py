"""syrk: lower triangle of C := alpha A A^T + beta C."""


def syrk(n: int, m: int, alpha: float, beta: float, C: "float64[n, n]", A: "float64[n, m]"):
    for i in range(0, n):
        for j in range(0, i + 1):
            C[i, j] *= beta
        for k in range(0, m):
            for j in range(0, i + 1):
                C[i, j] += alpha * A[i, k] * A[j, k]
