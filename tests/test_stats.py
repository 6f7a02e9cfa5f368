"""The statistics against independent references: scipy, statsmodels, exact enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps
from statsmodels.stats.contingency_tables import StratifiedTable, Table2x2
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from equality_core import stats

# --- Intervals ---------------------------------------------------------------------------


@pytest.mark.parametrize(("x", "n"), [(0, 10), (1, 10), (5, 10), (10, 10), (37, 412), (3, 3000)])
def test_wilson_matches_statsmodels(x: int, n: int) -> None:
    low, high = stats.wilson_interval(np.array([x]), np.array([n]))
    ref_low, ref_high = proportion_confint(x, n, alpha=0.05, method="wilson")
    assert low[0] == pytest.approx(ref_low, abs=1e-12)
    assert high[0] == pytest.approx(ref_high, abs=1e-12)


def test_wilson_of_an_empty_group_is_missing() -> None:
    low, high = stats.wilson_interval(np.array([0]), np.array([0]))
    assert np.isnan(low[0]) and np.isnan(high[0])


@pytest.mark.parametrize(("k", "exposure"), [(0, 50.0), (1, 10.0), (12, 400.0), (250, 1000.0)])
def test_poisson_interval_matches_the_exact_gamma_limits(k: int, exposure: float) -> None:
    """Reference: the exact limits are gamma quantiles (scipy.stats.gamma)."""
    low, high = stats.poisson_rate_interval(np.array([k]), np.array([exposure]))
    ref_low = 0.0 if k == 0 else sps.gamma.ppf(0.025, k) / exposure
    ref_high = sps.gamma.ppf(0.975, k + 1) / exposure
    assert low[0] == pytest.approx(ref_low, rel=1e-9, abs=1e-12)
    assert high[0] == pytest.approx(ref_high, rel=1e-9)


def test_poisson_interval_covers_at_least_95_percent_by_enumeration() -> None:
    """Exact enumeration: for a true mean of 4, the interval covers it in >= 95% of outcomes."""
    mean, exposure = 4.0, 1.0
    k = np.arange(0, 60)
    low, high = stats.poisson_rate_interval(k, np.full(k.shape, exposure))
    covered = (low <= mean) & (mean <= high)
    assert sps.poisson.pmf(k, mean)[covered].sum() >= 0.95


# --- Benjamini-Hochberg --------------------------------------------------------------------


@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=30))
def test_benjamini_hochberg_matches_statsmodels(p_values: list[float]) -> None:
    adjusted = stats.benjamini_hochberg(np.array(p_values))
    reference = multipletests(p_values, method="fdr_bh")[1]
    np.testing.assert_allclose(adjusted, reference, rtol=1e-12, atol=1e-15)


def test_benjamini_hochberg_adjusts_each_family_on_its_own() -> None:
    p = np.array([0.01, 0.02, 0.03, 0.5, 0.01, np.nan])
    families = ["a", "a", "a", "a", "b", "b"]
    adjusted = stats.benjamini_hochberg(p, groups=families)
    np.testing.assert_allclose(adjusted[:4], multipletests(p[:4], method="fdr_bh")[1])
    assert adjusted[4] == pytest.approx(0.01)  # alone in its family (the NaN does not count)
    assert np.isnan(adjusted[5])


# --- Two-by-two tests ----------------------------------------------------------------------


@given(
    st.integers(0, 60),
    st.integers(0, 60),
    st.integers(0, 60),
    st.integers(0, 60),
)
def test_p_values_match_scipy(a: int, b: int, c: int, d: int) -> None:
    p, test = stats.two_by_two_p_values([a], [a + b], [c], [c + d])
    table = np.array([[a, b], [c, d]])
    if (table.sum(axis=0) == 0).any() or (table.sum(axis=1) == 0).any():
        assert p[0] == 1.0
        return
    expected = sps.contingency.expected_freq(table)
    if (expected < 5).any():
        assert test[0] == "fisher"
        assert p[0] == pytest.approx(sps.fisher_exact(table).pvalue, rel=1e-9)
    else:
        assert test[0] == "chi-square"
        reference = sps.chi2_contingency(table, correction=False).pvalue
        assert p[0] == pytest.approx(reference, rel=1e-9)


def test_fishers_test_is_scipys_on_every_small_table_at_once() -> None:
    """Every 2x2 table with cells 0 to 7, and some large ones, in one vectorised call."""
    small = np.array(list(itertools.product(range(8), repeat=4)))
    rng = np.random.default_rng(11)
    large = rng.integers(0, 3_000, size=(300, 4)) * rng.integers(0, 2, size=(300, 4))
    tables = np.vstack([small, large, [[1, 0, 0, 1], [0, 0, 0, 0], [2_000, 2, 1, 1_500]]])
    ours = stats._fisher_two_sided(*tables.T)
    reference = [sps.fisher_exact(t.reshape(2, 2)).pvalue for t in tables]
    np.testing.assert_allclose(ours, reference, rtol=1e-9, atol=1e-300)


@given(st.integers(0, 200), st.integers(1, 200), st.floats(0.01, 0.99))
def test_vectorised_binomial_test_matches_scipy(k: int, n: int, p: float) -> None:
    k = min(k, n)
    ours = stats.binomial_two_sided(np.array([k]), np.array([n]), np.array([p]))[0]
    assert ours == pytest.approx(sps.binomtest(k, n, p).pvalue, rel=1e-7, abs=1e-12)


# --- Disparity table -----------------------------------------------------------------------


def _counts(rows: list[tuple[str, int, int]], measure: str = "use_of_force") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "measure": measure,
            "characteristic": "ethnic_group",
            "group": [r[0] for r in rows],
            "numerator": [r[1] for r in rows],
            "denominator": [r[2] for r in rows],
        }
    )


def test_relative_rate_and_interval_match_statsmodels() -> None:
    table = stats.disparity_table(
        _counts([("White", 120, 1000), ("Black", 60, 300), ("Asian", 25, 240)])
    )
    for group, (x, n) in {"Black": (60, 300), "Asian": (25, 240)}.items():
        row = table[table["group"] == group].iloc[0]
        reference = Table2x2(np.array([[x, n - x], [120, 880]]))
        assert row["relative_rate"] == pytest.approx(reference.riskratio)
        low, high = reference.riskratio_confint(alpha=0.05)
        assert row["rr_low"] == pytest.approx(low)
        assert row["rr_high"] == pytest.approx(high)
    assert table.loc[table["group"] == "White", "flag"].item() == "comparator"


def test_zero_cell_adds_a_half_to_every_cell() -> None:
    """Haldane-Anscombe: 0.5 added to each of the four cells, then the usual estimate."""
    table = stats.disparity_table(_counts([("White", 50, 500), ("Mixed", 0, 80)]))
    row = table[table["group"] == "Mixed"].iloc[0]
    reference = Table2x2(np.array([[0.5, 80.5], [50.5, 450.5]]), shift_zeros=False)
    assert row["relative_rate"] == pytest.approx(reference.riskratio)
    low, high = reference.riskratio_confint()
    assert (row["rr_low"], row["rr_high"]) == pytest.approx((low, high))


def test_event_rates_use_the_exact_conditional_test_and_interval() -> None:
    counts = _counts([("White", 40, 2000), ("Black", 30, 600)], measure="use_of_force_per_100")
    table = stats.disparity_table(counts, kind="event")
    row = table[table["group"] == "Black"].iloc[0]
    reference = sps.binomtest(30, 70, 600 / 2600)
    assert row["p_value"] == pytest.approx(reference.pvalue)
    share = reference.proportion_ci(confidence_level=0.95, method="exact")
    odds = 2000 / 600
    assert row["rr_low"] == pytest.approx(share.low / (1 - share.low) * odds)
    assert row["rr_high"] == pytest.approx(share.high / (1 - share.high) * odds)
    assert row["relative_rate"] == pytest.approx((30 / 600) / (40 / 2000))
    assert row["test"] == "exact poisson"


def test_flags_follow_the_rule() -> None:
    table = stats.disparity_table(
        _counts(
            [
                ("White", 1000, 10000),
                ("Black", 400, 2000),  # rate 0.2 vs 0.1: higher
                ("Asian", 108, 1000),  # within the band
                ("Mixed", 2, 20),  # too few
                ("Other ethnic group", 20, 500),  # 0.04: lower
                ("Not stated", 30, 100),  # never tested
            ]
        )
    ).set_index("group")
    assert table.loc["Black", "flag"] == "higher"
    assert table.loc["Asian", "flag"] == "no difference"
    assert table.loc["Mixed", "flag"] == "too few"
    assert table.loc["Other ethnic group", "flag"] == "lower"
    assert table.loc["White", "flag"] == "comparator"
    assert pd.isna(table.loc["Not stated", "flag"])
    assert np.isnan(table.loc["Not stated", "p_value"])


def test_tolerance_band_is_open() -> None:
    """A relative rate exactly on 1.25 is not flagged, however significant: within band."""
    table = stats.disparity_table(
        _counts([("White", 20000, 100000), ("Black", 25000, 100000)]), comparator="White"
    ).set_index("group")
    assert table.loc["Black", "relative_rate"] == pytest.approx(1.25)
    assert table.loc["Black", "p_adjusted"] < 1e-10
    assert table.loc["Black", "flag"] == "within band"


def test_comparator_is_the_largest_declared_group_unless_chosen() -> None:
    counts = _counts([("White", 10, 100), ("Black", 50, 400), ("Not stated", 90, 900)])
    assert set(stats.disparity_table(counts)["comparator"]) == {"Black"}
    chosen = stats.disparity_table(counts, comparator={"ethnic_group": "White"})
    assert set(chosen["comparator"]) == {"White"}
    with pytest.raises(ValueError, match="Asian"):
        stats.disparity_table(counts, comparator="Asian")


def test_each_family_is_analysed_on_its_own() -> None:
    a = _counts([("White", 100, 1000), ("Black", 40, 200)]).assign(period="2024-Q1")
    b = _counts([("White", 100, 1000), ("Black", 10, 200)]).assign(period="2024-Q2")
    both = stats.disparity_table(pd.concat([a, b], ignore_index=True), by=["period"])
    alone = stats.disparity_table(a, by=["period"])
    pd.testing.assert_series_equal(
        both.loc[both["period"] == "2024-Q1", "p_adjusted"].reset_index(drop=True),
        alone["p_adjusted"],
    )


group_counts = st.tuples(st.integers(0, 400), st.integers(0, 400)).map(lambda t: (min(t), max(t)))


@given(group_counts, group_counts, group_counts)
def test_properties_over_random_tables(white, black, asian) -> None:
    counts = _counts(
        [("White", *white), ("Black", *black), ("Asian", *asian)],
    )
    table = stats.disparity_table(counts)
    finite = table["relative_rate"].notna() & table["rr_low"].notna()
    rows = table[finite & (table["flag"] != "comparator")]
    assert (rows["rr_low"] <= rows["relative_rate"] + 1e-12).all()
    assert (rows["relative_rate"] <= rows["rr_high"] + 1e-9).all()
    ok = table["rate"].notna()
    assert (table.loc[ok, "rate_low"] <= table.loc[ok, "rate"] + 1e-12).all()
    assert (table.loc[ok, "rate"] <= table.loc[ok, "rate_high"] + 1e-12).all()
    small = table["denominator"] < 30
    assert set(table.loc[small & table["flag"].notna(), "flag"]) <= {"too few", "comparator"}
    # Row order does not change the answer.
    shuffled = stats.disparity_table(counts.iloc[::-1]).iloc[::-1]
    pd.testing.assert_frame_equal(table, shuffled)


@given(group_counts, group_counts)
def test_swapping_group_and_comparator_inverts_the_ratio(first, second) -> None:
    if first[0] in (0, first[1]) or second[0] in (0, second[1]):
        return  # zero cells are corrected, so the inverse is not exact
    counts = _counts([("White", *first), ("Black", *second)])
    forward = stats.disparity_table(counts, comparator="White").set_index("group")
    backward = stats.disparity_table(counts, comparator="Black").set_index("group")
    assert forward.loc["Black", "relative_rate"] == pytest.approx(
        1 / backward.loc["White", "relative_rate"]
    )
    assert forward.loc["Black", "rr_low"] == pytest.approx(1 / backward.loc["White", "rr_high"])


def test_larger_counts_narrow_the_interval() -> None:
    small = stats.disparity_table(_counts([("White", 10, 100), ("Black", 20, 100)]))
    large = stats.disparity_table(_counts([("White", 100, 1000), ("Black", 200, 1000)]))
    width = lambda t: float((t["rr_high"] / t["rr_low"]).dropna().iloc[0])  # noqa: E731
    assert width(large) < width(small)


def test_flag_rule_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError, match="alpha"):
        stats.FlagRule(alpha=1.5)
    with pytest.raises(ValueError, match="tolerance"):
        stats.FlagRule(tolerance=(1.2, 1.5))
    assert "1.25" in stats.FlagRule().describe()


# --- Funnel limits ----------------------------------------------------------------------


def test_funnel_limits_lie_between_adjacent_binomial_quantiles() -> None:
    n = np.array([20, 50, 137, 400, 2500])
    limits = stats.funnel_limits(national_rate=0.12, denominators=n)
    for level, name in ((0.95, "95"), (0.998, "998")):
        for side, q in (("lower", (1 - level) / 2), ("upper", (1 + level) / 2)):
            r = sps.binom.ppf(q, n, 0.12)
            values = limits[f"{side}_{name}"].to_numpy()
            assert ((r - 1) / n - 1e-12 <= values).all() and (values <= r / n + 1e-12).all()
    assert (limits["lower_998"] <= limits["lower_95"]).all()
    assert (limits["upper_95"] <= limits["upper_998"]).all()


def test_funnel_positions_by_enumeration() -> None:
    counts = pd.DataFrame(
        {
            "establishment": ["AAA", "BBB", "CCC", "DDD"],
            "numerator": [100, 10, 30, 260],
            "denominator": [1000, 200, 300, 1500],
        }
    )
    table = stats.funnel_table(counts).set_index("establishment")
    national = 400 / 3000
    assert table["national_rate"].iloc[0] == pytest.approx(national)
    # DDD's rate 17.3% on 1,500: far above the upper 99.8% binomial quantile.
    assert sps.binom.ppf(0.999, 1500, national) < 260
    assert table.loc["DDD", "position"] == "above 99.8% limit"
    assert table.loc["CCC", "position"] == "within limits"


# --- Representation, distributions, adjusted ratios, means ---------------------------------


def test_representation_against_the_census_benchmark() -> None:
    counts = pd.DataFrame(
        {
            "characteristic": "ethnic_group",
            "group": [
                "White",
                "Black, Black British, Black Welsh, Caribbean or African",
                "Not stated",
            ],
            "count": [950, 50, 100],
        }
    )
    benchmarks = pd.DataFrame(
        {
            "characteristic": ["ethnic_group", "ethnic_group"],
            "group": ["White", "Black, Black British, Black Welsh, Caribbean or African"],
            "benchmark_share": [0.807, 0.044],
        }
    )
    table = stats.representation(counts, benchmarks=benchmarks).set_index("group")
    assert "Not stated" not in table.index
    white = table.loc["White"]
    assert white["share"] == pytest.approx(0.95)
    assert white["representation_ratio"] == pytest.approx(0.95 / 0.807)
    low, high = proportion_confint(950, 1000, method="wilson")
    assert (white["share_low"], white["share_high"]) == pytest.approx((low, high))
    assert bool(white["over_represented"])


def test_distribution_test_matches_scipy() -> None:
    table = pd.DataFrame(
        {"Exceeded": [180, 20], "Achieved": [700, 90], "Must improve": [40, 12]},
        index=["White", "Black"],
    )
    result = stats.distribution_test(table)
    reference = sps.chi2_contingency(table.to_numpy(), correction=False)
    assert result.statistic == pytest.approx(reference.statistic)
    assert result.p_value == pytest.approx(reference.pvalue)
    assert result.dof == reference.dof


@pytest.mark.parametrize("shape", [(2, 2), (2, 5), (6, 3), (9, 4)])
def test_distribution_test_is_scipys_on_other_tables(shape) -> None:
    rng = np.random.default_rng(shape[0] * 10 + shape[1])
    for scale in (3, 40, 5_000):
        table = pd.DataFrame(rng.integers(1, scale, shape))
        result = stats.distribution_test(table)
        reference = sps.chi2_contingency(table.to_numpy(), correction=False)
        assert result.statistic == pytest.approx(reference.statistic, rel=1e-12)
        assert result.p_value == pytest.approx(reference.pvalue, rel=1e-10, abs=1e-300)
        assert result.dof == reference.dof
        assert ("below 5" in result.method) == bool((reference.expected_freq < 5).any())


def _strata() -> pd.DataFrame:
    rows = []
    for stratum, (a, n1, c, n0) in {
        "18-20": (30, 100, 40, 200),
        "30-39": (20, 300, 60, 1200),
        "50-59": (5, 150, 10, 600),
    }.items():
        rows.append(("Disabled", a, n1, stratum))
        rows.append(("Not disabled", c, n0, stratum))
    return pd.DataFrame(
        {
            "characteristic": "disability",
            "group": [r[0] for r in rows],
            "numerator": [r[1] for r in rows],
            "denominator": [r[2] for r in rows],
            "age_band": [r[3] for r in rows],
        }
    )


def test_mantel_haenszel_matches_statsmodels() -> None:
    data = _strata()
    result = stats.mantel_haenszel_relative_rate(
        data, strata=["age_band"], comparator="Not disabled"
    ).iloc[0]
    tables = []
    for _, rows in data.groupby("age_band"):
        d = rows.set_index("group")
        a, n1 = d.loc["Disabled", ["numerator", "denominator"]]
        c, n0 = d.loc["Not disabled", ["numerator", "denominator"]]
        tables.append(np.array([[a, n1 - a], [c, n0 - c]]))
    reference = StratifiedTable(tables)
    assert result["adjusted_relative_rate"] == pytest.approx(reference.riskratio_pooled)
    assert result["strata_used"] == 3
    crude = (55 / 550) / (110 / 2000)
    assert result["crude_relative_rate"] == pytest.approx(crude)


def test_mantel_haenszel_with_one_stratum_is_the_katz_interval() -> None:
    data = _strata()
    one = data[data["age_band"] == "18-20"]
    result = stats.mantel_haenszel_relative_rate(
        one, strata=["age_band"], comparator="Not disabled"
    ).iloc[0]
    reference = Table2x2(np.array([[30, 70], [40, 160]]))
    low, high = reference.riskratio_confint()
    assert result["adjusted_relative_rate"] == pytest.approx(reference.riskratio)
    assert (result["adj_low"], result["adj_high"]) == pytest.approx((low, high))


def _many_strata(seed: int) -> pd.DataFrame:
    """Counts of three measures, three groups and "Unknown" over two stratum columns.

    Some cells are missing, some empty, some have no events; the measures' categories are
    not in the order of their text, as a measure column read from a contract is not.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for measure, group, band, place in itertools.product(
        ["use_of_force", "adjudications", "rotl"],
        ["Disabled", "Not disabled", "Other", "Unknown"],
        ["18-20", "21-29", "30-39"],
        ["AAA", "BBB", "CCC"],
    ):
        if rng.random() < 0.25:
            continue
        denominator = int(rng.integers(0, 60))
        numerator = int(rng.integers(0, denominator + 1))
        rows.append((measure, group, band, place, numerator, denominator))
    data = pd.DataFrame(
        rows, columns=["measure", "group", "age_band", "establishment", "numerator", "denominator"]
    )
    data["measure"] = data["measure"].astype(
        pd.CategoricalDtype(["use_of_force", "adjudications", "rotl"])
    )
    data["characteristic"] = "disability"
    return data


