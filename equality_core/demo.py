"""Synthetic demo data, deterministic from a seed, with disparities of known size planted.

The generator writes every extract of the data contract (:mod:`equality_core.schema`)
at one of three scales:

``small``
    About 12 prisons and a headquarters unit, 4,000 prisoners at a time over eight
    quarters, 1,500 staff over three financial years. Seconds to build; used by the tests
    and shipped, validated, in ``data/``.
``national``
    About 120 prisons and headquarters units, 85,000 prisoners at a time over 40
    quarters (about 3.5 million prisoner-quarter rows), 45,000 staff over ten financial
    years, 250,000 community terminations a year.
``national-x5``
    Five times national, to measure how the pipeline grows (``benchmarks/scale.py``):
    580 prisons of the national sizes (not national prisons five times as full) and four
    headquarters units, 425,000 prisoners at a time over 40 quarters (about 17 million
    prisoner-quarter rows), 225,000 staff, 1.25 million community terminations a year
    across five delivery units in each probation division. Written a period at a time
    (a Parquet row group per period, :func:`write_raw`), never a whole extract in memory:
    each period's random draws come from a seed of their own (the scale's seed, the
    extract and the period), so the same seed gives the same data, though not the
    rows the whole-frame path of the smaller scales would give at the same size.

The small and national scales are made whole, in memory, exactly as they always have
been: their data for a given seed never changes.

Every systematic difference between groups in the data is one the generator planted
and lists in ``planted.json`` beside the raw files (see :func:`planted_effects_document`),
so that tests can check the statistics find exactly those and few others. Everything
else is either the same for every group or random noise, except the crude differences
that follow from a planted effect and how groups are spread over its characteristic
(disabled prisoners are older, and older prisoners less often employed after release),
which ``planted.json`` lists under ``confounded``. Establishment names are
fictional (a guard rejects the name of any real prison); regions and functions are real.

The proportions are close to the published ones (prison population by ethnic group,
religion, age band and sex; staff by grade), rounded, and are not copies of any table.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from equality_core.measures import measures_for
from equality_core.schema import (
    APPRAISAL_MARKINGS,
    CHARACTERISTICS,
    COMMUNITY_CHARACTERISTICS,
    DEATH_CLASSIFICATIONS,
    DELIVERY_STATUSES,
    DELIVERY_THEMES,
    DIRECTORATES,
    EXTRACTS,
    INCENTIVE_LEVELS,
    ORDER_TYPES,
    PERSON_CHARACTERISTICS,
    PROBATION_REGIONS,
    PSR_PROPOSALS,
    RELEASE_ACCOMMODATION,
    RELEASE_EMPLOYMENT,
    RISK_TIERS,
    SENTENCE_TYPES,
    STAFF_GRADES,
    TERMINATION_OUTCOMES,
)

Scale = Literal["small", "national", "national-x5"]
Progress = Callable[[str], None]

#: Record-level extracts are written as Parquet (CSV would be gigabytes at national scale);
#: the small reference and aggregate tables as CSV, as an analyst would supply them.
PARQUET_EXTRACTS = (
    "prisoner_periods",
    "deaths_in_custody",
    "community_terminations",
    "community_journey",
    "staff_periods",
    "prisoner_survey",
    "staff_survey",
    "counts",
)
PLANTED_FILE = "planted.json"

WHITE = "White"
BLACK = "Black, Black British, Black Welsh, Caribbean or African"
MIXED = "Mixed or Multiple ethnic groups"
ASIAN = "Asian, Asian British or Asian Welsh"
OTHER = "Other ethnic group"
ETHNIC_MINORITIES = (ASIAN, BLACK, MIXED, OTHER)


@dataclass(frozen=True)
class ScaleSettings:
    """Sizes of one demo scale."""

    prisons: dict[str, int]  # function -> number of establishments
    prisoners: int  # held at any one time
    first_quarter: str
    quarters: int
    staff: int  # in post at any one time
    financial_years: int
    terminations_per_quarter: int
    sentenced_per_quarter: int
    policies_per_year: int
    headquarters_units: int
    #: Delivery units each probation division is split into (more at a larger scale).
    delivery_units: int = 1
    #: Write the record-level extracts a period at a time, never holding one whole
    #: (each period's draws come from their own seed: the same seed, the same data).
    streamed: bool = False


SCALES: dict[str, ScaleSettings] = {
    "small": ScaleSettings(
        prisons={
            "Category B local": 3,
            "Category B trainer": 1,
            "Category C trainer": 3,
            "Category D open": 1,
            "High security": 1,
            "Women's closed": 1,
            "Women's open": 1,
            "Young offender institution": 1,
        },
        prisoners=4_000,
        first_quarter="2024-Q1",
        quarters=8,
        staff=1_500,
        financial_years=3,
        terminations_per_quarter=2_000,
        sentenced_per_quarter=1_500,
        policies_per_year=12,
        headquarters_units=1,
    ),
    "national": ScaleSettings(
        prisons={
            "Category B local": 30,
            "Category B trainer": 9,
            "Category C trainer": 44,
            "Category D open": 10,
            "High security": 6,
            "Women's closed": 10,
            "Women's open": 2,
            "Young offender institution": 5,
        },
        prisoners=85_000,
        first_quarter="2016-Q1",
        quarters=40,
        staff=45_000,
        financial_years=10,
        terminations_per_quarter=62_500,
        sentenced_per_quarter=30_000,
        policies_per_year=60,
        headquarters_units=4,
    ),
    # Five times national, for measuring how the pipeline grows: five times the
    # establishments (each of the same size as at national scale, so every prison stays
    # realistic), prisoners, staff and people on probation, with each probation division
    # split into five delivery units. About 17 million prisoner-quarters and 12.5 million
    # community terminations: written and validated a period at a time.
    "national-x5": ScaleSettings(
        prisons={
            "Category B local": 150,
            "Category B trainer": 45,
            "Category C trainer": 220,
            "Category D open": 50,
            "High security": 30,
            "Women's closed": 50,
            "Women's open": 10,
            "Young offender institution": 25,
        },
        prisoners=425_000,
        first_quarter="2016-Q1",
        quarters=40,
        staff=225_000,
        financial_years=10,
        terminations_per_quarter=312_500,
        sentenced_per_quarter=150_000,
        policies_per_year=60,
        headquarters_units=4,
        delivery_units=5,
        streamed=True,
    ),
}

#: Typical operational capacity by function (scaled to the target population).
_CAPACITY = {
    "Category B local": 750,
    "Category B trainer": 650,
    "Category C trainer": 750,
    "Category D open": 400,
    "High security": 650,
    "Women's closed": 330,
    "Women's open": 150,
    "Young offender institution": 350,
}

# --- Population shares (rounded from published prison population statistics) ----------

_PRISONER_ETHNICITY = {WHITE: 0.715, BLACK: 0.12, ASIAN: 0.08, MIXED: 0.05, OTHER: 0.02}
_PRISONER_ETHNICITY_NOT_DECLARED = {"Not stated": 0.012, "Refused": 0.003}
_LONDON_ETHNICITY = {WHITE: 0.45, BLACK: 0.27, ASIAN: 0.13, MIXED: 0.1, OTHER: 0.05}
_PRISONER_RELIGION = {
    "Christian": 0.44,
    "Muslim": 0.18,
    "No religion": 0.305,
    "Buddhist": 0.02,
    "Hindu": 0.005,
    "Jewish": 0.005,
    "Sikh": 0.01,
    "Other religion": 0.02,
    "Not stated": 0.015,
}
_ADULT_AGE = {
    "18-20": 0.055,
    "21-24": 0.1,
    "25-29": 0.16,
    "30-39": 0.33,
    "40-49": 0.19,
    "50-59": 0.1,
    "60-69": 0.045,
    "70 and over": 0.02,
}
_YOI_AGE = {"15-17": 0.15, "18-20": 0.7, "21-24": 0.15}
_SEXUAL_ORIENTATION = {
    "Straight or heterosexual": 0.915,
    "Gay or lesbian": 0.015,
    "Bisexual": 0.02,
    "All other sexual orientations": 0.005,
    "Not stated": 0.035,
    "Refused": 0.01,
}
_DISABILITY_NOT_DECLARED = {"Not stated": 0.05, "Refused": 0.02}
#: Share of prisoners who declare a disability, by age band: disability rises steeply with
#: age (about a quarter of all prisoners). This is what makes a crude comparison of
#: disabled and non-disabled prisoners mix in the effect of age (see PLANTED_CONFOUNDED).
#: It levels off at 50% so that, the other way round, the planted disability effects seen
#: through age (older prisoners are more often disabled, so more often segregated) stay
#: well inside the tolerance band and are not flagged as effects of age.
_DISABLED_BY_AGE = {
    "15-17": 0.08,
    "18-20": 0.08,
    "21-24": 0.1,
    "25-29": 0.13,
    "30-39": 0.18,
    "40-49": 0.35,
    "50-59": 0.45,
    "60-69": 0.5,
    "70 and over": 0.5,
}
_TRANSGENDER = {
    "Gender identity the same as sex registered at birth": 0.975,
    "Gender identity different from sex registered at birth": 0.004,
    "Not stated": 0.021,
}
#: In the establishments planted with low declaration: most records lack the answer.
_LOW_DECLARATION_SHARE = 0.45

_STAFF_ETHNICITY = {WHITE: 0.86, ASIAN: 0.045, BLACK: 0.045, MIXED: 0.02, OTHER: 0.012}
_STAFF_ETHNICITY_NOT_DECLARED = {"Not stated": 0.03, "Refused": 0.01}
_STAFF_GRADE_SHARE = {
    "Band 2": 0.06,
    "Band 3": 0.4,
    "Band 4": 0.15,
    "Band 5": 0.12,
    "Band 6": 0.08,
    "Band 7": 0.07,
    "Band 8": 0.05,
    "Band 9": 0.03,
    "Band 10": 0.02,
    "Band 11": 0.015,
    "Senior Civil Service": 0.005,
}
_STAFF_AGE = {
    "18-20": 0.02,
    "21-24": 0.07,
    "25-29": 0.12,
    "30-39": 0.25,
    "40-49": 0.25,
    "50-59": 0.22,
    "60-69": 0.07,
}
_STAFF_RELIGION = {
    "Christian": 0.45,
    "No religion": 0.36,
    "Muslim": 0.03,
    "Hindu": 0.01,
    "Sikh": 0.01,
    "Buddhist": 0.005,
    "Jewish": 0.005,
    "Other religion": 0.01,
    "Not stated": 0.09,
    "Refused": 0.03,
}
_STAFF_DISABILITY = {"Disabled": 0.09, "Not disabled": 0.71, "Not stated": 0.15, "Refused": 0.05}
_STAFF_SEXUAL_ORIENTATION = {
    "Straight or heterosexual": 0.84,
    "Gay or lesbian": 0.025,
    "Bisexual": 0.015,
    "All other sexual orientations": 0.005,
    "Not stated": 0.09,
    "Refused": 0.025,
}

# --- Base rates per quarter (prisoners) or per year (staff, community) -------------------

_BASE = {
    "adjudications_charged": 0.15,  # Poisson intensity per prisoner-quarter
    "proven_share": 0.65,
    "segregation_episodes": 0.04,
    "use_of_force_incidents": 0.06,
    "basic": 0.06,
    "enhanced": 0.35,
    "rotl_applications": 0.2,  # in open, trainer and women's establishments only
    "rotl_grant": 0.6,
    "complaints": 0.25,
    "programme_starts": 0.05,
    "programme_completion": 0.8,
    "negative_case_notes": 0.08,
    "settled": 0.8,
    "employed": 0.25,
    "death": 0.0009,
    "completed": 0.7,
    "above_proposal": 0.15,
    "high_risk": 0.22,
    "breached": 0.18,
    "recalled": 0.12,
    "leaver": 0.1,
    "promoted": 0.05,
    "exceeded": 0.18,
    "must_improve": 0.04,
    "not_marked": 0.07,
    "grievance": 0.02,
    "disciplinary": 0.03,
    "adjustment_disabled": 0.2,
    "adjustment_other": 0.01,
}


@dataclass(frozen=True)
class PlantedEffect:
    """One disparity the generator planted.

    ``multiplier`` scales the generating quantity named in ``mechanism`` for records in
    ``groups`` relative to ``comparator``; the measure's observed relative rate is near it
    but not equal (several events in a period saturate "at least one").
    """

    measure: str
    characteristic: str
    groups: tuple[str, ...]
    comparator: str
    multiplier: float
    mechanism: str
    #: Other measures driven by the same mechanism (an event count and its "at least one").
    also: tuple[str, ...] = ()

    @property
    def direction(self) -> str:
        """``higher`` or ``lower``: the flag the statistics should give."""
        return "higher" if self.multiplier > 1 else "lower"


PLANTED_EFFECTS: tuple[PlantedEffect, ...] = (
    PlantedEffect(
        "use_of_force",
        "ethnic_group",
        (BLACK,),
        WHITE,
        1.8,
        "use-of-force incident intensity per quarter",
        also=("use_of_force_per_100",),
    ),
    PlantedEffect(
        "use_of_force",
        "ethnic_group",
        (MIXED,),
        WHITE,
        1.4,
        "use-of-force incident intensity per quarter",
        also=("use_of_force_per_100",),
    ),
    PlantedEffect(
        "adjudication_proven",
        "age_band",
        ("18-20",),
        "30-39",
        1.8,
        "adjudication charge intensity per quarter",
        also=("adjudications_per_100",),
    ),
    PlantedEffect(
        "incentive_basic",
        "age_band",
        ("18-20",),
        "30-39",
        1.6,
        "probability of Basic incentive level at quarter end",
    ),
    PlantedEffect(
        "employed_six_weeks",
        "age_band",
        ("40-49",),
        "30-39",
        0.4,
        "probability of being in employment six weeks after release",
    ),
    PlantedEffect(
        "employed_six_weeks",
        "age_band",
        ("50-59",),
        "30-39",
        0.15,
        "probability of being in employment six weeks after release",
    ),
    PlantedEffect(
        "employed_six_weeks",
        "age_band",
        ("60-69", "70 and over"),
        "30-39",
        0.1,
        "probability of being in employment six weeks after release",
    ),
    PlantedEffect(
        "incentive_enhanced",
        "ethnic_group",
        (BLACK,),
        WHITE,
        0.7,
        "probability of Enhanced incentive level at quarter end",
    ),
    PlantedEffect(
        "segregated",
        "disability",
        ("Disabled",),
        "Not disabled",
        1.6,
        "segregation episode intensity per quarter",
    ),
    PlantedEffect(
        "rotl_granted",
        "disability",
        ("Disabled",),
        "Not disabled",
        0.6,
        "probability that an application for temporary release is granted",
    ),
    PlantedEffect(
        "settled_accommodation",
        "disability",
        ("Disabled",),
        "Not disabled",
        0.75,
        "probability of settled accommodation on release",
    ),
    PlantedEffect(
        "negative_case_note",
        "religion",
        ("Muslim",),
        "Christian",
        1.6,
        "negative case note intensity per quarter",
    ),
    PlantedEffect(
        "order_completed",
        "age_band",
        ("18-20",),
        "30-39",
        0.75,
        "probability that an order or licence ends in successful completion",
    ),
    PlantedEffect(
        "sentence_above_proposal",
        "ethnic_group",
        (BLACK,),
        WHITE,
        1.5,
        "probability that the sentence is more severe than the pre-sentence report proposed",
    ),
    PlantedEffect(
        "appraisal_top",
        "ethnic_group",
        ETHNIC_MINORITIES,
        WHITE,
        0.55,
        "probability of the top appraisal marking (Exceeded)",
    ),
    PlantedEffect(
        "disciplinary_investigation",
        "ethnic_group",
        (BLACK,),
        WHITE,
        2.0,
        "probability of a disciplinary investigation in the year",
    ),
    PlantedEffect(
        "leaver",
        "disability",
        ("Disabled",),
        "Not disabled",
        1.4,
        "probability of leaving in the year",
        # Shorter stays mean more of the disabled staff in post in any year are new.
        also=("new_starter",),
    ),
    PlantedEffect(
        "adjustment_requested",
        "disability",
        ("Disabled",),
        "Not disabled",
        20.0,
        "probability of requesting a reasonable adjustment in the year (0.2 against 0.01)",
    ),
)

#: Crude differences that follow from a planted effect of another characteristic and the
#: way groups are spread over it, not from any effect of their own: disabled prisoners
#: are older (``_DISABLED_BY_AGE``) and older prisoners are less often employed after
#: release, so disabled prisoners' crude employment rate is lower although, age for age,
#: it is the same. Adjusted for age band (Mantel-Haenszel), the relative rate is 1.
PLANTED_CONFOUNDED: tuple[dict, ...] = (
    {
        "measure": "employed_six_weeks",
        "characteristic": "disability",
        "group": "Disabled",
        "comparator": "Not disabled",
        "expected_flag": "lower",
        "explained_by": "age_band",
        "adjusted_relative_rate": 1.0,
        "mechanism": "age mix: disability rises with age, and employment after release "
        "falls with it",
    },
)

#: Differences planted in the aggregate surveys: points added to the group's percentage
#: or mean (the surveys arrive aggregated, so they are not relative rates).
PLANTED_SURVEY_DIFFERENCES: tuple[dict, ...] = (
    {
        "extract": "staff_survey",
        "column": "engagement_index",
        "characteristic": "disability",
        "group": "Disabled",
        "comparator": "Not disabled",
        "difference": -6.0,
    },
    {
        "extract": "staff_survey",
        "column": "pct_bullying_harassment",
        "characteristic": "disability",
        "group": "Disabled",
        "comparator": "Not disabled",
        "difference": 6.0,
    },
    {
        "extract": "staff_survey",
        "column": "pct_discrimination",
        "characteristic": "disability",
        "group": "Disabled",
        "comparator": "Not disabled",
        "difference": 5.0,
    },
    {
        "extract": "prisoner_survey",
        "column": "pct_treated_with_respect",
        "characteristic": "ethnic_group",
        "group": BLACK,
        "comparator": WHITE,
        "difference": -10.0,
    },
    {
        "extract": "prisoner_survey",
        "column": "pct_feeling_unsafe",
        "characteristic": "disability",
        "group": "Disabled",
        "comparator": "Not disabled",
        "difference": 8.0,
    },
)

#: Representation gradient planted in the workforce: ethnic minority staff are this much
#: less likely to be in grades at or above Band 7 (relative to their overall share).
PLANTED_SENIOR_GRADE_MULTIPLIER = 0.5

# --- Names ---------------------------------------------------------------------------

_NAME_STARTS = (
    "Ash", "Bar", "Beck", "Black", "Bram", "Brent", "Brock", "Cald", "Carr", "Chal",
    "Clay", "Cold", "Crane", "Dun", "Elm", "Fair", "Fern", "Fox", "Glen", "Gold",
    "Hal", "Har", "Hazel", "Heath", "Holl", "Kel", "Kings", "Lang", "Lark", "Lin",
    "Marl", "Mill", "Moss", "Nor", "Oak", "Pen", "Quarry", "Raven", "Red", "Rook",
    "Sal", "Sand", "Sil", "Stan", "Stone", "Thorn", "Wal", "Wel", "Whit", "Wil",
    "Wold", "Wych",
)  # fmt: skip
_NAME_ENDS = (
    "bank", "beck", "bridge", "brook", "bury", "by", "combe", "cote", "dale", "don",
    "field", "ford", "gate", "grange", "ham", "holme", "hurst", "ley", "low", "mere",
    "moor", "mouth", "ridge", "stead", "stone", "thorpe", "ton", "well", "wick", "worth",
)  # fmt: skip
#: Names of prisons in England and Wales (current and recently closed); the generator
#: never uses one, so that no synthetic figure is mistaken for a real prison's.
REAL_PRISON_NAMES = frozenset(
    n.casefold()
    for n in (
        "Altcourse", "Ashfield", "Askham Grange", "Aylesbury", "Bedford", "Belmarsh",
        "Berwyn", "Birmingham", "Brinsford", "Bristol", "Brixton", "Bronzefield",
        "Buckley Hall", "Bullingdon", "Bure", "Cardiff", "Channings Wood", "Chelmsford",
        "Coldingley", "Cookham Wood", "Dartmoor", "Deerbolt", "Doncaster", "Dovegate",
        "Downview", "Drake Hall", "Durham", "East Sutton Park", "Eastwood Park", "Elmley",
        "Erlestoke", "Exeter", "Featherstone", "Feltham", "Five Wells", "Ford",
        "Forest Bank", "Fosse Way", "Foston Hall", "Frankland", "Full Sutton", "Garth",
        "Gartree", "Grendon", "Guys Marsh", "Hatfield", "Haverigg", "Hewell", "High Down",
        "Highpoint", "Hindley", "Hollesley Bay", "Holloway", "Holme House", "Hull",
        "Humber", "Huntercombe", "Isis", "Isle of Wight", "Kirkham", "Kirklevington Grange",
        "Lancaster Farms", "Leeds", "Leicester", "Lewes", "Leyhill", "Lincoln",
        "Lindholme", "Littlehey", "Liverpool", "Long Lartin", "Low Newton",
        "Lowdham Grange", "Maidstone", "Manchester", "Millsike", "Moorland", "Morton Hall",
        "The Mount", "New Hall", "North Sea Camp", "Northumberland", "Norwich",
        "Nottingham", "Oakwood", "Onley", "Parc", "Pentonville", "Peterborough",
        "Portland", "Prescoed", "Ranby", "Risley", "Rochester", "Rye Hill", "Send",
        "Stafford", "Standford Hill", "Stocken", "Stoke Heath", "Styal", "Sudbury",
        "Swaleside", "Swansea", "Swinfen Hall", "Thameside", "Thorn Cross", "Usk",
        "The Verne", "Verne", "Wakefield", "Wandsworth", "Warren Hill", "Wayland",
        "Wealstun", "Werrington", "Wetherby", "Whatton", "Whitemoor", "Winchester",
        "Woodhill", "Wormwood Scrubs", "Wymott", "Blundeston", "Dorchester", "Gloucester",
        "Kingston", "Shepton Mallet", "Shrewsbury", "Reading", "Canterbury", "Northallerton",
        "Haslar", "Latchmere House", "Wellingborough", "Blantyre House", "Ashwell",
        "Morton", "Kennet", "Glen Parva", "Hollesley", "Castington", "Acklington",
        "Everthorpe", "Wolds", "Camp Hill", "Albany", "Parkhurst", "Bullwood Hall",
        "Eastchurch", "Standford", "Stanford Hill", "Brockhill", "Hindley",
    )
)  # fmt: skip

_REGIONS_FOR_PRISONS = (
    "North East",
    "Yorkshire",
    "North West",
    "East Midlands",
    "West Midlands",
    "East of England",
    "London",
    "Kent, Sussex and Essex",
    "South Central",
    "South West",
    "Wales",
)
_HQ_UNITS = (
    ("HQU", "Headquarters: Prison and Probation Operations"),
    ("HRD", "Headquarters: Human Resources Directorate"),
    ("PSD", "Headquarters: Policy and Strategy"),
    ("EMS", "Headquarters: Electronic Monitoring Service"),
)
_DIVISION_PARTS = {
    "North East": ("Durham", "Northumberland and North Tyneside", "Teesside"),
    "North West": ("Cumbria", "Lancashire", "Cheshire"),
    "Greater Manchester": ("Manchester North", "Manchester South", "Wigan"),
    "Yorkshire and the Humber": ("West Yorkshire", "South Yorkshire", "Humber"),
    "East Midlands": ("Derbyshire", "Nottinghamshire", "Leicestershire"),
    "West Midlands": ("Birmingham North", "Staffordshire", "Coventry"),
    "East of England": ("Norfolk and Suffolk", "Essex North", "Bedfordshire"),
    "London": ("Camden and Islington", "Lambeth", "Croydon", "Ealing and Hillingdon"),
    "Kent, Surrey and Sussex": ("Kent", "Surrey", "Sussex"),
    "South Central": ("Hampshire", "Thames Valley", "Isle of Wight and Portsmouth"),
    "South West": ("Devon and Torbay", "Bristol", "Cornwall"),
    "Wales": ("Cardiff and Vale", "North Wales", "Swansea Bay"),
}


# --- Result --------------------------------------------------------------------------


@dataclass
class DemoData:
    """Every extract of the demo, plus what was planted in it."""

    scale: str
    seed: int
    frames: dict[str, pd.DataFrame]
    planted: dict = field(default_factory=dict)
    #: At a streamed scale, the record-level extracts and those made from them are not in
    #: ``frames``: this writes them, a period at a time, into a raw folder (write_raw
    #: calls it) and returns the paths written.
    deferred: Callable[..., list[Path]] | None = None


def planted_effects_document(
    *, scale: str, seed: int, low_declaration: Sequence[str], settings: ScaleSettings
) -> dict:
    """The machine-readable record of what the generator planted (written to ``planted.json``).

    ``relative_rates`` lists each planted disparity: the measure, characteristic, groups,
    comparator, the multiplier on its generating quantity and the flag the statistics
    should give. ``confounded`` lists crude disparities that follow from another planted
    effect and how groups are spread over it (with the characteristic that explains
    them); adjusted for it they vanish. Any flag listed in neither is unplanted.
    """
    return {
        "generator": "equality_core.demo",
        "scale": scale,
        "seed": seed,
        "first_quarter": settings.first_quarter,
        "quarters": settings.quarters,
        "note": (
            "Every systematic difference between groups in this synthetic data is listed here; "
            "all else is the same for every group apart from random noise."
        ),
        "relative_rates": [
            {
                "measure": measure,
                "characteristic": e.characteristic,
                "group": g,
                "comparator": e.comparator,
                "multiplier": e.multiplier,
                "mechanism": e.mechanism
                + ("" if measure == e.measure else f" (the mechanism of {e.measure})"),
                "expected_flag": e.direction,
            }
            for e in PLANTED_EFFECTS
            for measure in (e.measure, *e.also)
            for g in e.groups
        ],
        "confounded": list(PLANTED_CONFOUNDED),
        "survey_differences": list(PLANTED_SURVEY_DIFFERENCES),
        "representation": {
            "characteristic": "ethnic_group",
            "groups": list(ETHNIC_MINORITIES),
            "grades": ["Band 7", "Band 8", "Band 9", "Band 10", "Band 11", "Senior Civil Service"],
            "multiplier": PLANTED_SENIOR_GRADE_MULTIPLIER,
            "mechanism": "chance of an ethnic minority member of staff being in these grades",
        },
        "low_declaration": {
            "establishments": sorted(low_declaration),
            "characteristics": ["sexual_orientation", "disability"],
            "not_declared_share": _LOW_DECLARATION_SHARE,
        },
    }


# --- Helpers -------------------------------------------------------------------------


def _draw(rng: np.random.Generator, shares: dict[str, float], size: int) -> np.ndarray:
    """Codes into ``list(shares)`` drawn with the given (normalised) probabilities."""
    p = np.fromiter(shares.values(), float)
    return rng.choice(len(p), size=size, p=p / p.sum())


def _identifiers(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    """``prefix`` and each number zero-padded to ``width`` (``"P{:07d}".format``, faster)."""
    digits = pc.utf8_lpad(pa.array(numbers).cast(pa.string()), width, "0")
    text = pc.binary_join_element_wise(prefix, digits, "").cast(pa.large_string())
    return pd.Series(pd.array(text, dtype="str"))


def _categorical(codes: np.ndarray, labels: Sequence[str]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=list(labels))


def _with_not_declared(groups: dict[str, float], not_declared: dict[str, float]) -> dict:
    share = sum(not_declared.values())
    return {**{g: s * (1 - share) for g, s in groups.items()}, **not_declared}


def _quarter_labels(first: str, count: int) -> list[str]:
    year, q = first.split("-Q")
    start = int(year) * 4 + int(q) - 1
    return [f"{i // 4}-Q{i % 4 + 1}" for i in range(start, start + count)]


def _financial_years(last_quarter: str, count: int) -> list[str]:
    """The ``count`` complete financial years (April to March) up to ``last_quarter``."""
    # A financial year Y-(Y+1) ends with quarter (Y+1)-Q1, so the last complete one
    # starts in the year before the last quarter's calendar year.
    end_start = int(last_quarter[:4]) - 1
    return [f"{s}-{(s + 1) % 100:02d}" for s in range(end_start - count + 1, end_start + 1)]


def _spells(
    rng: np.random.Generator, *, units: np.ndarray, capacity: np.ndarray, periods: int, mean: float
) -> pd.DataFrame:
    """Candidate stays of people in units over ``periods`` periods, before their lengths.

    Each spell starts uniformly over a window that begins well before the first period
    (so the first period is already full); with lengths of mean ``mean`` (drawn by the
    caller, see :func:`_with_lengths`) each unit holds about ``capacity`` people.
    """
    # A spell covers a given period with probability mean / window, so this many spells
    # keep each unit at its capacity on average.
    warm_up = int(3 * mean)
    counts = rng.poisson(capacity * (periods + warm_up) / mean)
    unit = np.repeat(units, counts)
    start = rng.integers(-warm_up, periods, size=unit.size)
    return pd.DataFrame({"unit": unit, "start": start})


def _with_lengths(spells: pd.DataFrame, length: np.ndarray, periods: int) -> np.ndarray:
    """Set each spell's end, first and last period; the positions of spells in the window."""
    spells["end"] = spells["start"] + length - 1
    spells["first"] = spells["start"].clip(lower=0)
    spells["last"] = spells["end"].clip(upper=periods - 1)
    return np.flatnonzero((spells["end"] >= 0).to_numpy())


