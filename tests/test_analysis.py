"""The page-level analyses: selections, pooling of survey figures and words for titles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from equality_core import analysis, data
from equality_core.analysis import Selection
from equality_core.paths import DataPaths


def test_pooled_means_equal_the_mean_and_sd_of_every_respondent() -> None:
    """Independent reference: pool raw values and take numpy's mean and standard deviation."""
    rng = np.random.default_rng(7)
    rows, everyone = [], {"Disabled": [], "Not disabled": []}
    for unit in range(6):
        for group, centre in (("Disabled", 55.0), ("Not disabled", 61.0)):
            values = rng.normal(centre + unit, 15, size=int(rng.integers(5, 60)))
            everyone[group].extend(values)
            rows.append(
                {
                    "establishment": f"U{unit}",
                    "characteristic": "disability",
                    "group": group,
                    "respondents": len(values),
                    "engagement_index": values.mean(),
                    "engagement_sd": values.std(ddof=1),
                }
            )
    pooled = analysis.pooled_means(pd.DataFrame(rows)).set_index("group")
    for group, values in everyone.items():
        assert pooled.loc[group, "respondents"] == len(values)
        assert np.isclose(pooled.loc[group, "mean"], np.mean(values))
        assert np.isclose(pooled.loc[group, "sd"], np.std(values, ddof=1))


def test_survey_counts_rebuild_respondents_from_percentages() -> None:
    frame = pd.DataFrame(
        {
            "characteristic": ["sex"] * 4,
            "group": ["Male", "Male", "Female", "Female"],
            "respondents": [100, 300, 50, 40],
            "pct_feeling_unsafe": [10.0, 30.0, 20.0, np.nan],
        }
    )
    counts = analysis.survey_counts(frame, columns=["pct_feeling_unsafe"]).set_index("group")
    # 10% of 100 and 30% of 300; the unit that reported nothing is not a respondent to it.
    assert counts.loc["Male", "numerator"] == 100 and counts.loc["Male", "denominator"] == 400
    assert counts.loc["Female", "numerator"] == 10 and counts.loc["Female", "denominator"] == 50
    assert list(counts.index) == ["Female", "Male"]  # harmonised order, not input order


def test_deaths_are_counted_against_the_quarters_each_group_was_held() -> None:
    prisoners = pd.DataFrame(
        {
            "person_id": ["a", "b", "c", "d"],
            "ethnic_group": ["White", "White", "Other ethnic group", "Not stated"],
            data.EXPOSURE: [4, 2, 3, 1],
        }
    )
    deaths = pd.DataFrame(
        {
            "ethnic_group": ["White", "Other ethnic group", "White"],
            "classification": ["Natural causes", "Self-inflicted", "Self-inflicted"],
        }
    )
    counts = analysis.deaths_counts(deaths, prisoners, characteristic="ethnic_group")
    every = counts[counts["measure"] == analysis.ALL_DEATHS].set_index("group")
    assert every.loc["White", "numerator"] == 2 and every.loc["White", "denominator"] == 6
    assert every.loc["Other ethnic group", "denominator"] == 3
    assert every.loc["Black, Black British, Black Welsh, Caribbean or African", "numerator"] == 0
    suicide = counts[counts["measure"] == "Self-inflicted"].set_index("group")["numerator"]
    assert suicide["White"] == 1 and suicide["Other ethnic group"] == 1
    assert counts.groupby("measure")["numerator"].sum()[analysis.ALL_DEATHS] == len(deaths)


def test_collapsing_by_window_equals_collapsing_each_window(small_demo: DataPaths) -> None:
    prisoners = data.load_validated(small_demo, "prisoner_periods")
    quarters = sorted(set(prisoners["period"].astype(str)))
    windows = {q: data.financial_year_of(q) for q in quarters}
    together = data.prisoners_by_window(prisoners, windows)
    for year in sorted(set(windows.values())):
        alone = data.prisoners_over_period(prisoners, [q for q, y in windows.items() if y == year])
        part = together[together[data.WINDOW] == year].drop(columns=data.WINDOW)
        key = ["person_id", "establishment"]
        left = alone.sort_values(key).reset_index(drop=True)
        right = part.sort_values(key).reset_index(drop=True)[left.columns]
        pd.testing.assert_frame_equal(left.astype(str), right.astype(str))