@pytest.mark.parametrize("seed", range(6))
def test_mantel_haenszel_over_many_strata_matches_statsmodels(seed: int) -> None:
    """Every measure and group against the comparator, each checked on its own strata."""
    data = _many_strata(seed)
    strata = ["age_band", "establishment"]
    result = stats.mantel_haenszel_relative_rate(
        data, strata=strata, comparator="Not disabled", by=["measure"]
    )
    expected_rows = []
    for measure in data["measure"].cat.categories:
        rows = data[data["measure"] == measure]
        reference = rows[rows["group"] == "Not disabled"].set_index(strata)
        for group in sorted({"Disabled", "Other"} & set(rows["group"])):
            mine = rows[rows["group"] == group].set_index(strata)
            both = mine.join(reference, how="inner", suffixes=("_a", "_c"))
            both = both[(both["denominator_a"] > 0) & (both["denominator_c"] > 0)]
            if both.empty:
                continue
            expected_rows.append((measure, group))
            tables = [
                np.array(
                    [
                        [r.numerator_a, r.denominator_a - r.numerator_a],
                        [r.numerator_c, r.denominator_c - r.numerator_c],
                    ]
                )
                for r in both.itertuples()
            ]
            row = result[(result["measure"] == measure) & (result["group"] == group)].iloc[0]
            assert row["strata_used"] == len(tables)
            pooled = StratifiedTable(tables).riskratio_pooled
            if np.isfinite(pooled) and pooled > 0:
                assert row["adjusted_relative_rate"] == pytest.approx(pooled, rel=1e-9)
            crude = (mine["numerator"].sum() / mine["denominator"].sum()) / (
                reference["numerator"].sum() / reference["denominator"].sum()
            )
            if np.isfinite(crude) and crude > 0:
                assert row["crude_relative_rate"] == pytest.approx(crude, rel=1e-9)
    # One row for each measure and group with a stratum both hold, in the measures' order.
    assert list(zip(result["measure"], result["group"], strict=True)) == expected_rows
    assert set(result["comparator"]) <= {"Not disabled"}
    assert isinstance(result["measure"].dtype, pd.CategoricalDtype)


