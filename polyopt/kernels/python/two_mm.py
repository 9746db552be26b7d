"""2mm: tmp := alpha*A*B ; D := beta*D + tmp*C."""


def two_mm(ni: int, nj: int, nk: int, nl: int, alpha: float, beta: float,
           tmp: "float64[ni, nj]", A: "float64[ni, nk]", B: "float64[nk, nj]",
           C: "float64[nj, nl]", D: "float64[ni, nl]"):
    for i in range(0, ni):
        for j in range(0, nj):
            tmp[i, j] = 0.0
            for k in range(0, nk):
                tmp[i, j] += alpha * A[i, k] * B[k, j]
    for i in range(0, ni):
        for j in range(0, nl):
            D[i, j] *= beta
            for k in range(0, nj):
                D[i, j] += tmp[i, k] * C[k, j]
