"""Findings as data: every headline says only what its own table shows.

The tables are made by the statistics engine (exact figures, ``protection=None``) from
hand-built counts, and the headline is checked against the table it sits on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from equality_core import analysis, findings, stats
from equality_core.measures import MEASURES

BLACK = "Black, Black British, Black Welsh, Caribbean or African"
ASIAN = "Asian, Asian British or Asian Welsh"
MIXED = "Mixed or Multiple ethnic groups"


def _table(rows: list[tuple[str, int, int]], *, measure: str = "use_of_force") -> pd.DataFrame:
    counts = pd.DataFrame(rows, columns=["group", "numerator", "denominator"])
    counts.insert(0, "characteristic", "ethnic_group")
    counts.insert(0, "measure", measure)
    return analysis.protected_disparity_table(
        counts,
        protection=None,
        kind=MEASURES[measure].kind if measure in MEASURES else "proportion",
    )


def _view(measure: str = "use_of_force", place: str = "HMP Caldwick") -> findings.View:
    return findings.View(MEASURES[measure], "ethnic_group", place, "Twelve months to 2025-Q4")


def test_a_significant_difference_inside_the_band_is_never_no_difference() -> None:
    """Treated with respect: Black 63.1% against White 72.0%, ratio 0.88, significant."""
    table = _table([("White", 7200, 10000), (BLACK, 2524, 4000)])
    black = table.set_index("group").loc[BLACK]
    assert black["flag"] == "within band" and black["p_adjusted"] < 0.05
    headline = findings.relative_rate_headline(table, _view())
    assert "within the tolerance band" in headline
    assert "no group differs" not in headline


def test_a_place_wholly_hidden_gets_no_finding_title() -> None:
    table = _table([("White", 2, 8), (BLACK, 1, 3)])
    table["suppressed"] = True
    finding = findings.relative_rates(table, None, _view())
    assert finding.headline == "HMP Caldwick has too few records to show force used by ethnic group"
    assert findings.rates_headline(table, _view()).startswith("HMP Caldwick has too few records")
    assert finding.empty is not None


def test_no_infinity_in_words_when_the_comparator_had_none() -> None:
    table = _table(
        [("White", 0, 400), (BLACK, 7, 120)], measure="use_of_force_per_100"
    )  # an event measure: the comparator had no events
    finding = findings.relative_rates(table, None, _view("use_of_force_per_100"))
    words = " ".join([finding.headline, finding.description, *finding.notes])
    assert "inf" not in words.replace("information", "")
    assert "had none" in words and "7 of 120" in words


@pytest.mark.parametrize(
    ("measure", "flag", "words"),
    [
        ("use_of_force", "higher", "higher (adverse)"),
        ("use_of_force", "lower", "lower (favourable)"),
        ("rotl_granted", "lower", "lower (adverse)"),
        ("rotl_granted", "higher", "higher (favourable)"),
        ("adjustment_requested", "higher", "higher"),
        ("use_of_force", "within band", "significant, within the tolerance band"),
        ("use_of_force", "no difference", "no significant difference"),
    ],
)
def test_flags_read_with_the_measure_direction(measure: str, flag: str, words: str) -> None:
    assert findings.flag_words(flag, MEASURES[measure].direction) == words


def test_every_measure_has_a_direction() -> None:
    directions = {m.name: m.direction for m in MEASURES.values()}
    assert set(directions.values()) == {"adverse", "favourable", "neutral"}
    assert directions["use_of_force"] == "adverse"
    assert directions["rotl_granted"] == "favourable"
    assert directions["adjustment_requested"] == "neutral"


def test_a_flagged_headline_names_the_group_the_ratio_and_the_direction() -> None:
    table = _table([("White", 500, 5000), (BLACK, 300, 1800), (ASIAN, 110, 1000)])
    headline = findings.relative_rate_headline(table, _view())
    black = table.set_index("group").loc[BLACK]
    assert black["flag"] == "higher"
    assert headline.startswith(f"Force used: Black rate {black['relative_rate']:.2f} times White")
    assert "higher (adverse)" in headline


def test_populations_with_different_comparators_are_named() -> None:
    here = _table([(BLACK, 300, 1800), ("White", 100, 900)])  # Black is largest here
    national = _table([("White", 500, 5000), (BLACK, 300, 1800)])
    finding = findings.relative_rates(here, national, _view())
    assert any("Comparators differ" in n and "against" in n for n in finding.notes)


@given(
    st.lists(
        st.tuples(st.integers(0, 300), st.integers(30, 600)).map(lambda t: (min(t), t[1])),
        min_size=2,
        max_size=5,
    )
)
def test_no_difference_is_said_only_when_the_table_shows_none(groups) -> None:
    names = ["White", BLACK, ASIAN, MIXED, "Other ethnic group"]
    table = _table([(names[i], x, n) for i, (x, n) in enumerate(groups)])
    headline = findings.relative_rate_headline(table, _view())
    declared = table[table["flag"].notna()]
    if "no group differs significantly" in headline:
        assert not declared["flag"].isin(["higher", "lower", "within band"]).any()
        assert not findings.interval_excludes_parity(declared).any()
    if declared["flag"].isin(["higher", "lower"]).any():
        # A flag is named: with its ratio, or with the comparator's none.
        assert " times " in headline or " none, " in headline


def test_rates_headline_gives_the_range_of_declared_groups() -> None:
    table = pd.DataFrame(
        {"group": ["White", BLACK, "Refused"], "rate": [0.091, 0.162, 0.5], "suppressed": False}
    )
    view = _view(place="England and Wales")
    assert findings.rates_headline(table, view) == (
        "Force used: from 9.1% (White) to 16.2% (Black) in England and Wales"
    )
    events = findings.rates_headline(table.head(1), _view("adjudications_per_100"))
    assert events == "Adjudications charged per 100 prisoners: 9.1 per 100 in every group shown"


def test_funnel_description_names_the_furthest_units_first() -> None:
    table = pd.DataFrame(
        {
            "establishment": ["AAA", "BBB", "CCC", "DDD"],
            "rate": [0.30, 0.12, 0.20, 0.02],
            "national_rate": [0.2] * 4,
            "position": [
                "above 99.8% limit",
                "below 95% limit",
                "within limits",
                "below 99.8% limit",
            ],
        }
    )
    words = findings.describe_funnel(table, unit="establishment", names={"DDD": "HMP Dee"}, limit=1)
    assert words.startswith("3 of 4 lie outside the 95% control limits (1 above, 2 below)")
    assert "HMP Dee 2.0%" in words and "AAA" not in words and "1 more in the table" in words


def test_a_hidden_chosen_establishment_is_said_so_on_the_funnel_plot() -> None:
    table = pd.DataFrame(
        {
            "establishment": ["AAA", "BBB"],
            "rate": [0.3, np.nan],
            "national_rate": [0.2, np.nan],
            "position": ["within limits", "[c]"],
            "suppressed": [False, True],
        }
    )
    headline = findings.funnel_headline(
        table, view=_view(), highlight="BBB", unit="establishment", names={"BBB": "HMP Bee"}
    )
    assert headline == "HMP Bee has too few records to place on the funnel plot ([c])"


def _matrix_of(
    table: pd.DataFrame, *, place: str = "England and Wales", within: str = ""
) -> findings.Finding:
    """The matrix finding of ``table`` by ethnic group, twelve months to 2025-Q4."""
    return findings.matrix(
        table,
        characteristic="ethnic_group",
        place=place,
        period="Twelve months to 2025-Q4",
        within=within,
        measures=MEASURES,
    )


def test_matrix_headline_counts_the_flags_its_table_holds_and_names_them() -> None:
    rows = [("White", 500, 5000), (BLACK, 300, 1800), (ASIAN, 100, 1000)]
    table = pd.concat([_table(rows), _table(rows, measure="segregated")], ignore_index=True).assign(
        measure_label=lambda f: f["measure"].map(lambda m: MEASURES[m].label)
    )
    finding = _matrix_of(table)
    flagged = table[table["flag"].isin(["higher", "lower"])]
    higher = int((flagged["flag"] == "higher").sum())
    assert finding.headline.startswith(f"{len(flagged)} disproportionate outcome(s)")
    assert f"{higher} higher" in finding.headline
    for cell in findings.flagged_cells(table, MEASURES):
        assert cell in finding.description
    assert set(finding.drawn["meaning"]) >= {"adverse", "comparator"}


def test_the_matrix_description_names_the_period_and_the_group_looked_within() -> None:
    # The description is the chart's screen-reader text and caption: it must say which
    # population the flags are for, as the subtitle does, not only the place.
    rows = [("White", 500, 5000), (BLACK, 300, 1800)]
    table = _table(rows).assign(
        measure_label=lambda f: f["measure"].map(lambda m: MEASURES[m].label)
    )
    finding = _matrix_of(table, place="HMP Caldwick (CAL)", within=", among age band: 18-20")
    assert finding.description.startswith(
        "Equality Monitoring Tool by ethnic group, HMP Caldwick (CAL), Twelve months to "
        "2025-Q4, among age band: 18-20. Flagged cells: "
    )


def _null_pages(pages: int, family: list[str] | None, seed: int = 11) -> float:
    """Share of pages with any flag when nothing differs: 11 measures, 5 groups at 15%."""
    rng = np.random.default_rng(seed)
    sizes = {"White": 400, BLACK: 120, ASIAN: 60, MIXED: 45, "Other ethnic group": 35}
    measures = [m.name for m in MEASURES.values() if m.kind == "proportion"][:11]
    rows = [
        (page, measure, group, int(rng.binomial(size, 0.15)), size)
        for page in range(pages)
        for measure in measures
        for group, size in sizes.items()
    ]
    counts = pd.DataFrame(rows, columns=["page", "measure", "group", "numerator", "denominator"])
    counts["characteristic"] = "ethnic_group"
    table = stats.disparity_table(counts, by=["page"], family=family)
    flagged = table["flag"].isin(["higher", "lower"])
    return float(flagged.groupby(table["page"]).any().mean())


def test_under_no_difference_at_most_five_per_cent_of_pages_show_a_flag() -> None:
    """The family is the whole page (every measure and group), as the matrix makes it.

    With a family per measure, as before, about 40% of such pages showed a false flag.
    """
    pages = 600
    per_page = _null_pages(pages, family=["page", "characteristic"])
    assert per_page <= 0.05 + 2 * (0.05 * 0.95 / pages) ** 0.5, per_page
    per_measure = _null_pages(pages, family=None)
    assert per_measure > 0.2, per_measure


def _small_matrix(small_demo, characteristic: str, comparator: str | None = None):
    """The small demo's whole matrix for twelve months to 2025-Q4, unprotected."""
    from equality_core import data

    frames = {name: data.load_validated(small_demo, name) for name in analysis.MATRIX_EXTRACTS}
    return analysis.emt_matrix(
        frames,
        selection=analysis.Selection("rolling", "2025-Q4"),
        characteristic=characteristic,
        protection=None,
        comparator=comparator,
    )