def test_mantel_haenszel_adds_rows_of_one_stratum_first() -> None:
    data = _strata()
    first = data.iloc[[0]].assign(numerator=10, denominator=40)
    rest = data.iloc[[0]].assign(numerator=20, denominator=60)  # together: 30 of 100
    split = pd.concat([first, rest, data.iloc[1:]], ignore_index=True)
    whole = stats.mantel_haenszel_relative_rate(
        data, strata=["age_band"], comparator="Not disabled"
    )
    parts = stats.mantel_haenszel_relative_rate(
        split, strata=["age_band"], comparator="Not disabled"
    )
    pd.testing.assert_frame_equal(whole, parts)


def test_mean_difference_matches_welch_from_summaries() -> None:
    result = stats.mean_difference(
        mean_a=[55.2], sd_a=[17.0], n_a=[420], mean_b=[61.4], sd_b=[15.5], n_b=[3900]
    ).iloc[0]
    reference = sps.ttest_ind_from_stats(55.2, 17.0, 420, 61.4, 15.5, 3900, equal_var=False)
    assert result["difference"] == pytest.approx(-6.2)
    assert result["p_value"] == pytest.approx(reference.pvalue)
    se = np.sqrt(17.0**2 / 420 + 15.5**2 / 3900)
    q = sps.t.ppf(0.975, result["dof"])
    assert result["low"] == pytest.approx(-6.2 - q * se)