def test_flags_over_time_match_the_matrix_of_each_year(small_demo: DataPaths) -> None:
    """A year's flags, counted over the years, equal that year's matrix: same shown counts."""
    frames = {name: data.load_validated(small_demo, name) for name in analysis.MATRIX_EXTRACTS}
    config = data.disclosure_config(small_demo)
    yearly = analysis.flags_over_time(
        frames,
        characteristic="ethnic_group",
        selection=Selection("rolling", "2025-Q4"),
        protection=config,
    ).set_index("period")
    assert len(yearly)
    for year, row in yearly.iterrows():
        matrix = analysis.emt_matrix(
            frames,
            selection=Selection("financial_year", year),
            characteristic="ethnic_group",
            protection=config,
        )
        flags = matrix["flag"].astype("string")
        assert row["higher"] == (flags == "higher").sum()
        assert row["lower"] == (flags == "lower").sum()


def test_each_extract_of_a_matrix_is_hidden_as_in_its_own_matrix(small_demo: DataPaths) -> None:
    """A matrix puts extracts that count the people behind each count (prisoners) beside
    extracts that do not (staff, probation): each extract's cells must be hidden exactly
    as in a matrix of that extract alone, the 1-to-4 rule included."""
    frames = {name: data.load_validated(small_demo, name) for name in analysis.MATRIX_EXTRACTS}
    config = data.disclosure_config(small_demo)
    hidden = 0
    for selection in (Selection("rolling", "2025-Q4"), Selection("rolling", "2024-Q4")):
        for characteristic in ("ethnic_group", "disability"):
            matrix = analysis.emt_matrix(
                frames, selection=selection, characteristic=characteristic, protection=config
            )
            assert set(matrix["extract"]) == set(analysis.MATRIX_EXTRACTS)
            for name in analysis.MATRIX_EXTRACTS:
                alone = analysis.emt_matrix(
                    {name: frames[name]},
                    selection=selection,
                    characteristic=characteristic,
                    protection=config,
                )
                part = matrix[matrix["extract"] == name]
                assert part["suppressed"].tolist() == alone["suppressed"].tolist(), name
                shown = ["numerator", "denominator"]
                pd.testing.assert_frame_equal(
                    part[shown].reset_index(drop=True), alone[shown], check_exact=True
                )
                hidden += int(alone["suppressed"].sum())
    assert hidden  # the demo's views hide something


def test_within_a_characteristic_the_records_do_not_carry_is_an_error() -> None:
    frame = pd.DataFrame({"period": ["2025-Q4"], "age_band": ["18-20"]})
    selection = Selection("quarter", "2025-Q4", within=("sexual_orientation", "Bisexual"))
    assert not selection.applies_to(frame)
    with pytest.raises(ValueError, match="sexual_orientation"):
        analysis.place_mask(frame, selection)
    assert selection.without_within().applies_to(frame)


def test_staff_selection_uses_the_latest_complete_financial_year(small_demo: DataPaths) -> None:
    assert analysis.periods_of(Selection("rolling", "2025-Q4"), "staff_periods") == ["2024-25"]
    assert analysis.periods_of(Selection("rolling", "2026-Q1"), "staff_periods") == ["2025-26"]
    staff = data.load_validated(small_demo, "staff_periods")
    chosen = analysis.select(staff, Selection("rolling", "2025-Q4"), "staff_periods")
    assert set(chosen["period"].astype(str)) == {"2024-25"}


