"""gemver: rank-2 update of A, then x := x + beta A^T y + z, w := w + alpha A x."""


def gemver(n: int, alpha: float, beta: float, A: "float64[n, n]",
           u1: "float64[n]", v1: "float64[n]", u2: "float64[n]", v2: "float64[n]",
           w: "float64[n]", x: "float64[n]", y: "float64[n]", z: "float64[n]"):
    for i in range(n):
        for j in range(n):
            A[i, j] = A[i, j] + u1[i] * v1[j] + u2[i] * v2[j]
    for i in range(n):
        for j in range(n):
            x[i] = x[i] + beta * A[j, i] * y[j]
    for i in range(n):
        x[i] = x[i] + z[i]
    for i in range(n):
        for j in range(n):
            w[i] = w[i] + alpha * A[i, j] * x[j]
