"""The catalogue of measures: what each outcome counts, over whom, and from which extract.

One definition per measure, read by the aggregation code (record-level rows to counts),
the pages, the glossary (``docs/glossary.md``) and the tests. A *proportion* measure
counts people with the outcome (numerator) among people in its population
(denominator); an *event* measure counts events (numerator) per person-period of
exposure (denominator) and is analysed as a Poisson rate per 100.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from equality_core.schema import SENTENCE_SEVERITY, TOP_APPRAISAL_MARKINGS

#: The record-level extracts whose measures make up the Equality Monitoring Tool matrix
#: (every page with a matrix, and the overview, reads these first).
MATRIX_EXTRACTS = (
    "prisoner_periods",
    "community_terminations",
    "community_journey",
    "staff_periods",
)

#: A measure's population or outcome, record by record. A mask reads the records' columns
#: by name (``f[column]``) and their index, nothing else: counting a few records of many,
#: :func:`equality_core.data.count_columns` hands it those records' columns only.
Mask = Callable[[pd.DataFrame], pd.Series]


def _everyone(frame: pd.DataFrame) -> pd.Series:
    return pd.Series(True, index=frame.index)


@dataclass(frozen=True)
class Measure:
    """One outcome measure.

    ``numerator`` returns, per row, the count contributing to the numerator (a boolean
    for proportion measures, an event count for event measures); ``population`` returns
    the boolean mask of rows in the denominator. ``adverse`` says whether a higher rate
    is the worse outcome for the person (True for use of force, False for ROTL granted);
    ``direction`` says the same in words, with ``neutral`` for measures where a higher
    rate is neither better nor worse in itself (adjustments requested, complaints made,
    new starters, grievances raised). Flags and their colours follow the direction.
    """

    name: str
    label: str
    objective: int
    extract: str
    kind: Literal["proportion", "event"]
    numerator: Mask
    definition: str
    numerator_text: str
    denominator_text: str
    adverse: bool
    population: Mask = _everyone
    caveats: str = ""
    topic: str = ""
    neutral: bool = False

    @property
    def direction(self) -> Literal["adverse", "favourable", "neutral"]:
        """Whether a higher rate is adverse, favourable or neutral for the person."""
        if self.neutral:
            return "neutral"
        return "adverse" if self.adverse else "favourable"


def _ge1(column: str) -> Mask:
    return lambda f: f[column] > 0


def is_in(values: pd.Series, wanted: Sequence[str]) -> pd.Series:
    """``values.isin(wanted)``, by the categories' codes where ``values`` is categorical.

    Looking up each record's code in the categories' answers is four times quicker than
    pandas' ``isin`` over millions of records (a measure's population, a window's
    periods).
    """
    if not isinstance(values.dtype, pd.CategoricalDtype):
        return values.isin(list(wanted))
    # A missing value (code -1) reads the last entry: never in.
    lookup = np.append(values.cat.categories.isin(list(wanted)), False)
    return pd.Series(lookup[values.cat.codes.to_numpy()], index=values.index, name=values.name)


def _eq(column: str, *values: str) -> Mask:
    return lambda f: is_in(f[column], values)


def _released(column: str) -> Mask:
    return lambda f: f[column] != "Not released"


def _tier_high(f: pd.DataFrame) -> pd.Series:
    return is_in(f["risk_tier"], ("High", "Very high"))


def _more_severe_than_proposed(f: pd.DataFrame) -> pd.Series:
    # Categorical columns map to categoricals, which cannot be ordered: compare as floats.
    proposed = f["psr_proposal"].map(SENTENCE_SEVERITY).astype("float64")
    given = f["sentence_given"].map(SENTENCE_SEVERITY).astype("float64")
    return (given > proposed).fillna(False).astype(bool)


def _with_proposal(f: pd.DataFrame) -> pd.Series:
    return f["psr_proposal"] != "No proposal"


_P = "prisoner_periods"
_S = "staff_periods"
_CT = "community_terminations"
_CJ = "community_journey"

MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        # --- Prisoners: objective 2 -----------------------------------------------------
        Measure(
            "adjudication_proven",
            "Proven adjudication",
            2,
            _P,
            "proportion",
            _ge1("adjudications_proven"),
            "Share of prisoners with at least one proven adjudication in the period.",
            "Prisoners with one or more proven adjudications",
            "Prisoners held in the period",
            adverse=True,
            topic="Discipline",
        ),
        Measure(
            "adjudications_per_100",
            "Adjudications charged per 100 prisoners",
            2,
            _P,
            "event",
            lambda f: f["adjudications_charged"],
            "Adjudications charged per 100 prisoner-quarters.",
            "Adjudications charged",
            "Prisoner-quarters (x 100)",
            adverse=True,
            topic="Discipline",
        ),
        Measure(
            "segregated",
            "Segregated",
            2,
            _P,
            "proportion",
            _ge1("segregation_episodes"),
            "Share of prisoners with at least one episode in segregation in the period.",
            "Prisoners segregated at least once",
            "Prisoners held in the period",
            adverse=True,
            topic="Discipline",
        ),
        Measure(
            "use_of_force",
            "Force used",
            2,
            _P,
            "proportion",
            _ge1("use_of_force_incidents"),
            "Share of prisoners involved in at least one use-of-force incident in the period.",
            "Prisoners with force used against them at least once",
            "Prisoners held in the period",
            adverse=True,
            topic="Safety",
        ),
        Measure(
            "use_of_force_per_100",
            "Use-of-force incidents per 100 prisoners",
            2,
            _P,
            "event",
            lambda f: f["use_of_force_incidents"],
            "Use-of-force incidents per 100 prisoner-quarters.",
            "Use-of-force incidents",
            "Prisoner-quarters (x 100)",
            adverse=True,
            topic="Safety",
        ),
        Measure(
            "incentive_basic",
            "On Basic incentive level",
            2,
            _P,
            "proportion",
            _eq("incentive_level", "Basic"),
            "Share of prisoners on the Basic incentive level at the end of the period.",
            "Prisoners on Basic",
            "Prisoners held in the period",
            adverse=True,
            topic="Incentives",
        ),
        Measure(
            "incentive_enhanced",
            "On Enhanced incentive level",
            2,
            _P,
            "proportion",
            _eq("incentive_level", "Enhanced"),
            "Share of prisoners on the Enhanced incentive level at the end of the period.",
            "Prisoners on Enhanced",
            "Prisoners held in the period",
            adverse=False,
            topic="Incentives",
        ),
        Measure(
            "negative_case_note",
            "Negative case note",
            2,
            _P,
            "proportion",
            _ge1("negative_case_notes"),
            "Share of prisoners with at least one negative case note in the period.",
            "Prisoners with a negative case note",
            "Prisoners held in the period",
            adverse=True,
            topic="Incentives",
        ),
        Measure(
            "rotl_granted",
            "ROTL granted (of applicants)",
            2,
            _P,
            "proportion",
            _ge1("rotl_grants"),
            "Share of prisoners who applied for release on temporary licence who were granted it.",
            "Applicants granted ROTL at least once",
            "Prisoners who applied for ROTL",
            adverse=False,
            population=_ge1("rotl_applications"),
            topic="Rehabilitation",
        ),
        Measure(
            "complaint_made",
            "Made a complaint",
            2,
            _P,
            "proportion",
            _ge1("complaints"),
            "Share of prisoners who submitted at least one complaint in the period.",
            "Prisoners who complained",
            "Prisoners held in the period",
            adverse=False,
            neutral=True,
            topic="Complaints",
            caveats="A higher rate is not in itself worse: it may reflect confidence in the system.",
        ),
        Measure(
            "programme_completed",
            "Completed an accredited programme (of starters)",
            2,
            _P,
            "proportion",
            _ge1("programme_completions"),
            "Share of prisoners who started an accredited programme who completed one.",
            "Starters who completed",
            "Prisoners who started a programme",
            adverse=False,
            population=_ge1("programme_starts"),
            topic="Rehabilitation",
        ),
        Measure(
            "settled_accommodation",
            "Settled accommodation on release",
            2,
            _P,
            "proportion",
            _eq("accommodation_on_release", "Settled"),
            "Share of prisoners released in the period who went to settled accommodation.",
            "Released to settled accommodation",
            "Prisoners released in the period",
            adverse=False,
            population=_released("accommodation_on_release"),
            topic="Resettlement",
        ),
        Measure(
            "employed_six_weeks",
            "Employed six weeks after release",
            2,
            _P,
            "proportion",
            _eq("employment_six_weeks", "Employed"),
            "Share of prisoners released in the period in employment six weeks after release.",
            "In employment at six weeks",
            "Prisoners released in the period",
            adverse=False,
            population=_released("employment_six_weeks"),
            topic="Resettlement",
        ),
        # --- Community: objective 2 -----------------------------------------------------
        Measure(
            "order_completed",
            "Order or licence completed successfully",
            2,
            _CT,
            "proportion",
            _eq("outcome", "Successful completion"),
            "Share of terminated community orders and licences that ended in successful completion.",
            "Successful completions",
            "Orders and licences terminated",
            adverse=False,
            topic="Community",
        ),
        Measure(
            "sentence_above_proposal",
            "Sentence more severe than proposed",
            2,
            _CJ,
            "proportion",
            _more_severe_than_proposed,
            "Share of people with a pre-sentence report proposal whose sentence was more severe"
            " than the proposal.",
            "Sentenced above the proposal",
            "People with a pre-sentence report proposal",
            adverse=True,
            population=_with_proposal,
            topic="Community",
        ),
        Measure(
            "high_risk_tier",
            "Allocated high or very high risk",
            2,
            _CJ,
            "proportion",
            _tier_high,
            "Share of people allocated a high or very high risk of serious harm tier.",
            "Allocated high or very high",
            "People starting supervision",
            adverse=True,
            topic="Community",
        ),
        Measure(
            "breached",
            "Breach action taken",
            2,
            _CJ,
            "proportion",
            lambda f: f["breached"],
            "Share of people on supervision against whom breach action was taken.",
            "People breached",
            "People starting supervision",
            adverse=True,
            topic="Community",
        ),
        Measure(
            "recalled",
            "Recalled to custody",
            2,
            _CJ,
            "proportion",
            lambda f: f["recalled"],
            "Share of people on supervision recalled to custody.",
            "People recalled",
            "People starting supervision",
            adverse=True,
            topic="Community",
        ),
        # --- Staff: objective 3 ---------------------------------------------------------
        Measure(
            "new_starter",
            "New starter",
            3,
            _S,
            "proportion",
            lambda f: f["new_starter"],
            "Share of staff in post during the year who joined during the year.",
            "New starters",
            "Staff in post during the year",
            adverse=False,
            neutral=True,
            topic="Staff journey",
        ),
        Measure(
            "promoted",
            "Promoted",
            3,
            _S,
            "proportion",
            lambda f: f["promoted"],
            "Share of staff promoted during the year.",
            "Staff promoted",
            "Staff in post during the year",
            adverse=False,
            topic="Staff journey",
        ),
        Measure(
            "leaver",
            "Left",
            3,
            _S,
            "proportion",
            lambda f: f["leaver"],
            "Share of staff who left during the year.",
            "Leavers",
            "Staff in post during the year",
            adverse=True,
            topic="Staff journey",
        ),
        Measure(
            "appraisal_top",
            "Top appraisal marking",
            3,
            _S,
            "proportion",
            _eq("appraisal_marking", *TOP_APPRAISAL_MARKINGS),
            "Share of marked staff whose appraisal marking was 'Exceeded'.",
            "Staff marked Exceeded",
            "Staff with an appraisal marking",
            adverse=False,
            population=lambda f: f["appraisal_marking"] != "Not marked",
            topic="Appraisal",
        ),
        Measure(
            "appraisal_must_improve",
            "Must improve marking",
            3,
            _S,
            "proportion",
            _eq("appraisal_marking", "Must improve"),
            "Share of marked staff whose appraisal marking was 'Must improve'.",
            "Staff marked Must improve",
            "Staff with an appraisal marking",
            adverse=True,
            population=lambda f: f["appraisal_marking"] != "Not marked",
            topic="Appraisal",
        ),
        Measure(
            "disciplinary_investigation",
            "Disciplinary investigation",
            3,
            _S,
            "proportion",
            lambda f: f["disciplinary_investigation"],
            "Share of staff who were the subject of a disciplinary investigation during the year.",
            "Staff investigated",
            "Staff in post during the year",
            adverse=True,
            topic="Conduct",
        ),
        Measure(
            "grievance_raised",
            "Raised a grievance",
            3,
            _S,
            "proportion",
            lambda f: f["grievance_raised"],
            "Share of staff who raised a grievance during the year.",
            "Staff raising a grievance",
            "Staff in post during the year",
            adverse=True,
            neutral=True,
            topic="Conduct",
        ),
        # --- Disabled staff: objective 4 ------------------------------------------------
        Measure(
            "adjustment_requested",
            "Reasonable adjustment requested",
            4,
            _S,
            "proportion",
            lambda f: f["reasonable_adjustment_requested"],
            "Share of staff who requested a reasonable adjustment during the year.",
            "Staff requesting an adjustment",
            "Staff in post during the year",
            adverse=False,
            neutral=True,
            topic="Reasonable adjustments",
        ),
        Measure(
            "adjustment_within_30_days",
            "Adjustment in place within 30 days",
            4,
            _S,
            "proportion",
            lambda f: f["adjustment_days"].le(30).fillna(False).astype(bool),
            "Share of requested reasonable adjustments put in place within 30 days.",
            "Adjustments in place within 30 days",
            "Staff who requested an adjustment",
            adverse=False,
            population=lambda f: f["reasonable_adjustment_requested"],
            topic="Reasonable adjustments",
        ),
    )
}


def measures_for(*, objective: int | None = None, extract: str | None = None) -> list[Measure]:
    """Measures for one strategic objective and/or one extract, in catalogue order."""
    return [
        m
        for m in MEASURES.values()
        if (objective is None or m.objective == objective)
        and (extract is None or m.extract == extract)
    ]


def measure(name: str) -> Measure:
    """The measure called ``name``; ``ValueError`` lists the known ones otherwise."""
    try:
        return MEASURES[name]
    except KeyError:
        raise ValueError(
            f"unknown measure {name!r}; known measures: {', '.join(MEASURES)}"
        ) from None
