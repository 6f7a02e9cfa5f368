"""A window's counts summed from its units equal counting the place's records directly.

:mod:`equality_core.windows` keeps each window's counts by unit and adds them up for a
place; here every kind of place, period and characteristic is checked against
``data.group_counts`` of ``analysis.select``'s records (the record-level path), record
keys and people included, on the small demo.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from equality_core import analysis, data, windows
from equality_core.analysis import Selection
from equality_core.measures import MEASURES


@pytest.fixture(scope="module")
def frames(small_demo) -> dict[str, pd.DataFrame]:
    paths = small_demo.pinned()
    establishments = data.load_validated(paths, "establishments")
    out = {}
    for name in analysis.MATRIX_EXTRACTS:
        frame = data.load_validated(paths, name)
        if "establishment" in frame.columns:
            frame = data.attach_establishment_attributes(frame, establishments)
        out[name] = frame
    return out


def _latest(frames, kind: str) -> str:
    periods = [str(p) for p in frames["prisoner_periods"]["period"].cat.categories]
    return data.period_choices(periods, kind)[0]


PLACES = [
    (),
    (("region", "Women's Estate"),),
    (("establishment", "CAL"),),
    (("function", "Category B local"),),
    (("region", "Yorkshire"), ("establishment", "CAL")),
    (("region", "Yorkshire"), ("establishment", "CHA")),  # no such prison in that group
    (("probation_region", "Wales"),),
    (("division", "Cardiff and Vale"),),
]


def _applying(extracts: dict[str, str]) -> list[tuple[str, tuple]]:
    """Each (name, places) whose place columns the name's extract records."""
    return [
        (name, places)
        for name, extract in extracts.items()
        for places in PLACES
        if all(column in analysis.PLACE_COLUMNS[extract] for column, _ in places)
    ]


def _summed_equals_counted(
    frame: pd.DataFrame, extract: str, selection: Selection, characteristic: str
) -> int:
    """Assert the view's group counts from the sums equal counting its records.

    Returns 1 if the view had records to compare, 0 if it had none (and no sums).
    """
    measures = [m for m in MEASURES.values() if m.extract == extract]
    summed = windows.group_counts_for(
        frame,
        extract,
        periods=analysis.periods_of(selection, extract),
        places=selection.places,
        within=selection.within,
        characteristic=characteristic,
        measures=measures,
    )
    records = analysis.select(frame, selection, extract)
    if records.empty:
        assert summed is None
        return 0
    direct = data.group_counts(records, measures=measures, characteristic=characteristic)
    pd.testing.assert_frame_equal(summed, direct, check_dtype=False)
    return 1


@pytest.mark.parametrize("places", PLACES)
@pytest.mark.parametrize("kind", ["rolling", "quarter", "financial_year"])
@pytest.mark.parametrize("characteristic", ["ethnic_group", "religion", "disability"])
def test_sums_of_units_equal_counting_records(frames, places, kind, characteristic) -> None:
    end = _latest(frames, kind)
    selection = Selection(kind, end, places)
    checked = 0
    for extract in analysis.MATRIX_EXTRACTS:
        frame = frames[extract]
        if any(column not in frame.columns for column, _ in places):
            continue
        checked += _summed_equals_counted(frame, extract, selection, characteristic)
    if places in ((), (("region", "Women's Estate"),)):
        assert checked >= 2


WITHIN = [
    ("sex", "Female"),
    ("age_band", "18-20"),
    ("religion", "Muslim"),
    ("disability", "Disabled"),
]