def test_the_matrix_is_one_family_per_page(small_demo) -> None:
    """emt_matrix adjusts every cell of the page together, as the simulation assumes."""
    table = _small_matrix(small_demo, "ethnic_group")
    tested = table.dropna(subset=["p_value"])
    expected = stats.benjamini_hochberg(tested["p_value"].to_numpy())
    assert np.allclose(tested["p_adjusted"].to_numpy(), expected)
    assert tested["extract"].nunique() == len(analysis.MATRIX_EXTRACTS)


def test_hidden_grades_stay_in_the_table_and_are_named() -> None:
    """The senior grades, where under-representation was planted, were dropped silently."""
    grades = ["Band 3", "Band 10", "Senior Civil Service"]
    table = pd.DataFrame(
        {
            "grade": ["All grades", *grades],
            "group": BLACK,
            "characteristic": "ethnic_group",
            "count": [120.0, 100.0, np.nan, np.nan],
            "total": [2000.0, 1500.0, np.nan, np.nan],
            "share": [0.06, 0.0667, np.nan, np.nan],
            "share_low": [0.05, 0.055, np.nan, np.nan],
            "share_high": [0.071, 0.08, np.nan, np.nan],
            "benchmark_share": 0.044,
            "representation_ratio": [1.36, 1.5, np.nan, np.nan],
            "under_represented": False,
            "suppressed": [False, False, True, True],
        }
    )
    finding = findings.representation(
        table,
        characteristic="ethnic_group",
        group=BLACK,
        place="HMP Caldwick",
        period="2024-25",
        grades=grades,
        benchmark_source="Census 2021",
    )
    assert list(finding.drawn["grade"]) == ["All grades", *grades]
    assert any("Band 10, Senior Civil Service" in note for note in finding.notes)
    assert "Band 10 [c]" in finding.description
    assert finding.headline.endswith("any of the 1 grade shown in HMP Caldwick")


