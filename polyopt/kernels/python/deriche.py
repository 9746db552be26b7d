"""deriche: Deriche recursive edge-detection filter (single precision): a causal and an anti-causal
pass along each row, then along each column.

Constants are integer literals (exact in float32) in both versions: a Python float literal would be
double where C's 1.0f is float. The locals take float32 from the values assigned to them; c1 and c2,
which only ever hold 1, are annotated. b1 = 2**-alpha is np.exp2(-alpha) (C: exp2f). The coefficients use
np.exp, which keeps a float32 argument in float32 as C's expf does (math.exp would compute in double)."""

import numpy as np


def deriche(w: int, h: int, alpha: "float32", imgIn: "float32[w, h]", imgOut: "float32[w, h]",
            y1: "float32[w, h]", y2: "float32[w, h]"):
    k = ((1 - np.exp(-alpha)) * (1 - np.exp(-alpha))
         / (1 + 2 * alpha * np.exp(-alpha) - np.exp(2 * alpha)))
    a1 = k
    a5 = k
    a2 = k * np.exp(-alpha) * (alpha - 1)
    a6 = k * np.exp(-alpha) * (alpha - 1)
    a3 = k * np.exp(-alpha) * (alpha + 1)
    a7 = k * np.exp(-alpha) * (alpha + 1)
    a4 = -k * np.exp(-2 * alpha)
    a8 = -k * np.exp(-2 * alpha)
    b1 = np.exp2(-alpha)
    b2 = -np.exp(-2 * alpha)
    c1: float32 = 1
    c2: float32 = 1
    for i in range(w):
        ym1 = 0
        ym2 = 0
        xm1 = 0
        for j in range(h):
            y1[i, j] = a1 * imgIn[i, j] + a2 * xm1 + b1 * ym1 + b2 * ym2
            xm1 = imgIn[i, j]
            ym2 = ym1
            ym1 = y1[i, j]
    for i in range(w):
        yp1 = 0
        yp2 = 0
        xp1 = 0
        xp2 = 0
        for j in range(h - 1, -1, -1):
            y2[i, j] = a3 * xp1 + a4 * xp2 + b1 * yp1 + b2 * yp2
            xp2 = xp1
            xp1 = imgIn[i, j]
            yp2 = yp1
            yp1 = y2[i, j]
    for i in range(w):
        for j in range(h):
            imgOut[i, j] = c1 * (y1[i, j] + y2[i, j])
    for j in range(h):
        tm1 = 0
        ym1 = 0
        ym2 = 0
        for i in range(w):
            y1[i, j] = a5 * imgOut[i, j] + a6 * tm1 + b1 * ym1 + b2 * ym2
            tm1 = imgOut[i, j]
            ym2 = ym1
            ym1 = y1[i, j]
    for j in range(h):
        tp1 = 0
        tp2 = 0
        yp1 = 0
        yp2 = 0
        for i in range(w - 1, -1, -1):
            y2[i, j] = a7 * tp1 + a8 * tp2 + b1 * yp1 + b2 * yp2
            tp2 = tp1
            tp1 = imgOut[i, j]
            yp2 = yp1
            yp1 = y2[i, j]
    for i in range(w):
        for j in range(h):
            imgOut[i, j] = c2 * (y1[i, j] + y2[i, j])
