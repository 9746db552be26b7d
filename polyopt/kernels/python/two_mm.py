"""2mm: tmp := alpha*A*B ; D := beta*D + tmp*C."""


def two_mm(ni: int, nj: int, nk: int, nl: int, alpha: float, beta: float,
           tmp: "float64[ni, nj]", A: "float64[ni, nk]", B: "float64[nk, nj]",
           C: "float64[nj, nl]", D: "float64[ni, nl]"):
    for i in range(ni):
        for j in range(nj):
            tmp[i, j] = 0.0
            for k in range(nk):
                tmp[i, j] += alpha * A[i, k] * B[k, j]
    for i in range(ni):
        for j in range(nl):
            D[i, j] *= beta
            for k in range(nj):
                D[i, j] += tmp[i, k] * C[k, j]
