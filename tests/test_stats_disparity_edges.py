"""The disparity table at its edges: zero cells, no events, missing counts, words, families.

Each figure is checked against an independent reference (statsmodels, scipy) or a
published figure, never against a copy of the engine's own formula.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps
from statsmodels.stats.contingency_tables import Table2x2
from statsmodels.stats.multitest import multipletests

from equality_core import disclosure, stats


def _counts(rows, measure: str = "use_of_force", **columns) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "measure": measure,
            "characteristic": "ethnic_group",
            "group": [r[0] for r in rows],
            "numerator": [r[1] for r in rows],
            "denominator": [r[2] for r in rows],
        }
    )
    return frame.assign(**columns)


# --- Haldane-Anscombe only where a numerator is zero ----------------------------------


def test_a_group_whose_count_equals_its_denominator_is_not_corrected() -> None:
    """Black 35 of 35 against White 790 of 1,000: RR 1.2658 (Katz 1.226 to 1.307), p 0.0024."""
    table = stats.disparity_table(
        _counts([("White", 790, 1000), ("Black", 35, 35)]), comparator="White"
    ).set_index("group")
    black = table.loc["Black"]
    # statsmodels' own Katz interval, without its zero shift (no numerator is zero).
    reference = Table2x2(np.array([[35, 0], [790, 210]]), shift_zeros=False)
    assert black["relative_rate"] == pytest.approx(reference.riskratio)
    assert (black["rr_low"], black["rr_high"]) == pytest.approx(reference.riskratio_confint())
    # The figures as published in the issue, to the places given.
    assert round(black["relative_rate"], 4) == 1.2658
    assert (round(black["rr_low"], 3), round(black["rr_high"], 3)) == (1.226, 1.307)
    chi_square = sps.chi2_contingency([[35, 0], [790, 210]], correction=False).pvalue
    assert black["test"] == "chi-square"
    assert black["p_value"] == pytest.approx(chi_square)
    assert round(black["p_value"], 4) == 0.0024
    assert black["flag"] == "higher"


def test_no_events_in_either_group_gives_no_ratio() -> None:
    """0 of 1,000 against 0 of 300: neither group has the outcome, so there is no ratio."""
    table = stats.disparity_table(
        _counts([("White", 0, 1000), ("Black", 0, 300)]), comparator="White"
    ).set_index("group")
    black = table.loc["Black"]
    assert np.isnan(black["relative_rate"])
    assert np.isnan(black["rr_low"]) and np.isnan(black["rr_high"])
    assert bool(black["comparator_has_none"])
    assert black["numerator"] == 0  # both counts kept: the page can say neither had any
    assert black["p_value"] == 1.0
    assert black["flag"] == "no difference"


def test_a_zero_in_the_group_alone_is_still_corrected() -> None:
    """Haldane-Anscombe where it is needed: 0 of 80 against 50 of 500, checked by statsmodels."""
    table = stats.disparity_table(_counts([("White", 50, 500), ("Mixed", 0, 80)]))
    row = table[table["group"] == "Mixed"].iloc[0]
    reference = Table2x2(np.array([[0.5, 80.5], [50.5, 450.5]]), shift_zeros=False)
    assert row["relative_rate"] == pytest.approx(reference.riskratio)
    assert (row["rr_low"], row["rr_high"]) == pytest.approx(reference.riskratio_confint())
    assert not bool(row["comparator_has_none"])


# --- No infinity: the comparator had none -------------------------------------------------


def test_events_against_a_comparator_with_none_give_no_ratio_and_no_infinity() -> None:
    """White prisoners had none; 7 events over 120 person-quarters for Black prisoners."""
    counts = _counts([("White", 0, 1000), ("Black", 7, 120)], measure="adjudications_per_100")
    table = stats.disparity_table(counts, kind="event", comparator="White")
    numbers = table.select_dtypes("number").to_numpy(dtype=float)
    assert not np.isinf(numbers).any()
    black = table.set_index("group").loc["Black"]
    assert np.isnan(black["relative_rate"]) and np.isnan(black["rr_high"])
    assert bool(black["comparator_has_none"])
    assert (black["numerator"], black["denominator"]) == (7, 120)
    # The exact conditional test and lower limit: 7 events of 7, expected share 120/1120.
    reference = sps.binomtest(7, 7, 120 / 1120)
    assert black["p_value"] == pytest.approx(reference.pvalue)
    share = reference.proportion_ci(confidence_level=0.95, method="exact").low
    assert black["rr_low"] == pytest.approx(share / (1 - share) * 1000 / 120)
    assert black["flag"] == "higher"  # by the test alone: no ratio to hold to the band


def test_proportions_against_a_comparator_with_none() -> None:
    """7 of 120 against 0 of 1,000: no ratio, Fisher's test, flagged higher."""
    table = stats.disparity_table(
        _counts([("White", 0, 1000), ("Black", 7, 120)]), comparator="White"
    ).set_index("group")
    black = table.loc["Black"]
    assert np.isnan(black["relative_rate"]) and np.isnan(black["rr_high"])
    reference = Table2x2(np.array([[7.5, 113.5], [0.5, 1000.5]]), shift_zeros=False)
    assert black["rr_low"] == pytest.approx(reference.riskratio_confint()[0])
    assert black["p_value"] == pytest.approx(sps.fisher_exact([[7, 113], [0, 1000]]).pvalue)
    assert bool(black["comparator_has_none"]) and black["flag"] == "higher"
    assert bool(table.loc["White", "comparator_has_none"])


