"""jacobi-1d: 3-point Jacobi stencil, two sweeps (A -> B, B -> A) per time step."""


def jacobi_1d(tsteps: int, n: int, A: "float64[n]", B: "float64[n]"):
    for t in range(tsteps):
        for i in range(1, n - 1):
            B[i] = 0.33333 * (A[i - 1] + A[i] + A[i + 1])
        for i in range(1, n - 1):
            A[i] = 0.33333 * (B[i - 1] + B[i] + B[i + 1])