@pytest.mark.parametrize("within", WITHIN)
@pytest.mark.parametrize("kind", ["rolling", "quarter", "financial_year"])
@pytest.mark.parametrize(
    "places", [(), (("region", "Women's Estate"),), (("establishment", "CAL"),)]
)
def test_looking_within_a_group_sums_the_groups_units(frames, within, kind, places) -> None:
    """A view within a group is the sum of its units' counts within the group.

    A view chooses the group's records before prisoners are collapsed per person and
    establishment (a prisoner whose group changes in the window counts with the quarters
    in the group), and a place is a set of units: so the window's sums counted once from
    the group's records give every place's view, equal to counting its records.
    """
    selection = Selection(kind, _latest(frames, kind), places, within)
    checked = 0
    for extract in analysis.MATRIX_EXTRACTS:
        frame = frames[extract]
        if not selection.applies_to(frame) or any(c not in frame.columns for c, _ in places):
            continue
        for characteristic in ("ethnic_group", "disability"):
            if characteristic != within[0]:
                checked += _summed_equals_counted(frame, extract, selection, characteristic)
    if not places:
        assert checked >= 2


@pytest.mark.parametrize("within", WITHIN[:2])
@pytest.mark.parametrize("by_unit", [False, True])
def test_declaration_within_a_group_equals_counting_records(frames, within, by_unit) -> None:
    from equality_core.cellkey import demo_config

    frame = frames["prisoner_periods"]
    selection = Selection("rolling", _latest(frames, "rolling"), (), within)
    characteristics = analysis.characteristic_options("prisoner_periods")
    summed = analysis.declaration_in(
        frame,
        selection,
        "prisoner_periods",
        characteristics=characteristics,
        protection=demo_config(),
        by_unit=by_unit,
    )
    direct = analysis.declaration(
        analysis.select(frame, selection, "prisoner_periods"),
        characteristics=characteristics,
        protection=demo_config(),
        by=["establishment"] if by_unit else [],
    )
    if by_unit:
        summed, direct = _sorted(summed), _sorted(direct)
    pd.testing.assert_frame_equal(summed, direct, check_dtype=False)


def test_funnel_within_a_group_equals_counting_records(frames) -> None:
    from equality_core.cellkey import demo_config

    frame = frames["prisoner_periods"]
    selection = Selection("rolling", _latest(frames, "rolling"), (), ("age_band", "18-20"))
    arguments = {
        "measure": MEASURES["use_of_force"],
        "protection": demo_config(),
        "characteristic": "ethnic_group",
        "group": "White",
        "unit": "establishment",
    }
    summed = analysis.funnel_in(frame, selection, "prisoner_periods", **arguments)
    direct = analysis.funnel(analysis.select(frame, selection, "prisoner_periods"), **arguments)
    pd.testing.assert_frame_equal(_sorted(summed), _sorted(direct), check_dtype=False)


def test_within_a_group_the_entries_asked_for_one_by_one_equal_all_at_once(frames) -> None:
    """Within a group, entries counted when first asked for are those of a full count."""
    frame = frames["prisoner_periods"].copy(deep=False)  # a frame of its own: nothing kept
    periods = analysis.periods_of(
        Selection("rolling", _latest(frames, "rolling")), "prisoner_periods"
    )
    within = ("sex", "Female")
    full = windows.compute_unit_sums(frame, "prisoner_periods", periods, within, strata=True)
    # Counted with the collapse it shares: everyone, and the strata objective 5 asks for.
    strata = windows.strata_entry("age_band", "disability")
    first = windows.unit_sums(frame, "prisoner_periods", periods, within, entries=("religion",))
    assert set(first) == {"religion", windows.EVERYONE, strata}
    later = windows.unit_sums(
        frame, "prisoner_periods", periods, within, entries=("ethnic_group", "religion")
    )
    assert set(later) == {"ethnic_group", "religion", windows.EVERYONE, strata}
    for entry, table in later.items():
        pd.testing.assert_frame_equal(table, full[entry])
    everything = windows.unit_sums(frame, "prisoner_periods", periods, within)
    assert set(everything) == set(full)


def test_a_within_characteristic_the_records_lack_is_an_error(frames) -> None:
    with pytest.raises(ValueError, match="within"):
        windows.group_counts_for(
            frames["community_terminations"],
            "community_terminations",
            periods=analysis.periods_of(Selection("quarter", "2025-Q4"), "community_terminations"),
            places=(),
            within=("sexual_orientation", "Bisexual"),
            characteristic="ethnic_group",
        )


