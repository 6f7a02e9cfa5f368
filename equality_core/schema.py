"""The data contract: every extract's columns, types, allowed values and meaning.

This module is the single source of the schema. The demo generator, the Great
Expectations suites (``expectations/*.json`` are generated from it), the loaders,
the documentation (``docs/data-contract.md``) and the tests all read it; nothing
else repeats it.

Labels follow the GSS / ONS harmonised standards (Census 2021 ethnic groups,
religion, sexual orientation) and the HMPPS conventions for periods and age bands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# --- Vocabularies -------------------------------------------------------------------------

#: Values that record the absence of a declaration. Never a comparator, never tested;
#: they are what the declaration-rate panel counts.
NOT_DECLARED_VALUES: tuple[str, ...] = ("Not stated", "Refused", "Unknown", "Unrecorded")

AGE_BANDS: tuple[str, ...] = (
    "15-17",
    "18-20",
    "21-24",
    "25-29",
    "30-39",
    "40-49",
    "50-59",
    "60-69",
    "70 and over",
)

#: Census 2021 five-group ethnicity classification (ONS harmonised standard).
ETHNIC_GROUPS: tuple[str, ...] = (
    "Asian, Asian British or Asian Welsh",
    "Black, Black British, Black Welsh, Caribbean or African",
    "Mixed or Multiple ethnic groups",
    "White",
    "Other ethnic group",
)

SEXES: tuple[str, ...] = ("Female", "Male")

RELIGIONS: tuple[str, ...] = (
    "Christian",
    "Buddhist",
    "Hindu",
    "Jewish",
    "Muslim",
    "Sikh",
    "Other religion",
    "No religion",
)

#: ONS harmonised standard for sexual orientation (Census 2021 output categories).
SEXUAL_ORIENTATIONS: tuple[str, ...] = (
    "Straight or heterosexual",
    "Gay or lesbian",
    "Bisexual",
    "All other sexual orientations",
)

DISABILITY_STATUSES: tuple[str, ...] = ("Disabled", "Not disabled")

#: Census 2021 gender identity question, collapsed to its two answers.
TRANSGENDER_STATUSES: tuple[str, ...] = (
    "Gender identity the same as sex registered at birth",
    "Gender identity different from sex registered at birth",
)


@dataclass(frozen=True)
class Characteristic:
    """A protected characteristic: its column name, its label and its declared groups."""

    column: str
    label: str
    groups: tuple[str, ...]
    not_declared: tuple[str, ...] = ("Not stated", "Refused", "Unknown")
    short_labels: dict[str, str] = field(default_factory=dict)

    @property
    def allowed_values(self) -> tuple[str, ...]:
        """Every value a record may carry: the declared groups then the non-declarations."""
        return self.groups + self.not_declared

    def short_label(self, group: str) -> str:
        """A short chart label for ``group`` (the table and legend give the full one)."""
        return self.short_labels.get(group, group)


CHARACTERISTICS: dict[str, Characteristic] = {
    c.column: c
    for c in (
        Characteristic("age_band", "Age band", AGE_BANDS, not_declared=("Unknown",)),
        Characteristic("sex", "Sex", SEXES, not_declared=("Unknown",)),
        Characteristic(
            "ethnic_group",
            "Ethnic group",
            ETHNIC_GROUPS,
            short_labels={
                "Asian, Asian British or Asian Welsh": "Asian",
                "Black, Black British, Black Welsh, Caribbean or African": "Black",
                "Mixed or Multiple ethnic groups": "Mixed",
                "White": "White",
                "Other ethnic group": "Other",
            },
        ),
        Characteristic("religion", "Religion or belief", RELIGIONS),
        Characteristic(
            "sexual_orientation",
            "Sexual orientation",
            SEXUAL_ORIENTATIONS,
            short_labels={
                "Straight or heterosexual": "Straight",
                "All other sexual orientations": "Other",
            },
        ),
        Characteristic("disability", "Disability", DISABILITY_STATUSES),
        Characteristic(
            "transgender",
            "Gender identity",
            TRANSGENDER_STATUSES,
            short_labels={
                "Gender identity the same as sex registered at birth": "Same as at birth",
                "Gender identity different from sex registered at birth": "Different from birth",
            },
        ),
    )
}

#: Characteristics recorded on the person-level offender and staff extracts.
PERSON_CHARACTERISTICS: tuple[str, ...] = tuple(CHARACTERISTICS)
#: Characteristics recorded on community extracts and deaths (fewer are collected there).
COMMUNITY_CHARACTERISTICS: tuple[str, ...] = (
    "age_band",
    "sex",
    "ethnic_group",
    "religion",
    "disability",
)

INCENTIVE_LEVELS: tuple[str, ...] = ("Basic", "Standard", "Enhanced")

ESTATES: tuple[str, ...] = ("Men's", "Women's", "Young offenders", "Not applicable")

ESTABLISHMENT_FUNCTIONS: tuple[str, ...] = (
    "Category B local",
    "Category B trainer",
    "Category C trainer",
    "Category D open",
    "High security",
    "Women's closed",
    "Women's open",
    "Young offender institution",
    "Headquarters unit",
)

SECTORS: tuple[str, ...] = ("Public", "Contracted")

#: Prison groups used as the region of an establishment.
PRISON_REGIONS: tuple[str, ...] = (
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
    "Long Term and High Security",
    "Women's Estate",
    "Youth Custody Service",
    "Headquarters",
)

#: The twelve probation regions of England and Wales.
PROBATION_REGIONS: tuple[str, ...] = (
    "North East",
    "North West",
    "Greater Manchester",
    "Yorkshire and the Humber",
    "East Midlands",
    "West Midlands",
    "East of England",
    "London",
    "Kent, Surrey and Sussex",
    "South Central",
    "South West",
    "Wales",
)

DEATH_CLASSIFICATIONS: tuple[str, ...] = ("Natural causes", "Self-inflicted", "Homicide", "Other")

RELEASE_ACCOMMODATION: tuple[str, ...] = ("Settled", "Not settled", "Not released")
RELEASE_EMPLOYMENT: tuple[str, ...] = ("Employed", "Not employed", "Not released")

ORDER_TYPES: tuple[str, ...] = ("Community order", "Suspended sentence order", "Licence")
TERMINATION_OUTCOMES: tuple[str, ...] = (
    "Successful completion",
    "Terminated for breach",
    "Terminated for further offence",
    "Other termination",
)

SENTENCE_TYPES: tuple[str, ...] = (
    "Custody",
    "Suspended sentence order",
    "Community order",
    "Fine or discharge",
)
#: Sentences from most to least severe, for comparing a proposal with the sentence given.
SENTENCE_SEVERITY: dict[str, int] = {
    s: len(SENTENCE_TYPES) - i for i, s in enumerate(SENTENCE_TYPES)
}
PSR_PROPOSALS: tuple[str, ...] = (*SENTENCE_TYPES, "No proposal")
RISK_TIERS: tuple[str, ...] = ("Low", "Medium", "High", "Very high")

STAFF_GRADES: tuple[str, ...] = (
    "Band 2",
    "Band 3",
    "Band 4",
    "Band 5",
    "Band 6",
    "Band 7",
    "Band 8",
    "Band 9",
    "Band 10",
    "Band 11",
    "Senior Civil Service",
)
APPRAISAL_MARKINGS: tuple[str, ...] = ("Exceeded", "Achieved", "Must improve", "Not marked")
#: Markings counted as the "top marking" in the relative rate of appraisal outcomes.
TOP_APPRAISAL_MARKINGS: tuple[str, ...] = ("Exceeded",)

DELIVERY_THEMES: tuple[str, ...] = (
    "A: Staff",
    "B: Prisoners and offenders",
    "C: Whole system",
)
DELIVERY_STATUSES: tuple[str, ...] = ("Not started", "In progress", "Delayed", "Complete")

DIRECTORATES: tuple[str, ...] = (
    "Prisons",
    "Probation",
    "Youth Custody Service",
    "Public Sector Prisons",
    "Electronic Monitoring",
    "Human Resources",
    "Policy and Strategy",
    "Security, Order and Counter Terrorism",
)

#: The only ways a date may be written in a text file, one per column; never guessed.
#: ``DD/MM/YYYY`` is day-first (UK): ``02/06/2025`` is 2 June 2025.
DATE_FORMATS: dict[str, str] = {"YYYY-MM-DD": "%Y-%m-%d", "DD/MM/YYYY": "%d/%m/%Y"}

QUARTER_PATTERN = r"^(?:19|20)\d\d-Q[1-4]$"
FINANCIAL_YEAR_PATTERN = r"^(?:19|20)\d\d-\d\d$"
ESTABLISHMENT_CODE_PATTERN = r"^[A-Z]{3}$"


# --- Columns and extracts -----------------------------------------------------------------

ColumnType = Literal["str", "int", "float", "bool", "date"]


@dataclass(frozen=True)
class Column:
    """One column of an extract.

    ``allowed`` lists the only values a text column may take; ``pattern`` is a regular
    expression it must match; ``minimum``/``maximum`` bound a numeric column;
    ``nullable`` says whether a missing value is allowed; ``references`` names
    ``extract.column`` that every value must exist in.
    """

    name: str
    type: ColumnType
    meaning: str
    allowed: tuple[str, ...] | None = None
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    nullable: bool = False
    references: str | None = None


@dataclass(frozen=True)
class Extract:
    """One extract of the data contract.

    ``key`` is the set of columns unique per row. ``not_above`` lists pairs
    ``(smaller, larger)`` where the first column may never exceed the second
    (a numerator and its denominator). ``kind`` says whether it holds one row per
    person or event (``record``), pre-aggregated results (``aggregate``) or reference data.
    """

    name: str
    title: str
    description: str
    kind: Literal["reference", "record", "aggregate"]
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    not_above: tuple[tuple[str, str], ...] = ()
    period_type: Literal["quarter", "financial_year", "date", "none"] = "quarter"

    @property
    def column_names(self) -> tuple[str, ...]:
        """Column names in contract order."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        """The column called ``name``; ``KeyError`` names the extract if it is not there."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"extract {self.name!r} has no column {name!r}")


