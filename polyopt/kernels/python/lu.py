"""lu: in-place LU decomposition without pivoting (unit lower L below the diagonal, U on and above)."""


def lu(n: int, A: "float64[n, n]"):
    for i in range(n):
        for j in range(i):
            for k in range(j):
                A[i, j] -= A[i, k] * A[k, j]
            A[i, j] /= A[j, j]
        for j in range(i, n):
            for k in range(i):
                A[i, j] -= A[i, k] * A[k, j]