@pytest.mark.parametrize(
    ("characteristics", "comparator"),
    [(("ethnic_group", "disability"), None), (("ethnic_group",), "White")],
    ids=["default-comparators", "chosen-comparator"],
)
def test_matrices_worked_out_together_equal_each_views_matrix(
    frames, characteristics, comparator
) -> None:
    # Batching views must not let one view's rows reach another's comparators,
    # Benjamini-Hochberg family or disclosure: each table is that view's matrix alone.
    from equality_core.cellkey import demo_config

    protection = demo_config()
    latest = _latest(frames, "rolling")
    before = data.previous_period_end("rolling", latest)
    selections = [
        Selection("rolling", latest),
        Selection("rolling", before),
        Selection("rolling", latest, (("region", "Women's Estate"),)),
        Selection("rolling", before, (("establishment", "CAL"),)),
        Selection("rolling", latest, (("region", "Yorkshire"), ("establishment", "CHA"))),
        Selection("quarter", latest, within=("age_band", "18-20")),
        Selection("rolling", latest, (("probation_region", "Wales"),)),
    ]
    views = [(s, c) for s in selections for c in characteristics]
    together = analysis.emt_matrices(
        frames, views=views, protection=protection, comparator=comparator
    )
    assert len(together) == len(views)
    flagged = 0
    for (selection, characteristic), table in zip(views, together, strict=True):
        alone = analysis.emt_matrix(
            frames,
            selection=selection,
            characteristic=characteristic,
            protection=protection,
            comparator=comparator,
        )
        pd.testing.assert_frame_equal(table, alone, check_exact=True)
        flagged += int(alone["flag"].notna().sum()) if len(alone) else 0
    nowhere = views.index((selections[4], characteristics[0]))
    assert together[nowhere].empty  # no such prison in that group
    assert flagged  # the views compare something


@pytest.mark.parametrize("within", [None, ("age_band", "18-20")])
def test_flags_over_time_count_each_years_matrix(frames, within) -> None:
    # Within a group the years are counted from their records, the matrix from the
    # window's sums within the group: the two must agree.
    from equality_core.cellkey import demo_config

    protection = demo_config()
    places = (("region", "Women's Estate"),)
    over_time = analysis.flags_over_time(
        frames,
        characteristic="ethnic_group",
        selection=Selection("rolling", _latest(frames, "rolling"), places, within),
        protection=protection,
    )
    assert len(over_time) == len(analysis.financial_years_held(frames["prisoner_periods"])) >= 1
    for row in over_time.itertuples():
        matrix = analysis.emt_matrix(
            frames,
            selection=Selection("financial_year", row.period, places, within),
            characteristic="ethnic_group",
            protection=protection,
        )
        flags = matrix["flag"].astype("string")
        assert row.higher == int((flags == "higher").sum())
        assert row.lower == int((flags == "lower").sum())
        assert row.cells == int(matrix["p_value"].notna().sum())


@pytest.mark.parametrize("at_once", [True, False], ids=["years-at-once", "year-by-year"])
@pytest.mark.parametrize(
    ("within", "places"),
    [
        (("age_band", "18-20"), ()),
        (("ethnic_group", "White"), (("region", "Women's Estate"),)),
        (None, (("establishment", "CAL"),)),
    ],
)
def test_counts_by_year_equal_each_years_records(
    frames, monkeypatch, within, places, at_once
) -> None:
    # Flags over time count every year from the view's records at once (or, with many
    # records, a year at a time): each year's counts must be what counting that year's
    # records alone gives, for every extract of the matrix.
    if not at_once:
        monkeypatch.setattr(analysis, "_YEARS_AT_ONCE_ROWS", 0)
    years = analysis.financial_years_held(frames["prisoner_periods"])
    selection = Selection("rolling", _latest(frames, "rolling"), places, within)
    compared = 0
    for extract in analysis.family_extracts(frames, selection=selection, characteristic="religion"):
        measures = [m for m in MEASURES.values() if m.extract == extract]
        by_year = analysis._counts_by_year(
            frames[extract], extract, selection, years, "religion", measures
        )
        for year in years:
            in_year = Selection("financial_year", year, places, within)
            records = analysis.select(frames[extract], in_year, extract)
            if records.empty:
                assert year not in by_year
                continue
            alone = data.group_counts(records, measures=measures, characteristic="religion")
            pd.testing.assert_frame_equal(by_year[year], alone, check_exact=True)
            compared += 1
    assert compared >= 2 * len(years)