def _characteristic_columns(names: tuple[str, ...]) -> tuple[Column, ...]:
    return tuple(
        Column(
            name,
            "str",
            f"{CHARACTERISTICS[name].label}, as recorded; non-declarations are explicit values.",
            allowed=CHARACTERISTICS[name].allowed_values,
        )
        for name in names
    )


def _count(name: str, meaning: str, *, maximum: int) -> Column:
    """A count of events: a whole number from 0 up to a plausible ``maximum``."""
    return Column(name, "int", meaning, minimum=0, maximum=maximum)


def _flag(name: str, meaning: str) -> Column:
    return Column(name, "bool", meaning)


_QUARTER = Column("period", "str", "Quarter, e.g. 2024-Q1.", pattern=QUARTER_PATTERN)
_FY = Column("period", "str", "Financial year, e.g. 2023-24.", pattern=FINANCIAL_YEAR_PATTERN)
_ESTABLISHMENT = Column(
    "establishment",
    "str",
    "Establishment code (see establishments).",
    pattern=ESTABLISHMENT_CODE_PATTERN,
    references="establishments.code",
)
_PROBATION = (
    Column(
        "probation_region", "str", "Probation region (one of twelve).", allowed=PROBATION_REGIONS
    ),
    Column("division", "str", "Probation delivery unit (division) within the region."),
)
_SURVEY_GROUP = (
    Column(
        "characteristic",
        "str",
        "Characteristic the group belongs to (a column name, e.g. ethnic_group).",
        allowed=tuple(CHARACTERISTICS),
    ),
    Column("group", "str", "Group within the characteristic, in the harmonised wording."),
    Column("respondents", "int", "Number of respondents in the group.", minimum=0, maximum=100_000),
)


