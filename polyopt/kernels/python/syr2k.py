"""syr2k: lower triangle of C := alpha A B^T + alpha B A^T + beta C."""


def syr2k(n: int, m: int, alpha: float, beta: float, C: "float64[n, n]", A: "float64[n, m]",
          B: "float64[n, m]"):
    for i in range(n):
        for j in range(i + 1):
            C[i, j] *= beta
        for k in range(m):
            for j in range(i + 1):
                C[i, j] += A[j, k] * alpha * B[i, k] + B[j, k] * alpha * A[i, k]