def _disabled_nationally(crude: pd.DataFrame, adjusted: pd.DataFrame) -> findings.Finding:
    """Objective 5's finding for disabled prisoners in England and Wales."""
    return findings.crude_and_adjusted(
        crude,
        adjusted,
        group="Disabled",
        place="England and Wales",
        period="2025-Q4",
        within="",
        measures=MEASURES,
        rule=stats.FlagRule(),
    )


def test_crude_figures_stand_alone_when_nothing_could_be_adjusted(small_demo) -> None:
    """A view with no prisoner records to adjust (found by the 20-session load test)."""
    crude = _small_matrix(small_demo, "disability", "Not disabled")
    prisoner_measures = {m.name: m for m in MEASURES.values() if m.extract == "prisoner_periods"}
    crude = crude[crude["measure"].isin(list(prisoner_measures))]
    for nothing in (pd.DataFrame(), crude.iloc[:0]):
        finding = _disabled_nationally(crude, nothing)
        assert len(finding.table) == (crude["group"] == "Disabled").sum() > 0
        assert finding.table["adjusted_relative_rate"].isna().all()


def test_adjusted_figures_sit_beside_their_own_measure_and_group(small_demo) -> None:
    # The adjusted ratio of each measure is looked up by measure for the group: in
    # another order than the crude rows, with another group's rows among them, a
    # measure without one (NaN), and a hidden crude row (nothing beside a [c]).
    crude = _small_matrix(small_demo, "disability", "Not disabled")
    crude = crude[crude["extract"] == "prisoner_periods"].reset_index(drop=True)
    crude.loc[crude.index[crude["group"] == "Disabled"][1], "suppressed"] = True
    disabled = crude[crude["group"] == "Disabled"]
    measures = list(disabled["measure"])
    rng = np.random.default_rng(3)
    adjusted = pd.DataFrame(
        {
            "measure": measures[:0:-1] + measures[1:],  # the first measure has none
            "group": ["Disabled"] * (len(measures) - 1) + ["Not disabled"] * (len(measures) - 1),
            "adjusted_relative_rate": rng.uniform(0.5, 2, 2 * (len(measures) - 1)),
        }
    )
    adjusted["adj_low"] = adjusted["adjusted_relative_rate"] * 0.8
    adjusted["adj_high"] = adjusted["adjusted_relative_rate"] * 1.25
    finding = _disabled_nationally(crude, adjusted)
    # Reference: pandas' own merge on measure and group, hidden rows blanked.
    expected = disabled.merge(adjusted, on=["measure", "group"], how="left")
    columns = ["adjusted_relative_rate", "adj_low", "adj_high"]
    expected.loc[expected["suppressed"].astype(bool), columns] = np.nan
    pd.testing.assert_frame_equal(
        finding.table[["measure", *columns]], expected[["measure", *columns]], check_exact=True
    )
    assert finding.table["adjusted_relative_rate"].isna().sum() == 2
    drawn = finding.drawn.set_index(["series", "measure"])["ratio"]
    shown = expected[~expected["suppressed"].astype(bool) & expected["relative_rate"].notna()]
    for row in shown.itertuples():
        assert drawn["Crude", row.measure] == row.relative_rate
        adjusted_ratio = drawn["Adjusted for age and establishment", row.measure]
        assert adjusted_ratio == row.adjusted_relative_rate or (
            np.isnan(adjusted_ratio) and np.isnan(row.adjusted_relative_rate)
        )


def test_flagged_cells_name_each_flagged_cell_in_words_in_the_table_order() -> None:
    # A ratio where the comparator has the outcome; the counts where it has none (no
    # ratio); cells not flagged are left out. The index is not 0..n-1 (the overview
    # passes rows taken out of a matrix).
    table = pd.DataFrame(
        {
            "measure": ["use_of_force", "adjudication_proven", "segregated"],
            "characteristic": pd.Categorical(["ethnic_group"] * 3),
            "group": [BLACK, ASIAN, "Mixed or Multiple ethnic groups"],
            "comparator": ["White"] * 3,
            "relative_rate": [1.6667, np.nan, 1.1],
            "numerator": [250.0, 3.0, 40.0],
            "denominator": [1500.0, 1200.0, 100.0],
            "flag": pd.array(["higher", "lower", "not significant"], dtype="string"),
        },
        index=[7, 3, 9],
    )
    assert findings.flagged_cells(table, MEASURES) == [
        "Force used: Black 1.67 times White, higher (adverse)",
        "Proven adjudication: Asian 3 of 1,200, White none, lower (favourable)",
    ]
    assert findings.flagged_cells(table.iloc[2:], MEASURES) == []
