"""Funnel limits widened for overdispersion (Spiegelhalter 2005, QSHC 14:347).

References: a hand computation of the winsorised dispersion written from the paper's
definition (ranks and Hyndman-Fan's linear quantile, not numpy's), statsmodels'
DerSimonian-Laird estimate of tau squared, scipy's normal quantiles for the limits, and
synthetic units drawn with a known between-unit spread.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.meta_analysis import combine_effects

from equality_core import stats

#: Twelve establishments: rates spread well beyond binomial chance around 12.5%.
NUMERATORS = [12, 30, 95, 40, 210, 18, 66, 130, 9, 52, 300, 75]
DENOMINATORS = [150, 180, 600, 420, 1400, 260, 380, 900, 110, 510, 2100, 480]


def _linear_quantile(values: list[float], q: float) -> float:
    """Hyndman and Fan's type 7 quantile, written out: h = (n - 1) q on the sorted values."""
    ordered = sorted(values)
    h = (len(ordered) - 1) * q
    below = math.floor(h)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (h - below) * (ordered[above] - ordered[below])


def _hand_dispersion(numerators, denominators, centre, winsorise):
    z = [
        (x / n - centre) / math.sqrt(centre * (1 - centre) / n)
        for x, n in zip(numerators, denominators, strict=True)
    ]
    low, high = _linear_quantile(z, winsorise), _linear_quantile(z, 1 - winsorise)
    pulled = [min(max(v, low), high) for v in z]
    return sum(v * v for v in pulled) / len(pulled)


def test_dispersion_matches_a_hand_computation_of_the_winsorised_z_scores() -> None:
    centre = sum(NUMERATORS) / sum(DENOMINATORS)
    result = stats.funnel_dispersion(NUMERATORS, DENOMINATORS, centre=centre)
    assert result.units == 12
    assert result.phi == pytest.approx(_hand_dispersion(NUMERATORS, DENOMINATORS, centre, 0.1))
    assert result.phi > 1
    # Winsorising pulls the extremes in: the unwinsorised ratio is larger.
    assert result.phi < _hand_dispersion(NUMERATORS, DENOMINATORS, centre, 0.0)


def test_tau_squared_without_winsorising_is_dersimonian_laird() -> None:
    """With no winsorising and the pooled centre, I phi is Cochran's Q: DL's tau squared."""
    x, n = np.array(NUMERATORS, dtype=float), np.array(DENOMINATORS, dtype=float)
    centre = x.sum() / n.sum()
    result = stats.funnel_dispersion(x, n, centre=centre, winsorise=0.0)
    reference = combine_effects(x / n, centre * (1 - centre) / n, method_re="dl")
    assert result.tau_squared == pytest.approx(reference.tau2, rel=1e-9)
    assert result.phi * len(x) == pytest.approx(reference.q, rel=1e-9)


def test_the_method_recovers_a_known_between_unit_spread() -> None:
    """Synthetic units with true rates 10% +/- 2 points (sd): tau comes back near 0.02."""
    rng = np.random.default_rng(20261125)
    n = rng.integers(400, 4000, size=300)
    true_rates = np.clip(rng.normal(0.10, 0.02, size=300), 0.001, 0.999)
    x = rng.binomial(n, true_rates)
    plain = stats.funnel_dispersion(x, n, centre=x.sum() / n.sum(), winsorise=0.0)
    assert plain.tau == pytest.approx(0.02, rel=0.1)
    # Winsorising 10% of each tail keeps about 68% of a normal spread's variance (the
    # second moment of a standard normal clipped at its 10th and 90th percentiles), so
    # the default estimate is knowingly conservative: about 0.8 of the true tau.
    clipped = sps.norm.ppf(0.9)
    kept = 1 - 2 * (clipped * sps.norm.pdf(clipped) + 0.1 - clipped**2 * 0.1)
    assert kept == pytest.approx(0.68, abs=0.01)
    default = stats.funnel_dispersion(x, n, centre=x.sum() / n.sum())
    assert default.tau == pytest.approx(0.02 * math.sqrt(kept), rel=0.15)
    assert default.phi < plain.phi


def test_units_that_vary_by_chance_alone_keep_exact_limits() -> None:
    counts = pd.DataFrame(
        {"establishment": [f"E{i:02d}" for i in range(12)], "numerator": 10, "denominator": 100}
    )
    table = stats.funnel_table(counts)
    assert table["dispersion"].iloc[0] == pytest.approx(0.0)
    assert (table["limits"] == "exact binomial").all()
    exact = stats.funnel_limits(national_rate=0.1, denominators=counts["denominator"])
    np.testing.assert_allclose(table["upper_95"], exact["upper_95"])


def _table(**options) -> pd.DataFrame:
    counts = pd.DataFrame(
        {
            "establishment": [f"E{i:02d}" for i in range(len(NUMERATORS))],
            "numerator": NUMERATORS,
            "denominator": DENOMINATORS,
        }
    )
    return stats.funnel_table(counts, **options)


def test_additive_limits_widen_by_the_between_unit_variance() -> None:
    table = _table()
    centre = sum(NUMERATORS) / sum(DENOMINATORS)
    spread = stats.funnel_dispersion(NUMERATORS, DENOMINATORS, centre=centre)
    assert spread.tau_squared > 0
    for level, name in ((0.95, "95"), (0.998, "998")):
        scale = np.sqrt(centre * (1 - centre) / table["denominator"] + spread.tau_squared)
        low, high = sps.norm.interval(level, loc=centre, scale=scale)
        np.testing.assert_allclose(table[f"lower_{name}"], np.clip(low, 0, 1))
        np.testing.assert_allclose(table[f"upper_{name}"], np.clip(high, 0, 1))
    assert table["limits"].iloc[0] == (
        f"widened for overdispersion (additive random effects, tau = {spread.tau:.2g})"
    )
    assert table["dispersion"].iloc[0] == pytest.approx(spread.phi)
    assert table["tau"].iloc[0] == pytest.approx(np.sqrt(spread.tau_squared))


def test_multiplicative_limits_scale_by_the_square_root_of_phi() -> None:
    table = _table(overdispersion="multiplicative")
    centre = sum(NUMERATORS) / sum(DENOMINATORS)
    phi = _hand_dispersion(NUMERATORS, DENOMINATORS, centre, 0.1)
    scale = np.sqrt(phi * centre * (1 - centre) / table["denominator"])
    low, high = sps.norm.interval(0.95, loc=centre, scale=scale)
    np.testing.assert_allclose(table["lower_95"], np.clip(low, 0, 1))
    np.testing.assert_allclose(table["upper_95"], np.clip(high, 0, 1))
    assert table["limits"].iloc[0].startswith("widened for overdispersion (multiplicative")


def test_widened_limits_leave_fewer_units_outside() -> None:
    exact = _table(overdispersion=None)
    widened = _table()
    outside = lambda t: int((t["position"] != "within limits").sum())  # noqa: E731
    assert outside(widened) < outside(exact)
    assert (exact["limits"] == "exact binomial").all()
    assert (widened["upper_95"] >= exact["upper_95"] - 1e-12).all()


def test_too_few_units_to_estimate_keep_exact_limits_and_say_so() -> None:
    few = pd.DataFrame(
        {"establishment": ["A", "B", "C"], "numerator": [10, 60, 30], "denominator": [200] * 3}
    )
    table = stats.funnel_table(few)
    assert table["limits"].iloc[0].startswith("exact binomial (overdispersion not estimated")
    with pytest.raises(ValueError, match="overdispersion"):
        stats.funnel_table(few, overdispersion="quadratic")