def test_medians_compared_with_mann_whitney() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.lognormal(3.5, 0.6, 80), rng.lognormal(3.2, 0.6, 300)
    result = stats.compare_medians(a, b)
    assert result.median_a == pytest.approx(np.median(a))
    assert result.p_value == pytest.approx(sps.mannwhitneyu(a, b).pvalue)


@pytest.mark.parametrize(
    ("sizes", "days"),
    [
        ((40, 300), 60),
        ((9, 12), 5),
        ((3, 500), 400),
        ((5, 7), 1_000_000),
        ((1, 1), 3),
        ((30, 30), 1),
    ],
)
def test_medians_compared_as_scipy_compares_them(sizes, days) -> None:
    """Whole days tie often (the normal approximation with tie correction); samples of 8
    or fewer without ties take scipy's exact distribution; one value for all gives p = 1."""
    rng = np.random.default_rng(sum(sizes) + days)
    a, b = (rng.integers(0, days, size) + shift for size, shift in zip(sizes, (2, 0), strict=True))
    result = stats.compare_medians(a, b)
    reference = sps.mannwhitneyu(a, b, alternative="two-sided")
    assert result.statistic == pytest.approx(reference.statistic, rel=1e-12)
    np.testing.assert_allclose(result.p_value, reference.pvalue, rtol=1e-10, equal_nan=True)
    assert (result.median_a, result.median_b) == (np.median(a), np.median(b))


