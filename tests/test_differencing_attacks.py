"""The disclosure audit as tests: differencing attacks against the views the dashboard shows.

An audit of the previous release recovered hidden counts of 1 to 4 by setting one view
beside another (issue 7). Each family of its attacks is replayed here on the small demo
(:mod:`equality_core.differencing`): against the cell key method the attack must do no
better than guessing the commonest small count, within 10 percentage points; against
suppression alone (the same rows hidden, nothing perturbed) it must still work, so that
a pass means the protection works rather than that the attack is broken.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from equality_core import analysis, data, differencing
from equality_core.analysis import Selection
from equality_core.differencing import (
    BAR,
    CELL_KEY,
    SUPPRESSION_ONLY,
    SUPPRESSION_UNTESTED,
    AuditPlan,
)
from equality_core.paths import DataPaths
from equality_core.schema import CHARACTERISTICS, DEATH_CLASSIFICATIONS

#: Fewer cases than this and a recovery rate is too rough to compare with a 10-point bar
#: (at 100 cases its standard error is about 5 points).
MIN_CASES = 100

#: The views each family is run on. Where the default characteristics give too few cases
#: on the small demo, the plan says which give more, and why.
PLANS = {
    # Every rolling period of the eight quarters; adjudications per 100 by establishment
    # and orders completed by probation division, by ethnic group and religion.
    "periods": AuditPlan(characteristics=("ethnic_group", "religion")),
    "places": AuditPlan(characteristics=("ethnic_group", "religion")),
    # Ethnic group and religion give five cases here: an establishment's page hides
    # several small groups at once, so everyone minus the groups shown isolates none.
    # Disability and gender identity have one small group beside large ones (people
    # whose gender identity differs from their sex registered at birth, the rarest
    # group of all), which is exactly where this attack bites. Deaths by classification
    # run too, but the small demo has 25 deaths: no group shows all its deaths with only
    # one classification hidden, so they add no case here (the national run has some).
    "groups": AuditPlan(characteristics=("disability", "transgender")),
    # Seven measures over everyone, so a hidden group's denominator is shown on another
    # measure's row; two rolling periods by ethnic group give over 200 cases.
    "p-values": AuditPlan(characteristics=("ethnic_group",), ends=2),
}
SUMS = ("periods", "places", "groups")


@pytest.fixture(scope="module")
def frames(small_demo: DataPaths) -> dict[str, pd.DataFrame]:
    return differencing.load_frames(small_demo)


@pytest.fixture(scope="module")
def config(small_demo: DataPaths):
    return data.disclosure_config(small_demo)


@pytest.fixture(scope="module")
def attack(frames, config):
    """Each family's results on its plan, computed once for the module."""
    done: dict[str, dict[str, differencing.AttackResult]] = {}

    def run(family: str) -> dict[str, differencing.AttackResult]:
        if family not in done:
            done[family] = differencing.ATTACKS[family](frames, config=config, plan=PLANS[family])
        return done[family]

    return run


# --- The attacker's arithmetic -------------------------------------------------------------


def test_the_audit_example_is_recovered_by_subtraction() -> None:
    """24 of 177 over twelve months, quarters 9/44, 6/43 and 6/51 shown: the fourth was 3/39."""
    shown = pd.DataFrame(
        {"numerator": [24, 9, 6, 6, np.nan], "denominator": [177, 44, 43, 51, np.nan]},
        index=["12 months", "Q1", "Q2", "Q3", "Q4"],
    )
    links = pd.DataFrame({"whole": "12 months", "part": ["Q1", "Q2", "Q3", "Q4"]})
    solved = differencing.solve_from_sums(
        shown, links, ("numerator", "denominator"), combine="first"
    )
    assert solved.loc["Q4", "numerator"] == 3
    assert solved.loc["Q4", "denominator"] == 39


def test_a_second_hidden_part_leaves_nothing_to_subtract() -> None:
    shown = pd.DataFrame(
        {"numerator": [24, 9, 6, np.nan, np.nan]}, index=["all", "a", "b", "c", "d"]
    )
    links = pd.DataFrame({"whole": "all", "part": ["a", "b", "c", "d"]})
    assert differencing.solve_from_sums(shown, links, ("numerator",), combine="first").empty


