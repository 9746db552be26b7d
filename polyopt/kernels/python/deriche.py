"""deriche: Deriche recursive edge-detection filter (single precision): a causal and an anti-causal
pass along each row, then along each column.

The C version writes its constants as float literals (1.0f); Python literals are float64, so the two
versions agree in their math but not necessarily in the literal types of the model (see the registry)."""

import math


def deriche(w: int, h: int, alpha: "float32", imgIn: "float32[w, h]", imgOut: "float32[w, h]",
            y1: "float32[w, h]", y2: "float32[w, h]"):
    k = ((1.0 - math.exp(-alpha)) * (1.0 - math.exp(-alpha))
         / (1.0 + 2.0 * alpha * math.exp(-alpha) - math.exp(2.0 * alpha)))
    a1 = k
    a5 = k
    a2 = k * math.exp(-alpha) * (alpha - 1.0)
    a6 = k * math.exp(-alpha) * (alpha - 1.0)
    a3 = k * math.exp(-alpha) * (alpha + 1.0)
    a7 = k * math.exp(-alpha) * (alpha + 1.0)
    a4 = -k * math.exp(-2.0 * alpha)
    a8 = -k * math.exp(-2.0 * alpha)
    b1 = math.pow(2.0, -alpha)
    b2 = -math.exp(-2.0 * alpha)
    c1 = 1.0
    c2 = 1.0
    for i in range(0, w):
        ym1 = 0.0
        ym2 = 0.0
        xm1 = 0.0
        for j in range(0, h):
            y1[i, j] = a1 * imgIn[i, j] + a2 * xm1 + b1 * ym1 + b2 * ym2
            xm1 = imgIn[i, j]
            ym2 = ym1
            ym1 = y1[i, j]
    for i in range(0, w):
        yp1 = 0.0
        yp2 = 0.0
        xp1 = 0.0
        xp2 = 0.0
        for j in range(h - 1, -1, -1):
            y2[i, j] = a3 * xp1 + a4 * xp2 + b1 * yp1 + b2 * yp2
            xp2 = xp1
            xp1 = imgIn[i, j]
            yp2 = yp1
            yp1 = y2[i, j]
    for i in range(0, w):
        for j in range(0, h):
            imgOut[i, j] = c1 * (y1[i, j] + y2[i, j])
    for j in range(0, h):
        tm1 = 0.0
        ym1 = 0.0
        ym2 = 0.0
        for i in range(0, w):
            y1[i, j] = a5 * imgOut[i, j] + a6 * tm1 + b1 * ym1 + b2 * ym2
            tm1 = imgOut[i, j]
            ym2 = ym1
            ym1 = y1[i, j]
    for j in range(0, h):
        tp1 = 0.0
        tp2 = 0.0
        yp1 = 0.0
        yp2 = 0.0
        for i in range(w - 1, -1, -1):
            y2[i, j] = a7 * tp1 + a8 * tp2 + b1 * yp1 + b2 * yp2
            tp2 = tp1
            tp1 = imgOut[i, j]
            yp2 = yp1
            yp1 = y2[i, j]
    for i in range(0, w):
        for j in range(0, h):
            imgOut[i, j] = c2 * (y1[i, j] + y2[i, j])
