"""floyd-warshall: all-pairs shortest paths; path[i, j] is the edge weight (a large value for none)."""


def floyd_warshall(n: int, path: "int32[n, n]"):
    for k in range(0, n):
        for i in range(0, n):
            for j in range(0, n):
                path[i, j] = path[i, j] if path[i, j] < path[i, k] + path[k, j] else path[i, k] + path[k, j]
