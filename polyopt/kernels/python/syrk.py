"""syrk: lower triangle of C := alpha A A^T + beta C."""


def syrk(n: int, m: int, alpha: float, beta: float, C: "float64[n, n]", A: "float64[n, m]"):
    for i in range(n):
        for j in range(i + 1):
            C[i, j] *= beta
        for k in range(m):
            for j in range(i + 1):
                C[i, j] += alpha * A[i, k] * A[j, k]