def _pct(name: str, meaning: str) -> Column:
    return Column(name, "float", meaning, minimum=0, maximum=100, nullable=True)


EXTRACTS: dict[str, Extract] = {
    e.name: e
    for e in (
        Extract(
            "establishments",
            "Establishments",
            "Reference list of prisons and headquarters units.",
            "reference",
            (
                Column(
                    "code",
                    "str",
                    "Three-letter establishment code.",
                    pattern=ESTABLISHMENT_CODE_PATTERN,
                ),
                Column("name", "str", "Establishment name."),
                Column(
                    "region",
                    "str",
                    "Prison group the establishment belongs to.",
                    allowed=PRISON_REGIONS,
                ),
                Column("function", "str", "Function or category.", allowed=ESTABLISHMENT_FUNCTIONS),
                Column(
                    "estate", "str", "Estate: men's, women's or young offenders.", allowed=ESTATES
                ),
                Column("sector", "str", "Public or contracted.", allowed=SECTORS),
                Column("opened", "date", "Date the establishment opened."),
                Column("closed", "date", "Date it closed; empty while open.", nullable=True),
            ),
            key=("code",),
            period_type="none",
        ),
        Extract(
            "benchmarks",
            "Benchmarks",
            "Benchmark shares of each group, for representation of the workforce.",
            "reference",
            (
                Column(
                    "characteristic",
                    "str",
                    "Characteristic (column name).",
                    allowed=tuple(CHARACTERISTICS),
                ),
                Column("group", "str", "Group, in the harmonised wording."),
                Column(
                    "benchmark_share",
                    "float",
                    "Share of the benchmark population, 0 to 1.",
                    minimum=0,
                    maximum=1,
                ),
                Column("source", "str", "Source of the benchmark, e.g. Census 2021."),
                Column("year", "int", "Year of the benchmark.", minimum=1991, maximum=2100),
            ),
            key=("characteristic", "group"),
            period_type="none",
        ),
        Extract(
            "prisoner_periods",
            "Prisoners by quarter",
            "One row per prisoner per quarter per establishment, with outcomes in the quarter.",
            "record",
            (
                Column("person_id", "str", "Pseudonymous prisoner identifier."),
                _QUARTER,
                _ESTABLISHMENT,
                *_characteristic_columns(PERSON_CHARACTERISTICS),
                _count(
                    "adjudications_charged", "Adjudications charged in the quarter.", maximum=200
                ),
                _count("adjudications_proven", "Adjudications proven in the quarter.", maximum=200),
                _count(
                    "segregation_episodes", "Episodes in segregation in the quarter.", maximum=50
                ),
                _count(
                    "use_of_force_incidents",
                    "Use-of-force incidents involving the prisoner.",
                    maximum=100,
                ),
                Column(
                    "incentive_level",
                    "str",
                    "Incentive level at the end of the quarter.",
                    allowed=INCENTIVE_LEVELS,
                ),
                _count(
                    "rotl_applications",
                    "Applications for release on temporary licence.",
                    maximum=200,
                ),
                _count("rotl_grants", "Grants of release on temporary licence.", maximum=200),
                _count("complaints", "Complaints submitted.", maximum=300),
                _count("programme_starts", "Accredited programme starts.", maximum=20),
                _count("programme_completions", "Accredited programme completions.", maximum=20),
                _count(
                    "negative_case_notes", "Negative case notes (incentive warnings).", maximum=300
                ),
                Column(
                    "accommodation_on_release",
                    "str",
                    "For those released in the quarter: settled accommodation on release.",
                    allowed=RELEASE_ACCOMMODATION,
                ),
                Column(
                    "employment_six_weeks",
                    "str",
                    "For those released in the quarter: in employment six weeks after release.",
                    allowed=RELEASE_EMPLOYMENT,
                ),
            ),
            key=("person_id", "period", "establishment"),
            not_above=(
                ("adjudications_proven", "adjudications_charged"),
                ("rotl_grants", "rotl_applications"),
                ("programme_completions", "programme_starts"),
            ),
        ),
        Extract(
            "deaths_in_custody",
            "Deaths in custody",
            "One row per death in custody. Small numbers: disclosure control matters.",
            "record",
            (
                Column("death_id", "str", "Pseudonymous identifier of the death."),
                _QUARTER,
                _ESTABLISHMENT,
                *_characteristic_columns(COMMUNITY_CHARACTERISTICS),
                Column(
                    "classification",
                    "str",
                    "Classification of the death.",
                    allowed=DEATH_CLASSIFICATIONS,
                ),
            ),
            key=("death_id",),
        ),
        Extract(
            "prisoner_survey",
            "Prisoner survey",
            "Inspection survey results aggregated by establishment, characteristic and group.",
            "aggregate",
            (
                _QUARTER,
                _ESTABLISHMENT,
                *_SURVEY_GROUP,
                _pct("pct_treated_with_respect", "% who say most staff treat them with respect."),
                _pct("pct_easy_to_see_health", "% who find it easy to see health services."),
                _pct("pct_feeling_unsafe", "% who feel unsafe at the establishment."),
            ),
            key=("period", "establishment", "characteristic", "group"),
        ),
        Extract(
            "community_terminations",
            "Community order and licence terminations",
            "One row per terminated community order, suspended sentence order or licence.",
            "record",
            (
                Column("termination_id", "str", "Pseudonymous identifier of the termination."),
                _QUARTER,
                *_PROBATION,
                *_characteristic_columns(COMMUNITY_CHARACTERISTICS),
                Column("order_type", "str", "Type of order or licence.", allowed=ORDER_TYPES),
                Column(
                    "outcome",
                    "str",
                    "How the order or licence ended.",
                    allowed=TERMINATION_OUTCOMES,
                ),
            ),
            key=("termination_id",),
        ),
        Extract(
            "community_journey",
            "Offender journey in the community",
            "One row per person sentenced in the quarter: proposal, sentence, risk, breach and recall.",
            "record",
            (
                Column("person_id", "str", "Pseudonymous identifier."),
                _QUARTER,
                *_PROBATION,
                *_characteristic_columns(COMMUNITY_CHARACTERISTICS),
                Column(
                    "psr_proposal",
                    "str",
                    "Sentence proposed in the pre-sentence report.",
                    allowed=PSR_PROPOSALS,
                ),
                Column(
                    "sentence_given", "str", "Sentence given by the court.", allowed=SENTENCE_TYPES
                ),
                Column(
                    "risk_tier", "str", "Risk of serious harm tier allocated.", allowed=RISK_TIERS
                ),
                _flag("risk_escalated", "Risk tier raised during supervision."),
                _flag("breached", "Breach action taken."),
                _flag("recalled", "Recalled to custody (licence cases)."),
            ),
            key=("person_id", "period"),
        ),
        Extract(
            "staff_periods",
            "Staff by financial year",
            "One row per member of staff per financial year, with the staff journey events.",
            "record",
            (
                Column("staff_id", "str", "Pseudonymous staff identifier."),
                _FY,
                Column(
                    "establishment",
                    "str",
                    "Establishment or unit code (see establishments).",
                    pattern=ESTABLISHMENT_CODE_PATTERN,
                    references="establishments.code",
                ),
                Column("grade", "str", "Grade at the end of the year.", allowed=STAFF_GRADES),
                *_characteristic_columns(PERSON_CHARACTERISTICS),
                _flag("new_starter", "Joined during the year."),
                _flag("promoted", "Promoted during the year."),
                _flag("leaver", "Left during the year."),
                Column(
                    "appraisal_marking",
                    "str",
                    "End-of-year appraisal marking.",
                    allowed=APPRAISAL_MARKINGS,
                ),
                _flag("grievance_raised", "Raised a grievance during the year."),
                _flag("disciplinary_investigation", "Subject of a disciplinary investigation."),
                _flag("reasonable_adjustment_requested", "Requested a reasonable adjustment."),
                Column(
                    "adjustment_days",
                    "float",
                    "Days to put the requested adjustment in place; empty if none requested or not yet in place.",
                    minimum=0,
                    maximum=730,
                    nullable=True,
                ),
            ),
            key=("staff_id", "period"),
            period_type="financial_year",
        ),
        Extract(
            "staff_survey",
            "Staff survey",
            "People Survey results aggregated by unit, characteristic and group (anonymous by design).",
            "aggregate",
            (
                _FY,
                Column(
                    "establishment",
                    "str",
                    "Establishment or unit code.",
                    pattern=ESTABLISHMENT_CODE_PATTERN,
                    references="establishments.code",
                ),
                *_SURVEY_GROUP,
                Column(
                    "engagement_index",
                    "float",
                    "Mean engagement index, 0 to 100.",
                    minimum=0,
                    maximum=100,
                    nullable=True,
                ),
                Column(
                    "engagement_sd",
                    "float",
                    "Standard deviation of the engagement index.",
                    minimum=0,
                    maximum=100,
                    nullable=True,
                ),
                _pct("pct_bullying_harassment", "% reporting bullying or harassment at work."),
                _pct("pct_discrimination", "% reporting discrimination at work."),
            ),
            key=("period", "establishment", "characteristic", "group"),
            period_type="financial_year",
        ),
        Extract(
            "equality_analyses",
            "Equality analyses of national policies",
            "One row per national policy: whether its equality analysis was completed and assured.",
            "record",
            (
                Column("policy_id", "str", "Policy identifier."),
                Column("policy_title", "str", "Title of the policy."),
                Column("directorate", "str", "Owning directorate.", allowed=DIRECTORATES),
                Column("date", "date", "Date the policy was issued."),
                _flag("analysis_completed", "An equality analysis was completed."),
                _flag("quality_assured", "The equality analysis was quality-assured."),
            ),
            key=("policy_id",),
            period_type="date",
        ),
        Extract(
            "delivery_plan",
            "Equality Delivery Plan",
            "The actions of the Equality Delivery Plan (Themes A staff, B prisoners and offenders, C whole system).",
            "reference",
            (
                Column("action_id", "str", "Action identifier, e.g. A1.2."),
                Column("theme", "str", "Theme of the plan.", allowed=DELIVERY_THEMES),
                Column(
                    "objective",
                    "int",
                    "Strategic equality objective (1 to 5).",
                    minimum=1,
                    maximum=5,
                ),
                Column("aim", "str", "What we want to achieve."),
                Column("owner", "str", "Accountable owner (role, not a person's name)."),
                Column("due_date", "date", "Date the action is due."),
                Column("status", "str", "Status of the action.", allowed=DELIVERY_STATUSES),
            ),
            key=("action_id",),
            period_type="none",
        ),
        Extract(
            "counts",
            "Aggregated counts",
            "Published or pre-aggregated numerators and denominators for proportion measures.",
            "aggregate",
            (
                Column(
                    "period",
                    "str",
                    "Quarter (2024-Q1) or financial year (2023-24).",
                    pattern=r"^(?:19|20)\d\d-(?:Q[1-4]|\d\d)$",
                ),
                Column(
                    "establishment",
                    "str",
                    "Establishment code; empty for national figures.",
                    pattern=ESTABLISHMENT_CODE_PATTERN,
                    nullable=True,
                    references="establishments.code",
                ),
                Column("measure", "str", "Measure name (see the glossary)."),
                Column(
                    "characteristic",
                    "str",
                    "Characteristic (column name).",
                    allowed=tuple(CHARACTERISTICS),
                ),
                Column("group", "str", "Group within the characteristic."),
                Column(
                    "numerator", "int", "People with the outcome.", minimum=0, maximum=50_000_000
                ),
                Column("denominator", "int", "People in the group.", minimum=0, maximum=50_000_000),
            ),
            key=("period", "establishment", "measure", "characteristic", "group"),
            not_above=(("numerator", "denominator"),),
        ),
    )
}

#: Order in which extracts are validated: references first, so later checks can use them.
EXTRACT_ORDER: tuple[str, ...] = tuple(EXTRACTS)


def extract(name: str) -> Extract:
    """The extract called ``name``; ``ValueError`` lists the known ones otherwise."""
    try:
        return EXTRACTS[name]
    except KeyError:
        raise ValueError(
            f"unknown extract {name!r}; known extracts: {', '.join(EXTRACTS)}"
        ) from None