TREND_MEASURES = ["use_of_force", "adjudications_per_100", "order_completed", "leaver", "promoted"]


@pytest.mark.parametrize(
    ("measure", "places"), _applying({m: MEASURES[m].extract for m in TREND_MEASURES})
)
def test_trend_sums_equal_counting_records(frames, places, measure) -> None:
    chosen_measure = MEASURES[measure]
    extract = chosen_measure.extract
    frame = frames[extract]
    summed = windows.period_counts_for(
        frame,
        extract,
        measure=chosen_measure,
        places=places,
        within=None,
        characteristic="ethnic_group",
    )
    records = frame[analysis.place_mask(frame, Selection("rolling", "", places))]
    direct = data.group_counts(
        records, measures=[chosen_measure], characteristic="ethnic_group", by=["period"]
    )
    pd.testing.assert_frame_equal(summed, direct, check_dtype=False)


def _sorted(table: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in ("characteristic", "establishment", "division") if c in table.columns]
    return table.sort_values(keys, kind="stable").reset_index(drop=True) if keys else table


@pytest.mark.parametrize(
    "group", [None, "White", "Black, Black British, Black Welsh, Caribbean or African"]
)
@pytest.mark.parametrize(
    ("measure", "places"),
    _applying({m: MEASURES[m].extract for m in ["use_of_force", "order_completed", "leaver"]}),
)
def test_funnel_from_sums_equals_counting_records(frames, places, group, measure) -> None:
    from equality_core.cellkey import demo_config

    chosen = MEASURES[measure]
    extract = chosen.extract
    frame = frames[extract]
    selection = Selection("rolling", _latest(frames, "rolling"), places)
    unit = windows.UNIT[extract]
    arguments = {
        "measure": chosen,
        "protection": demo_config(),
        "characteristic": "ethnic_group",
        "group": group,
        "unit": unit,
    }
    summed = analysis.funnel_in(frame, selection, extract, **arguments)
    direct = analysis.funnel(analysis.select(frame, selection, extract), **arguments)
    pd.testing.assert_frame_equal(_sorted(summed), _sorted(direct), check_dtype=False)


@pytest.mark.parametrize("by_unit", [False, True])
@pytest.mark.parametrize(
    ("extract", "places"),
    _applying({e: e for e in ["prisoner_periods", "community_terminations", "staff_periods"]}),
)
def test_declaration_from_sums_equals_counting_records(frames, places, by_unit, extract) -> None:
    from equality_core.cellkey import demo_config

    frame = frames[extract]
    kind = "financial_year" if extract == "staff_periods" else "rolling"
    selection = Selection(kind, _latest(frames, kind) if kind == "rolling" else "2024-25", places)
    characteristics = analysis.characteristic_options(extract)
    summed = analysis.declaration_in(
        frame,
        selection,
        extract,
        characteristics=characteristics,
        protection=demo_config(),
        by_unit=by_unit,
    )
    direct = analysis.declaration(
        analysis.select(frame, selection, extract),
        characteristics=characteristics,
        protection=demo_config(),
        by=[windows.UNIT[extract]] if by_unit else [],
    )
    if by_unit:
        summed, direct = _sorted(summed), _sorted(direct)
    pd.testing.assert_frame_equal(summed, direct, check_dtype=False)


