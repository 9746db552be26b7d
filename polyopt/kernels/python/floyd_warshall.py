"""floyd-warshall: all-pairs shortest paths; path[i, j] is the edge weight (a large value for none).
The minimum is the builtin min: the C version's `a < b ? a : b`, which the C frontend reads as min."""


def floyd_warshall(n: int, path: "int32[n, n]"):
    for k in range(n):
        for i in range(n):
            for j in range(n):
                path[i, j] = min(path[i, j], path[i, k] + path[k, j])
