"""``log`` and ``exp`` built from IEEE-754 arithmetic only, so that they give the same bits on
every CPU.

NumPy's ``np.log``/``np.exp`` pick SIMD implementations by CPU (AVX-512 and others) that can
differ from the scalar ones in the last bit; the package's results must not depend on the
instruction set. These two use only ``+ - * /`` (each correctly rounded by IEEE 754, whatever
the vector width), ``frexp``/``ldexp``/``rint`` (exact), and fixed polynomials evaluated in a
fixed order (fdlibm's argument reductions). They are accurate to a few units in the last place
of float64, far below the float32 the probability cubes are stored in.
"""

from __future__ import annotations

import numpy as np

__all__ = ["log", "exp"]

LN2_HI = 6.93147180369123816490e-01  # fdlibm's split of ln 2: LN2_HI * k is exact
LN2_LO = 1.90821492927058770002e-10
SQRT_HALF = 0.70710678118654752440
_ATANH_TERMS = 12  # 2 atanh(s) = 2 (s + s^3/3 + ...), |s| <= 0.1716: 12 terms < 1e-18
_EXP_TERMS = 14  # exp(r) = sum r^n / n!, |r| <= ln2 / 2: 14 terms < 1e-17


def log(x) -> np.ndarray:
    """Natural logarithm of ``x`` (float64; ``log(0) = -inf``, NaN for NaN and x < 0).

    Examples
    --------
    >>> float(log(np.e)), float(log(1.0)), float(log(0.0))
    (1.0, 0.0, -inf)
    """
    x = np.asarray(x, dtype=np.float64)
    m, e = np.frexp(x)  # x = m 2^e, m in [0.5, 1)
    small = m < SQRT_HALF
    m = np.where(small, m * 2.0, m)  # m in [sqrt(1/2), sqrt(2)): exact
    e = (e - small).astype(np.float64)
    f = m - 1.0  # exact (Sterbenz)
    with np.errstate(divide="ignore", invalid="ignore"):  # x <= 0: replaced below
        s = f / (2.0 + f)
    z = s * s
    poly = np.full_like(z, 1.0 / (2 * _ATANH_TERMS - 1))
    for k in range(_ATANH_TERMS - 2, -1, -1):
        poly = poly * z + 1.0 / (2 * k + 1)
    out = e * LN2_HI + (2.0 * s * poly + e * LN2_LO)
    out = np.where(x == 0, -np.inf, out)
    out = np.where(np.isposinf(x), np.inf, out)
    return np.where((x < 0) | np.isnan(x), np.nan, out)


def exp(x) -> np.ndarray:
    """``e ** x`` (float64; 0 below -745, inf above 709.78, NaN for NaN).

    Examples
    --------
    >>> float(exp(0.0)), round(float(exp(1.0)), 12)
    (1.0, 2.718281828459)
    """
    x = np.asarray(x, dtype=np.float64)
    clipped = np.clip(np.nan_to_num(x, nan=0.0), -746.0, 710.0)
    k = np.rint(clipped / 0.6931471805599453)
    r = (clipped - k * LN2_HI) - k * LN2_LO  # |r| <= ln2 / 2
    poly = np.full_like(r, 1.0)
    for n in range(_EXP_TERMS, 0, -1):
        poly = poly * (r / n) + 1.0
    with np.errstate(over="ignore", under="ignore"):
        out = np.ldexp(poly, k.astype(np.int32))
    out = np.where(x > 709.782712893384, np.inf, out)
    out = np.where(x < -745.2, 0.0, out)
    return np.where(np.isnan(x), np.nan, out)