@pytest.mark.parametrize("within", [None, ("sex", "Female")])
def test_unit_sums_equal_grouping_the_records_by_unit_text(frames, within) -> None:
    """compute_unit_sums equals the obvious group-by of the window's records.

    The units are given categories out of text order, one category no record uses and a
    missing unit; the sums must still be keyed by each unit's text, in text order, with
    every group of each characteristic and no record without a unit, as grouping by
    ``records[unit].astype(str)`` gives them.
    """
    extract = "community_terminations"
    frame = frames[extract].copy()
    unit = windows.UNIT[extract]
    names = [str(u) for u in frame[unit].cat.categories]
    shuffled = pd.CategoricalDtype([*reversed(names), "Unused unit"])
    units = frame[unit].astype(str).astype(shuffled)
    units.iloc[::97] = None
    frame[unit] = units
    periods = sorted(str(p) for p in frame["period"].unique())[-4:]

    counted = windows.compute_unit_sums(frame, extract, periods, within)

    mask = frame["period"].isin(periods)
    if within is not None:
        mask &= frame[within[0]] == within[1]
    records = frame[mask]
    measures = [m for m in MEASURES.values() if m.extract == extract]
    work = data.count_columns(records, measures)
    work[windows._ROWS] = 1
    work[windows._ROWS_KEY] = records["record_key"].astype("int64")
    text = records[unit].astype(str)
    assert text.isna().any()
    expected = {
        c: work.groupby([text, records[c]], observed=False, sort=True).sum()
        for c in windows.CHARACTERISTICS
        if c in records.columns
    }
    expected[windows.EVERYONE] = work.groupby(text, sort=True).sum()
    assert list(counted) == list(expected)
    for entry, table in expected.items():
        pd.testing.assert_frame_equal(counted[entry], table)
        assert list(counted[entry].index.get_level_values(0)) == list(
            table.index.get_level_values(0)
        )


@pytest.mark.parametrize(
    ("extract", "places"),
    _applying({e: e for e in ("prisoner_periods", "staff_periods", "community_terminations")}),
)
def test_counts_of_many_windows_equal_each_windows_records(frames, extract, places) -> None:
    """Every year of a place counted in one table equals counting each year's records.

    A year in which the place has no records (or a place with none at all) is left out,
    as group_counts_for gives None for it.
    """
    frame = frames[extract]
    years = analysis.financial_years_held(frames["prisoner_periods"])
    measures = [m for m in MEASURES.values() if m.extract == extract]
    in_year = {year: Selection("financial_year", year, places) for year in [*years, "2001-02"]}
    together = windows.group_counts_by_window(
        frame,
        extract,
        windows={
            year: analysis.periods_of(selection, extract) for year, selection in in_year.items()
        },
        places=places,
        characteristic="religion",
        measures=measures,
        label="year",
    )
    expected = []
    for year, selection in in_year.items():
        records = analysis.select(frame, selection, extract)
        if records.empty:
            continue
        counted = data.group_counts(records, measures=measures, characteristic="religion")
        counted.insert(1, "year", year)
        expected.append(counted)
    if not expected:
        assert together is None
        return
    expected = pd.concat(expected, ignore_index=True)
    order = ["measure", "year", "group"]
    pd.testing.assert_frame_equal(
        together.sort_values(order).reset_index(drop=True),
        expected.sort_values(order).reset_index(drop=True),
        check_dtype=False,
    )


def test_financial_years_held_ignore_unused_periods(frames) -> None:
    frame = frames["prisoner_periods"]
    held = analysis.financial_years_held(frame)
    period = frame["period"].astype(str)
    assert held == analysis.financial_years_held(frame.assign(period=period))
    unused = frame.assign(period=frame["period"].cat.add_categories(["2001-Q1", "2001-Q2"]))
    assert analysis.financial_years_held(unused) == held
    # A year with a quarter missing is not held.
    first = held[0]
    quarters = [p for p in period.unique() if data.financial_year_of(p) == first]
    dropped = frame[period != quarters[0]]
    assert first not in analysis.financial_years_held(dropped)


