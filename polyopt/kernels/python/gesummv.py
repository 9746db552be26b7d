"""gesummv: y := alpha A x + beta B x."""


def gesummv(n: int, alpha: float, beta: float, A: "float64[n, n]", B: "float64[n, n]",
            tmp: "float64[n]", x: "float64[n]", y: "float64[n]"):
    for i in range(n):
        tmp[i] = 0.0
        y[i] = 0.0
        for j in range(n):
            tmp[i] = A[i, j] * x[j] + tmp[i]
            y[i] = B[i, j] * x[j] + y[i]
        y[i] = alpha * tmp[i] + beta * y[i]
