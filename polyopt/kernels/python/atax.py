"""atax: y := A^T (A x)."""


def atax(m: int, n: int, A: "float64[m, n]", x: "float64[n]", y: "float64[n]", tmp: "float64[m]"):
    for i in range(n):
        y[i] = 0.0
    for i in range(m):
        tmp[i] = 0.0
        for j in range(n):
            tmp[i] = tmp[i] + A[i, j] * x[j]
        for j in range(n):
            y[j] = y[j] + A[i, j] * tmp[i]