def _parts(rows: int, seed: int) -> tuple[pd.DataFrame, list[pd.Series]]:
    """Integer parts with repeated columns, and categorical keys with missing values."""
    rng = np.random.default_rng(seed)
    ones = np.ones(rows, dtype="int64")
    keys = rng.integers(0, 256, rows)
    events = rng.poisson(0.3, rows)
    work = pd.DataFrame(
        {
            "a\0num": events,
            "a\0den": ones,
            "b\0num": (events > 0).astype("int64"),
            "b\0den": ones.copy(),  # equal to a's, as another measure of everyone's is
            "a\0den_key": keys,
            "b\0den_key": keys.copy(),
            "zeros": np.zeros(rows, dtype="int64"),
            "more zeros": np.zeros(rows, dtype="int64"),
            "same sum, other values": keys[::-1].copy(),
        }
    )
    unit = pd.Series(
        pd.Categorical.from_codes(
            rng.integers(-1, 5, rows), categories=list("VWXYZU")
        ),  # U: unused
        name="unit",
    )
    group = pd.Series(
        pd.Categorical.from_codes(
            rng.integers(-1, 3, rows), categories=["B", "A", "C"], ordered=True
        ),
        name="group",
    )
    return work, [unit, group]


@pytest.mark.parametrize("seed", [1, 2])
def test_distinct_column_sums_equal_pandas_group_by(seed: int) -> None:
    work, (unit, group) = _parts(5_000, seed)
    summing = windows._GroupSums(work)
    assert len(summing.arrays) < work.shape[1], "repeated columns are summed once"
    for keys in ([unit, group], unit, group, [group, unit]):
        for observed in (False, True):
            expected = work.groupby(keys, observed=observed, sort=True).sum()
            pd.testing.assert_frame_equal(
                summing.sum_by(keys, observed=observed), expected, check_exact=True
            )
    # Keys that are not categorical, and parts whose sums could pass 2**53: pandas's way.
    text = unit.astype(str).where(unit.notna())
    pd.testing.assert_frame_equal(
        summing.sum_by([text, group], observed=False),
        work.groupby([text, group], observed=False, sort=True).sum(),
    )
    huge = work.assign(big=np.full(len(work), 2**50, dtype="int64"))
    big = windows._GroupSums(huge)
    assert not big.exact
    pd.testing.assert_frame_equal(
        big.sum_by([unit, group], observed=False),
        huge.groupby([unit, group], observed=False, sort=True).sum(),
    )


_GROUPS = ["Asian", "Black", "White", "Not stated"]


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["AAA", "BBB", "CCC"]),
            st.sampled_from([*_GROUPS, "Unheard of", None]),
            st.integers(0, 10**6),
            st.integers(0, 10**6),
        ),
        max_size=30,
    ),
    chosen=st.sampled_from([["a", "b"], ["b"], []]),
)
def test_summing_units_by_group_matches_pandas_group_by(rows, chosen) -> None:
    """The sums of a place's units by group, as pandas' group-by and reindex give them.

    Groups outside the categories (or missing) count for none; a category with no unit
    is a row of zeros; the columns are those asked for, in that order.
    """
    index = pd.MultiIndex.from_arrays(
        [
            [r[0] for r in rows],
            # The sums may know a group the frame's categories do not.
            pd.Categorical([r[1] for r in rows], categories=[*_GROUPS, "Unheard of"]),
        ],
        names=["establishment", "ethnic_group"],
    )
    by_unit = pd.DataFrame(
        {"a": [r[2] for r in rows], "b": [r[3] for r in rows]}, index=index, dtype="int64"
    )
    categories = pd.CategoricalIndex(_GROUPS, categories=_GROUPS, name="ethnic_group")
    expected = (
        by_unit[chosen].groupby(level=1, observed=False, sort=True).sum().reindex(categories)
    ).fillna(0)
    got = windows._sum_by_group(by_unit, chosen, categories)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_column_type=False)
