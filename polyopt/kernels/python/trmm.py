"""trmm: B := alpha * A^T B with A unit lower triangular (strict lower part read)."""


def trmm(m: int, n: int, alpha: float, A: "float64[m, m]", B: "float64[m, n]"):
    for i in range(m):
        for j in range(n):
            for k in range(i + 1, m):
                B[i, j] += A[k, i] * B[k, j]
            B[i, j] = alpha * B[i, j]
