"""bicg: s := A^T r ; q := A p  (the two kernels of BiCGStab)."""


def bicg(m: int, n: int, A: "float64[n, m]", s: "float64[m]", q: "float64[n]", p: "float64[m]",
         r: "float64[n]"):
    for i in range(m):
        s[i] = 0.0
    for i in range(n):
        q[i] = 0.0
        for j in range(m):
            s[j] = s[j] + r[i] * A[i, j]
            q[i] = q[i] + A[i, j] * p[j]