def test_suppression_only_hides_the_same_small_counts_and_shows_the_rest_exactly(config) -> None:
    quiet = differencing.suppression_only(config)
    assert quiet.secret == config.secret and quiet.threshold == config.threshold
    assert quiet.ptable.max_noise == 0
    counts = np.arange(0, 40)
    assert (quiet.ptable.perturb(counts, counts * 7 % 256) == counts).all()


# --- One cell, one count, in every view ------------------------------------------------------


def test_an_establishment_page_and_its_group_funnel_show_one_count_for_one_cell(
    frames, config
) -> None:
    """The row of a group on an establishment's page is the establishment's row in the
    group's funnel plot: the same records, so the same count shown, hidden or not."""
    prisoners = frames["prisoner_periods"]
    end = differencing.rolling_ends(prisoners, 1)[0]
    national = analysis.select(prisoners, Selection("rolling", end), "prisoner_periods")
    measure, characteristic = "use_of_force", "religion"
    funnels = {
        group: analysis.funnel(
            national,
            measure=measure,
            protection=config,
            characteristic=characteristic,
            group=group,
        ).set_index("establishment")
        for group in CHARACTERISTICS[characteristic].groups
    }
    compared = visible = hidden = 0
    for establishment in sorted(prisoners["establishment"].astype(str).unique()):
        page = analysis.disparities(
            analysis.select(
                prisoners,
                Selection("rolling", end, (("establishment", establishment),)),
                "prisoner_periods",
            ),
            measures=[measure],
            characteristic=characteristic,
            protection=config,
        ).set_index("group")
        for group, funnel in funnels.items():
            if establishment not in funnel.index:
                continue  # nobody of the group there: the funnel leaves the unit out
            row, mine = funnel.loc[establishment], page.loc[group]
            assert bool(mine["suppressed"]) == bool(row["suppressed"]), (establishment, group)
            for column in ("numerator", "denominator"):
                assert mine[column] == row[column] or (
                    np.isnan(mine[column]) and np.isnan(row[column])
                ), (establishment, group, column)
            compared += 1
            hidden += bool(row["suppressed"])
            visible += not bool(row["suppressed"])
    assert compared > 50 and visible > 10 and hidden > 10


def test_all_deaths_and_each_classification_show_one_count_for_one_cell(frames, config) -> None:
    """A group's deaths of one classification are one cell whether shown as that
    classification's row or as all deaths of a view holding only them; and every row of a
    group divides by the same cell, its prisoner-quarters."""
    selection = Selection("financial_year", "2024-25")
    died = analysis.select(frames["deaths_in_custody"], selection, "deaths_in_custody")
    held = analysis.select(frames["prisoner_periods"], selection, "prisoner_periods")
    full = analysis.deaths_disparities(died, held, characteristic="sex", protection=config)
    columns = ["numerator", "denominator", "suppressed"]
    shown_pairs = 0
    for classification in DEATH_CLASSIFICATIONS:
        only = analysis.deaths_disparities(
            died[(died["classification"] == classification).to_numpy()],
            held,
            characteristic="sex",
            protection=config,
        )
        total = only[only["measure"] == analysis.ALL_DEATHS].set_index("group")[columns]
        part = full[full["measure"] == classification].set_index("group")[columns]
        pd.testing.assert_frame_equal(total, part, check_names=False)
        shown_pairs += int(((part["numerator"] > 0) & ~part["suppressed"]).sum())
    assert shown_pairs >= 1, "no classification shows a count: the test compares only [c]"
    visible = full[~full["suppressed"]]
    assert (visible.groupby("group")["denominator"].nunique() == 1).all()


