"""The statistics: rates, relative rates, significance, flags, funnel limits, adjusted rates.

Pure, vectorised functions over whole tables (numpy, scipy, pandas); nothing here knows
about files or Streamlit. Each follows DESIGN.md section 3 and is tested against an
independent reference (scipy, statsmodels or exact enumeration) in ``tests/test_stats.py``.
The methods and their references are in ``docs/methodology.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from equality_core.schema import NOT_DECLARED_VALUES

FLAGS = ("higher", "lower", "no difference", "too few", "comparator")
KINDS = ("proportion", "event")


@dataclass(frozen=True)
class FlagRule:
    """When a group is flagged as disproportionate (DESIGN.md section 3).

    A group is flagged ``higher`` or ``lower`` only when its Benjamini-Hochberg adjusted
    p-value is below ``alpha``, its relative rate lies outside the open ``tolerance``
    band (a ratio exactly on a bound is not flagged), and both it and the comparator
    have at least ``min_denominator`` people (or person-periods for event rates).
    """

    alpha: float = 0.05
    tolerance: tuple[float, float] = (0.8, 1.25)
    min_denominator: int = 30

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1, got {self.alpha!r}")
        low, high = self.tolerance
        if not 0 < low <= 1 <= high:
            raise ValueError(f"tolerance must satisfy 0 < low <= 1 <= high, got {self.tolerance!r}")
        if self.min_denominator < 1:
            raise ValueError(f"min_denominator must be at least 1, got {self.min_denominator!r}")

    def describe(self) -> str:
        """The rule in one plain-English sentence, shown on every page."""
        low, high = self.tolerance
        return (
            f"A group is flagged as having a disproportionately higher or lower rate than the "
            f"comparator group only when the difference is statistically significant (adjusted "
            f"p-value below {self.alpha:g}, Benjamini-Hochberg across the groups compared), the "
            f"relative rate is below {low:g} or above {high:g}, and both groups have at least "
            f"{self.min_denominator} people; otherwise it shows 'no difference' or 'too few'."
        )


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    return float(sps.norm.ppf(0.5 + confidence / 2))


def wilson_interval(
    numerator, denominator, *, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion ``numerator / denominator``.

    ``centre = (p + z^2/2n) / (1 + z^2/n)``, ``half-width = z sqrt(p(1-p)/n + z^2/4n^2) /
    (1 + z^2/n)`` (Wilson 1927; Newcombe 1998). Unlike the normal approximation it stays
    inside 0 to 1 and behaves with zero or small counts. A zero denominator gives NaN.
    """
    x = np.asarray(numerator, dtype=float)
    n = np.asarray(denominator, dtype=float)
    z = _z(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        denominator_ = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denominator_
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denominator_
    low = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
    high = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return low, high


def poisson_rate_interval(
    events, exposure, *, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval for a Poisson rate ``events / exposure``.

    ``low = chi2(alpha/2; 2k) / 2E``, ``high = chi2(1 - alpha/2; 2k + 2) / 2E`` (Garwood
    1936). With no events the lower limit is 0. A zero exposure gives NaN.
    """
    k = np.asarray(events, dtype=float)
    e = np.asarray(exposure, dtype=float)
    alpha = 1 - confidence
    _z(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(k > 0, sps.chi2.ppf(alpha / 2, 2 * k) / 2, 0.0) / e
        high = sps.chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2 / e
    bad = ~(e > 0)
    return np.where(bad, np.nan, low), np.where(bad, np.nan, high)


def benjamini_hochberg(p_values, *, groups=None) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values, within each family given by ``groups``.

    ``p_adj(i) = min_{j >= i} (m p(j) / j)`` over the family's p-values sorted ascending,
    capped at 1 (Benjamini and Hochberg 1995). NaN p-values are left out of the family
    (they do not count towards ``m``) and stay NaN.
    """
    p = np.asarray(p_values, dtype=float)
    labels = np.zeros(len(p), dtype=int) if groups is None else pd.factorize(pd.Series(groups))[0]
    frame = pd.DataFrame({"p": p, "family": labels, "position": np.arange(len(p))})
    frame = frame[frame["p"].notna()]
    if frame.empty:
        return np.full(len(p), np.nan)
    frame = frame.sort_values(["family", "p"], kind="stable")
    rank = frame.groupby("family").cumcount() + 1
    m = frame.groupby("family")["p"].transform("size")
    scaled = frame["p"] * m / rank
    # Running minimum from the largest p-value down, within each family.
    adjusted = scaled[::-1].groupby(frame["family"][::-1]).cummin()[::-1].clip(upper=1.0)
    out = np.full(len(p), np.nan)
    out[frame["position"].to_numpy()] = adjusted.to_numpy()
    return out


# --- Two-sided tests, vectorised ----------------------------------------------------------


def _binary_search(target, low, high, increasing_pmf):
    """Vectorised form of scipy's search for the binomial test's other tail.

    Finds, per row, ``i`` in ``[low, high]`` with ``a(i) <= target < a(i + 1)`` for the
    increasing function ``a`` (the pmf, or minus the pmf on the falling side).
    """
    lo, hi = low.astype(np.int64).copy(), high.astype(np.int64).copy()
    found = np.full(lo.shape, -1, dtype=np.int64)
    for _ in range(80):
        active = (lo < hi) & (found < 0)
        if not active.any():
            break
        mid = lo + (hi - lo) // 2
        value = increasing_pmf(mid)
        less = active & (value < target)
        more = active & (value > target)
        equal = active & ~less & ~more
        lo = np.where(less, mid + 1, lo)
        hi = np.where(more, mid - 1, hi)
        found = np.where(equal, mid, found)
    at_lo = increasing_pmf(lo)
    result = np.where(at_lo <= target, lo, lo - 1)
    return np.where(found >= 0, found, result)


def binomial_two_sided(successes, trials, probability) -> np.ndarray:
    """Two-sided exact binomial test p-values, vectorised (scipy's ``binomtest`` rule).

    The p-value sums the probabilities of every outcome no more likely than the one
    observed (the "minimum likelihood" rule of ``scipy.stats.binomtest``).
    """
    k = np.asarray(successes, dtype=np.int64)
    n = np.asarray(trials, dtype=np.int64)
    p = np.asarray(probability, dtype=float)
    k, n, p = np.broadcast_arrays(k, n, p)
    out = np.full(k.shape, np.nan)
    valid = (n > 0) & (p > 0) & (p < 1)
    out[(n > 0) & ((p == 0) | (p == 1))] = 1.0
    if not valid.any():
        return out
    k, n, p = k[valid], n[valid], p[valid]
    d = sps.binom.pmf(k, n, p)
    rerr = 1 + 1e-7
    result = np.ones(k.shape)
    lower = k < p * n
    upper = k > p * n
    if lower.any():
        kk, nn, pp, dd = k[lower], n[lower], p[lower], d[lower]
        ix = _binary_search(
            -dd * rerr,
            np.ceil(pp * nn),
            nn.astype(float),
            lambda i: -sps.binom.pmf(i, nn, pp),
        )
        y = nn - ix + (dd * rerr == sps.binom.pmf(ix, nn, pp)).astype(np.int64)
        result[lower] = sps.binom.cdf(kk, nn, pp) + sps.binom.sf(nn - y, nn, pp)
    if upper.any():
        kk, nn, pp, dd = k[upper], n[upper], p[upper], d[upper]
        ix = _binary_search(
            dd * rerr,
            np.zeros(kk.shape),
            np.floor(pp * nn),
            lambda i: sps.binom.pmf(i, nn, pp),
        )
        y = ix + 1
        result[upper] = sps.binom.cdf(y - 1, nn, pp) + sps.binom.sf(kk - 1, nn, pp)
    out[valid] = np.minimum(1.0, result)
    return out


def _fisher_two_sided(a, b, c, d) -> np.ndarray:
    """Fisher's exact test for 2x2 tables; one scipy call per distinct table."""
    tables = pd.DataFrame({"a": a, "b": b, "c": c, "d": d}).astype("int64")
    distinct = tables.drop_duplicates()
    p = {
        key: sps.fisher_exact([[key[0], key[1]], [key[2], key[3]]]).pvalue
        for key in distinct.itertuples(index=False, name=None)
    }
    return np.array([p[key] for key in tables.itertuples(index=False, name=None)], dtype=float)


def two_by_two_p_values(x1, n1, x0, n0) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided p-values for group (x1 of n1) against comparator (x0 of n0).

    Pearson's chi-square without continuity correction, or Fisher's exact test where
    any expected cell count is below 5. Returns the p-values and the test used per row.
    A table with an empty row or column carries no evidence: p = 1.
    """
    a = np.asarray(x1, dtype=float)
    b = np.asarray(n1, dtype=float) - a
    c = np.asarray(x0, dtype=float)
    d = np.asarray(n0, dtype=float) - c
    rows1, rows0 = a + b, c + d
    cols1, cols0 = a + c, b + d
    total = rows1 + rows0
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.stack(
            [rows1 * cols1, rows1 * cols0, rows0 * cols1, rows0 * cols0]
        ) / np.where(total > 0, total, np.nan)
        statistic = total * (a * d - b * c) ** 2 / (rows1 * rows0 * cols1 * cols0)
    degenerate = (rows1 == 0) | (rows0 == 0) | (cols1 == 0) | (cols0 == 0)
    small = (expected < 5).any(axis=0) & ~degenerate
    p = np.where(degenerate, 1.0, sps.chi2.sf(statistic, 1))
    test = np.where(small, "fisher", "chi-square").astype(object)
    if small.any():
        p[small] = _fisher_two_sided(a[small], b[small], c[small], d[small])
    return p, test


# --- Disparity table ----------------------------------------------------------------------

#: The columns of a disparity table that a report shows after each group's counts, in order
#: (the command line's output and the dashboard's tables and downloads).
REPORTED_COLUMNS = (
    "rate",
    "rate_low",
    "rate_high",
    "comparator",
    "relative_rate",
    "rr_low",
    "rr_high",
    "p_value",
    "p_adjusted",
    "flag",
)

_RESULT_COLUMNS = (
    "rate",
    "rate_low",
    "rate_high",
    "comparator",
    "comparator_rate",
    "relative_rate",
    "rr_low",
    "rr_high",
    "p_value",
    "p_adjusted",
    "test",
    "flag",
)


def _comparators(
    table: pd.DataFrame,
    family: list[str],
    declared: np.ndarray,
    comparator: str | Mapping[str, str] | None,
) -> pd.Series:
    """The comparator group of each family (index: family key)."""
    candidates = table[declared & (table["denominator"] > 0)]
    # Ties are broken by the group's name, so the answer never depends on row order.
    largest = candidates.sort_values(
        ["denominator", "group"], ascending=[False, True], kind="stable"
    )
    default = largest.groupby(family, sort=False, observed=True)["group"].first()
    if comparator is None:
        return default
    if isinstance(comparator, str):
        if comparator in NOT_DECLARED_VALUES:
            raise ValueError(f"comparator {comparator!r} stands for no declaration")
        present = table.loc[declared & (table["group"] == comparator)]
        if present.empty:
            raise ValueError(f"comparator group {comparator!r} is not present in the counts")
        has = present.groupby(family, sort=False, observed=True)["group"].first()
        return has.combine_first(default)
    chosen = default.copy()
    keys = default.index.to_frame(index=False)
    for characteristic, group in comparator.items():
        if group in NOT_DECLARED_VALUES:
            raise ValueError(f"comparator {group!r} for {characteristic} stands for no declaration")
        families = keys[keys["characteristic"] == characteristic]
        if families.empty:
            continue
        present = table.loc[
            (table["characteristic"] == characteristic) & (table["group"] == group), family
        ].drop_duplicates()
        if len(present) < len(families):
            raise ValueError(
                f"comparator group {group!r} for {characteristic} is not present in every "
                "analysis of the counts"
            )
        index = pd.MultiIndex.from_frame(families) if len(family) > 1 else families[family[0]]
        chosen.loc[index] = group
    return chosen


def disparity_table(
    counts: pd.DataFrame,
    *,
    by: Sequence[str] = (),
    kind: str | Mapping[str, str] = "proportion",
    comparator: str | Mapping[str, str] | None = None,
    rule: FlagRule | None = None,
) -> pd.DataFrame:
    """Rate, interval, relative rate, tests and flag of every group against its comparator.

    ``counts`` holds ``measure, characteristic, group, numerator, denominator`` and the
    ``by`` columns; each (measure, characteristic, *by) combination is one family,
    analysed on its own. For a proportion measure the rate is ``numerator / denominator``
    with a Wilson interval; for an event measure (``kind``) the numerator counts events,
    the denominator exposure (person-periods), and the interval is exact Poisson.

    The relative rate is the group's rate over the comparator's rate (1: the same rate;
    2: twice). Proportions: log (Katz) interval; when any cell of the 2x2 table is zero,
    0.5 is added to every cell (Haldane-Anscombe) for both the ratio and its interval.
    Events: the exact conditional interval and test (the group's share of all events is
    binomial given the total). Proportions are tested with Pearson's chi-square, or
    Fisher's exact test where any expected cell is below 5; p-values are adjusted by
    Benjamini-Hochberg within each family. Groups that stand for no declaration keep
    their rate but are never the comparator and never tested (flag missing).
    """
    rule = rule or FlagRule()
    required = {"measure", "characteristic", "group", "numerator", "denominator", *by}
    missing = required - set(counts.columns)
    if missing:
        raise ValueError(f"counts is missing column(s): {sorted(missing)}")
    table = counts.copy()
    for column in ("measure", "characteristic", "group"):
        table[column] = table[column].astype(str)
    family = ["measure", "characteristic", *by]
    x = table["numerator"].to_numpy(dtype=float)
    n = table["denominator"].to_numpy(dtype=float)
    if isinstance(kind, str):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        kinds = np.full(len(table), kind, dtype=object)
    else:
        kinds = table["measure"].map(lambda m: kind.get(m, "proportion")).to_numpy(dtype=object)
    event = kinds == "event"
    declared = ~table["group"].isin(NOT_DECLARED_VALUES).to_numpy()

    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, x / n, np.nan)
    low, high = wilson_interval(x, n)
    event_low, event_high = poisson_rate_interval(x, n)
    table["rate"] = rate
    table["rate_low"] = np.where(event, event_low, low)
    table["rate_high"] = np.where(event, event_high, high)

    for column in _RESULT_COLUMNS[3:]:
        table[column] = np.nan
    table["comparator"] = pd.Series(pd.NA, index=table.index, dtype="string")
    table["test"] = ""
    table["flag"] = pd.Series(pd.NA, index=table.index, dtype="string")
    if table.empty:
        return table

    chosen = _comparators(table, family, declared, comparator)
    if chosen.empty:
        return table
    chosen = chosen.rename("comparator").reset_index()
    base = table[[*family, "group", "numerator", "denominator"]]
    reference = base.merge(chosen, on=family, how="inner")
    reference = reference[reference["group"] == reference["comparator"]]
    reference = reference[[*family, "comparator", "numerator", "denominator"]].rename(
        columns={"numerator": "_x0", "denominator": "_n0"}
    )
    merged = table[family].merge(reference, on=family, how="left")
    merged.index = table.index
    table["comparator"] = merged["comparator"].astype("string")
    x0 = merged["_x0"].to_numpy(dtype=float)
    n0 = merged["_n0"].to_numpy(dtype=float)
    has_reference = ~np.isnan(n0)
    is_comparator = has_reference & (table["group"].to_numpy() == merged["comparator"].to_numpy())
    tested = has_reference & declared & ~is_comparator & (n > 0) & (n0 > 0)

    with np.errstate(invalid="ignore", divide="ignore"):
        table["comparator_rate"] = np.where(has_reference & (n0 > 0), x0 / n0, np.nan)
        # Proportions: Katz log interval, Haldane-Anscombe when any cell is zero.
        zero = (x == 0) | (x == n) | (x0 == 0) | (x0 == n0)
        a = np.where(zero, x + 0.5, x)
        n1c = np.where(zero, n + 1, n)
        c = np.where(zero, x0 + 0.5, x0)
        n0c = np.where(zero, n0 + 1, n0)
        rr_prop = (a / n1c) / (c / n0c)
        se = np.sqrt(1 / a - 1 / n1c + 1 / c - 1 / n0c)
        z = _z(0.95)
        prop_low, prop_high = rr_prop * np.exp(-z * se), rr_prop * np.exp(z * se)
        # Events: exact conditional interval from the Clopper-Pearson interval of the
        # group's share of all events, given the total.
        total = x + x0
        share_low = np.where(x > 0, sps.beta.ppf(0.025, x, total - x + 1), 0.0)
        share_high = np.where(total - x > 0, sps.beta.ppf(0.975, x + 1, total - x), 1.0)
        odds = n0 / n
        event_rr = (x / n) / (x0 / n0)
        event_low_rr = share_low / (1 - share_low) * odds
        event_high_rr = np.where(share_high < 1, share_high / (1 - share_high) * odds, np.inf)

    table["relative_rate"] = np.where(tested, np.where(event, event_rr, rr_prop), np.nan)
    table["rr_low"] = np.where(tested, np.where(event, event_low_rr, prop_low), np.nan)
    table["rr_high"] = np.where(tested, np.where(event, event_high_rr, prop_high), np.nan)
    table.loc[is_comparator, "relative_rate"] = 1.0

    p = np.full(len(table), np.nan)
    tests = np.full(len(table), "", dtype=object)
    proportion_rows = tested & ~event
    if proportion_rows.any():
        p_prop, test_prop = two_by_two_p_values(
            x[proportion_rows], n[proportion_rows], x0[proportion_rows], n0[proportion_rows]
        )
        p[proportion_rows] = p_prop
        tests[proportion_rows] = test_prop
    event_rows = tested & event
    if event_rows.any():
        trials = (x + x0)[event_rows]
        share = (n / (n + n0))[event_rows]
        p_event = binomial_two_sided(x[event_rows], trials, share)
        p[event_rows] = np.where(trials == 0, 1.0, p_event)
        tests[event_rows] = "exact poisson"
    table["p_value"] = p
    table["test"] = tests
    family_labels = pd.MultiIndex.from_frame(table[family].astype(str)).to_flat_index()
    table["p_adjusted"] = benjamini_hochberg(p, groups=family_labels)

    low_band, high_band = rule.tolerance
    # Rounded, so that a ratio on a bound up to floating-point error counts as on it.
    rr = np.round(table["relative_rate"].to_numpy(dtype=float), 10)
    enough = (n >= rule.min_denominator) & (n0 >= rule.min_denominator)
    significant = table["p_adjusted"].to_numpy(dtype=float) < rule.alpha
    outside = (rr < low_band) | (rr > high_band)
    flag = np.full(len(table), None, dtype=object)
    has_test = has_reference & declared & ~is_comparator
    flag[has_test] = "no difference"
    flag[has_test & significant & outside & (rr > 1) & enough] = "higher"
    flag[has_test & significant & outside & (rr < 1) & enough] = "lower"
    flag[has_test & ~enough] = "too few"
    flag[is_comparator] = "comparator"
    table["flag"] = pd.array(flag, dtype="string")
    return table


# --- Funnel plots -------------------------------------------------------------------------


def funnel_limits(
    *, national_rate: float, denominators, levels: Sequence[float] = (0.95, 0.998)
) -> pd.DataFrame:
    """Exact binomial control limits around ``national_rate`` for each denominator.

    For coverage ``c``, the limits are the binomial quantiles at ``(1 - c)/2`` and
    ``(1 + c)/2`` with Spiegelhalter's interpolation between adjacent counts, so the
    lines are smooth (Spiegelhalter 2005, Statistics in Medicine 24:1185). Columns:
    ``denominator``, then ``lower_95``, ``upper_95``, ``lower_998``, ``upper_998`` (named
    after the level) as proportions.
    """
    if not 0 <= national_rate <= 1:
        raise ValueError(f"national_rate must be between 0 and 1, got {national_rate!r}")
    n = np.asarray(denominators, dtype=float)
    out = pd.DataFrame({"denominator": n})
    for level in levels:
        if not 0 < level < 1:
            raise ValueError(f"levels must lie between 0 and 1, got {level!r}")
        name = f"{level * 100:g}".replace(".", "")
        for side, q in (("lower", (1 - level) / 2), ("upper", (1 + level) / 2)):
            with np.errstate(invalid="ignore", divide="ignore"):
                r = sps.binom.ppf(q, n, national_rate)
                above = sps.binom.cdf(r, n, national_rate)
                below = sps.binom.cdf(r - 1, n, national_rate)
                step = np.where(above > below, (above - q) / (above - below), 0.0)
                limit = np.clip((r - step) / n, 0, 1)
            out[f"{side}_{name}"] = np.where(n > 0, limit, np.nan)
    return out


def funnel_table(
    counts: pd.DataFrame, *, unit: str = "establishment", levels: Sequence[float] = (0.95, 0.998)
) -> pd.DataFrame:
    """Each unit's rate with funnel limits around the rate of all units together.

    ``position`` says where the unit lies: above or below the 99.8% or 95% limit, or
    within limits.
    """
    missing = {unit, "numerator", "denominator"} - set(counts.columns)
    if missing:
        raise ValueError(f"counts is missing column(s): {sorted(missing)}")
    table = counts.copy()
    total = table["denominator"].sum()
    national = float(table["numerator"].sum() / total) if total > 0 else np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        table["rate"] = table["numerator"] / table["denominator"]
    table["national_rate"] = national
    if np.isnan(national):
        table["position"] = "within limits"
        return table
    limits = funnel_limits(national_rate=national, denominators=table["denominator"], levels=levels)
    for column in limits.columns[1:]:
        table[column] = limits[column].to_numpy()
    rate = table["rate"].to_numpy(dtype=float)
    position = np.full(len(table), "within limits", dtype=object)
    if {"upper_95", "lower_95"} <= set(table.columns):
        position[rate > table["upper_95"].to_numpy()] = "above 95% limit"
        position[rate < table["lower_95"].to_numpy()] = "below 95% limit"
    if {"upper_998", "lower_998"} <= set(table.columns):
        position[rate > table["upper_998"].to_numpy()] = "above 99.8% limit"
        position[rate < table["lower_998"].to_numpy()] = "below 99.8% limit"
    table["position"] = position
    return table


# --- Representation against a benchmark ---------------------------------------------------


def representation(
    counts: pd.DataFrame, *, benchmarks: pd.DataFrame, by: Sequence[str] = ()
) -> pd.DataFrame:
    """Each group's share of the declared total against its benchmark share.

    ``share = count / total`` of declared groups within (characteristic, *by), with a
    Wilson interval; ``representation_ratio = share / benchmark_share`` (1: represented
    as in the benchmark population). A group is under-represented when its whole
    interval lies below the benchmark, over-represented when above it.
    """
    keys = ["characteristic", *by]
    table = counts[~counts["group"].isin(NOT_DECLARED_VALUES)].copy()
    table["total"] = table.groupby(keys, observed=True)["count"].transform("sum")
    with np.errstate(invalid="ignore", divide="ignore"):
        table["share"] = np.where(table["total"] > 0, table["count"] / table["total"], np.nan)
    table["share_low"], table["share_high"] = wilson_interval(table["count"], table["total"])
    reference = benchmarks[["characteristic", "group", "benchmark_share"]]
    table = table.merge(reference, on=["characteristic", "group"], how="left")
    with np.errstate(invalid="ignore", divide="ignore"):
        table["representation_ratio"] = table["share"] / table["benchmark_share"]
    table["under_represented"] = (table["share_high"] < table["benchmark_share"]).fillna(False)
    table["over_represented"] = (table["share_low"] > table["benchmark_share"]).fillna(False)
    return table


# --- Distributions, adjusted ratios, continuous measures ----------------------------------


@dataclass(frozen=True)
class DistributionTest:
    """Chi-square test of independence of groups (rows) and categories (columns)."""

    statistic: float
    dof: int
    p_value: float
    method: str


def distribution_test(table: pd.DataFrame) -> DistributionTest:
    """Pearson's chi-square test that the categories are distributed alike in every group.

    Rows or columns that are all zero are dropped first. When any expected count is
    below 5 the approximation is rough, and ``method`` says so.
    """
    values = np.asarray(table, dtype=float)
    values = values[values.sum(axis=1) > 0][:, values.sum(axis=0) > 0]
    if values.shape[0] < 2 or values.shape[1] < 2:
        return DistributionTest(0.0, 0, 1.0, "chi-square (nothing to compare)")
    result = sps.chi2_contingency(values, correction=False)
    method = "Chi-square test of independence"
    if (result.expected_freq < 5).any():
        method += " (some expected counts below 5: approximate)"
    return DistributionTest(float(result.statistic), int(result.dof), float(result.pvalue), method)


def mantel_haenszel_relative_rate(
    strata_counts: pd.DataFrame,
    *,
    strata: Sequence[str],
    comparator: str | None = None,
    by: Sequence[str] = (),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Mantel-Haenszel relative rate of each group against the comparator, over strata.

    ``RR_MH = sum(a n0 / N) / sum(c n1 / N)`` over strata with both groups present, where
    the group has ``a`` of ``n1`` and the comparator ``c`` of ``n0``, ``N = n1 + n0``;
    its log has the Greenland-Robins variance
    ``sum((n1 n0 (a + c) - a c N) / N^2) / (sum(a n0 / N) sum(c n1 / N))`` (Greenland and
    Robins 1985). With one stratum it is the crude ratio with the Katz interval. The crude
    ratio (all strata together) is returned beside it: a disparity that disappears once
    adjusted is explained by the strata (for example age mix).
    """
    keys = [*by, "characteristic"]
    data = strata_counts[~strata_counts["group"].isin(NOT_DECLARED_VALUES)].copy()
    data["group"] = data["group"].astype(str)
    totals = data.groupby([*keys, "group"], observed=True)["denominator"].sum().reset_index()
    if comparator is None:
        chosen = totals.sort_values("denominator", ascending=False).groupby(keys).first()
        chosen = chosen["group"].rename("comparator").reset_index()
    else:
        if not (data["group"] == comparator).any():
            raise ValueError(f"comparator group {comparator!r} is not present in the counts")
        chosen = data[keys].drop_duplicates().assign(comparator=comparator)
    data = data.merge(chosen, on=keys)
    reference = data[data["group"] == data["comparator"]][
        [*keys, *strata, "numerator", "denominator"]
    ].rename(columns={"numerator": "c", "denominator": "n0"})
    groups = data[data["group"] != data["comparator"]].rename(
        columns={"numerator": "a", "denominator": "n1"}
    )
    joined = groups.merge(reference, on=[*keys, *strata], how="inner")
    joined = joined[(joined["n1"] > 0) & (joined["n0"] > 0)]
    big_n = joined["n1"] + joined["n0"]
    joined = joined.assign(
        r=joined["a"] * joined["n0"] / big_n,
        s=joined["c"] * joined["n1"] / big_n,
        v=(
            joined["n1"] * joined["n0"] * (joined["a"] + joined["c"])
            - joined["a"] * joined["c"] * big_n
        )
        / big_n**2,
        used=1,
    )
    sums = (
        joined.groupby([*keys, "group", "comparator"], observed=True)[
            ["r", "s", "v", "used", "a", "n1", "c", "n0"]
        ]
        .sum()
        .reset_index()
    )
    z = _z(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        adjusted = sums["r"] / sums["s"]
        se = np.sqrt(sums["v"] / (sums["r"] * sums["s"]))
        crude = (sums["a"] / sums["n1"]) / (sums["c"] / sums["n0"])
    out = sums[[*keys, "group", "comparator"]].copy()
    out["crude_relative_rate"] = crude
    out["adjusted_relative_rate"] = adjusted.where(np.isfinite(adjusted))
    out["adj_low"] = (adjusted * np.exp(-z * se)).where(np.isfinite(se))
    out["adj_high"] = (adjusted * np.exp(z * se)).where(np.isfinite(se))
    out["strata_used"] = sums["used"].astype("int64")
    return out


def mean_difference(
    *, mean_a, sd_a, n_a, mean_b, sd_b, n_b, confidence: float = 0.95
) -> pd.DataFrame:
    """Difference in means ``a - b`` with a Welch interval, from summary statistics.

    ``se = sqrt(sd_a^2/n_a + sd_b^2/n_b)``, Welch-Satterthwaite degrees of freedom; the
    two-sided p-value is Welch's t-test (Welch 1947). Groups with fewer than two
    respondents give NaN.
    """
    ma, sa, na = (np.asarray(v, dtype=float) for v in (mean_a, sd_a, n_a))
    mb, sb, nb = (np.asarray(v, dtype=float) for v in (mean_b, sd_b, n_b))
    with np.errstate(invalid="ignore", divide="ignore"):
        va, vb = sa**2 / na, sb**2 / nb
        se = np.sqrt(va + vb)
        dof = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
        difference = ma - mb
        t = difference / se
        p = 2 * sps.t.sf(np.abs(t), dof)
        q = sps.t.ppf(0.5 + confidence / 2, dof)
    bad = (na < 2) | (nb < 2)
    return pd.DataFrame(
        {
            "difference": np.where(bad, np.nan, difference),
            "low": np.where(bad, np.nan, difference - q * se),
            "high": np.where(bad, np.nan, difference + q * se),
            "p_value": np.where(bad, np.nan, p),
            "dof": np.where(bad, np.nan, dof),
        }
    )


@dataclass(frozen=True)
class MedianComparison:
    """Medians of two samples and the two-sided Mann-Whitney U test between them."""

    median_a: float
    median_b: float
    statistic: float
    p_value: float


def compare_medians(values_a, values_b) -> MedianComparison:
    """Medians of two samples compared with the two-sided Mann-Whitney U test."""
    a = np.asarray(values_a, dtype=float)
    b = np.asarray(values_b, dtype=float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) == 0 or len(b) == 0:
        return MedianComparison(np.nan, np.nan, np.nan, np.nan)
    result = sps.mannwhitneyu(a, b, alternative="two-sided")
    return MedianComparison(
        float(np.median(a)), float(np.median(b)), float(result.statistic), float(result.pvalue)
    )


# --- Declaration ------------------------------------------------------------------------


def declaration_rates(
    frame: pd.DataFrame,
    *,
    characteristics: Sequence[str],
    by: Sequence[str] = (),
    target: float = 0.8,
    publish_threshold: float = 0.6,
) -> pd.DataFrame:
    """Share of records with a real declaration for each characteristic (by ``by``).

    A value is declared unless it is missing or one of "Not stated", "Refused",
    "Unknown", "Unrecorded". Wilson interval; ``meets_target`` against the 80% target;
    ``below_publication_threshold`` below 60%, the level under which HMPPS does not
    publish a staff characteristic.
    """
    parts = []
    for characteristic in characteristics:
        values = frame[characteristic]
        declared = values.notna() & ~values.astype("string").isin(NOT_DECLARED_VALUES)
        work = pd.DataFrame({"declared": declared.to_numpy(dtype="int64")}, index=frame.index)
        for column in by:
            work[column] = frame[column]
        if by:
            summed = work.groupby(list(by), observed=True)["declared"].agg(["sum", "size"])
            summed = summed.reset_index()
        else:
            summed = pd.DataFrame({"sum": [int(work["declared"].sum())], "size": [len(work)]})
        summed = summed.rename(columns={"sum": "declared", "size": "records"})
        summed.insert(len(by), "characteristic", characteristic)
        parts.append(summed)
    columns = [*by, "characteristic", "declared", "records"]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["declaration_rate"] = np.where(
            table["records"] > 0, table["declared"] / table["records"], np.nan
        )
    table["rate_low"], table["rate_high"] = wilson_interval(table["declared"], table["records"])
    table["meets_target"] = table["declaration_rate"] >= target
    table["below_publication_threshold"] = table["declaration_rate"] < publish_threshold
    return table
