"""gemm: C := alpha*A*B + beta*C."""


def gemm(ni: int, nj: int, nk: int, alpha: float, beta: float,
         C: "float64[ni, nj]", A: "float64[ni, nk]", B: "float64[nk, nj]"):
    for i in range(ni):
        for j in range(nj):
            C[i, j] *= beta
        for k in range(nk):
            for j in range(nj):
                C[i, j] += alpha * A[i, k] * B[k, j]
