"""nussinov: RNA secondary-structure dynamic programming (maximum number of matching base pairs).
seq holds bases coded 0..3; bases b1, b2 pair when b1 + b2 == 3. max is the builtin max (the C
version's `a >= b ? a : b`, which the C frontend reads as max on integers); match is an inlined select."""


def nussinov(n: int, seq: "int32[n]", table: "int32[n, n]"):
    for i in range(n - 1, -1, -1):
        for j in range(i + 1, n):
            if j - 1 >= 0:
                table[i, j] = max(table[i, j], table[i, j - 1])
            if i + 1 < n:
                table[i, j] = max(table[i, j], table[i + 1, j])
            if j - 1 >= 0 and i + 1 < n:
                if i < j - 1:
                    table[i, j] = max(table[i, j], table[i + 1, j - 1] + (1 if seq[i] + seq[j] == 3 else 0))
                else:
                    table[i, j] = max(table[i, j], table[i + 1, j - 1])
            for k in range(i + 1, j):
                table[i, j] = max(table[i, j], table[i, k] + table[k + 1, j])
