"""The few quantiles and tails every view needs, from scipy.special, not scipy.stats.

Importing ``scipy.stats`` takes about 0.4 s on our machine (it builds every distribution
and parses their docstrings): a tenth of the dashboard's cold start, paid by every new
process for the normal, chi-square, beta, t and binomial functions below. Each one here
is the special function that ``scipy.stats`` itself calls for it, with the same results
outside the distribution's support; ``tests/test_distributions.py`` holds them equal to
``scipy.stats`` over grids that include the edges. The rarer tests (Fisher's exact,
chi-square on larger tables, Mann-Whitney) still import ``scipy.stats`` where first used.

The binomial and hypergeometric functions are scipy's Boost ufuncs (``scipy.special._ufuncs``), which
``scipy.stats.binom`` calls; if a scipy release moves them, ``scipy.stats.binom`` is used
instead, so nothing breaks but the import time.
"""

from __future__ import annotations

import numpy as np
from scipy import special

try:  # what scipy.stats.binom and .hypergeom call (scipy 1.15 to 1.17 at least)
    from scipy.special._ufuncs import (
        _binom_cdf,
        _binom_pmf,
        _binom_ppf,
        _binom_sf,
        _hypergeom_cdf,
        _hypergeom_pmf,
        _hypergeom_sf,
    )
except ImportError:  # pragma: no cover - a scipy release that moved them
    _binom_cdf = _binom_pmf = _binom_ppf = _binom_sf = None
    _hypergeom_cdf = _hypergeom_pmf = _hypergeom_sf = None


def norm_ppf(q):
    """The standard normal distribution's quantile (``scipy.stats.norm.ppf``)."""
    return special.ndtri(q)


def norm_sf(x):
    """The standard normal distribution's upper tail (``scipy.stats.norm.sf``)."""
    return special.ndtr(-np.asarray(x, dtype=float))


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


def _scipy_stats():
    from scipy import stats  # only if this scipy has no Boost ufuncs where we look

    return stats


def binom_pmf(k, n, p):
    """``P(X = k)`` for X binomial (``scipy.stats.binom.pmf``): 0 off the support."""
    if _binom_pmf is None:  # pragma: no cover
        return _scipy_stats().binom.pmf(k, n, p)
    k, n, p, valid = _binomial_arguments(k, n, p)
    inside = valid & (k >= 0) & (k <= n) & (k == np.floor(k))
    value = _binom_pmf(np.where(inside, k, 0.0), np.where(valid, n, 0.0), np.where(valid, p, 0.5))
    return np.where(valid, np.where(inside, value, 0.0), np.nan)


def _tail(ufunc, k, valid, low, high, arguments, *, below: float) -> np.ndarray:
    """A discrete distribution's cdf (``below`` 0) or sf (``below`` 1) on ``[low, high]``.

    ``k`` is floored; below the support the tail is ``below``, from its top ``1 - below``;
    invalid parameters or a missing ``k`` give NaN, as ``scipy.stats`` gives them.
    """
    k = np.floor(k)
    inside = valid & (k >= low) & (k < high)
    value = ufunc(np.where(inside, k, low), *arguments)
    value = np.where(inside, value, np.where(k < low, below, 1.0 - below))
    return np.where(valid & ~np.isnan(k), value, np.nan)


def _binomial_tail(ufunc, name: str, k, n, p, *, below: float) -> np.ndarray:
    if ufunc is None:  # pragma: no cover
        return getattr(_scipy_stats().binom, name)(k, n, p)
    k, n, p, valid = _binomial_arguments(k, n, p)
    arguments = (np.where(valid, n, 1.0), np.where(valid, p, 0.5))
    return _tail(ufunc, k, valid, 0.0, n, arguments, below=below)


def binom_cdf(k, n, p):
    """``P(X <= k)`` for X binomial (``scipy.stats.binom.cdf``)."""
    return _binomial_tail(_binom_cdf, "cdf", k, n, p, below=0.0)


def binom_sf(k, n, p):
    """``P(X > k)`` for X binomial (``scipy.stats.binom.sf``)."""
    return _binomial_tail(_binom_sf, "sf", k, n, p, below=1.0)


def binom_ppf(q, n, p):
    """The binomial quantile (``scipy.stats.binom.ppf``): -1 at ``q = 0``, ``n`` at 1."""
    if _binom_ppf is None:  # pragma: no cover
        return _scipy_stats().binom.ppf(q, n, p)
    q, n, p, valid = _binomial_arguments(q, n, p)
    inside = valid & (q > 0) & (q < 1)
    value = _binom_ppf(np.where(inside, q, 0.5), np.where(valid, n, 1.0), np.where(valid, p, 0.5))
    value = np.where(inside, value, np.where(q == 0, -1.0, n))
    return np.where(valid & (q >= 0) & (q <= 1), value, np.nan)


def _hypergeometric_arguments(k, total, good, draws):
    k, total, good, draws = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (k, total, good, draws))
    )
    valid = (total > 0) & (good >= 0) & (draws >= 0) & (good <= total) & (draws <= total)
    valid &= (total == np.floor(total)) & (good == np.floor(good)) & (draws == np.floor(draws))
    low = np.maximum(draws - (total - good), 0)
    high = np.minimum(good, draws)
    safe = [np.where(valid, v, w) for v, w in ((good, 1.0), (draws, 1.0), (total, 2.0))]
    return k, valid, low, high, safe


def hypergeom_pmf(k, total, good, draws):
    """``P(X = k)`` for X hypergeometric (``scipy.stats.hypergeom.pmf``): 0 off the support.

    X is how many of ``draws`` taken from ``total`` are among its ``good`` ones.
    """
    if _hypergeom_pmf is None:  # pragma: no cover
        return _scipy_stats().hypergeom.pmf(k, total, good, draws)
    k, valid, low, high, (good_, draws_, total_) = _hypergeometric_arguments(k, total, good, draws)
    inside = valid & (k >= low) & (k <= high) & (k == np.floor(k))
    value = _hypergeom_pmf(np.where(inside, k, low), good_, draws_, total_)
    return np.where(valid, np.where(inside, value, 0.0), np.nan)


def _hypergeometric_tail(ufunc, name: str, k, total, good, draws, *, below: float):
    if ufunc is None:  # pragma: no cover
        return getattr(_scipy_stats().hypergeom, name)(k, total, good, draws)
    k, valid, low, high, arguments = _hypergeometric_arguments(k, total, good, draws)
    return _tail(ufunc, k, valid, low, high, arguments, below=below)


def hypergeom_cdf(k, total, good, draws):
    """``P(X <= k)`` for X hypergeometric (``scipy.stats.hypergeom.cdf``)."""
    return _hypergeometric_tail(_hypergeom_cdf, "cdf", k, total, good, draws, below=0.0)


def hypergeom_sf(k, total, good, draws):
    """``P(X > k)`` for X hypergeometric (``scipy.stats.hypergeom.sf``)."""
    return _hypergeometric_tail(_hypergeom_sf, "sf", k, total, good, draws, below=1.0)
