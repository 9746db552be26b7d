"""covariance: sample covariance of the m columns of data (n observations); data is centred in place."""


def covariance(m: int, n: int, float_n: float, data: "float64[n, m]", cov: "float64[m, m]",
               mean: "float64[m]"):
    for j in range(m):
        mean[j] = 0.0
        for i in range(n):
            mean[j] += data[i, j]
        mean[j] /= float_n
    for i in range(n):
        for j in range(m):
            data[i, j] -= mean[j]
    for i in range(m):
        for j in range(i, m):
            cov[i, j] = 0.0
            for k in range(n):
                cov[i, j] += data[k, i] * data[k, j]
            cov[i, j] /= (float_n - 1.0)
            cov[j, i] = cov[i, j]
