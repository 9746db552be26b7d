/* polyopt fake libc <math.h> */
#ifndef POLYOPT_FAKE_MATH_H
#define POLYOPT_FAKE_MATH_H
#define M_E 2.7182818284590452354
#define M_LN2 0.69314718055994530942
#define M_LN10 2.30258509299404568402
#define M_PI 3.14159265358979323846
#define M_PI_2 1.57079632679489661923
#define M_PI_4 0.78539816339744830962
#define M_SQRT2 1.41421356237309504880
#define HUGE_VAL 1e400
#define HUGE_VALF 1e400f
#define INFINITY 1e400f
#define NAN (0.0f / 0.0f)
double sqrt(double); float sqrtf(float);
double exp(double); float expf(float);
double exp2(double); float exp2f(float);
double log(double); float logf(float);
double log2(double); float log2f(float);
double log10(double); float log10f(float);
double pow(double, double); float powf(float, float);
double fabs(double); float fabsf(float);
double sin(double); float sinf(float);
double cos(double); float cosf(float);
double tan(double); float tanf(float);
double tanh(double); float tanhf(float);
double atan(double); float atanf(float);
double atan2(double, double); float atan2f(float, float);
double floor(double); float floorf(float);
double ceil(double); float ceilf(float);
double fmin(double, double); float fminf(float, float);
double fmax(double, double); float fmaxf(float, float);
double fmod(double, double); float fmodf(float, float);
double round(double); float roundf(float);
double trunc(double); float truncf(float);
double asin(double); double acos(double); double sinh(double); double cosh(double);
int isnan(double); int isinf(double);
#endif
