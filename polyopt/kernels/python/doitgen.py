"""doitgen: multiresolution analysis kernel, A[r, q, :] := A[r, q, :] @ C4."""


def doitgen(nr: int, nq: int, np: int, A: "float64[nr, nq, np]", C4: "float64[np, np]",
            sum: "float64[np]"):
    for r in range(nr):
        for q in range(nq):
            for p in range(np):
                sum[p] = 0.0
                for s in range(np):
                    sum[p] += A[r, q, s] * C4[s, p]
            for p in range(np):
                A[r, q, p] = sum[p]
