"""3mm: E := A*B ; F := C*D ; G := E*F."""


def three_mm(ni: int, nj: int, nk: int, nl: int, nm: int,
             E: "float64[ni, nj]", A: "float64[ni, nk]", B: "float64[nk, nj]",
             F: "float64[nj, nl]", C: "float64[nj, nm]", D: "float64[nm, nl]",
             G: "float64[ni, nl]"):
    for i in range(ni):
        for j in range(nj):
            E[i, j] = 0.0
            for k in range(nk):
                E[i, j] += A[i, k] * B[k, j]
    for i in range(nj):
        for j in range(nl):
            F[i, j] = 0.0
            for k in range(nm):
                F[i, j] += C[i, k] * D[k, j]
    for i in range(ni):
        for j in range(nl):
            G[i, j] = 0.0
            for k in range(nj):
                G[i, j] += E[i, k] * F[k, j]
