"""Disclosure control: no count from 1 to 4 survives, nor anything it could be worked out from."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from equality_core import disclosure, stats
from tests.conftest import REPOSITORY

PUBLISHED = REPOSITORY.parent / "shared" / "data" / "published"


def _family(counts: list[tuple[str, int, int]]) -> pd.DataFrame:
    frame = pd.DataFrame(counts, columns=["group", "numerator", "denominator"])
    frame.insert(0, "characteristic", "ethnic_group")
    frame.insert(0, "measure", "use_of_force")
    return stats.disparity_table(frame)


def test_primary_and_derived_values_are_hidden() -> None:
    table = disclosure.protect(
        _family([("White", 50, 400), ("Black", 3, 60), ("Asian", 40, 300), ("Mixed", 12, 90)])
    ).set_index("group")
    black = table.loc["Black"]
    assert black["suppressed"]
    assert np.isnan(black["numerator"]) and np.isnan(black["rate"])
    assert np.isnan(black["relative_rate"]) and black["flag"] == "[c]"


def test_a_lone_suppressed_cell_takes_the_next_smallest_with_it() -> None:
    table = disclosure.protect(
        _family([("White", 50, 400), ("Black", 3, 60), ("Asian", 40, 300), ("Mixed", 12, 90)])
    ).set_index("group")
    assert table.loc["Mixed", "suppressed"]  # next smallest denominator
    assert not table.loc["Asian", "suppressed"] and not table.loc["White", "suppressed"]


def test_the_complement_is_held_to_the_same_rule() -> None:
    """57 of 60 with the outcome reveals that 3 did not have it."""
    table = disclosure.protect(
        _family([("White", 50, 400), ("Black", 57, 60), ("Asian", 40, 300), ("Mixed", 20, 90)])
    ).set_index("group")
    assert table.loc["Black", "suppressed"]


def test_differencing_against_a_wider_population() -> None:
    narrow = _family([("White", 50, 400), ("Black", 20, 100)])
    wide = _family([("White", 52, 460), ("Black", 40, 160)])  # White: 2 left out
    table = disclosure.protect(narrow, wider=wide).set_index("group")
    assert table.loc["White", "suppressed"]


def test_a_hidden_comparator_hides_every_ratio_against_it() -> None:
    frame = _family([("White", 2, 40), ("Black", 20, 30), ("Asian", 10, 35)])
    table = disclosure.protect(frame).set_index("group")
    assert table["relative_rate"].isna().all()
    assert set(table["flag"]) == {"[c]"}


def test_survey_groups_under_ten_respondents_are_hidden() -> None:
    survey = pd.DataFrame(
        {"group": ["A", "B"], "respondents": [9, 10], "pct_feeling_unsafe": [40.0, 20.0]}
    )
    table = disclosure.protect(survey, family=())
    assert table["suppressed"].tolist() == [True, False]
    assert np.isnan(table.loc[0, "pct_feeling_unsafe"]) and np.isnan(table.loc[0, "respondents"])


def test_threshold_is_five_or_ten() -> None:
    with pytest.raises(ValueError, match="threshold"):
        disclosure.DisclosureRule(threshold=3)
    ten = disclosure.protect(
        _family([("White", 50, 400), ("Black", 7, 60)]),
        rule=disclosure.DisclosureRule(threshold=10),
    )
    assert ten["suppressed"].all()  # Black has 7; White goes with it (secondary)


@given(
    st.lists(
        st.tuples(st.integers(0, 40), st.integers(0, 40)).map(lambda t: (min(t), max(t))),
        min_size=2,
        max_size=6,
    )
)
@example(groups=[(0, 0), (0, 1)])  # an empty group cannot cover a lone hidden one
@example(groups=[(3, 60), (0, 40), (50, 400)])  # hiding 3 and 0 still reveals the 3
def test_nothing_hidden_can_be_worked_out(groups: list[tuple[int, int]]) -> None:
    names = ["White", "Black", "Asian", "Mixed", "Other ethnic group", "Not stated"]
    frame = _family([(names[i], x, n) for i, (x, n) in enumerate(groups)])
    table = disclosure.protect(frame)
    for column in ("numerator", "denominator"):
        values = table[column].dropna()
        assert not ((values >= 1) & (values <= 4)).any()
    shown = table[~table["suppressed"]]
    complement = shown["denominator"] - shown["numerator"]
    assert not ((complement >= 1) & (complement <= 4)).any()
    hidden = table["suppressed"].to_numpy()
    if hidden.any() and not hidden.all():
        # The family total minus what is shown is what is hidden: never one row, and
        # never a disclosive sum.
        assert hidden.sum() >= 2
        original = frame.assign(complement=frame["denominator"] - frame["numerator"])
        for column in ("numerator", "denominator", "complement"):
            total = original.loc[hidden, column].sum()
            assert not 1 <= total <= 4, (column, total)


def test_csv_shows_c_and_defuses_formulas() -> None:
    table = pd.DataFrame(
        {
            "group": ["=SUM(A1:A9)", "+1", "-x", "@cmd", "White"],
            "numerator": [10.0, np.nan, 12.0, 14.0, 20.0],
            "difference": [-3.0, 1.5, -0.5, 2.0, 0.0],
            "suppressed": [False, True, False, False, False],
        }
    )
    text = disclosure.to_safe_csv(table).decode("utf-8")
    rows = pd.read_csv(io.StringIO(text), dtype=str)
    assert rows["group"].tolist() == ["'=SUM(A1:A9)", "'+1", "'-x", "'@cmd", "White"]
    assert rows.loc[1, "numerator"] == "[c]"
    assert rows.loc[0, "difference"] == "-3.0"  # a negative number is left as a number


def test_published_pava_table_under_our_rule() -> None:
    """The 2019-20 PAVA table: the source showed counts of 3 and 5; our rule hides the 3.

    Mixed (3 deployed, 3 drawn) must be hidden in full; with the hidden cells in each
    column more than one, no hidden figure can be worked out from a total.
    """
    published = pd.read_csv(PUBLISHED / "pava_by_ethnicity_2019_20.csv")
    frame = published.rename(columns={"deployed": "numerator"})
    frame["numerator"] = pd.to_numeric(frame["numerator"], errors="coerce")
    frame["denominator"] = pd.to_numeric(frame["total"], errors="coerce")
    frame = frame.dropna(subset=["numerator", "denominator"])
    frame["measure"] = "pava"
    table = disclosure.protect(
        frame[["measure", "characteristic", "group", "numerator", "denominator"]]
    )
    mixed = table[table["group"] == "Mixed"].iloc[0]
    assert mixed["suppressed"]
    assert table["suppressed"].sum() >= 2
    shown = table[~table["suppressed"]]
    assert not ((shown["numerator"] >= 1) & (shown["numerator"] <= 4)).any()


def test_those_who_did_not_declare_are_counted_people_too() -> None:
    """A 98% declaration rate of 200 records says that 4 people did not declare."""
    coverage = pd.DataFrame(
        {"characteristic": ["disability", "sex"], "declared": [196, 150], "records": [200, 200]}
    )
    table = disclosure.protect(
        coverage,
        family=(),
        count_columns=("declared", "records"),
        derived_columns=(),
        complements=(("declared", "records"),),
    )
    assert table["suppressed"].tolist() == [True, False]


def test_every_wider_population_is_checked_and_what_it_leaves_out_too() -> None:
    """Narrowing twice (a place, then 18 to 20 year olds) gives two tables to subtract from.

    Against the first, Black's left-out part is 58 of 60: all but 2 had the outcome.
    """
    narrow = _family([("White", 50, 400), ("Black", 50, 50), ("Asian", 40, 300)])
    england = _family([("White", 90, 700), ("Black", 108, 110), ("Asian", 80, 600)])
    everyone_here = _family([("White", 60, 500), ("Black", 70, 90), ("Asian", 52, 400)])
    alone = disclosure.protect(narrow, wider=everyone_here).set_index("group")
    assert not alone.loc["Black", "suppressed"]
    both = disclosure.protect(narrow, wider=[everyone_here, england]).set_index("group")
    assert both.loc["Black", "suppressed"]
