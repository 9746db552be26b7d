"""mvt: x1 += A y_1 ; x2 += A^T y_2."""


def mvt(n: int, x1: "float64[n]", x2: "float64[n]", y_1: "float64[n]", y_2: "float64[n]",
        A: "float64[n, n]"):
    for i in range(n):
        for j in range(n):
            x1[i] = x1[i] + A[i, j] * y_1[j]
    for i in range(n):
        for j in range(n):
            x2[i] = x2[i] + A[j, i] * y_2[j]
