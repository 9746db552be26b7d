#include <math.h>

/* deriche: Deriche recursive edge-detection filter (single precision): a causal and an anti-causal
   pass along each row, then along each column. The constants are written as integer literals (exact
   in float) so that the Python version, whose float literals would be double, builds the same model;
   b1 = 2^-alpha is written exp2f(-alpha) (powf(2, -alpha) would convert the 2 to a float literal). */
void kernel_deriche(int w, int h, float alpha, float imgIn[w][h], float imgOut[w][h],
                    float y1[w][h], float y2[w][h])
{
  int i, j;
  float xm1;
  float tm1;
  float ym1;
  float ym2;
  float xp1;
  float xp2;
  float tp1;
  float tp2;
  float yp1;
  float yp2;
  float k;
  float a1;
  float a2;
  float a3;
  float a4;
  float a5;
  float a6;
  float a7;
  float a8;
  float b1;
  float b2;
  float c1;
  float c2;
#pragma scop
  k = (1 - expf(-alpha)) * (1 - expf(-alpha))
      / (1 + 2 * alpha * expf(-alpha) - expf(2 * alpha));
  a1 = k;
  a5 = k;
  a2 = k * expf(-alpha) * (alpha - 1);
  a6 = k * expf(-alpha) * (alpha - 1);
  a3 = k * expf(-alpha) * (alpha + 1);
  a7 = k * expf(-alpha) * (alpha + 1);
  a4 = -k * expf(-2 * alpha);
  a8 = -k * expf(-2 * alpha);
  b1 = exp2f(-alpha);
  b2 = -expf(-2 * alpha);
  c1 = 1;
  c2 = 1;
  for (i = 0; i < w; i++) {
    ym1 = 0;
    ym2 = 0;
    xm1 = 0;
    for (j = 0; j < h; j++) {
      y1[i][j] = a1 * imgIn[i][j] + a2 * xm1 + b1 * ym1 + b2 * ym2;
      xm1 = imgIn[i][j];
      ym2 = ym1;
      ym1 = y1[i][j];
    }
  }
  for (i = 0; i < w; i++) {
    yp1 = 0;
    yp2 = 0;
    xp1 = 0;
    xp2 = 0;
    for (j = h - 1; j >= 0; j--) {
      y2[i][j] = a3 * xp1 + a4 * xp2 + b1 * yp1 + b2 * yp2;
      xp2 = xp1;
      xp1 = imgIn[i][j];
      yp2 = yp1;
      yp1 = y2[i][j];
    }
  }
  for (i = 0; i < w; i++)
    for (j = 0; j < h; j++)
      imgOut[i][j] = c1 * (y1[i][j] + y2[i][j]);
  for (j = 0; j < h; j++) {
    tm1 = 0;
    ym1 = 0;
    ym2 = 0;
    for (i = 0; i < w; i++) {
      y1[i][j] = a5 * imgOut[i][j] + a6 * tm1 + b1 * ym1 + b2 * ym2;
      tm1 = imgOut[i][j];
      ym2 = ym1;
      ym1 = y1[i][j];
    }
  }
  for (j = 0; j < h; j++) {
    tp1 = 0;
    tp2 = 0;
    yp1 = 0;
    yp2 = 0;
    for (i = w - 1; i >= 0; i--) {
      y2[i][j] = a7 * tp1 + a8 * tp2 + b1 * yp1 + b2 * yp2;
      tp2 = tp1;
      tp1 = imgOut[i][j];
      yp2 = yp1;
      yp1 = y2[i][j];
    }
  }
  for (i = 0; i < w; i++)
    for (j = 0; j < h; j++)
      imgOut[i][j] = c2 * (y1[i][j] + y2[i][j]);
#pragma endscop
}
