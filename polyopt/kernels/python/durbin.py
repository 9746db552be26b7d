"""durbin: Levinson-Durbin recursion for the Yule-Walker equations (Toeplitz system).
z is a scratch vector (a local array in the classic code, an argument here)."""


def durbin(n: int, r: "float64[n]", y: "float64[n]", z: "float64[n]"):
    y[0] = -r[0]
    beta = 1.0
    alpha = -r[0]
    for k in range(1, n):
        beta = (1.0 - alpha * alpha) * beta
        sum = 0.0
        for i in range(k):
            sum += r[k - i - 1] * y[i]
        alpha = -(r[k] + sum) / beta
        for i in range(k):
            z[i] = y[i] + alpha * y[k - i - 1]
        for i in range(k):
            y[i] = z[i]
        y[k] = alpha