def test_a_comparator_with_none_still_needs_the_minimum_numbers_and_significance() -> None:
    small = stats.disparity_table(
        _counts([("White", 0, 1000), ("Black", 2, 20)]), kind="event", comparator="White"
    ).set_index("group")
    assert small.loc["Black", "flag"] == "too few"
    weak = stats.disparity_table(
        _counts([("White", 0, 100), ("Black", 1, 100)]), kind="event", comparator="White"
    ).set_index("group")
    assert sps.binomtest(1, 1, 0.5).pvalue == 1.0
    assert weak.loc["Black", "flag"] == "no difference"


# --- Missing counts are never judged --------------------------------------------------------


def test_a_missing_numerator_gets_no_flag() -> None:
    counts = _counts([("White", 300, 3000), ("Black", np.nan, 600), ("Asian", 90, 600)])
    table = stats.disparity_table(counts).set_index("group")
    assert pd.isna(table.loc["Black", "flag"])
    assert np.isnan(table.loc["Black", "p_value"])
    # The hidden row stays out of the Benjamini-Hochberg family: Asian is adjusted alone.
    assert table.loc["Asian", "p_adjusted"] == pytest.approx(table.loc["Asian", "p_value"])


def test_rows_hidden_by_disclosure_control_read_c_after_hiding() -> None:
    counts = _counts([("White", 300, 3000), ("Black", np.nan, np.nan), ("Asian", 90, 600)])
    table = stats.disparity_table(counts).assign(suppressed=[False, True, False])
    shown = disclosure.hide_derived(table).set_index("group")
    assert shown.loc["Black", "flag"] == disclosure.SUPPRESSED
    assert shown.loc["Asian", "flag"] == "higher"


# --- Words: within band ----------------------------------------------------------------------


def test_significant_inside_the_band_is_within_band_not_no_difference() -> None:
    table = stats.disparity_table(
        _counts([("White", 10000, 100000), ("Asian", 11000, 100000), ("Black", 1010, 10000)]),
        comparator="White",
    ).set_index("group")
    reference = sps.chi2_contingency([[11000, 89000], [10000, 90000]], correction=False).pvalue
    assert reference < 1e-9
    assert table.loc["Asian", "relative_rate"] == pytest.approx(1.1)
    assert table.loc["Asian", "flag"] == "within band"
    assert table.loc["Black", "flag"] == "no difference"  # 10.1% against 10%: not significant
    assert "within band" in stats.FLAGS
    assert "within band" in stats.FlagRule().describe()


# --- The Benjamini-Hochberg family ---------------------------------------------------------


def test_family_columns_make_one_adjustment_across_measures() -> None:
    a = _counts([("White", 100, 1000), ("Black", 40, 250), ("Asian", 30, 250)], measure="m1")
    b = _counts([("White", 100, 1000), ("Black", 32, 250), ("Asian", 20, 250)], measure="m2")
    counts = pd.concat([a, b], ignore_index=True)
    default = stats.disparity_table(counts)
    for measure in ("m1", "m2"):
        rows = default[(default["measure"] == measure) & default["p_value"].notna()]
        expected = multipletests(rows["p_value"], method="fdr_bh")[1]
        np.testing.assert_allclose(rows["p_adjusted"], expected)
    wide = stats.disparity_table(counts, family=["characteristic"])
    tested = wide["p_value"].notna()
    expected = multipletests(wide.loc[tested, "p_value"], method="fdr_bh")[1]
    np.testing.assert_allclose(wide.loc[tested, "p_adjusted"], expected)
    pd.testing.assert_series_equal(wide["p_value"], default["p_value"])
    with pytest.raises(ValueError, match="period"):
        stats.disparity_table(counts, family=["period"])


# --- The right groups ------------------------------------------------------------------------


def test_a_comparator_absent_from_a_period_is_an_error_naming_it() -> None:
    q1 = _counts([("White", 100, 1000), ("Black", 40, 250)], period="2024-Q1")
    q2 = _counts([("Asian", 100, 1000), ("Black", 40, 250)], period="2024-Q2")
    counts = pd.concat([q1, q2], ignore_index=True)
    with pytest.raises(ValueError, match="2024-Q2"):
        stats.disparity_table(counts, by=["period"], comparator="White")
    with pytest.raises(ValueError, match="2024-Q2"):
        stats.disparity_table(counts, by=["period"], comparator={"ethnic_group": "White"})


