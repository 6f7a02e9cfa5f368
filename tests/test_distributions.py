"""The distributions taken from scipy.special agree with scipy.stats, the independent reference.

Over grids that include the edges: outside the support, the ends of the quantile range,
invalid parameters (NaN in both), and the large counts of national figures.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import special
from scipy import stats as sps

from equality_core import distributions as dist

QUANTILES = np.array([0.0, 1e-12, 0.0005, 0.001, 0.025, 0.3, 0.5, 0.975, 0.999, 1 - 1e-12, 1.0])
OUTSIDE_QUANTILES = np.array([-0.1, 1.1, np.nan])


def _grid(*axes):
    """Every combination of the axes, as one array per axis."""
    return [np.array(column, dtype=float) for column in zip(*itertools.product(*axes), strict=True)]


def _same(ours, reference):
    np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=0, equal_nan=True)


def test_normal_quantiles_and_tails_are_scipys():
    q = np.r_[QUANTILES, OUTSIDE_QUANTILES]
    _same(dist.norm_ppf(q), sps.norm.ppf(q))
    x = np.array([-np.inf, -40, -1.96, 0, 0.3, 1.96, 8, 40, np.inf, np.nan])
    _same(dist.norm_sf(x), sps.norm.sf(x))


def test_chi_square_quantiles_and_tails_are_scipys():
    q, df = _grid(np.r_[QUANTILES, OUTSIDE_QUANTILES], [-1, 0, 0.5, 1, 2, 7, 40, 2_000, 250_000])
    _same(dist.chi2_ppf(q, df), sps.chi2.ppf(q, df))
    x, df = _grid([-3, 0, 1e-9, 0.5, 3.84, 10, 100, 5_000, np.nan, np.inf], [-1, 0, 1, 2, 9, 300])
    _same(dist.chi2_sf(x, df), sps.chi2.sf(x, df))


def test_beta_quantiles_are_scipys():
    # The intervals use whole counts (a, b >= 1); a = 0.5 is left out at q = 1e-12, where
    # scipy.stats's root finding gives up (it warns) and ours is the closed form below.
    q, a, b = _grid(
        np.r_[QUANTILES, OUTSIDE_QUANTILES], [-1, 0, 1, 3, 40, 90_000], [-2, 0, 1, 2, 17, 3e6]
    )
    _same(dist.beta_ppf(q, a, b), sps.beta.ppf(q, a, b))
    q, a, b = _grid(QUANTILES[2:], [0.5], [1, 2, 17])
    _same(dist.beta_ppf(q, a, b), sps.beta.ppf(q, a, b))


def test_a_tiny_beta_quantile_is_the_closed_form():
    """Near 0, I_x(a, b) = x^a / (a B(a, b)) to first order, so x = (q a B(a, b))^(1/a)."""
    a, b, q = 0.5, 2.0, 1e-12
    closed = (q * a * np.exp(special.betaln(a, b))) ** (1 / a)
    assert dist.beta_ppf(q, a, b) == pytest.approx(closed, rel=1e-9)


def test_student_t_quantiles_and_tails_are_scipys():
    q, df = _grid(np.r_[QUANTILES, OUTSIDE_QUANTILES], [-1, 0, 0.7, 1, 2.5, 30, 4_000, np.inf])
    _same(dist.t_ppf(q, df), sps.t.ppf(q, df))
    x, df = _grid([-np.inf, -40, -2, 0, 1.96, 7, np.inf, np.nan], [-1, 0, 0.7, 1, 2.5, 30, np.inf])
    _same(dist.t_sf(x, df), sps.t.sf(x, df))


@pytest.mark.parametrize("n", [0, 1, 7, 50, 1_000, 84_000, 3_400_000])
def test_binomial_functions_are_scipys(n):
    k = np.unique(np.r_[-2, -1, 0, 0.5, 1, n // 3, n // 2 + 0.5, n - 1, n, n + 1, n + 5])
    for p in (0.0, 1e-6, 0.013, 0.5, 0.87, 1.0, -0.1, 1.2, np.nan):
        _same(dist.binom_pmf(k, n, p), sps.binom.pmf(k, n, p))
        _same(dist.binom_cdf(k, n, p), sps.binom.cdf(k, n, p))
        _same(dist.binom_sf(k, n, p), sps.binom.sf(k, n, p))
        q = np.r_[QUANTILES, OUTSIDE_QUANTILES]
        _same(dist.binom_ppf(q, n, p), sps.binom.ppf(q, n, p))


def test_a_count_that_is_not_whole_is_no_binomial():
    _same(dist.binom_pmf(3, 10.5, 0.3), sps.binom.pmf(3, 10.5, 0.3))
    _same(dist.binom_cdf(3, 10.5, 0.3), sps.binom.cdf(3, 10.5, 0.3))
    assert np.isnan(dist.binom_ppf(0.5, -1, 0.3))


@pytest.mark.parametrize(
    ("total", "good", "draws"),
    [(1, 0, 1), (9, 4, 5), (30, 28, 7), (400, 35, 380), (90_000, 1_200, 4_000)],
)
def test_hypergeometric_functions_are_scipys(total, good, draws):
    low, high = max(0, draws - (total - good)), min(good, draws)
    k = np.unique(
        np.r_[
            -1, 0, low - 1, low, low + 0.5, (low + high) // 2, high - 1, high, high + 1, draws + 3
        ]
    )
    for args in ((total, good, draws), (total, total + 1, draws), (total, good, -1), (0, 0, 0)):
        _same(dist.hypergeom_pmf(k, *args), sps.hypergeom.pmf(k, *args))
        # scipy.stats gives NaN for the tails at a count that is not whole; ours floor it,
        # as the binomial's do (Fisher's test asks only for whole counts).
        whole = k[k == np.floor(k)]
        _same(dist.hypergeom_cdf(whole, *args), sps.hypergeom.cdf(whole, *args))
        _same(dist.hypergeom_sf(whole, *args), sps.hypergeom.sf(whole, *args))
