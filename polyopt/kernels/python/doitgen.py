"""doitgen: multiresolution analysis kernel, A[r, q, :] := A[r, q, :] @ C4."""


def doitgen(nr: int, nq: int, np: int, A: "float64[nr, nq, np]", C4: "float64[np, np]",
            sum: "float64[np]"):
    for r in range(0, nr):
        for q in range(0, nq):
            for p in range(0, np):
                sum[p] = 0.0
                for s in range(0, np):
                    sum[p] += A[r, q, s] * C4[s, p]
            for p in range(0, np):
                A[r, q, p] = sum[p]