def test_place_and_within_filters_narrow_the_records(small_demo: DataPaths) -> None:
    prisoners = data.load_validated(small_demo, "prisoner_periods")
    code = str(prisoners["establishment"].iloc[0])
    everyone = analysis.select(prisoners, Selection("quarter", "2025-Q4"), "prisoner_periods")
    here = analysis.select(
        prisoners,
        Selection("quarter", "2025-Q4", (("establishment", code),), ("age_band", "18-20")),
        "prisoner_periods",
    )
    assert 0 < len(here) < len(everyone)
    assert set(here["establishment"].astype(str)) == {code}
    assert set(here["age_band"].astype(str)) == {"18-20"}
    expected = (
        (prisoners["period"] == "2025-Q4")
        & (prisoners["establishment"] == code)
        & (prisoners["age_band"] == "18-20")
    ).sum()
    assert len(here) == expected


def test_share_by_counts_each_value_as_plain_counting_does(small_demo: DataPaths) -> None:
    """Shares by period against value counts of the records themselves, masked or subset."""
    staff = data.load_validated(small_demo, "staff_periods")
    declared = (
        staff["ethnic_group"]
        .isin(["White", "Black, Black British, Black Welsh, Caribbean or African"])
        .to_numpy()
    )
    part = (staff["ethnic_group"] != "White").to_numpy()
    rows = (staff["establishment"] == staff["establishment"].iloc[0]).to_numpy()
    masked = analysis.share_by(
        staff, part=part, whole=declared, by=["period"], protection=None, rows=rows
    )
    subset = staff[rows]
    expected_whole = subset.loc[declared[rows], "period"].astype(str).value_counts()
    expected_part = subset.loc[(declared & part)[rows], "period"].astype(str).value_counts()
    assert list(masked["period"]) == sorted(subset["period"].astype(str).unique())
    for _, row in masked.iterrows():
        assert row["denominator"] == expected_whole.get(row["period"], 0)
        assert row["numerator"] == expected_part.get(row["period"], 0)
        assert row["share"] == pytest.approx(row["numerator"] / row["denominator"])
    # The mask counts exactly what counting the subset would.
    copied = analysis.share_by(
        subset, part=part[rows], whole=declared[rows], by=["period"], protection=None
    )
    pd.testing.assert_frame_equal(masked, copied)


def test_a_views_extracts_counted_side_by_side_equal_those_counted_in_turn(
    small_demo: DataPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The matrix counted with the helper thread is the matrix counted in one thread,
    within a group (counted from the records) and not (from the sums)."""
    frames = {name: data.load_validated(small_demo, name) for name in analysis.MATRIX_EXTRACTS}
    config = data.disclosure_config(small_demo)
    for within in (None, ("disability", "Disabled"), ("sex", "Female")):
        selection = Selection("rolling", "2025-Q4", within=within)
        tables = []
        for helpers in (0, 1):
            monkeypatch.setattr(analysis, "HELPER_THREADS", helpers)
            tables.append(
                analysis.emt_matrix(
                    frames, selection=selection, characteristic="ethnic_group", protection=config
                )
            )
        assert len(tables[0]) and set(tables[0]["extract"]) == set(analysis.MATRIX_EXTRACTS)
        pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)


def test_side_by_side_gives_every_result_by_name_and_raises_what_a_call_raises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    monkeypatch.setattr(analysis, "HELPER_THREADS", 1)
    where: dict[str, str] = {}

    def work(name: str, value: int) -> int:
        where[name] = threading.current_thread().name
        return value * 10

    calls = {f"job{i}": (work, f"job{i}", i) for i in range(6)}
    assert analysis._side_by_side(calls) == {f"job{i}": i * 10 for i in range(6)}
    # The first in the caller's thread; the others wherever they were started.
    assert where["job0"] == threading.current_thread().name

    def fails() -> None:
        raise RuntimeError("a failed count")

    with pytest.raises(RuntimeError, match="a failed count"):
        analysis._side_by_side({"a": (work, "a", 1), "b": (fails,)})
    with pytest.raises(RuntimeError, match="a failed count"):
        analysis._side_by_side({"a": (fails,), "b": (work, "b", 1)})
