"""symm: C := alpha A B + beta C with A symmetric (lower triangle stored)."""


def symm(m: int, n: int, alpha: float, beta: float, C: "float64[m, n]", A: "float64[m, m]",
         B: "float64[m, n]"):
    for i in range(m):
        for j in range(n):
            temp2 = 0.0
            for k in range(i):
                C[k, j] += alpha * B[i, j] * A[i, k]
                temp2 += B[k, j] * A[i, k]
            C[i, j] = beta * C[i, j] + alpha * B[i, j] * A[i, i] + alpha * temp2
