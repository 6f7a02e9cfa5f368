"""The few quantiles and tails every view needs, from scipy.special, not scipy.stats.

Importing ``scipy.stats`` takes about 0.4 s on our machine (it builds every distribution
and parses their docstrings): a tenth of the dashboard's cold start, paid by every new
process for the normal, chi-square, beta, t and binomial functions below. Each one here
is the special function that ``scipy.stats`` itself calls for it, with the same results
outside the distribution's support; ``tests/test_distributions.py`` holds them equal to
``scipy.stats`` over grids that include the edges. The rarer tests (Fisher's exact,
chi-square on larger tables, Mann-Whitney) still import ``scipy.stats`` where first used.

The binomial functions are scipy's Boost ufuncs (``scipy.special._ufuncs``), which
``scipy.stats.binom`` calls; if a scipy release moves them, ``scipy.stats.binom`` is used
instead, so nothing breaks but the import time.
"""

from __future__ import annotations

import numpy as np
from scipy import special

try:  # what scipy.stats.binom calls (scipy 1.15 to 1.17 at least)
    from scipy.special._ufuncs import _binom_cdf, _binom_pmf, _binom_ppf, _binom_sf
except ImportError:  # pragma: no cover - a scipy release that moved them
    _binom_cdf = _binom_pmf = _binom_ppf = _binom_sf = None


def norm_ppf(q):
    """The standard normal distribution's quantile (``scipy.stats.norm.ppf``)."""
    return special.ndtri(q)


def chi2_ppf(q, df):
    """The chi-square quantile (``scipy.stats.chi2.ppf``); NaN for ``df <= 0``."""
    q, df = np.broadcast_arrays(np.asarray(q, dtype=float), np.asarray(df, dtype=float))
    with np.errstate(invalid="ignore"):
        value = 2 * special.gammaincinv(df / 2, q)
    value = np.where(q == 0, 0.0, np.where(q == 1, np.inf, value))
    return np.where((df > 0) & (q >= 0) & (q <= 1), value, np.nan)


def chi2_sf(x, df):
    """The chi-square upper tail ``P(X > x)`` (``scipy.stats.chi2.sf``)."""
    x, df = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(df, dtype=float))
    value = special.chdtrc(df, np.maximum(x, 0.0))
    return np.where(df > 0, np.where(x < 0, 1.0, value), np.nan)


def beta_ppf(q, a, b):
    """The beta distribution's quantile (``scipy.stats.beta.ppf``); NaN unless a, b > 0."""
    q, a, b = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (q, a, b)))
    with np.errstate(invalid="ignore", over="ignore"):
        value = special.betaincinv(np.where(a > 0, a, 1.0), np.where(b > 0, b, 1.0), q)
    value = np.where(q == 0, 0.0, np.where(q == 1, 1.0, value))
    return np.where((a > 0) & (b > 0) & (q >= 0) & (q <= 1), value, np.nan)


def t_sf(x, df):
    """Student's t upper tail ``P(T > x)`` (``scipy.stats.t.sf``); NaN for ``df <= 0``."""
    x, df = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(df, dtype=float))
    return np.where(df > 0, special.stdtr(np.where(df > 0, df, 1.0), -x), np.nan)


def t_ppf(q, df):
    """Student's t quantile (``scipy.stats.t.ppf``); NaN for ``df <= 0``."""
    q, df = np.broadcast_arrays(np.asarray(q, dtype=float), np.asarray(df, dtype=float))
    value = special.stdtrit(np.where(df > 0, df, 1.0), q)
    value = np.where(q == 0, -np.inf, np.where(q == 1, np.inf, value))
    return np.where((df > 0) & (q >= 0) & (q <= 1), value, np.nan)


def _binomial_arguments(k, n, p):
    k, n, p = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (k, n, p)))
    valid = (n >= 0) & (n == np.floor(n)) & (p >= 0) & (p <= 1)
    return k, n, p, valid


def _scipy_binom():
    from scipy import stats  # only if this scipy has no Boost binomial ufuncs

    return stats.binom


def binom_pmf(k, n, p):
    """``P(X = k)`` for X binomial (``scipy.stats.binom.pmf``): 0 off the support."""
    if _binom_pmf is None:  # pragma: no cover
        return _scipy_binom().pmf(k, n, p)
    k, n, p, valid = _binomial_arguments(k, n, p)
    inside = valid & (k >= 0) & (k <= n) & (k == np.floor(k))
    value = _binom_pmf(np.where(inside, k, 0.0), np.where(valid, n, 0.0), np.where(valid, p, 0.5))
    return np.where(valid, np.where(inside, value, 0.0), np.nan)


def binom_cdf(k, n, p):
    """``P(X <= k)`` for X binomial (``scipy.stats.binom.cdf``)."""
    if _binom_cdf is None:  # pragma: no cover
        return _scipy_binom().cdf(k, n, p)
    k, n, p, valid = _binomial_arguments(k, n, p)
    k = np.floor(k)
    inside = valid & (k >= 0) & (k < n)
    value = _binom_cdf(np.where(inside, k, 0.0), np.where(valid, n, 1.0), np.where(valid, p, 0.5))
    value = np.where(inside, value, np.where(k < 0, 0.0, 1.0))
    return np.where(valid & ~np.isnan(k), value, np.nan)


def binom_sf(k, n, p):
    """``P(X > k)`` for X binomial (``scipy.stats.binom.sf``)."""
    if _binom_sf is None:  # pragma: no cover
        return _scipy_binom().sf(k, n, p)
    k, n, p, valid = _binomial_arguments(k, n, p)
    k = np.floor(k)
    inside = valid & (k >= 0) & (k < n)
    value = _binom_sf(np.where(inside, k, 0.0), np.where(valid, n, 1.0), np.where(valid, p, 0.5))
    value = np.where(inside, value, np.where(k < 0, 1.0, 0.0))
    return np.where(valid & ~np.isnan(k), value, np.nan)


def binom_ppf(q, n, p):
    """The binomial quantile (``scipy.stats.binom.ppf``): -1 at ``q = 0``, ``n`` at 1."""
    if _binom_ppf is None:  # pragma: no cover
        return _scipy_binom().ppf(q, n, p)
    q, n, p, valid = _binomial_arguments(q, n, p)
    inside = valid & (q > 0) & (q < 1)
    value = _binom_ppf(np.where(inside, q, 0.5), np.where(valid, n, 1.0), np.where(valid, p, 0.5))
    value = np.where(inside, value, np.where(q == 0, -1.0, n))
    return np.where(valid & (q >= 0) & (q <= 1), value, np.nan)