def test_the_attacks_stacked_views_are_the_pages_one_at_a_time(frames, config) -> None:
    """The attacks count every establishment's page in one call (``by``); each must be the
    table the establishment's own page shows, and its own trend chart."""
    prisoners = frames["prisoner_periods"]
    end = differencing.rolling_ends(prisoners, 1)[0]
    national = analysis.select(prisoners, Selection("rolling", end), "prisoner_periods")
    count = {"measures": ["use_of_force"], "characteristic": "religion"}
    stacked = analysis.disparities(national, protection=config, by=["establishment"], **count)
    trends = analysis.disparities(
        prisoners,
        measures=["adjudications_per_100"],
        characteristic="religion",
        protection=config,
        by=["establishment", "period"],
    )
    columns = ["group", "numerator", "denominator", "suppressed"]
    for establishment in sorted(prisoners["establishment"].astype(str).unique())[:4]:
        place = (("establishment", establishment),)
        page = analysis.disparities(
            analysis.select(prisoners, Selection("rolling", end, place), "prisoner_periods"),
            protection=config,
            **count,
        )
        mine = stacked[stacked["establishment"].astype(str) == establishment]
        pd.testing.assert_frame_equal(
            page[columns].reset_index(drop=True), mine[columns].reset_index(drop=True)
        )
        trend = analysis.trend(
            prisoners,
            measure="adjudications_per_100",
            characteristic="religion",
            selection=Selection("rolling", end, place),
            protection=config,
        )
        mine = trends[trends["establishment"].astype(str) == establishment]
        key = ["period", *columns]
        pd.testing.assert_frame_equal(
            trend[key].reset_index(drop=True),
            mine.assign(period=mine["period"].astype(str))[key].reset_index(drop=True),
        )


# --- The four families -----------------------------------------------------------------------


@pytest.mark.parametrize("family", list(PLANS))
def test_each_attack_reaches_enough_hidden_small_counts_to_judge(attack, family) -> None:
    results = attack(family)
    assert results[CELL_KEY].n_cases >= MIN_CASES, results[CELL_KEY]
    assert results[SUPPRESSION_ONLY].n_cases >= MIN_CASES, results[SUPPRESSION_ONLY]


@pytest.mark.parametrize("family", list(PLANS))
def test_under_the_cell_key_method_each_attack_does_no_better_than_guessing(attack, family) -> None:
    """Recovery within 10 percentage points of always guessing the commonest small count."""
    after = attack(family)[CELL_KEY]
    assert after.recovery_rate <= after.baseline_rate + BAR, (
        f"{family}: {after.recoveries} of {after.n_cases} recovered "
        f"({after.recovery_rate:.1%}) against {after.baseline_rate:.1%} by guessing "
        f"{after.baseline_guess}"
    )


@pytest.mark.parametrize("family", SUMS)
def test_against_suppression_alone_each_differencing_attack_recovers_the_hidden_counts(
    attack, family
) -> None:
    """The attack works: with nothing perturbed, subtraction gives back every count it reaches."""
    before = attack(family)[SUPPRESSION_ONLY]
    assert before.recovery_rate == 1.0
    assert before.recovery_rate > before.baseline_rate + BAR


def test_the_p_value_attack_pins_down_counts_the_previous_release_tested_then_hid(attack) -> None:
    """Where hidden groups were tested before being hidden, the visible adjusted p-values
    often allow one count only, and it is the true one."""
    before = attack("p-values")[SUPPRESSION_ONLY]
    pinned = before.cases[before.cases["allowed"] == 1]
    assert len(pinned) >= 20
    assert pinned["recovered"].mean() >= 0.9
    assert before.recovery_rate > before.baseline_rate + BAR


def test_hidden_groups_are_never_tested_so_the_p_values_give_nothing_away(attack) -> None:
    """Every family's visible adjusted p-values are the adjustment of the visible raw
    p-values alone, with or without noise: the attacker is never given a guess."""
    results = attack("p-values")
    for label in (CELL_KEY, SUPPRESSION_UNTESTED):
        assert results[label].n_cases >= MIN_CASES
        assert results[label].cases["guess"].isna().all(), label


@pytest.mark.parametrize("family", ["periods", "places", "groups", "p-values"])
def test_an_attacker_who_knows_the_count_is_1_to_4_does_no_better_than_guessing(
    attack, family
) -> None:
    """The same bar for an attacker who clamps its guess into 1 to 4 (the baseline knows
    that too)."""
    after = attack(family)[CELL_KEY]
    assert after.clamped_recovery_rate <= after.baseline_rate + BAR, (
        f"{family}: {after.clamped_recovery_rate:.1%} against {after.baseline_rate:.1%}"
    )
