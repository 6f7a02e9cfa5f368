"""Periods and record-level counts, checked against plain enumeration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from equality_core import data
from equality_core.measures import MEASURES, measures_for
from equality_core.paths import DataPaths
from equality_core.schema import CHARACTERISTICS, EXTRACTS


def test_financial_year_quarters() -> None:
    assert data.quarters_in_period("financial_year", "2023-24") == [
        "2023-Q2",
        "2023-Q3",
        "2023-Q4",
        "2024-Q1",
    ]
    assert data.financial_year_of("2024-Q1") == "2023-24"
    assert data.financial_year_of("2024-Q2") == "2024-25"


def test_rolling_twelve_months_cross_a_year() -> None:
    assert data.quarters_in_period("rolling", "2025-Q2") == [
        "2024-Q3",
        "2024-Q4",
        "2025-Q1",
        "2025-Q2",
    ]
    assert data.previous_period_end("rolling", "2025-Q2") == "2024-Q2"
    with pytest.raises(ValueError, match="kind"):
        data.quarters_in_period("monthly", "2025-Q2")


def test_period_choices_newest_first() -> None:
    held = [f"{y}-Q{q}" for y in (2024, 2025) for q in range(1, 5)]
    assert data.period_choices(held, "rolling")[:2] == ["2025-Q4", "2025-Q3"]
    assert data.period_choices(held, "financial_year") == ["2024-25"]


@pytest.fixture(scope="module")
def prisoners(small_demo: DataPaths) -> pd.DataFrame:
    return data.load_validated(small_demo, "prisoner_periods")


def test_counts_match_plain_enumeration(prisoners: pd.DataFrame) -> None:
    end = max(prisoners["period"].astype(str))
    quarters = data.quarters_in_period("rolling", end)
    people = data.prisoners_over_period(prisoners, quarters)
    counts = data.group_counts(
        people, measures=["use_of_force", "rotl_granted"], characteristic="ethnic_group"
    )
    # Independent reference: loop over people the slow, obvious way.
    window = prisoners[prisoners["period"].isin(quarters)]
    for (group,), rows in window.groupby(["ethnic_group"], observed=True):
        per_person = rows.groupby(["person_id", "establishment"], observed=True)
        force = (per_person["use_of_force_incidents"].sum() > 0).sum()
        applied = per_person["rotl_applications"].sum() > 0
        granted = (per_person["rotl_grants"].sum() > 0) & applied
        row = counts[(counts["group"] == group) & (counts["measure"] == "use_of_force")].iloc[0]
        assert row["numerator"] == force
        assert row["denominator"] == per_person.ngroups
        row = counts[(counts["group"] == group) & (counts["measure"] == "rotl_granted")].iloc[0]
        assert (row["numerator"], row["denominator"]) == (granted.sum(), applied.sum())


def test_event_measures_use_quarters_held_as_exposure(prisoners: pd.DataFrame) -> None:
    quarters = sorted(prisoners["period"].astype(str).unique())[-4:]
    people = data.prisoners_over_period(prisoners, quarters)
    counts = data.group_counts(people, measures=["use_of_force_per_100"], characteristic="sex")
    window = prisoners[prisoners["period"].isin(quarters)]
    for sex, rows in window.groupby("sex", observed=True):
        row = counts[counts["group"] == sex].iloc[0]
        assert row["numerator"] == rows["use_of_force_incidents"].sum()
        assert row["denominator"] == len(rows)


def test_every_group_appears_even_when_empty(prisoners: pd.DataFrame) -> None:
    counts = data.group_counts(
        prisoners.head(50),
        measures=measures_for(extract="prisoner_periods"),
        characteristic="religion",
    )
    religion_values = len(CHARACTERISTICS["religion"].allowed_values)  # 8 groups, 3 not declared
    assert counts.groupby("measure").size().eq(religion_values).all()
    assert len(counts) == len(measures_for(extract="prisoner_periods")) * religion_values
    assert (counts["numerator"] <= counts["denominator"]).all()
    assert np.issubdtype(counts["numerator"].dtype, np.integer)


def test_unknown_characteristic_is_named(prisoners: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="'shoe_size'"):
        data.group_counts(prisoners, measures=["use_of_force"], characteristic="shoe_size")


@pytest.mark.parametrize("extract", sorted({m.extract for m in MEASURES.values()}))
def test_parts_of_some_rows_are_those_rows_parts(small_demo: DataPaths, extract: str) -> None:
    """Counting some rows of a frame in place is counting those rows as records: few rows
    (each measure reads its columns at those rows only) and most rows (it reads them all),
    for every measure of every extract."""
    measures = measures_for(extract=extract)
    records = data.load_validated(small_demo, extract)
    frames = [records]
    if extract == "prisoner_periods":
        quarters = sorted(set(records["period"].astype(str)))
        frames.append(data.prisoners_over_period(records, quarters))
    for frame in frames:
        count = np.arange(len(frame))
        few = (frame["sex"] == "Female").to_numpy()
        assert 0 < few.sum() <= len(frame) * data._FEW_ROWS
        for rows in (few, np.zeros(len(frame), dtype=bool), count % 3 == 1, count % 3 != 1):
            pd.testing.assert_frame_equal(
                data.count_columns(frame, measures, rows),
                data.count_columns(frame[rows], measures),
                check_exact=True,
            )
            # And the group counts of a trend, by period, of the rows alone.
            pd.testing.assert_frame_equal(
                data.group_counts(
                    frame, measures=measures, characteristic="religion", by=["period"], rows=rows
                ),
                data.group_counts(
                    frame[rows], measures=measures, characteristic="religion", by=["period"]
                ),
                check_exact=True,
            )


def test_collapsing_some_rows_is_the_obvious_per_person_collapse(prisoners: pd.DataFrame) -> None:
    """``rows`` keeps only those records; each kept person, establishment and year is
    summed, takes its latest quarter's values and its latest release's outcome, as plain
    pandas over ``prisoners[rows]`` gives them (shuffled, so order is not what decides)."""
    shuffled = prisoners.sample(frac=1, random_state=5).reset_index(drop=True)
    years = {str(q): data.financial_year_of(str(q)) for q in shuffled["period"].cat.categories}
    rows = (shuffled["sex"] == "Male").to_numpy() & (np.arange(len(shuffled)) % 4 != 0)
    ours = data.prisoners_by_window(shuffled, years, rows=rows)
    kept = shuffled[rows].assign(window=shuffled["period"][rows].astype(str).map(years))
    kept = kept.sort_values("period", kind="stable")
    key = ["person_id", "establishment", "window"]
    groups = kept.groupby(key, observed=True, sort=True)
    reference = groups[list(data._EVENT_COLUMNS)].sum()
    reference[data.EXPOSURE] = groups.size()
    latest = groups[["period", "ethnic_group", "incentive_level"]].last()
    released = kept[kept["accommodation_on_release"] != "Not released"]
    outcome = released.groupby(key, observed=True)["accommodation_on_release"].last()
    # The frame's columns in their order, then the window and the exposure.
    assert list(ours.columns) == [*shuffled.columns, data.WINDOW, data.EXPOSURE]
    alone = data.prisoners_over_period(shuffled, list(years), rows=rows)
    assert list(alone.columns) == [*shuffled.columns, data.EXPOSURE]
    ours = ours.assign(window=ours["window"].astype(str)).set_index(key).sort_index()
    assert len(ours) == len(reference)
    for column in [*data._EVENT_COLUMNS, data.EXPOSURE]:
        assert (ours[column].to_numpy() == reference[column].to_numpy()).all(), column
    for column in latest.columns:
        assert (ours[column].astype(str).to_numpy() == latest[column].astype(str).to_numpy()).all()
    shown = ours["accommodation_on_release"].astype(str)
    assert (shown.loc[outcome.index] == outcome.astype(str)).all()
    assert (shown.drop(outcome.index) == "Not released").all()


def _reference_categorical(values: list[str | None], categories: list[str]) -> pd.Categorical:
    """What pandas makes of the same values: a categorical of ``categories`` in that order.

    Values not among the categories become missing (``set_categories``).
    """
    series = pd.Series(values, dtype=object).astype("category")
    return series.cat.set_categories(list(categories)).array


@settings(max_examples=60, deadline=None)
@given(
    chunks=st.lists(
        st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", "zz"])), max_size=12),
        max_size=4,
    ),
    categories=st.one_of(
        st.none(), st.permutations(["d", "c", "b", "a"]), st.just(["b", "a"]), st.just([])
    ),
)
def test_dictionary_column_becomes_the_categorical_pandas_makes(chunks, categories) -> None:
    # Each chunk with a dictionary of its own (as a Parquet file's row groups), in the
    # order its values first appear: the conversion must not depend on those orders.
    column = pa.chunked_array(
        [pa.array(chunk, pa.string()).dictionary_encode() for chunk in chunks],
        pa.dictionary(pa.int32(), pa.string()),
    )
    flat = [value for chunk in chunks for value in chunk]
    expected_categories = (
        sorted({v for v in flat if v is not None}) if categories is None else list(categories)
    )
    expected = _reference_categorical(flat, expected_categories)
    made = data.dictionary_to_categorical(column, categories)
    assert list(made.categories) == list(expected.categories)
    assert made.codes.dtype == expected.codes.dtype
    np.testing.assert_array_equal(made.codes, expected.codes)


def test_a_column_not_of_dictionary_text_is_left_to_pandas() -> None:
    assert data.dictionary_to_categorical(pa.chunked_array([pa.array(["a", "b"])])) is None
    numbers = pa.chunked_array([pa.array([1, 2, 1]).dictionary_encode()])
    assert data.dictionary_to_categorical(numbers) is None


def test_many_categories_take_the_code_width_pandas_takes() -> None:
    for count in (126, 127, 300, 40_000):
        categories = [f"v{i:05d}" for i in range(count)]
        column = pa.chunked_array([pa.array(categories[::-1]).dictionary_encode()])
        made = data.dictionary_to_categorical(column, categories)
        expected = _reference_categorical(categories[::-1], categories)
        assert made.codes.dtype == expected.codes.dtype, count
        np.testing.assert_array_equal(made.codes, expected.codes)


@pytest.mark.parametrize("extract", ["prisoner_periods", "community_terminations", "staff_periods"])
def test_loaded_extract_is_the_file_read_by_pandas(small_demo: DataPaths, extract: str) -> None:
    # Independent reference: pandas' own Parquet reader, then pandas' categoricals in the
    # contract's order (sorted where the contract gives none), column for column.
    loaded = data.load_validated(small_demo, extract)
    raw = pd.read_parquet(small_demo.validated_file(extract))
    assert list(loaded.columns[: len(raw.columns)]) == list(raw.columns)
    for column in EXTRACTS[extract].columns:
        if column.name not in raw.columns:
            continue
        got = loaded[column.name]
        if isinstance(got.dtype, pd.CategoricalDtype):
            values = raw[column.name].astype(object).where(raw[column.name].notna(), None)
            categories = column.allowed or sorted(set(values.dropna()))
            expected = pd.Series(
                _reference_categorical(values.tolist(), list(categories)), name=column.name
            )
            pd.testing.assert_series_equal(got, expected, check_index=False)
        else:
            pd.testing.assert_series_equal(got, raw[column.name], check_dtype=False)