def _explode(spells: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Row index into ``spells`` and the period index, one row per spell per period."""
    lengths = (spells["last"] - spells["first"] + 1).to_numpy()
    spell_index = np.repeat(np.arange(len(spells)), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    period = spells["first"].to_numpy()[spell_index] + offsets
    return spell_index, period


def _multiplier(codes: np.ndarray, labels: Sequence[str], effects: dict[str, float]) -> np.ndarray:
    """Per-record multiplier: ``effects[label]`` for records carrying that label, else 1."""
    table = np.ones(len(labels))
    for label, value in effects.items():
        table[list(labels).index(label)] = value
    return table[codes]


def _planted(measure: str) -> dict[str, dict[str, float]]:
    """Planted multipliers for ``measure``: characteristic -> {group: multiplier}."""
    out: dict[str, dict[str, float]] = {}
    for effect in PLANTED_EFFECTS:
        if effect.measure == measure:
            for group in effect.groups:
                out.setdefault(effect.characteristic, {})[group] = effect.multiplier
    return out


def _effect(measure: str, people: dict[str, tuple[np.ndarray, Sequence[str]]]) -> np.ndarray:
    """The product of the planted multipliers of ``measure`` for each record."""
    size = next(iter(people.values()))[0].size
    result = np.ones(size)
    for characteristic, groups in _planted(measure).items():
        codes, labels = people[characteristic]
        result *= _multiplier(codes, labels, groups)
    return result


# --- Establishments and references ---------------------------------------------------


def _establishment_names(rng: np.random.Generator, count: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        name = rng.choice(_NAME_STARTS) + rng.choice(_NAME_ENDS)
        if name.casefold() in REAL_PRISON_NAMES or name in seen or name[-1] == name[-2] == "l":
            continue
        seen.add(name)
        names.append(name)
    return names


def _codes_for(names: Sequence[str], reserved: set[str]) -> list[str]:
    codes: list[str] = []
    used = set(reserved)
    for name in names:
        letters = [c for c in name.upper() if c.isalpha()]
        candidates = [letters[0] + a + b for a in letters[1:] for b in letters[2:]]
        candidates += [letters[0] + a + b for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" for b in "XYZ"]
        code = next(c for c in candidates if c not in used)
        used.add(code)
        codes.append(code)
    return codes


def _establishments(rng: np.random.Generator, settings: ScaleSettings) -> pd.DataFrame:
    functions = [f for f, n in settings.prisons.items() for _ in range(n)]
    names = _establishment_names(rng, len(functions))
    rows = []
    geographic = list(_REGIONS_FOR_PRISONS)
    for i, (function, name) in enumerate(zip(functions, names, strict=True)):
        if function.startswith("Women's"):
            region, estate, prefix = "Women's Estate", "Women's", "HMP"
        elif function == "Young offender institution":
            region, estate, prefix = "Youth Custody Service", "Young offenders", "HMYOI"
        elif function == "High security":
            region, estate, prefix = "Long Term and High Security", "Men's", "HMP"
        else:
            region, estate, prefix = geographic[i % len(geographic)], "Men's", "HMP"
        opened = dt.date(int(rng.integers(1850, 2012)), int(rng.integers(1, 13)), 1)
        rows.append(
            {
                "name": f"{prefix} {name}",
                "region": region,
                "function": function,
                "estate": estate,
                "sector": "Contracted" if rng.random() < 0.15 else "Public",
                "opened": opened.isoformat(),
                "closed": "",
            }
        )
    hq_codes = [code for code, _ in _HQ_UNITS[: settings.headquarters_units]]
    codes = _codes_for([r["name"].split(" ", 1)[1] for r in rows], set(hq_codes))
    frame = pd.DataFrame(rows)
    frame.insert(0, "code", codes)
    hq = pd.DataFrame(
        {
            "code": hq_codes,
            "name": [name for _, name in _HQ_UNITS[: settings.headquarters_units]],
            "region": "Headquarters",
            "function": "Headquarters unit",
            "estate": "Not applicable",
            "sector": "Public",
            "opened": "2004-06-01",
            "closed": "",
        }
    )
    return pd.concat([frame, hq], ignore_index=True)


def _benchmarks() -> pd.DataFrame:
    census = "Census 2021, England and Wales, population aged 16 to 64"
    rows = [
        ("ethnic_group", WHITE, 0.807, census, 2021),
        ("ethnic_group", ASIAN, 0.101, census, 2021),
        ("ethnic_group", BLACK, 0.044, census, 2021),
        ("ethnic_group", MIXED, 0.025, census, 2021),
        ("ethnic_group", OTHER, 0.023, census, 2021),
        ("sex", "Female", 0.51, census, 2021),
        ("sex", "Male", 0.49, census, 2021),
        ("disability", "Disabled", 0.23, "Labour Force Survey, people aged 16 to 64", 2023),
        ("disability", "Not disabled", 0.77, "Labour Force Survey, people aged 16 to 64", 2023),
    ]
    return pd.DataFrame(
        rows, columns=["characteristic", "group", "benchmark_share", "source", "year"]
    )


# --- Prisoners -----------------------------------------------------------------------


@dataclass
class _Stays:
    """Prisoners' stays: where, when, who, and what drives their outcomes.

    Everything fixed for a stay; the outcomes of each quarter of it are drawn by
    :func:`_prisoner_rows`, for all quarters at once or one quarter at a time.
    """

    prisons: pd.DataFrame
    spells: pd.DataFrame  # unit, start, end, first, last (quarter numbers)
    people: dict[str, tuple[np.ndarray, Sequence[str]]]  # every characteristic, coded
    multipliers: dict[str, np.ndarray]
    establishment_effect: dict[str, np.ndarray]
    rotl_rate: np.ndarray


def _prisoners(
    rng: np.random.Generator,
    settings: ScaleSettings,
    establishments: pd.DataFrame,
    low_declaration: set[str],
    quarters: list[str],
) -> pd.DataFrame:
    stays = _prisoner_stays(rng, settings, establishments, low_declaration, quarters)
    spell_index, period_index = _explode(stays.spells)
    return _prisoner_rows(rng, stays, spell_index, period_index, quarters)


def _prisoner_stays(
    rng: np.random.Generator,
    settings: ScaleSettings,
    establishments: pd.DataFrame,
    low_declaration: set[str],
    quarters: list[str],
) -> _Stays:
    prisons = establishments[establishments["function"] != "Headquarters unit"].reset_index(
        drop=True
    )
    capacity = prisons["function"].map(_CAPACITY).to_numpy(float)
    capacity *= settings.prisoners / capacity.sum()
    mean_stay = 4.0
    spells = _spells(
        rng,
        units=np.arange(len(prisons)),
        capacity=capacity,
        periods=len(quarters),
        mean=mean_stay,
    )
    inside = _with_lengths(spells, rng.geometric(1 / mean_stay, size=len(spells)), len(quarters))
    spells = spells.iloc[inside].reset_index(drop=True)
    n = len(spells)
    unit = spells["unit"].to_numpy()
    function = prisons["function"].to_numpy()[unit]
    region = prisons["region"].to_numpy()[unit]
    women = np.char.startswith(function.astype(str), "Women's")
    yoi = function == "Young offender institution"
    low = prisons["code"].isin(low_declaration).to_numpy()[unit]

    # Characteristics, fixed for each stay.
    ethnic_labels = CHARACTERISTICS["ethnic_group"].allowed_values
    national = _with_not_declared(_PRISONER_ETHNICITY, _PRISONER_ETHNICITY_NOT_DECLARED)
    london = _with_not_declared(_LONDON_ETHNICITY, _PRISONER_ETHNICITY_NOT_DECLARED)
    ethnic = _draw(rng, _ordered(national, ethnic_labels), n)
    in_london = region == "London"
    ethnic[in_london] = _draw(rng, _ordered(london, ethnic_labels), int(in_london.sum()))

    age_labels = CHARACTERISTICS["age_band"].allowed_values
    age = _draw(rng, _ordered(_ADULT_AGE, age_labels), n)
    age[yoi] = _draw(rng, _ordered(_YOI_AGE, age_labels), int(yoi.sum()))

    sex_labels = CHARACTERISTICS["sex"].allowed_values
    sex = np.where(women, sex_labels.index("Female"), sex_labels.index("Male"))

    religion_labels = CHARACTERISTICS["religion"].allowed_values
    religion = _draw(rng, _ordered(_PRISONER_RELIGION, religion_labels), n)

    orientation_labels = CHARACTERISTICS["sexual_orientation"].allowed_values
    orientation = _draw(rng, _ordered(_SEXUAL_ORIENTATION, orientation_labels), n)
    disability_labels = CHARACTERISTICS["disability"].allowed_values
    disability = _disability_by_age(rng, age, age_labels, disability_labels)
    # Low declaration: in the planted establishments most answers go unrecorded.
    not_stated_orientation = orientation_labels.index("Not stated")
    not_stated_disability = disability_labels.index("Not stated")
    hide = low & (rng.random(n) < _LOW_DECLARATION_SHARE)
    orientation[hide] = not_stated_orientation
    hide = low & (rng.random(n) < _LOW_DECLARATION_SHARE)
    disability[hide] = not_stated_disability
    transgender_labels = CHARACTERISTICS["transgender"].allowed_values
    transgender = _draw(rng, _ordered(_TRANSGENDER, transgender_labels), n)

    people = {
        "ethnic_group": (ethnic, ethnic_labels),
        "age_band": (age, age_labels),
        "religion": (religion, religion_labels),
        "disability": (disability, disability_labels),
    }
    multipliers = {
        name: _effect(name, people)
        for name in (
            "use_of_force",
            "adjudication_proven",
            "incentive_basic",
            "incentive_enhanced",
            "segregated",
            "rotl_granted",
            "settled_accommodation",
            "employed_six_weeks",
            "negative_case_note",
        )
    }

    # Establishment effects: random, the same for every group (so they add variation
    # between establishments for the funnel plots without adding disparities).
    establishment_effect = {
        name: rng.lognormal(0.0, 0.15, size=len(prisons))[unit]
        for name in ("adjudications", "segregation", "force", "complaints", "notes")
    }
    rotl_function = np.isin(
        function,
        ["Category D open", "Category C trainer", "Women's open", "Women's closed"],
    )
    rotl_rate = np.where(function == "Category D open", 2.5, 1.0) * rotl_function
    coded = {
        **people,
        "sex": (sex, sex_labels),
        "sexual_orientation": (orientation, orientation_labels),
        "transgender": (transgender, transgender_labels),
    }
    return _Stays(prisons, spells, coded, multipliers, establishment_effect, rotl_rate)


def _prisoner_rows(
    rng: np.random.Generator,
    stays: _Stays,
    spell_index: np.ndarray,
    period_index: np.ndarray,
    quarters: list[str],
) -> pd.DataFrame:
    """One row per stay and quarter (``spell_index``, ``period_index``), outcomes drawn."""
    spells, multipliers = stays.spells, stays.multipliers
    establishment_effect, rotl_rate = stays.establishment_effect, stays.rotl_rate
    unit = spells["unit"].to_numpy()
    (age, age_labels), (sex, sex_labels) = stays.people["age_band"], stays.people["sex"]
    ethnic, ethnic_labels = stays.people["ethnic_group"]
    religion, religion_labels = stays.people["religion"]
    orientation, orientation_labels = stays.people["sexual_orientation"]
    disability, disability_labels = stays.people["disability"]
    transgender, transgender_labels = stays.people["transgender"]
    rows = spell_index.size

    def per_row(values: np.ndarray) -> np.ndarray:
        return values[spell_index]

    charged = rng.poisson(
        _BASE["adjudications_charged"]
        * per_row(multipliers["adjudication_proven"] * establishment_effect["adjudications"])
    )
    proven = rng.binomial(charged, _BASE["proven_share"])
    segregation = rng.poisson(
        _BASE["segregation_episodes"]
        * per_row(multipliers["segregated"] * establishment_effect["segregation"])
    )
    force = rng.poisson(
        _BASE["use_of_force_incidents"]
        * per_row(multipliers["use_of_force"] * establishment_effect["force"])
    )
    basic_p = _BASE["basic"] * per_row(multipliers["incentive_basic"])
    enhanced_p = _BASE["enhanced"] * per_row(multipliers["incentive_enhanced"])
    u = rng.random(rows)
    incentive = np.where(u < basic_p, 0, np.where(u < basic_p + enhanced_p, 2, 1))
    applications = rng.poisson(_BASE["rotl_applications"] * per_row(rotl_rate))
    grants = rng.binomial(
        applications, np.clip(_BASE["rotl_grant"] * per_row(multipliers["rotl_granted"]), 0, 1)
    )
    complaints = rng.poisson(_BASE["complaints"] * per_row(establishment_effect["complaints"]))
    starts = rng.poisson(_BASE["programme_starts"], size=rows)
    completions = rng.binomial(starts, _BASE["programme_completion"])
    notes = rng.poisson(
        _BASE["negative_case_notes"]
        * per_row(multipliers["negative_case_note"] * establishment_effect["notes"])
    )
    # Released in the quarter: the last quarter of a stay that ends inside the window.
    # A stay whose end lies beyond the last quarter has not ended yet.
    released = period_index == per_row(spells["end"].to_numpy())
    settled = rng.random(rows) < _BASE["settled"] * per_row(multipliers["settled_accommodation"])
    employed = rng.random(rows) < _BASE["employed"] * per_row(multipliers["employed_six_weeks"])
    accommodation = np.where(released, np.where(settled, 0, 1), 2)
    employment = np.where(released, np.where(employed, 0, 1), 2)

    frame = pd.DataFrame(
        {
            "person_id": _identifiers("P", spells.index.to_numpy()[spell_index], 7),
            "period": _categorical(period_index, quarters),
            "establishment": _categorical(per_row(unit), stays.prisons["code"].tolist()),
            "age_band": _categorical(per_row(age), age_labels),
            "sex": _categorical(per_row(sex), sex_labels),
            "ethnic_group": _categorical(per_row(ethnic), ethnic_labels),
            "religion": _categorical(per_row(religion), religion_labels),
            "sexual_orientation": _categorical(per_row(orientation), orientation_labels),
            "disability": _categorical(per_row(disability), disability_labels),
            "transgender": _categorical(per_row(transgender), transgender_labels),
            "adjudications_charged": charged,
            "adjudications_proven": proven,
            "segregation_episodes": segregation,
            "use_of_force_incidents": force,
            "incentive_level": _categorical(incentive, INCENTIVE_LEVELS),
            "rotl_applications": applications,
            "rotl_grants": grants,
            "complaints": complaints,
            "programme_starts": starts,
            "programme_completions": completions,
            "negative_case_notes": notes,
            "accommodation_on_release": _categorical(accommodation, RELEASE_ACCOMMODATION),
            "employment_six_weeks": _categorical(employment, RELEASE_EMPLOYMENT),
        }
    )
    return frame


def _disability_by_age(
    rng: np.random.Generator,
    age: np.ndarray,
    age_labels: Sequence[str],
    labels: Sequence[str],
) -> np.ndarray:
    """Disability codes drawn with a chance of declaring a disability that rises with age.

    A fixed share (``_DISABILITY_NOT_DECLARED``) make no declaration whatever their age;
    of the rest, ``_DISABLED_BY_AGE`` of each age band declare a disability (a quarter
    where the age is unknown).
    """
    not_declared = sum(_DISABILITY_NOT_DECLARED.values())
    disabled = np.array([_DISABLED_BY_AGE.get(a, 0.25) for a in age_labels])
    chance = disabled[age] * (1 - not_declared)
    u = rng.random(age.size)
    codes = np.where(u < chance, list(labels).index("Disabled"), list(labels).index("Not disabled"))
    undeclared = u >= 1 - not_declared
    codes[undeclared] = _draw(
        rng, _ordered(_DISABILITY_NOT_DECLARED, labels), int(undeclared.sum())
    )
    return codes


def _ordered(shares: dict[str, float], labels: Sequence[str]) -> dict[str, float]:
    """``shares`` laid out in the order of ``labels`` (absent labels get zero)."""
    unknown = set(shares) - set(labels)
    if unknown:
        raise ValueError(f"shares name labels outside the vocabulary: {sorted(unknown)}")
    return {label: shares.get(label, 0.0) for label in labels}


def _deaths(rng: np.random.Generator, prisoners: pd.DataFrame, first_id: int = 1) -> pd.DataFrame:
    died = np.flatnonzero(rng.random(len(prisoners)) < _BASE["death"])
    rows = prisoners.iloc[died]

    classification = _draw(
        rng,
        dict(zip(DEATH_CLASSIFICATIONS, (0.55, 0.3, 0.02, 0.13), strict=True)),
        died.size,
    )
    frame = pd.DataFrame(
        {
            "death_id": [f"D{i:06d}" for i in range(first_id, first_id + died.size)],
            "period": rows["period"].to_numpy(),
            "establishment": rows["establishment"].to_numpy(),
            **{c: rows[c].to_numpy() for c in COMMUNITY_CHARACTERISTICS},
            "classification": _categorical(classification, DEATH_CLASSIFICATIONS),
        }
    )
    return frame


def _group_sizes(
    frame: pd.DataFrame, *, by: Sequence[str], characteristics: Sequence[str]
) -> pd.DataFrame:
    """People per ``by`` x characteristic x group (declared groups only), long form."""
    parts = []
    for characteristic in characteristics:
        groups = CHARACTERISTICS[characteristic].groups
        sizes = (
            frame.groupby([*by, characteristic], observed=True)
            .size()
            .rename("people")
            .reset_index()
            .rename(columns={characteristic: "group"})
        )
        sizes["group"] = sizes["group"].astype(str)
        sizes = sizes[sizes["group"].isin(groups)]
        sizes.insert(len(by), "characteristic", characteristic)
        parts.append(sizes)
    return pd.concat(parts, ignore_index=True)


def _survey_values(
    rng: np.random.Generator,
    sizes: pd.DataFrame,
    *,
    response_rate: float,
    columns: dict[str, float],
    extract: str,
) -> pd.DataFrame:
    """Respondents and percentages for each group, with the planted differences added."""
    out = sizes.copy()
    out["respondents"] = rng.binomial(out.pop("people").to_numpy(), response_rate)
    out = out[out["respondents"] > 0].reset_index(drop=True)
    respondents = out["respondents"].to_numpy()
    for column, base in columns.items():
        shift = np.zeros(len(out))
        for planted in PLANTED_SURVEY_DIFFERENCES:
            if planted["extract"] == extract and planted["column"] == column:
                hit = (out["characteristic"] == planted["characteristic"]) & (
                    out["group"] == planted["group"]
                )
                shift += np.where(hit, planted["difference"], 0.0)
        if column == "engagement_index":
            values = rng.normal(base + shift, 18 / np.sqrt(respondents))
        else:
            p = np.clip((base + shift) / 100, 0.001, 0.999)
            values = 100 * rng.binomial(respondents, p) / respondents
        out[column] = np.round(np.clip(values, 0, 100), 1)
    return out


def _prisoner_survey(
    rng: np.random.Generator, prisoners: pd.DataFrame, quarters: list[str]
) -> pd.DataFrame:
    # Each establishment is surveyed once a year, in a quarter that depends on its code.
    codes = prisoners["establishment"].cat.categories
    offset = {c: i % 4 for i, c in enumerate(codes)}
    q_index = prisoners["period"].cat.codes.to_numpy()
    e_offset = prisoners["establishment"].map(offset).astype(int).to_numpy()
    surveyed = prisoners[(q_index % 4) == e_offset]
    sizes = _group_sizes(
        surveyed,
        by=["period", "establishment"],
        characteristics=("age_band", "ethnic_group", "religion", "disability", "sex"),
    )
    sizes["period"] = sizes["period"].astype(str)
    sizes["establishment"] = sizes["establishment"].astype(str)
    return _survey_values(
        rng,
        sizes,
        response_rate=0.4,
        columns={
            "pct_treated_with_respect": 72.0,
            "pct_easy_to_see_health": 35.0,
            "pct_feeling_unsafe": 20.0,
        },
        extract="prisoner_survey",
    )


#: The characteristics of the national counts, in the order they are published.
_COUNTS_CHARACTERISTICS = ("age_band", "ethnic_group", "religion", "disability", "sex")


def _counts(prisoners: pd.DataFrame) -> pd.DataFrame:
    """National quarterly counts of the prisoner proportion measures, as published."""
    parts = []
    for m in measures_for(extract="prisoner_periods"):
        if m.kind != "proportion":
            continue
        population = m.population(prisoners).to_numpy(bool)
        numerator = np.asarray(m.numerator(prisoners), dtype=bool) & population
        base = pd.DataFrame(
            {"period": prisoners["period"], "numerator": numerator, "denominator": population}
        )
        for characteristic in _COUNTS_CHARACTERISTICS:
            base[characteristic] = prisoners[characteristic]
            table = (
                base.groupby(["period", characteristic], observed=True)[
                    ["numerator", "denominator"]
                ]
                .sum()
                .reset_index()
                .rename(columns={characteristic: "group"})
            )
            del base[characteristic]
            table.insert(1, "establishment", None)  # national figures
            table.insert(2, "measure", m.name)
            table.insert(3, "characteristic", characteristic)
            parts.append(table)
    counts = pd.concat(parts, ignore_index=True)
    for column in ("period", "group"):
        counts[column] = counts[column].astype(str)
    return counts.astype({"numerator": "int64", "denominator": "int64"})


def _quarter_counts(prisoners: pd.DataFrame) -> pd.DataFrame:
    """:func:`_counts` of one quarter's rows, counted from the characteristics' codes.

    The same table (a test compares them), without a group-by for each measure and
    characteristic, which cost seconds a quarter at the largest scale.
    """
    period_codes = np.unique(prisoners["period"].cat.codes.to_numpy())
    (period,) = prisoners["period"].cat.categories[period_codes].astype(str)
    coded = {}
    for characteristic in _COUNTS_CHARACTERISTICS:
        values = prisoners[characteristic]
        row_codes = values.cat.codes.to_numpy()
        present = row_codes >= 0
        seen = np.bincount(row_codes[present], minlength=len(values.cat.categories)) > 0
        names = values.cat.categories[seen].astype(str)
        coded[characteristic] = (
            row_codes[present],
            None if present.all() else present,
            names,
            seen,
        )
    parts = []
    for m in measures_for(extract="prisoner_periods"):
        if m.kind != "proportion":
            continue
        population = m.population(prisoners).to_numpy(bool)
        numerator = (np.asarray(m.numerator(prisoners), dtype=bool) & population).astype(float)
        population = population.astype(float)
        for characteristic in _COUNTS_CHARACTERISTICS:
            row_codes, present, names, seen = coded[characteristic]
            num, den = (
                (numerator, population)
                if present is None
                else (
                    numerator[present],
                    population[present],
                )
            )
            parts.append(
                pd.DataFrame(
                    {
                        "period": period,
                        "establishment": None,
                        "measure": m.name,
                        "characteristic": characteristic,
                        "group": names,
                        "numerator": np.bincount(row_codes, num, len(seen))[seen].astype("int64"),
                        "denominator": np.bincount(row_codes, den, len(seen))[seen].astype("int64"),
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


# --- Community -----------------------------------------------------------------------


def _community_people(
    rng: np.random.Generator, size: int
) -> dict[str, tuple[np.ndarray, Sequence[str]]]:
    shares = {
        "age_band": {
            "18-20": 0.07,
            "21-24": 0.11,
            "25-29": 0.15,
            "30-39": 0.31,
            "40-49": 0.2,
            "50-59": 0.11,
            "60-69": 0.04,
            "70 and over": 0.01,
        },
        "sex": {"Female": 0.15, "Male": 0.85},
        "ethnic_group": _with_not_declared(
            {WHITE: 0.78, BLACK: 0.08, ASIAN: 0.07, MIXED: 0.05, OTHER: 0.02},
            {"Not stated": 0.04, "Refused": 0.01},
        ),
        "religion": {**_PRISONER_RELIGION, "Not stated": 0.06},
        "disability": {"Disabled": 0.3, "Not disabled": 0.6, "Not stated": 0.1},
    }
    people = {}
    for characteristic in COMMUNITY_CHARACTERISTICS:
        labels = CHARACTERISTICS[characteristic].allowed_values
        people[characteristic] = (
            _draw(rng, _ordered(shares[characteristic], labels), size),
            labels,
        )
    return people


def _divisions(units: int = 1) -> list[tuple[str, str]]:
    """Probation regions and their divisions; ``units`` delivery units of each at scale."""
    if units == 1:
        return [(r, d) for r in PROBATION_REGIONS for d in _DIVISION_PARTS[r]]
    return [
        (r, f"{d} {i}")
        for r in PROBATION_REGIONS
        for d in _DIVISION_PARTS[r]
        for i in range(1, units + 1)
    ]


def _places(
    rng: np.random.Generator, size: int, units: int = 1
) -> tuple[pd.Categorical, pd.Categorical]:
    divisions = _divisions(units)
    pick = rng.integers(0, len(divisions), size=size)
    region_codes = np.array([PROBATION_REGIONS.index(r) for r, _ in divisions])[pick]
    return (
        _categorical(region_codes, PROBATION_REGIONS),
        _categorical(pick, [d for _, d in divisions]),
    )


def _community_terminations(
    rng: np.random.Generator, settings: ScaleSettings, quarters: list[str]
) -> pd.DataFrame:

    per_quarter = rng.poisson(settings.terminations_per_quarter, size=len(quarters))
    period = np.repeat(np.arange(len(quarters)), per_quarter)
    return _termination_rows(rng, period, quarters)


def _termination_rows(
    rng: np.random.Generator,
    period: np.ndarray,
    quarters: list[str],
    *,
    first_id: int = 1,
    units: int = 1,
) -> pd.DataFrame:
    """Terminations in the quarters numbered ``period`` (one row each), numbered from ``first_id``."""
    size = period.size
    people = _community_people(rng, size)
    region, division = _places(rng, size, units)
    completed = rng.random(size) < _BASE["completed"] * _effect("order_completed", people)
    failure = _draw(rng, {"breach": 0.5, "further": 0.35, "other": 0.15}, size) + 1
    outcome = np.where(completed, 0, failure)
    return pd.DataFrame(
        {
            "termination_id": [f"T{i:08d}" for i in range(first_id, first_id + size)],
            "period": _categorical(period, quarters),
            "probation_region": region,
            "division": division,
            **{c: _categorical(codes, labels) for c, (codes, labels) in people.items()},
            "order_type": _categorical(
                _draw(rng, {"co": 0.4, "sso": 0.25, "licence": 0.35}, size), ORDER_TYPES
            ),
            "outcome": _categorical(outcome, TERMINATION_OUTCOMES),
        }
    )


def _community_journey(
    rng: np.random.Generator, settings: ScaleSettings, quarters: list[str]
) -> pd.DataFrame:

    per_quarter = rng.poisson(settings.sentenced_per_quarter, size=len(quarters))
    period = np.repeat(np.arange(len(quarters)), per_quarter)
    return _journey_rows(rng, period, quarters)


def _journey_rows(
    rng: np.random.Generator,
    period: np.ndarray,
    quarters: list[str],
    *,
    first_id: int = 1,
    units: int = 1,
) -> pd.DataFrame:
    """People sentenced in the quarters numbered ``period``, numbered from ``first_id``."""
    size = period.size
    people = _community_people(rng, size)
    region, division = _places(rng, size, units)
    # Proposals: custody 20%, SSO 25%, community order 40%, fine 5%, none 10%.
    proposal = _draw(rng, dict(zip(PSR_PROPOSALS, (0.2, 0.25, 0.4, 0.05, 0.1), strict=True)), size)
    more_severe = rng.random(size) < _BASE["above_proposal"] * _effect(
        "sentence_above_proposal", people
    )
    less_severe = (~more_severe) & (rng.random(size) < 0.1)
    # Sentence types are ordered most severe first, so "more severe" is one step up.
    proposed_sentence = np.where(proposal == len(SENTENCE_TYPES), 2, proposal)
    given = np.where(
        more_severe & (proposed_sentence > 0),
        proposed_sentence - 1,
        np.where(less_severe, np.minimum(proposed_sentence + 1, 3), proposed_sentence),
    )
    # Custody proposals cannot be exceeded: their "more severe" draw is ignored.
    tier = _draw(rng, dict(zip(RISK_TIERS, (0.38, 0.4, 0.2, 0.02), strict=True)), size)
    return pd.DataFrame(
        {
            "person_id": [f"C{i:08d}" for i in range(first_id, first_id + size)],
            "period": _categorical(period, quarters),
            "probation_region": region,
            "division": division,
            **{c: _categorical(codes, labels) for c, (codes, labels) in people.items()},
            "psr_proposal": _categorical(proposal, PSR_PROPOSALS),
            "sentence_given": _categorical(given, SENTENCE_TYPES),
            "risk_tier": _categorical(tier, RISK_TIERS),
            "risk_escalated": rng.random(size) < 0.06,
            "breached": rng.random(size) < _BASE["breached"],
            "recalled": rng.random(size) < _BASE["recalled"],
        }
    )


# --- Staff ---------------------------------------------------------------------------


@dataclass
class _Staff:
    """Members of staff and their spells in post; the years' rows come from :func:`_staff_rows`."""

    units: np.ndarray  # establishment and unit codes
    unit: np.ndarray  # each person's unit (a number into ``units``)
    spells: pd.DataFrame  # the spells kept: start, end, first, last (financial years)
    select: np.ndarray  # each kept spell's person
    codes: dict[str, tuple[np.ndarray, Sequence[str]]]  # characteristics and grade, coded


def _staff(
    rng: np.random.Generator,
    settings: ScaleSettings,
    establishments: pd.DataFrame,
    low_declaration: set[str],
    years: list[str],
) -> pd.DataFrame:
    staff = _staff_people(rng, settings, establishments, low_declaration, years)
    spell_index, period_index = _explode(staff.spells)
    return _staff_rows(rng, staff, spell_index, period_index, years)


def _staff_people(
    rng: np.random.Generator,
    settings: ScaleSettings,
    establishments: pd.DataFrame,
    low_declaration: set[str],
    years: list[str],
) -> _Staff:
    units = establishments["code"].to_numpy()
    is_hq = (establishments["function"] == "Headquarters unit").to_numpy()
    weight = np.where(is_hq, 3.0, 1.0)
    capacity = settings.staff * weight / weight.sum()
    mean_tenure = 1 / _BASE["leaver"]
    spells = _spells(
        rng, units=np.arange(len(units)), capacity=capacity, periods=len(years), mean=mean_tenure
    )
    n = len(spells)
    unit = spells["unit"].to_numpy()
    low = np.isin(units[unit], list(low_declaration))

    labels = {c: CHARACTERISTICS[c].allowed_values for c in PERSON_CHARACTERISTICS}
    ethnic = _draw(
        rng,
        _ordered(
            _with_not_declared(_STAFF_ETHNICITY, _STAFF_ETHNICITY_NOT_DECLARED),
            labels["ethnic_group"],
        ),
        n,
    )
    age = _draw(rng, _ordered(_STAFF_AGE, labels["age_band"]), n)
    sex = _draw(rng, _ordered({"Female": 0.45, "Male": 0.55}, labels["sex"]), n)
    religion = _draw(rng, _ordered(_STAFF_RELIGION, labels["religion"]), n)
    orientation = _draw(rng, _ordered(_STAFF_SEXUAL_ORIENTATION, labels["sexual_orientation"]), n)
    disability = _draw(rng, _ordered(_STAFF_DISABILITY, labels["disability"]), n)
    hide = low & (rng.random(n) < _LOW_DECLARATION_SHARE)
    orientation[hide] = labels["sexual_orientation"].index("Not stated")
    hide = low & (rng.random(n) < _LOW_DECLARATION_SHARE)
    disability[hide] = labels["disability"].index("Not stated")
    transgender = _draw(
        rng,
        _ordered(
            {
                "Gender identity the same as sex registered at birth": 0.93,
                "Gender identity different from sex registered at birth": 0.003,
                "Not stated": 0.05,
                "Refused": 0.017,
            },
            labels["transgender"],
        ),
        n,
    )
    people = {
        "ethnic_group": (ethnic, labels["ethnic_group"]),
        "disability": (disability, labels["disability"]),
    }

    # Grades: ethnic minority staff are planted to be under-represented in senior grades.
    grade = _draw(rng, _ordered(_STAFF_GRADE_SHARE, STAFF_GRADES), n)
    minority = np.isin(ethnic, [labels["ethnic_group"].index(g) for g in ETHNIC_MINORITIES])
    senior = grade >= STAFF_GRADES.index("Band 7")
    redraw = minority & senior & (rng.random(n) > PLANTED_SENIOR_GRADE_MULTIPLIER)
    junior_shares = {g: s for g, s in _STAFF_GRADE_SHARE.items() if STAFF_GRADES.index(g) < 5}
    grade[redraw] = _draw(rng, _ordered(junior_shares, STAFF_GRADES), int(redraw.sum()))

    # Leaving: re-draw each spell's length with the planted leaving probability.
    leave_p = np.clip(_BASE["leaver"] * _effect("leaver", people), 0, 1)
    select = _with_lengths(spells, rng.geometric(leave_p), len(years))
    spells = spells.iloc[select]
    coded = {
        "ethnic_group": (ethnic, labels["ethnic_group"]),
        "age_band": (age, labels["age_band"]),
        "sex": (sex, labels["sex"]),
        "religion": (religion, labels["religion"]),
        "sexual_orientation": (orientation, labels["sexual_orientation"]),
        "disability": (disability, labels["disability"]),
        "transgender": (transgender, labels["transgender"]),
        "grade": (grade, STAFF_GRADES),
    }
    return _Staff(units, unit, spells, select, coded)


def _staff_rows(
    rng: np.random.Generator,
    staff: _Staff,
    spell_index: np.ndarray,
    period_index: np.ndarray,
    years: list[str],
) -> pd.DataFrame:
    """One row per spell in post and financial year, the year's events drawn."""
    spells, select, units, unit = staff.spells, staff.select, staff.units, staff.unit
    labels = {c: codes[1] for c, codes in staff.codes.items()}
    ethnic, age, sex = (staff.codes[c][0] for c in ("ethnic_group", "age_band", "sex"))
    religion, orientation = staff.codes["religion"][0], staff.codes["sexual_orientation"][0]
    disability, transgender = staff.codes["disability"][0], staff.codes["transgender"][0]
    grade = staff.codes["grade"][0]
    people = {
        "ethnic_group": (ethnic, labels["ethnic_group"]),
        "disability": (disability, labels["disability"]),
    }
    person = select[spell_index]
    rows = person.size
    start = spells["start"].to_numpy()[spell_index]
    end = spells["end"].to_numpy()[spell_index]
    # Spells that started before the first year are staff already in post; spells that
    # end beyond the last year have not ended yet.
    new_starter = (period_index == start) & (start >= 0)
    leaver = period_index == end

    planted_rows = {k: (v[0][person], v[1]) for k, v in people.items()}
    exceeded_p = _BASE["exceeded"] * _effect("appraisal_top", planted_rows)
    u = rng.random(rows)
    not_marked = u < _BASE["not_marked"] + 0.5 * new_starter
    rest = rng.random(rows)
    marking = np.where(
        not_marked,
        3,
        np.where(
            rest < exceeded_p,
            0,
            np.where(rest < exceeded_p + _BASE["must_improve"], 2, 1),
        ),
    )
    disabled = disability[person] == labels["disability"].index("Disabled")
    requested = rng.random(rows) < np.where(
        disabled, _BASE["adjustment_disabled"], _BASE["adjustment_other"]
    )
    days = np.round(rng.lognormal(np.log(28), 0.7, size=rows), 0)
    in_place = requested & (rng.random(rows) < 0.9)
    adjustment_days = np.where(in_place, np.clip(days, 1, 730), np.nan)

    return pd.DataFrame(
        {
            "staff_id": _identifiers("S", person, 7),
            "period": _categorical(period_index, years),
            "establishment": _categorical(unit[person], units.tolist()),
            "grade": _categorical(grade[person], STAFF_GRADES),
            "age_band": _categorical(age[person], labels["age_band"]),
            "sex": _categorical(sex[person], labels["sex"]),
            "ethnic_group": _categorical(ethnic[person], labels["ethnic_group"]),
            "religion": _categorical(religion[person], labels["religion"]),
            "sexual_orientation": _categorical(orientation[person], labels["sexual_orientation"]),
            "disability": _categorical(disability[person], labels["disability"]),
            "transgender": _categorical(transgender[person], labels["transgender"]),
            "new_starter": new_starter,
            "promoted": rng.random(rows) < _BASE["promoted"],
            "leaver": leaver,
            "appraisal_marking": _categorical(marking, APPRAISAL_MARKINGS),
            "grievance_raised": rng.random(rows) < _BASE["grievance"],
            "disciplinary_investigation": rng.random(rows)
            < _BASE["disciplinary"] * _effect("disciplinary_investigation", planted_rows),
            "reasonable_adjustment_requested": requested,
            "adjustment_days": adjustment_days,
        }
    )


def _staff_survey(rng: np.random.Generator, staff: pd.DataFrame) -> pd.DataFrame:
    sizes = _group_sizes(
        staff,
        by=["period", "establishment"],
        characteristics=("ethnic_group", "disability", "sex", "age_band", "sexual_orientation"),
    )
    sizes["period"] = sizes["period"].astype(str)
    sizes["establishment"] = sizes["establishment"].astype(str)
    out = _survey_values(
        rng,
        sizes,
        response_rate=0.6,
        columns={
            "engagement_index": 61.0,
            "pct_bullying_harassment": 11.0,
            "pct_discrimination": 9.0,
        },
        extract="staff_survey",
    )
    out.insert(
        out.columns.get_loc("engagement_index") + 1,
        "engagement_sd",
        np.round(rng.normal(18, 1.5, size=len(out)).clip(5, 40), 1),
    )
    return out


# --- Whole system --------------------------------------------------------------------

_POLICY_TOPICS = (
    "Incentives policy framework",
    "Use of force in custody",
    "Release on temporary licence",
    "Managing prisoner complaints",
    "Segregation and separation",
    "Accredited programmes: eligibility",
    "Faith and pastoral care",
    "Reasonable adjustments for staff",
    "Recruitment of prison officers",
    "Transgender people in custody",
    "Probation supervision standards",
    "Accommodation on release",
    "Prisoner employment and education",
    "Adjudications procedure",
    "Staff appraisal and performance",
    "Grievance and dispute resolution",
    "Visits and family contact",
    "Care and management of older prisoners",
    "Neurodiversity in prisons and probation",
    "Searching of the person",
)


def _equality_analyses(
    rng: np.random.Generator, settings: ScaleSettings, years: list[str]
) -> pd.DataFrame:
    rows = []
    first_year = int(years[0][:4])
    count = settings.policies_per_year * len(years)
    for i in range(count):
        year = first_year + i * len(years) // count
        issued = dt.date(year, 4, 1) + dt.timedelta(days=int(rng.integers(0, 365)))
        completed = bool(rng.random() < 0.85)
        rows.append(
            {
                "policy_id": f"PF-{year}-{i + 1:04d}",
                "policy_title": f"{_POLICY_TOPICS[i % len(_POLICY_TOPICS)]} ({year} revision)",
                "directorate": DIRECTORATES[int(rng.integers(0, len(DIRECTORATES)))],
                "date": issued.isoformat(),
                "analysis_completed": completed,
                "quality_assured": bool(completed and rng.random() < 0.7),
            }
        )
    return pd.DataFrame(rows)


_DELIVERY_ACTIONS = (
    ("A", 3, "Publish workforce representation by grade against the Census benchmark", "Director of HR"),
    ("A", 3, "Debias recruitment sifts for Band 3 to 5 posts", "Head of Resourcing"),
    ("A", 3, "Review appraisal moderation where markings differ by ethnic group", "Head of Reward"),
    ("A", 4, "Cut the time taken to put reasonable adjustments in place to 30 days", "Head of Workplace Adjustments"),
    ("A", 4, "Act on People Survey engagement gap for disabled staff", "Disability Staff Network Chair"),
    ("A", 3, "Audit disciplinary investigations for disproportionality", "Head of Employee Relations"),
    ("B", 2, "Scrutinise use of force by ethnic group at every establishment quarterly", "Deputy Director, Security"),
    ("B", 2, "Review incentive level reviews for young adults", "Head of Young Adults Policy"),
    ("B", 2, "Raise ROTL take-up among disabled prisoners", "Head of Resettlement"),
    ("B", 5, "Identify and meet the needs of disabled prisoners on arrival", "Head of Equalities, Prisons"),
    ("B", 2, "Investigate pre-sentence report proposals against sentences by ethnic group", "Head of Court Services"),
    ("B", 2, "Improve completion of community orders by 18 to 20 year olds", "Head of Interventions"),
    ("B", 5, "Settled accommodation on release for disabled prisoners", "Head of Accommodation Services"),
    ("B", 2, "Monitor negative case notes by religion", "Head of Faith and Pastoral Care"),
    ("C", 1, "Equality analysis for every national policy before publication", "Head of Policy Assurance"),
    ("C", 1, "Quality-assure equality analyses within four weeks", "Head of Policy Assurance"),
    ("C", 1, "Raise declaration rates above 80% for every characteristic", "Head of Performance"),
    ("C", 1, "Publish the annual equalities report", "Chief Statistician"),
)  # fmt: skip


def _delivery_plan(rng: np.random.Generator, last_quarter: str) -> pd.DataFrame:
    year = int(last_quarter[:4])
    counters: dict[str, int] = {}
    rows = []
    for theme, objective, aim, owner in _DELIVERY_ACTIONS:
        counters[theme] = counters.get(theme, 0) + 1
        due = dt.date(year - 1, 6, 30) + dt.timedelta(days=int(rng.integers(0, 900)))
        status = DELIVERY_STATUSES[
            int(rng.choice(len(DELIVERY_STATUSES), p=(0.15, 0.45, 0.15, 0.25)))
        ]
        rows.append(
            {
                "action_id": f"{theme}{objective}.{counters[theme]}",
                "theme": next(t for t in DELIVERY_THEMES if t.startswith(theme)),
                "objective": objective,
                "aim": aim,
                "owner": owner,
                "due_date": due.isoformat(),
                "status": status,
            }
        )
    return pd.DataFrame(rows)


# --- Entry points --------------------------------------------------------------------


def generate_demo(
    *, scale: Scale = "small", seed: int = 20261124, progress: Progress | None = None
) -> DemoData:
    """Build every extract of the demo at ``scale`` from ``seed``.

    The same scale and seed always give the same data. ``progress`` receives a short
    message as each extract is built (the national scale takes a while). At a streamed
    scale (``national-x5``) only the reference tables are built here; the record-level
    extracts, and those made from them, are made and written a period at a time by
    :func:`write_raw` (``DemoData.deferred``).
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    note = progress or (lambda message: None)
    settings = SCALES[scale]
    rng = np.random.default_rng(seed)
    quarters = _quarter_labels(settings.first_quarter, settings.quarters)
    years = _financial_years(quarters[-1], settings.financial_years)

    establishments = _establishments(rng, settings)
    prisons = establishments.loc[establishments["function"] != "Headquarters unit", "code"]
    # About one establishment in ten records few answers on sexual orientation and disability.
    low_count = max(1, round(len(prisons) / 10))
    low_declaration = set(rng.choice(prisons.to_numpy(), size=low_count, replace=False))

    frames: dict[str, pd.DataFrame] = {
        "establishments": establishments,
        "benchmarks": _benchmarks(),
    }
    planted = planted_effects_document(
        scale=scale, seed=seed, low_declaration=sorted(low_declaration), settings=settings
    )
    if settings.streamed:
        frames["equality_analyses"] = _equality_analyses(rng, settings, years)
        frames["delivery_plan"] = _delivery_plan(rng, quarters[-1])
        _check_columns(frames)
        streamed = _Streamed(settings, seed, establishments, low_declaration, quarters, years)
        return DemoData(scale, seed, frames, planted, deferred=streamed.write)
    note(f"prisoners: {settings.prisoners:,} at a time over {len(quarters)} quarters")
    frames["prisoner_periods"] = _prisoners(
        rng, settings, establishments, low_declaration, quarters
    )
    note(f"prisoner_periods: {len(frames['prisoner_periods']):,} rows")
    frames["deaths_in_custody"] = _deaths(rng, frames["prisoner_periods"])
    frames["prisoner_survey"] = _prisoner_survey(rng, frames["prisoner_periods"], quarters)
    frames["counts"] = _counts(frames["prisoner_periods"])
    note("community terminations and journeys")
    frames["community_terminations"] = _community_terminations(rng, settings, quarters)
    frames["community_journey"] = _community_journey(rng, settings, quarters)
    note(f"staff: {settings.staff:,} in post over {len(years)} financial years")
    frames["staff_periods"] = _staff(rng, settings, establishments, low_declaration, years)
    frames["staff_survey"] = _staff_survey(rng, frames["staff_periods"])
    frames["equality_analyses"] = _equality_analyses(rng, settings, years)
    frames["delivery_plan"] = _delivery_plan(rng, quarters[-1])

    _check_columns(frames)
    return DemoData(scale=scale, seed=seed, frames=frames, planted=planted)


def _check_columns(frames: dict[str, pd.DataFrame]) -> None:
    for name, frame in frames.items():
        expected = EXTRACTS[name].column_names
        if tuple(frame.columns) != expected:
            raise AssertionError(f"demo {name} columns {list(frame.columns)} != {list(expected)}")


def write_raw(
    demo: DemoData, raw_dir: Path, *, progress: Progress | None = None, workers: int = 1
) -> list[Path]:
    """Write the demo's extracts to ``raw_dir`` as an analyst would supply them.

    Record-level and aggregate extracts go to Parquet, reference tables to CSV; the
    planted effects to ``planted.json``. Returns the paths written (extracts first). At
    a streamed scale the record-level extracts are made here, a period at a time, in
    two processes if ``workers`` allows.
    """
    note = progress or (lambda message: None)
    raw_dir = Path(raw_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in demo.frames.items():
        if name in PARQUET_EXTRACTS:
            path = raw_dir / f"{name}.parquet"
            frame.to_parquet(path, index=False, compression="zstd")
        else:
            path = raw_dir / f"{name}.csv"
            frame.to_csv(path, index=False, lineterminator="\n")
        note(f"wrote {path.name} ({len(frame):,} rows)")
        written.append(path)
    if demo.deferred is not None:
        written += demo.deferred(raw_dir, note, workers=workers)
    planted = raw_dir / PLANTED_FILE
    planted.write_text(json.dumps(demo.planted, indent=2) + "\n", encoding="utf-8")
    written.append(planted)
    return written


# --- The streamed scale: a period at a time ----------------------------------------------


def _prisoners_in_process(streamed: _Streamed, raw_dir: Path) -> list[Path]:
    from equality_core.publish import worker_progress

    return streamed._prisoners(raw_dir, worker_progress() or (lambda message: None))


#: Each extract's random draws at a streamed scale come from a seed of their own: the
#: scale's seed, the stream's number and (for the draws of one period) the period's.
_STREAMS = {
    "prisoner stays": 1,
    "prisoner quarter": 2,
    "deaths": 3,
    "prisoner survey": 4,
    "terminations": 5,
    "termination quarter": 6,
    "journeys": 7,
    "journey quarter": 8,
    "staff": 9,
    "staff year": 10,
    "staff survey": 11,
}


def _stream(seed: int, name: str, period: int | None = None) -> np.random.Generator:
    key = [seed, _STREAMS[name]] + ([] if period is None else [period])
    return np.random.default_rng(key)


class _PeriodWriter:
    """One extract written to Parquet a period at a time: a row group per period."""

    def __init__(self, path: Path, extract: str) -> None:
        self.path = path
        self.extract = extract
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None

    def write(self, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._writer is None:
            _check_columns({self.extract: frame})
            self._writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        else:
            table = table.cast(self._writer.schema)
        self._writer.write_table(table, row_group_size=max(1, len(frame)))
        self.rows += len(frame)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


@dataclass
class _Streamed:
    """The record-level extracts of a streamed scale, made and written a period at a time.

    Prisoners' stays and staff's spells in post (a few numbers each) are held while
    their extracts are written; each quarter's (or year's) rows are drawn, written and
    let go, and leave only what the small extracts made from them need: the deaths of
    the quarter, its survey groups, its national counts.
    """

    settings: ScaleSettings
    seed: int
    establishments: pd.DataFrame
    low_declaration: set[str]
    quarters: list[str]
    years: list[str]

    def write(
        self, raw_dir: Path, progress: Progress | None = None, *, workers: int = 1
    ) -> list[Path]:
        """Write every record-level extract, and those made from them, into ``raw_dir``.

        With two ``workers`` or more, prisoners' extracts are made in a process of their
        own while this one makes the community's and staff's: each draws from streams of
        its own, so the files are the same either way.
        """
        note = progress or (lambda message: None)
        if workers < 2:
            written = self._prisoners(raw_dir, note)
            written += self._community(raw_dir, note)
            written += self._staff(raw_dir, note)
            return written
        from equality_core.publish import SPAWN, pass_on, process_pool, wait_passing_on

        messages = SPAWN.Queue()

        def told(message: str) -> None:
            pass_on(messages, note)
            note(message)

        with process_pool(1, messages=messages) as pool:
            prisoners = pool.submit(_prisoners_in_process, self, raw_dir)
            rest = self._community(raw_dir, told) + self._staff(raw_dir, told)
            wait_passing_on([prisoners], messages, note)
            written = prisoners.result()
        pass_on(messages, note)
        return written + rest

    def _frame(self, raw_dir: Path, name: str, frame: pd.DataFrame, note: Progress) -> Path:
        _check_columns({name: frame})
        path = raw_dir / f"{name}.parquet"
        frame.to_parquet(path, index=False, compression="zstd")
        note(f"wrote {path.name} ({len(frame):,} rows)")
        return path

    def _periods(
        self,
        raw_dir: Path,
        name: str,
        labels: list[str],
        rows_of: Callable[[int], pd.DataFrame],
        note: Progress,
    ) -> Path:
        path = raw_dir / f"{name}.parquet"
        out = _PeriodWriter(path, name)
        try:
            for period in range(len(labels)):
                out.write(rows_of(period))
                if period % 10 == 9 or period == len(labels) - 1:
                    note(f"{name}: {out.rows:,} rows to {labels[period]}")
        finally:
            out.close()
        note(f"wrote {path.name} ({out.rows:,} rows, a row group per period)")
        return path

    def _prisoners(self, raw_dir: Path, note: Progress) -> list[Path]:
        settings, seed, quarters = self.settings, self.seed, self.quarters
        note(f"prisoners: {settings.prisoners:,} at a time over {len(quarters)} quarters")
        stays = _prisoner_stays(
            _stream(seed, "prisoner stays"),
            settings,
            self.establishments,
            self.low_declaration,
            quarters,
        )
        first, last = stays.spells["first"].to_numpy(), stays.spells["last"].to_numpy()
        deaths: list[pd.DataFrame] = []
        surveys: list[pd.DataFrame] = []
        counts: list[pd.DataFrame] = []

        def quarter(q: int) -> pd.DataFrame:
            spell_index = np.flatnonzero((first <= q) & (last >= q))
            period_index = np.full(spell_index.size, q)
            rows = _prisoner_rows(
                _stream(seed, "prisoner quarter", q), stays, spell_index, period_index, quarters
            )
            numbered = sum(len(d) for d in deaths)
            deaths.append(_deaths(_stream(seed, "deaths", q), rows, first_id=numbered + 1))
            surveys.append(_prisoner_survey(_stream(seed, "prisoner survey", q), rows, quarters))
            counts.append(_quarter_counts(rows))
            return rows

        written = [self._periods(raw_dir, "prisoner_periods", quarters, quarter, note)]
        # Quarters without a death would make the text columns untyped: leave them out.
        died = [d for d in deaths if len(d)] or deaths[:1]
        written.append(
            self._frame(raw_dir, "deaths_in_custody", pd.concat(died, ignore_index=True), note)
        )
        written.append(
            self._frame(raw_dir, "prisoner_survey", pd.concat(surveys, ignore_index=True), note)
        )
        written.append(self._frame(raw_dir, "counts", _ordered_counts(counts), note))
        return written

    def _community(self, raw_dir: Path, note: Progress) -> list[Path]:
        settings, seed, quarters = self.settings, self.seed, self.quarters
        note("community terminations and journeys")
        written = []
        for name, size, stream, make in (
            (
                "community_terminations",
                settings.terminations_per_quarter,
                "terminations",
                _termination_rows,
            ),
            ("community_journey", settings.sentenced_per_quarter, "journeys", _journey_rows),
        ):
            per_quarter = _stream(seed, stream).poisson(size, size=len(quarters))
            first_ids = 1 + np.concatenate([[0], np.cumsum(per_quarter)[:-1]])
            period_stream = "termination quarter" if stream == "terminations" else "journey quarter"

            def rows_of(
                q: int,
                make=make,
                per_quarter=per_quarter,
                first_ids=first_ids,
                period_stream=period_stream,
            ) -> pd.DataFrame:
                return make(
                    _stream(seed, period_stream, q),
                    np.full(int(per_quarter[q]), q),
                    quarters,
                    first_id=int(first_ids[q]),
                    units=settings.delivery_units,
                )

            written.append(self._periods(raw_dir, name, quarters, rows_of, note))
        return written

    def _staff(self, raw_dir: Path, note: Progress) -> list[Path]:
        settings, seed, years = self.settings, self.seed, self.years
        note(f"staff: {settings.staff:,} in post over {len(years)} financial years")
        staff = _staff_people(
            _stream(seed, "staff"), settings, self.establishments, self.low_declaration, years
        )
        first, last = staff.spells["first"].to_numpy(), staff.spells["last"].to_numpy()
        surveys: list[pd.DataFrame] = []

        def year(y: int) -> pd.DataFrame:
            spell_index = np.flatnonzero((first <= y) & (last >= y))
            rows = _staff_rows(
                _stream(seed, "staff year", y),
                staff,
                spell_index,
                np.full(spell_index.size, y),
                years,
            )
            surveys.append(_staff_survey(_stream(seed, "staff survey", y), rows))
            return rows

        written = [self._periods(raw_dir, "staff_periods", years, year, note)]
        written.append(
            self._frame(raw_dir, "staff_survey", pd.concat(surveys, ignore_index=True), note)
        )
        return written


def _ordered_counts(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Each quarter's national counts as one table, in the order :func:`_counts` gives."""
    counts = pd.concat(parts, ignore_index=True)
    measures = {m.name: i for i, m in enumerate(measures_for(extract="prisoner_periods"))}
    characteristics = {c: i for i, c in enumerate(_COUNTS_CHARACTERISTICS)}
    order = pd.DataFrame(
        {"m": counts["measure"].map(measures), "c": counts["characteristic"].map(characteristics)}
    )
    return counts.loc[order.sort_values(["m", "c"], kind="stable").index].reset_index(drop=True)