# --- Declaration ------------------------------------------------------------------------


def test_declaration_rate_on_the_published_2008_prison_population() -> None:
    """Published: 83,194 prisoners, of whom 312 'Not stated' and 36 'Unrecorded' (HL89, 2009).

    The 244 records still coded to 1991 categories are declared (an ethnic group was
    recorded), so 83,194 - 348 = 82,846 declared.
    """
    from tests.conftest import REPOSITORY

    published = pd.read_csv(
        REPOSITORY / "tests" / "data" / "published" / "prison_population_2008.csv"
    )
    ethnicity = published[published["characteristic"] == "ethnicity"]
    records = ethnicity.loc[ethnicity.index.repeat(ethnicity["count"]), ["group"]]
    table = stats.declaration_rates(
        records.rename(columns={"group": "ethnic_group"}), characteristics=["ethnic_group"]
    ).iloc[0]
    assert table["records"] == 83_194
    assert table["declared"] == 82_846
    assert table["declaration_rate"] == pytest.approx(82_846 / 83_194)
    assert bool(table["meets_target"])


def test_equal_sizes_make_the_first_group_by_name_the_comparator() -> None:
    counts = _counts([("White", 10, 300), ("Black", 20, 300), ("Asian", 5, 100)])
    for order in (counts, counts.iloc[::-1]):
        table = stats.disparity_table(order)
        assert set(table["comparator"]) == {"Black"}


def test_a_table_whose_index_repeats_gives_the_same_figures() -> None:
    counts = _counts([("White", 120, 1000), ("Black", 60, 300), ("Asian", 25, 240)])
    plain = stats.disparity_table(counts)
    repeated = stats.disparity_table(counts.set_axis([7, 7, 7]))
    assert list(repeated.index) == [7, 7, 7]
    pd.testing.assert_frame_equal(plain, repeated.reset_index(drop=True), check_exact=True)


def test_a_chosen_comparator_missing_from_one_period_names_that_period() -> None:
    counts = pd.concat(
        [
            _counts([("White", 120, 1000), ("Black", 60, 300)]).assign(period="2024-Q1"),
            _counts([("Black", 50, 280), ("Asian", 9, 90)]).assign(period="2024-Q2"),
        ],
        ignore_index=True,
    )
    with pytest.raises(
        stats.ComparatorAbsentError, match=r"absent from 1 of 2 analyses: .*period 2024-Q2"
    ):
        stats.disparity_table(counts, by=["period"], comparator="White")
