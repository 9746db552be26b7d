"""fdtd-2d: 2-D finite-difference time-domain (Yee) update of the E (ex, ey) and H (hz) fields;
_fict_ is the source fed into the first row of ey at each step."""


def fdtd_2d(tmax: int, nx: int, ny: int, ex: "float64[nx, ny]", ey: "float64[nx, ny]",
            hz: "float64[nx, ny]", _fict_: "float64[tmax]"):
    for t in range(tmax):
        for j in range(ny):
            ey[0, j] = _fict_[t]
        for i in range(1, nx):
            for j in range(ny):
                ey[i, j] = ey[i, j] - 0.5 * (hz[i, j] - hz[i - 1, j])
        for i in range(nx):
            for j in range(1, ny):
                ex[i, j] = ex[i, j] - 0.5 * (hz[i, j] - hz[i, j - 1])
        for i in range(nx - 1):
            for j in range(ny - 1):
                hz[i, j] = hz[i, j] - 0.7 * (ex[i, j + 1] - ex[i, j] + ey[i + 1, j] - ey[i, j])