def test_totals_and_non_declarations_are_never_groups() -> None:
    """Religion in the published 2008 prison population: "Not recorded" is no declaration.

    Source: tests/data/published/prison_population_2008.csv (House of Lords written answer
    HL89, 7 December 2009; see tests/data/published/README.md).
    """
    from tests.conftest import REPOSITORY

    published = pd.read_csv(
        REPOSITORY / "tests" / "data" / "published" / "prison_population_2008.csv"
    )
    religion = published[published["characteristic"] == "religion"]
    total = int(religion["count"].sum())
    counts = pd.DataFrame(
        {
            "measure": "share_of_population",
            "characteristic": "religion",
            "group": [*religion["group"], "Total"],
            "numerator": [*religion["count"], total],
            "denominator": total,
        }
    )
    table = stats.disparity_table(counts).set_index("group")
    assert pd.isna(table.loc["Not recorded", "flag"])
    assert np.isnan(table.loc["Not recorded", "p_value"])
    assert pd.isna(table.loc["Total", "flag"])
    assert set(table["comparator"]) == {"Anglican"}  # the largest group, not the total
    for label in ("Not known", "PREFER NOT TO SAY", "not recorded", "Unknown", ""):
        assert stats.is_not_declared([label])[0], label
    assert not stats.is_not_declared(["White", "No religion", "Other religion"]).any()
    assert stats.is_total(["Total", "All", "all prisoners"]).all()
    assert not stats.is_total(["Any other ethnic group", "Other"]).any()
    with pytest.raises(ValueError, match="Total"):
        stats.disparity_table(counts, comparator="Total")


def test_a_repeated_group_is_an_error_naming_it() -> None:
    counts = _counts([("White", 300, 3000), ("White", 300, 3000), ("Black", 120, 600)])
    with pytest.raises(ValueError, match="White"):
        stats.disparity_table(counts)


# --- Mantel-Haenszel: the crude ratio pools every stratum --------------------------------


def test_crude_relative_rate_uses_every_stratum() -> None:
    rows = [
        ("Disabled", 30, 100, "18-20"),
        ("Not disabled", 40, 200, "18-20"),
        ("Disabled", 20, 300, "30-39"),
        ("Not disabled", 60, 1200, "30-39"),
        ("Disabled", 5, 150, "50-59"),
        ("Not disabled", 10, 600, "50-59"),
        ("Disabled", 20, 118, "70 and over"),  # no one in the comparator group here
    ]
    data = pd.DataFrame(rows, columns=["group", "numerator", "denominator", "age_band"])
    data["characteristic"] = "disability"
    result = stats.mantel_haenszel_relative_rate(
        data, strata=["age_band"], comparator="Not disabled"
    ).iloc[0]
    pooled = Table2x2(np.array([[75, 668 - 75], [110, 2000 - 110]]))
    assert result["crude_relative_rate"] == pytest.approx(pooled.riskratio)
    assert round(result["crude_relative_rate"], 3) == 2.041
    assert result["strata_used"] == 3


def test_mantel_haenszel_ratios_are_never_infinite() -> None:
    """A comparator with no events in any stratum: no crude or adjusted ratio, not inf."""
    rows = [
        ("Disabled", 5, 100, "18-20"),
        ("Not disabled", 0, 200, "18-20"),
        ("Disabled", 3, 300, "30-39"),
        ("Not disabled", 0, 1200, "30-39"),
    ]
    data = pd.DataFrame(rows, columns=["group", "numerator", "denominator", "age_band"])
    data["characteristic"] = "disability"
    result = stats.mantel_haenszel_relative_rate(
        data, strata=["age_band"], comparator="Not disabled"
    )
    numbers = result.select_dtypes("number").to_numpy(dtype=float)
    assert not np.isinf(numbers).any()
    assert np.isnan(result["crude_relative_rate"].iloc[0])


counts_with_edges = st.tuples(st.integers(0, 60), st.integers(0, 60)).map(
    lambda t: (min(t), max(t))
)


@given(counts_with_edges, counts_with_edges, st.sampled_from(["proportion", "event"]))
def test_no_infinity_and_known_flags_whatever_the_counts(white, black, kind) -> None:
    """Zeros, groups whose count equals their denominator, empty groups: never inf."""
    table = stats.disparity_table(
        _counts([("White", *white), ("Black", *black)]), kind=kind, comparator="White"
    )
    numbers = table.select_dtypes("number").to_numpy(dtype=float)
    assert not np.isinf(numbers).any()
    assert set(table["flag"].dropna()) <= set(stats.FLAGS)
    row = table.set_index("group").loc["Black"]
    if not np.isnan(row["relative_rate"]):
        assert row["rr_low"] <= row["relative_rate"] + 1e-12
        assert row["relative_rate"] <= row["rr_high"] + 1e-9
    assert bool(row["comparator_has_none"]) == (white[0] == 0 and white[1] > 0)
