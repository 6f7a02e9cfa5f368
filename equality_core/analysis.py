"""Analyses the pages show, as pure functions: a selection of records in, result tables out.

A page reads its filters into a :class:`Selection`, asks this module for the tables it
shows and renders them; it computes nothing itself. Every function here works on
whole tables (one group-by per analysis) and imports nothing from Streamlit, so the same
numbers can be produced from the command line or a notebook.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from equality_core import cellkey, data, disclosure, stats, windows
from equality_core.cellkey import RECORD_KEY, DisclosureConfig
from equality_core.data import EXPOSURE
from equality_core.measures import MATRIX_EXTRACTS as MATRIX_EXTRACTS  # re-exported
from equality_core.measures import MEASURES, Measure, is_in
from equality_core.publish import usable_cpus
from equality_core.schema import (
    CHARACTERISTICS,
    DEATH_CLASSIFICATIONS,
    EXTRACTS,
    NOT_DECLARED_VALUES,
)

#: The flag rule of DESIGN.md section 3 with its default parameters.
DEFAULT_RULE = stats.FlagRule()

#: How each record-level extract is placed: the columns a page may filter on.
PLACE_COLUMNS: dict[str, tuple[str, ...]] = {
    "prisoner_periods": ("region", "establishment", "function", "estate"),
    "deaths_in_custody": ("region", "establishment", "function", "estate"),
    "staff_periods": ("region", "establishment", "function"),
    "community_terminations": ("probation_region", "division"),
    "community_journey": ("probation_region", "division"),
}


@dataclass(frozen=True)
class Selection:
    """What a page analyses: a period and a place, optionally within one group.

    ``period_kind`` is ``rolling`` (twelve months to ``period_end``), ``quarter`` or
    ``financial_year``; for staff, whose records are by financial year, only
    ``financial_year`` applies. ``places`` maps a place column (``region``,
    ``establishment``, ``function``, ``estate``, ``probation_region``, ``division``) to
    the value chosen; ``within`` restricts the analysis to one group of a second
    characteristic, for example ``("age_band", "18-20")``.
    """

    period_kind: str
    period_end: str
    places: tuple[tuple[str, str], ...] = ()
    within: tuple[str, str] | None = None

    def without_place(self, column: str) -> Selection:
        """The same selection with the filter on ``column`` removed (for national figures)."""
        return replace(self, places=tuple((c, v) for c, v in self.places if c != column))

    @property
    def place(self) -> dict[str, str]:
        """The place filters as a dictionary."""
        return dict(self.places)

    def nationally(self) -> Selection:
        """The same selection for England and Wales: every place filter removed."""
        return replace(self, places=())

    def without_within(self) -> Selection:
        """The same selection for everyone, not one group of a second characteristic."""
        return replace(self, within=None)

    def applies_to(self, frame: pd.DataFrame) -> bool:
        """False when ``within`` names a characteristic ``frame`` does not record."""
        return self.within is None or self.within[0] in frame.columns


def place_mask(frame: pd.DataFrame, selection: Selection) -> np.ndarray:
    """Rows of ``frame`` in the selection's place and ``within`` group, whatever the period.

    Place filters on columns the frame does not carry (an establishment for probation
    records) do not apply to it; a ``within`` characteristic it does not record is an
    error, since the analysis asked for cannot be made (check ``applies_to`` first).
    """
    mask = np.ones(len(frame), dtype=bool)
    for column, value in selection.places:
        if column in frame.columns:
            mask &= (frame[column] == value).to_numpy()
    if selection.within is not None:
        column, group = selection.within
        if column not in frame.columns:
            raise ValueError(f"within: the records do not carry {column!r}")
        mask &= (frame[column] == group).to_numpy()
    return mask


def periods_of(selection: Selection, extract: str) -> list[str]:
    """The period labels an extract's records carry for the selection."""
    if EXTRACTS[extract].period_type == "financial_year":
        if selection.period_kind == "financial_year":
            return [selection.period_end]
        # The latest financial year complete by the quarter chosen: one ends in Q1 of the
        # calendar year after it starts, so it is the one starting the year before.
        start = int(selection.period_end[:4]) - 1
        return [f"{start}-{(start + 1) % 100:02d}"]
    return data.quarters_in_period(selection.period_kind, selection.period_end)


def select(frame: pd.DataFrame, selection: Selection, extract: str) -> pd.DataFrame:
    """Records of ``extract`` in the selection's period, place and group.

    Prisoner records are collapsed to one row per person and establishment over the
    period (see :func:`equality_core.data.prisoners_over_period`), so that "at least one
    use of force in the period" counts people, not person-quarters.
    """
    mask = is_in(frame["period"], periods_of(selection, extract)).to_numpy()
    mask = mask & place_mask(frame, selection)
    if extract == "prisoner_periods":
        quarters = periods_of(selection, extract)
        return data.prisoners_over_period(frame, quarters, rows=mask)
    return frame[mask]


def kinds_of(measures: Sequence[Measure | str]) -> dict[str, str]:
    """Each measure's kind (``proportion`` or ``event``), for the statistics."""
    resolved = [MEASURES[m] if isinstance(m, str) else m for m in measures]
    return {m.name: m.kind for m in resolved}


def protected_disparity_table(
    counts: pd.DataFrame,
    *,
    protection: DisclosureConfig | None,
    by: Sequence[str] = (),
    kind: str | dict[str, str] = "proportion",
    comparator: str | Mapping[str, str] | None = None,
    characteristic: str | None = None,
    rule: stats.FlagRule = DEFAULT_RULE,
    family: Sequence[str] | None = None,
) -> pd.DataFrame:
    """:func:`equality_core.stats.disparity_table` on the counts a user may see.

    The counts (with their keys, see :func:`equality_core.data.group_counts`) are
    perturbed and checked first (:func:`equality_core.disclosure.perturb_counts`); the
    statistics are computed from the shown counts, so every rate, interval, ratio,
    p-value and flag is made from figures that are shown; hidden rows are never tested
    (their p-values stay out of the Benjamini-Hochberg family) and read ``[c]``. The
    default comparator is the largest group as perturbed, hidden or not: a hidden largest
    group hides the comparisons against it rather than passing the role to another group
    in this view only. ``family`` names the columns whose combination is one
    Benjamini-Hochberg family (default: each measure and characteristic, and ``by``).
    ``comparator`` is a group (for ``characteristic`` if given, else for every
    characteristic that has it) or a mapping from characteristic to group.
    ``protection`` None gives exact figures (the ``suppressed`` column all False).
    """
    if isinstance(kind, str):
        proportion = np.full(len(counts), kind == "proportion")
    else:
        # Each measure's kind looked up once, not once a row.
        codes, measures = pd.factorize(counts["measure"].astype(str), use_na_sentinel=False)
        proportion = np.array(
            [kind.get(m, "proportion") == "proportion" for m in measures], dtype=bool
        )[codes]
    shown = disclosure.perturb_counts(
        counts, protection=protection, complement_rows=proportion, keep_size=True
    )
    # Both frames are new and ours: relabel and delete in place rather than copy them.
    shown.columns = [
        stats.COMPARATOR_SIZE if c == disclosure.SHOWN_SIZE else c for c in shown.columns
    ]
    comparators = None
    if comparator:
        comparators = {characteristic: comparator} if characteristic else comparator
    table = stats.disparity_table(
        shown, by=by, kind=kind, comparator=comparators, rule=rule, family=family
    )
    del table[stats.COMPARATOR_SIZE]
    return disclosure.hide_derived(table, family=("measure", "characteristic", *by))


def disparities(
    records: pd.DataFrame,
    *,
    measures: Sequence[Measure | str],
    characteristic: str,
    protection: DisclosureConfig | None,
    comparator: str | None = None,
    rule: stats.FlagRule = DEFAULT_RULE,
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """Rates, relative rates, tests and flags of every measure for every group.

    One row per measure (and ``by`` value) and group, with the columns of
    :func:`equality_core.stats.disparity_table` and ``suppressed``, all made from the
    counts shown after disclosure control (``protection``; None for exact figures).
    Groups standing for no declaration are kept (without tests) so that tables can show
    them.
    """
    counts = data.group_counts(records, measures=measures, characteristic=characteristic, by=by)
    return protected_disparity_table(
        counts,
        protection=protection,
        by=by,
        kind=kinds_of(measures),
        comparator=comparator,
        characteristic=characteristic,
        rule=rule,
    )


def trend(
    frame: pd.DataFrame,
    *,
    measure: Measure | str,
    characteristic: str,
    selection: Selection,
    protection: DisclosureConfig | None,
    comparator: str | None = None,
    rule: stats.FlagRule = DEFAULT_RULE,
) -> pd.DataFrame:
    """The measure's rate for each group in every period the extract holds.

    Quarterly extracts are shown by quarter (prisoners counted per quarter), staff by
    financial year; the place and group filters of ``selection`` apply, its period does
    not. The counts come from the measure's sums by unit and period
    (:func:`equality_core.windows.period_counts_for`), shared by every place's trend.
    """
    m = MEASURES[measure] if isinstance(measure, str) else measure
    counts = (
        windows.period_counts_for(
            frame,
            m.extract,
            measure=m,
            places=selection.places,
            within=selection.within,
            characteristic=characteristic,
        )
        if windows.applies(m.extract)
        else None
    )
    if counts is None:
        # The record-level path: a 'look within' view, or records without units. The
        # place's records are counted where they are: copying a large group's rows of
        # every column was most of such a trend.
        counts = data.group_counts(
            frame,
            measures=[m],
            characteristic=characteristic,
            by=["period"],
            rows=place_mask(frame, selection),
        )
    table = protected_disparity_table(
        counts,
        protection=protection,
        by=["period"],
        kind=kinds_of([m]),
        comparator=comparator,
        characteristic=characteristic,
        rule=rule,
    )
    table["period"] = table["period"].astype(str)
    return table


def funnel(
    records: pd.DataFrame,
    *,
    measure: Measure | str,
    protection: DisclosureConfig | None,
    characteristic: str | None = None,
    group: str | None = None,
    unit: str = "establishment",
    centre: float | None = None,
) -> pd.DataFrame:
    """Each unit's rate of the measure (for one group, or everyone) with control limits.

    The limits are exact binomial 95% and 99.8% limits around the rate of all units
    together (:func:`equality_core.stats.funnel_table`). Every count is the count shown
    after disclosure control, the centre line included (the rate of all units' records
    together, as the same cell shows it elsewhere); a hidden unit stays in the table as
    ``[c]`` and out of the chart.

    ``centre`` replaces the centre line: a user who sees only some units has their
    units drawn against the England and Wales rate (:func:`overall_rate` on the whole
    extract, through the national path).
    """
    work = _funnel_work(records, measure, characteristic, group, unit)
    counts = work.groupby(unit, sort=True).sum().reset_index()
    return _funnel_from_counts(counts, unit=unit, protection=protection, centre=centre)


def _funnel_from_counts(
    counts: pd.DataFrame,
    *,
    unit: str,
    protection: DisclosureConfig | None,
    centre: float | None,
) -> pd.DataFrame:
    """:func:`funnel`'s table from each unit's counts and keys."""
    if centre is None:
        centre = _shown_rate(counts.drop(columns=unit), protection)
    counts = counts[counts["denominator"] > 0]
    if counts.empty:
        return counts
    shown = disclosure.perturb_counts(counts, protection=protection)
    visible = shown[~shown["suppressed"]]
    table = stats.funnel_table(
        visible.astype({"numerator": "int64", "denominator": "int64"}),
        unit=unit,
        centre=centre,
    )
    hidden = shown[shown["suppressed"]].assign(position=disclosure.SUPPRESSED)
    return pd.concat([table, hidden], ignore_index=True).sort_values(unit, ignore_index=True)


def _funnel_work(
    records: pd.DataFrame,
    measure: Measure | str,
    characteristic: str | None,
    group: str | None,
    unit: str | None,
) -> pd.DataFrame:
    """Per record: in the population, with the outcome, and their record keys."""
    m = MEASURES[measure] if isinstance(measure, str) else measure
    chosen = records
    if characteristic and group:
        chosen = records[records[characteristic] == group]
    population = m.population(chosen).to_numpy(dtype=bool)
    outcome = np.asarray(m.numerator(chosen)).astype(bool) & population
    keys = (
        chosen[RECORD_KEY].to_numpy(dtype="int64")
        if RECORD_KEY in chosen.columns
        else np.zeros(len(chosen), dtype="int64")
    )
    columns = {unit: chosen[unit].astype(str)} if unit else {}
    return pd.DataFrame(
        {
            **columns,
            "numerator": outcome.astype("int64"),
            "denominator": population.astype("int64"),
            "numerator_key": np.where(outcome, keys, 0),
            "denominator_key": np.where(population, keys, 0),
        }
    )


def _shown_rate(work: pd.DataFrame, protection: DisclosureConfig | None) -> float | None:
    """The rate of all records together, from the counts shown after disclosure control."""
    everyone = disclosure.perturb_counts(work.sum().to_frame().T, protection=protection)
    if everyone["suppressed"].iloc[0] or everyone["denominator"].iloc[0] <= 0:
        return None
    return float(everyone["numerator"].iloc[0] / everyone["denominator"].iloc[0])


def overall_rate(
    records: pd.DataFrame,
    *,
    measure: Measure | str,
    protection: DisclosureConfig | None,
    characteristic: str | None = None,
    group: str | None = None,
) -> float | None:
    """The rate of a measure over all ``records`` (one group's, if given), as shown."""
    return _shown_rate(_funnel_work(records, measure, characteristic, group, None), protection)


def declaration(
    records: pd.DataFrame,
    *,
    characteristics: Sequence[str],
    protection: DisclosureConfig | None,
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """Declaration rate of each characteristic (by ``by``), against the 80% target.

    The records and the declared records are counts of people, perturbed and checked
    like any other (those who did not declare are the complement); the rates are made
    from the shown counts.
    """
    present = [c for c in characteristics if c in records.columns]
    keys = (
        records[RECORD_KEY].to_numpy(dtype="int64")
        if RECORD_KEY in records.columns
        else np.zeros(len(records), dtype="int64")
    )
    parts = []
    for characteristic in present:
        values = records[characteristic]
        declared = (values.notna() & ~values.astype("string").isin(NOT_DECLARED_VALUES)).to_numpy(
            dtype=bool
        )
        work = pd.DataFrame(
            {
                "declared": declared.astype("int64"),
                "records": np.ones(len(records), dtype="int64"),
                "declared_key": np.where(declared, keys, 0),
                "records_key": keys,
            },
            index=records.index,
        )
        for column in by:
            work[column] = records[column]
        if by:
            summed = work.groupby(list(by), observed=True).sum().reset_index()
        else:
            summed = work.sum().to_frame().T
        summed.insert(len(by), "characteristic", characteristic)
        parts.append(summed)
    columns = [*by, "characteristic", "declared", "records"]
    counts = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    return declaration_from_counts(counts, protection=protection)


def declaration_from_counts(
    counts: pd.DataFrame, *, protection: DisclosureConfig | None
) -> pd.DataFrame:
    """:func:`declaration`'s table from counts of records and declared records (and keys)."""
    shown = disclosure.perturb_counts(
        counts,
        protection=protection,
        count_columns=("declared", "records"),
        complements=(("declared", "records"),),
    )
    table = stats.declaration_table(shown)
    return disclosure.hide_derived(table, family=())


def declaration_in(
    frame: pd.DataFrame,
    selection: Selection,
    extract: str,
    *,
    characteristics: Sequence[str],
    protection: DisclosureConfig | None,
    by_unit: bool = False,
) -> pd.DataFrame:
    """:func:`declaration` of the selection's records (by unit), from the window's sums.

    The same table as ``declaration(select(frame, selection, extract), ...)`` (the test
    holds them equal), without counting the records again for each place.
    """
    unit = windows.UNIT.get(extract)
    present = [c for c in characteristics if c in frame.columns]
    counts = None
    if windows.applies(extract):
        counts = windows.declaration_counts_for(
            frame,
            extract,
            periods=periods_of(selection, extract),
            places=selection.places,
            characteristics=present,
            declared_groups={c: _declared_groups(frame, c) for c in present},
            by_unit=by_unit,
            within=selection.within,
        )
    if counts is None:
        records = select(frame, selection, extract)
        by = [unit] if by_unit and unit else []
        return declaration(records, characteristics=characteristics, protection=protection, by=by)
    return declaration_from_counts(counts, protection=protection)


def _declared_groups(frame: pd.DataFrame, characteristic: str) -> list[str]:
    values = frame[characteristic]
    groups = (
        values.cat.categories.astype(str)
        if isinstance(values.dtype, pd.CategoricalDtype)
        else pd.Index(values.dropna().astype(str).unique())
    )
    return [g for g in groups if g not in NOT_DECLARED_VALUES]


def funnel_in(
    frame: pd.DataFrame,
    selection: Selection,
    extract: str,
    *,
    measure: Measure | str,
    protection: DisclosureConfig | None,
    characteristic: str | None = None,
    group: str | None = None,
    unit: str = "establishment",
    centre: float | None = None,
) -> pd.DataFrame:
    """:func:`funnel` of the selection's records, from the window's sums by unit.

    The same table as ``funnel(select(frame, selection, extract), ...)``.
    """
    m = MEASURES[measure] if isinstance(measure, str) else measure
    counts = None
    if windows.applies(extract) and windows.UNIT[extract] == unit:
        counts = windows.funnel_counts_for(
            frame,
            extract,
            periods=periods_of(selection, extract),
            places=selection.places,
            measure=m,
            characteristic=characteristic,
            group=group,
            within=selection.within,
        )
    if counts is None:
        return funnel(
            select(frame, selection, extract),
            measure=m,
            protection=protection,
            characteristic=characteristic,
            group=group,
            unit=unit,
            centre=centre,
        )
    return _funnel_from_counts(counts, unit=unit, protection=protection, centre=centre)


def characteristic_options(extract: str) -> list[str]:
    """The characteristics recorded on ``extract``, in the contract's order."""
    names = EXTRACTS[extract].column_names
    return [c for c in CHARACTERISTICS if c in names]


# --- Survey results, which arrive aggregated ---------------------------------------------


#: The coordinates of a survey row: what its cell key is made from.
SURVEY_COORDINATES = ("period", "establishment", "characteristic", "group")


def survey_counts(
    frame: pd.DataFrame,
    *,
    columns: Sequence[str],
    by: Sequence[str] = (),
    secret: bytes | None = None,
) -> pd.DataFrame:
    """Respondents giving each answer, summed over surveyed units, as counts to compare.

    Surveys arrive as a percentage per unit and group, so the counts are rebuilt:
    ``numerator = round(sum(percentage x respondents) / 100)`` and ``denominator`` the
    respondents of the units that reported the percentage. ``measure`` is the column
    name; ``respondents`` is kept so that disclosure control can hide groups with fewer
    than ten. With a ``secret``, each survey row gets keys from its coordinates
    (:data:`SURVEY_COORDINATES`, the question, and which count), summed into
    ``numerator_key`` and ``denominator_key``: surveys have no records, so this is the
    weaker, coordinate-based form of the cell key method. The result goes straight into
    :func:`protected_disparity_table`.
    """
    keys = [*by, "characteristic", "group"]
    coordinates = [c for c in SURVEY_COORDINATES if c in frame.columns]
    parts = []
    for column in columns:
        reported = frame[frame[column].notna()]
        answered = (reported[column] * reported["respondents"] / 100).rename("answered")
        pieces = [reported[keys], answered, reported["respondents"]]
        if secret is not None:
            labelled = reported[coordinates].astype("string").assign(_question=column)
            for part in ("numerator", "denominator"):
                pieces.append(
                    pd.Series(
                        cellkey.coordinate_keys(
                            labelled.assign(_part=part),
                            [*coordinates, "_question", "_part"],
                            secret=secret,
                        ),
                        index=reported.index,
                        name=f"{part}_key",
                    )
                )
        sums = [c.name for c in pieces[1:]]
        summed = (
            pd.concat(pieces, axis=1)
            .groupby(keys, observed=True, sort=False)[sums]
            .sum()
            .reset_index()
        )
        summed["measure"] = column
        parts.append(summed)
    key_columns = ["numerator_key", "denominator_key"] if secret is not None else []
    columns_out = ["measure", *keys, "numerator", "denominator", "respondents", *key_columns]
    if not parts:
        return pd.DataFrame(columns=columns_out)
    out = pd.concat(parts, ignore_index=True)
    out["numerator"] = np.rint(out.pop("answered")).astype("int64")
    out["respondents"] = out["respondents"].astype("int64")
    out["denominator"] = out["respondents"]
    out["group"] = out["group"].astype(str)
    out["characteristic"] = out["characteristic"].astype(str)
    group_order = {g: i for c in CHARACTERISTICS.values() for i, g in enumerate(c.allowed_values)}
    out["_measure"] = out["measure"].map({c: i for i, c in enumerate(columns)})
    out["_group"] = out["group"].map(group_order)
    out = out.sort_values(["_measure", "_group"], kind="stable")
    return out[columns_out].reset_index(drop=True)


def survey_disparities(
    frame: pd.DataFrame,
    *,
    columns: Sequence[str],
    protection: DisclosureConfig | None,
    comparator: str | None = None,
    characteristic: str | None = None,
    rule: stats.FlagRule = DEFAULT_RULE,
) -> pd.DataFrame:
    """Survey answers compared between groups, after disclosure control.

    Groups with fewer than ``survey_minimum`` respondents are hidden, and the rebuilt
    counts are perturbed with keys from the survey rows' coordinates.
    """
    counts = survey_counts(
        frame, columns=columns, secret=protection.secret if protection is not None else None
    )
    if counts.empty:
        return counts
    return protected_disparity_table(
        counts,
        protection=protection,
        comparator=comparator,
        characteristic=characteristic,
        rule=rule,
    )


# --- Deaths in custody --------------------------------------------------------------------

#: The measure that counts every death, beside one per classification.
ALL_DEATHS = "All deaths"
#: Multiplier from deaths per prisoner-quarter to deaths per 1,000 prisoner-years.
PER_1000_PRISONER_YEARS = 4000.0


def _keys_of(frame: pd.DataFrame) -> np.ndarray:
    """The records' keys, or zeros for records without (tests of exact figures)."""
    if RECORD_KEY in frame.columns:
        return frame[RECORD_KEY].to_numpy(dtype="int64")
    return np.zeros(len(frame), dtype="int64")


def deaths_counts(
    deaths: pd.DataFrame, prisoners: pd.DataFrame, *, characteristic: str
) -> pd.DataFrame:
    """Deaths of each group in custody, in all and by classification, with their exposure.

    ``deaths`` are the deaths in the period and place analysed; ``prisoners`` the prisoner
    records of the same selection (one row per person and establishment with
    ``quarters_held``, as :func:`select` gives them). The numerator counts deaths, the
    denominator the prisoner-quarters the group was held, so the rate is an event rate:
    times :data:`PER_1000_PRISONER_YEARS` it is deaths per 1,000 prisoner-years, the
    form in which deaths in custody are published. Every group appears, with zeros.
    Beside each count are the keys of its records and the people it rests on (the
    deaths; the prisoners held), for disclosure control.
    """
    groups = list(CHARACTERISTICS[characteristic].allowed_values)
    held = prisoners[characteristic].astype(str)
    exposure = pd.DataFrame(
        {
            "denominator": prisoners[EXPOSURE].to_numpy(dtype="int64"),
            "denominator_key": _keys_of(prisoners),
            "denominator_people": np.ones(len(prisoners), dtype="int64"),
        }
    )
    exposure = exposure.groupby(held.to_numpy()).sum().reindex(groups, fill_value=0)
    died = deaths[characteristic].astype(str).to_numpy()
    classification = deaths["classification"].astype(str).to_numpy()
    death_keys = _keys_of(deaths)
    parts = []
    for measure, mask in (
        (ALL_DEATHS, np.ones(len(deaths), dtype=bool)),
        *((c, classification == c) for c in DEATH_CLASSIFICATIONS),
    ):
        numerator = (
            pd.DataFrame({"numerator": mask.astype("int64"), "numerator_key": death_keys * mask})
            .groupby(died)
            .sum()
            .reindex(groups, fill_value=0)
        )
        part = pd.concat([numerator, exposure], axis=1).reset_index(names="group")
        part.insert(0, "characteristic", characteristic)
        part.insert(0, "measure", measure)
        part["numerator_people"] = part["numerator"]
        parts.append(part)
    return pd.concat(parts, ignore_index=True).astype(
        {c: "int64" for c in parts[0].columns if c.startswith(("numerator", "denominator"))}
    )


def deaths_disparities(
    deaths: pd.DataFrame,
    prisoners: pd.DataFrame,
    *,
    characteristic: str,
    protection: DisclosureConfig | None,
    comparator: str | None = None,
    rule: stats.FlagRule = DEFAULT_RULE,
) -> pd.DataFrame:
    """Death rates of each group (in all and by classification) after disclosure control."""
    counts = deaths_counts(deaths, prisoners, characteristic=characteristic)
    return protected_disparity_table(
        counts,
        protection=protection,
        kind="event",
        comparator=comparator,
        characteristic=characteristic,
        rule=rule,
    )


# --- The Equality Monitoring Tool matrix -------------------------------------------------


# MATRIX_EXTRACTS (from equality_core.measures, light enough for the app's entry to import):
# the record-level extracts whose measures make up the matrix.


def family_extracts(
    frames: Mapping[str, pd.DataFrame | None], *, selection: Selection, characteristic: str
) -> list[str]:
    """The extracts whose records can be analysed for ``selection`` and ``characteristic``.

    An extract belongs to a page's family only if it records the characteristic, the
    'look within' characteristic and every place filter chosen: community records have
    no establishment, so a prison's page leaves them out rather than showing England and
    Wales' probation figures as if they were the prison's.
    """
    out = []
    for extract, frame in frames.items():
        if frame is None or characteristic not in frame.columns:
            continue
        if not selection.applies_to(frame):
            continue
        if any(column not in frame.columns for column, _ in selection.places):
            continue
        out.append(extract)
    return out


def _view_counts(
    frame: pd.DataFrame,
    extract: str,
    selection: Selection,
    characteristic: str,
    measures: Sequence[Measure],
) -> pd.DataFrame | None:
    """The group counts of a view's records (None if it has none).

    From the window's sums by unit (:mod:`equality_core.windows`), shared by every view
    of the window (within a group too); from :func:`select`'s records where those do not
    apply.
    """
    if windows.applies(extract):
        return windows.group_counts_for(
            frame,
            extract,
            periods=periods_of(selection, extract),
            places=selection.places,
            within=selection.within,
            characteristic=characteristic,
            measures=measures,
        )
    records = select(frame, selection, extract)
    if records.empty:
        return None
    return data.group_counts(records, measures=measures, characteristic=characteristic)


#: Above this many records in a view's years, :func:`_counts_by_year` collapses prisoners
#: a year at a time: at once, collapsing millions of rows (a large group, such as men,
#: over ten years) took twice as long as ten collapses of a tenth of the rows.
_YEARS_AT_ONCE_ROWS = 1_000_000


def _counts_by_year(
    frame: pd.DataFrame,
    extract: str,
    selection: Selection,
    years: Sequence[str],
    characteristic: str,
    measures: Sequence[Measure],
) -> dict[str, pd.DataFrame]:
    """Each financial year's group counts, counted from the records of the view.

    What :func:`select` and :func:`equality_core.data.group_counts` give for each year's
    selection (the same place and 'look within' group), year by year; a year with no
    records is left out. The records of a small group are chosen once and prisoners
    collapsed per person, establishment and year at once (financial years do not
    overlap): choosing a group's records out of millions, ten times over, was most of
    objective 1's flags over time within a group.
    """
    year_of: dict[str, str] = {}
    for year in years:
        in_year = replace(selection, period_kind="financial_year", period_end=year)
        year_of.update(dict.fromkeys(periods_of(in_year, extract), year))
    mask = is_in(frame["period"], list(year_of)).to_numpy() & place_mask(frame, selection)
    if mask.sum() > _YEARS_AT_ONCE_ROWS:
        out = {}
        for year in years:
            in_year = replace(selection, period_kind="financial_year", period_end=year)
            records = select(frame, in_year, extract)
            if not records.empty:
                out[year] = data.group_counts(
                    records, measures=measures, characteristic=characteristic
                )
        return out
    if not mask.any():
        return {}
    if extract == "prisoner_periods":
        records = data.prisoners_by_window(frame, year_of, rows=mask)
    else:
        chosen = frame[mask]
        records = chosen.assign(**{data.WINDOW: chosen["period"].map(year_of)})
    records[data.WINDOW] = records[data.WINDOW].astype(str)
    counts = data.group_counts(
        records, measures=measures, characteristic=characteristic, by=[data.WINDOW]
    )
    return {
        str(year): part.drop(columns=data.WINDOW).reset_index(drop=True)
        for year, part in counts.groupby(data.WINDOW, sort=False)
    }


#: Threads that count a matrix's extracts beside the caller's (:func:`_side_by_side`):
#: one on a machine with two cores or more, none on one with a single core.
HELPER_THREADS = min(1, usable_cpus() - 1)
_HELPERS = ThreadPoolExecutor(
    max_workers=max(HELPER_THREADS, 1), thread_name_prefix="equality-count"
)


def _side_by_side(calls: Mapping[str, tuple]) -> dict[str, object]:
    """Each ``(function, *arguments)`` of ``calls`` called, two at a time; results by name.

    A view's extracts are counted independently. Read from the sums made at publication
    they take milliseconds; a window counted from the records (a "look within" view)
    takes a tenth of a second or more for each, much of it in NumPy, which lets go of
    the interpreter's lock, so a second thread counts a view about a third quicker on
    two cores. The frames are only read.

    The caller counts the first (the callers put the largest first) while a helper
    thread takes the others in turn; then the caller counts any the helper has not
    started. The helper is shared by every session, so a view never waits for another
    session's counts: at worst it counts everything itself.
    """
    items = list(calls.items())
    if HELPER_THREADS < 1 or len(items) < 2:
        return {name: call[0](*call[1:]) for name, call in items}
    futures = {name: _HELPERS.submit(*call) for name, call in items[1:]}
    first, call = items[0]
    out = {first: call[0](*call[1:])}
    for name, future in futures.items():
        # Not started by the helper yet: count it here (cancel fails once it has started).
        out[name] = calls[name][0](*calls[name][1:]) if future.cancel() else future.result()
    return out


def emt_matrix(
    frames: Mapping[str, pd.DataFrame | None],
    *,
    selection: Selection,
    characteristic: str,
    protection: DisclosureConfig | None,
    comparator: str | None = None,
    rule: stats.FlagRule = DEFAULT_RULE,
) -> pd.DataFrame:
    """Every measure by every group of ``characteristic``: one view's family of comparisons.

    The Equality Monitoring Tool view, and the one source of every comparison a page
    shows: for one characteristic, one period and one place (and 'look within' group),
    every measure of every extract in :func:`family_extracts` by every group against its
    comparator. Its cells are one Benjamini-Hochberg family (DESIGN.md section 7), so a
    cell has the same adjusted p-value and flag wherever it appears, and under no true
    difference at most 5% of pages show any flag. Staff are analysed by the financial
    year the period ends in. Counts are protected (``protection``) before any statistic.
    """
    return emt_matrices(
        frames,
        views=[(selection, characteristic)],
        protection=protection,
        comparator=comparator,
        rule=rule,
    )[0]


#: The column that tells the views of :func:`emt_matrices` apart while they are compared.
_VIEW = "\0view"


def emt_matrices(
    frames: Mapping[str, pd.DataFrame | None],
    *,
    views: Sequence[tuple[Selection, str]],
    protection: DisclosureConfig | None,
    comparator: str | None = None,
    rule: stats.FlagRule = DEFAULT_RULE,
) -> list[pd.DataFrame]:
    """:func:`emt_matrix` of each ``(selection, characteristic)`` view, in their order.

    Each table is the one :func:`emt_matrix` gives that view alone (the test holds them
    equal): each view is its own family of comparisons, its own comparators and its
    own disclosure families. Worked out together because the statistics cost about
    the same for four views' rows as for one view's: the overview asks for four matrices
    of a place (now and a year before, by ethnic group and by disability) on every
    change of place. ``comparator`` is every view's, as :func:`emt_matrix` takes it.
    """
    kinds: dict[str, str] = {}
    jobs: dict[tuple[int, str], tuple] = {}
    for view, (selection, characteristic) in enumerate(views):
        for extract in family_extracts(frames, selection=selection, characteristic=characteristic):
            measures = [m for m in MEASURES.values() if m.extract == extract]
            if measures:
                jobs[(view, extract)] = (
                    _view_counts,
                    frames[extract],
                    extract,
                    selection,
                    characteristic,
                    measures,
                )
                kinds.update(kinds_of(measures))
    found = {job: counts for job, counts in _side_by_side(jobs).items() if counts is not None}
    if not found:
        return [pd.DataFrame() for _ in views]
    counts = pd.concat(found.values(), ignore_index=True)
    # Each part's extract and view, added once to the whole rather than to every part.
    sizes = [len(part) for part in found.values()]
    counts["extract"] = np.repeat([extract for _, extract in found], sizes)
    counts[_VIEW] = np.repeat([view for view, _ in found], sizes)
    characteristics = list(dict.fromkeys(characteristic for _, characteristic in views))
    comparators = None
    if comparator:
        comparators = dict.fromkeys(characteristics, comparator)
    # One view is compared exactly as before views were batched: no view column at all.
    by = [_VIEW] if len(views) > 1 else []
    if not by:
        del counts[_VIEW]
    table = protected_disparity_table(
        counts,
        protection=protection,
        by=by,
        kind=kinds,
        comparator=comparators,
        rule=rule,
        family=["characteristic", *by],
    )
    table["objective"] = table["measure"].map(lambda m: MEASURES[m].objective)
    table["measure_label"] = table["measure"].map(lambda m: MEASURES[m].label)
    if not by:
        return [table]
    view_of = table.pop(_VIEW).to_numpy()
    out = []
    for view in range(len(views)):
        rows = view_of == view
        out.append(table[rows].reset_index(drop=True) if rows.any() else pd.DataFrame())
    return out


def financial_years_held(frame: pd.DataFrame) -> list[str]:
    """The financial years an extract holds completely (all four quarters, or the year)."""
    period = frame["period"]
    if isinstance(period.dtype, pd.CategoricalDtype):
        # The periods with records, by their codes: finding the distinct values of
        # millions of records took a tenth of a view's flags over time.
        codes = period.cat.codes.to_numpy()
        used = np.bincount(codes[codes >= 0], minlength=len(period.cat.categories)) > 0
        periods = sorted(str(p) for p in period.cat.categories[used])
    else:
        periods = sorted(str(p) for p in pd.unique(period))
    if periods and "-Q" not in periods[0]:
        return periods
    held: dict[str, list[str]] = {}
    for quarter in periods:
        held.setdefault(data.financial_year_of(quarter), []).append(quarter)
    return [year for year, quarters in held.items() if len(quarters) == 4]


def flags_over_time(
    frames: Mapping[str, pd.DataFrame | None],
    *,
    characteristic: str,
    selection: Selection,
    protection: DisclosureConfig | None,
    rule: stats.FlagRule = DEFAULT_RULE,
) -> pd.DataFrame:
    """How many cells of the matrix are flagged higher and lower in each financial year.

    Each year is the matrix of that financial year (:func:`emt_matrix` with the same
    place and 'look within' filters: every measure of every extract in the family, one
    Benjamini-Hochberg family per year), so a year's count is the count its matrix shows.
    Each year's counts come from :mod:`equality_core.windows`, shared with every other
    view of that year whatever its place. Columns: ``period``, ``higher``, ``lower``, ``cells`` (cells judged).
    """
    columns = ["period", "higher", "lower", "cells"]
    prisoners = frames.get("prisoner_periods")
    if prisoners is None:
        return pd.DataFrame(columns=columns)
    years = financial_years_held(prisoners)
    if not years:
        return pd.DataFrame(columns=columns)
    parts = []
    kinds: dict[str, str] = {}
    for extract in family_extracts(frames, selection=selection, characteristic=characteristic):
        measures = [m for m in MEASURES.values() if m.extract == extract]
        # Within a group, each year's one characteristic is counted from its records (no
        # other view shares those years' sums of every characteristic): all years at once.
        from_records = selection.within is not None or not windows.applies(extract)
        if from_records:
            by_year = _counts_by_year(
                frames[extract], extract, selection, years, characteristic, measures
            )
            for year in years:
                counts = by_year.get(year)
                if counts is not None:
                    counts.insert(1, "year", year)
                    parts.append(counts.assign(extract=extract))
        else:
            # Every year's sums of the place at once, each year as its matrix counts it.
            counts = windows.group_counts_by_window(
                frames[extract],
                extract,
                windows={
                    year: periods_of(
                        replace(selection, period_kind="financial_year", period_end=year),
                        extract,
                    )
                    for year in years
                },
                places=selection.places,
                characteristic=characteristic,
                measures=measures,
                label="year",
            )
            if counts is not None:
                parts.append(counts.assign(extract=extract))
        kinds.update(kinds_of(measures))
    if not parts:
        return pd.DataFrame(columns=columns)
    table = protected_disparity_table(
        pd.concat(parts, ignore_index=True),
        protection=protection,
        by=["year"],
        kind=kinds,
        characteristic=characteristic,
        rule=rule,
        family=["characteristic", "year"],
    )
    flags = table["flag"].astype("string")
    table = table.assign(
        higher=flags.isin(["higher"]).to_numpy(dtype=int),
        lower=flags.isin(["lower"]).to_numpy(dtype=int),
        cells=table["p_value"].notna().to_numpy(dtype=int),
    )
    out = table.groupby("year", sort=True)[["higher", "lower", "cells"]].sum().reset_index()
    return out.rename(columns={"year": "period"})[columns]


def pooled_means(frame: pd.DataFrame, *, by: Sequence[str] = ()) -> pd.DataFrame:
    """Pool unit-level means and standard deviations into one per group (and ``by``).

    Mean: respondent-weighted. Standard deviation from the law of total variance:
    ``[sum (n_i - 1) s_i^2 + sum n_i (m_i - M)^2] / (N - 1)``, so spread between units
    counts as well as spread within them. Units with no figure are left out.
    """
    keys = [*by, "characteristic", "group"]
    work = frame.dropna(subset=["engagement_index", "engagement_sd"])
    work = work[work["respondents"] > 0]
    n = work["respondents"].astype(float)
    work = work.assign(
        _n=n,
        _nm=n * work["engagement_index"],
        _within=(n - 1) * work["engagement_sd"] ** 2,
    )
    grouped = work.groupby(keys, observed=True, sort=False)
    sums = grouped[["_n", "_nm", "_within"]].sum()
    mean = sums["_nm"] / sums["_n"]
    work = work.join(mean.rename("_mean"), on=keys)
    between = (
        (work["_n"] * (work["engagement_index"] - work["_mean"]) ** 2)
        .groupby([work[k] for k in keys], observed=True, sort=False)
        .sum()
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = (sums["_within"] + between) / (sums["_n"] - 1)
    out = pd.DataFrame(
        {"respondents": sums["_n"].astype("int64"), "mean": mean, "sd": np.sqrt(variance)}
    ).reset_index()
    out["group"] = out["group"].astype(str)
    return out


# --- Staff: representation, distributions of markings and of days ------------------------


def _keyed_cells(
    records: pd.DataFrame, *, keys: Sequence[str], mask: np.ndarray | None = None
) -> pd.DataFrame:
    """How many records fall in each combination of ``keys``, with the sum of their keys.

    The combinations in the order they first occur, each key as text. Grouped by the
    columns as they are (categories), made text after: turning every record's value
    into text took three quarters of the time.
    """
    chosen = records if mask is None else records[mask]
    work = pd.DataFrame(
        {
            **{k: chosen[k] for k in keys},
            "count": np.ones(len(chosen), dtype="int64"),
            "count_key": _keys_of(chosen),
        }
    )
    out = work.groupby(list(keys), sort=False, observed=True, dropna=False).sum().reset_index()
    for k in keys:
        out[k] = out[k].astype(str)
    return out


def representation_by_grade(
    records: pd.DataFrame,
    *,
    characteristic: str,
    benchmarks: pd.DataFrame,
    protection: DisclosureConfig | None,
) -> pd.DataFrame:
    """Each declared group's share of staff in each grade and in all grades, against its benchmark.

    The staff in each group and grade (``count``) and the staff who declared in each
    grade (``total``) are counts of people, each perturbed with its own cell key; the
    shares and intervals are made from the shown counts
    (:func:`equality_core.stats.representation`). A hidden group stays in the table as
    ``[c]``.
    """
    groups = list(CHARACTERISTICS[characteristic].groups)
    declared = records[characteristic].isin(groups).to_numpy()
    by_grade = _keyed_cells(records, keys=["grade", characteristic], mask=declared)
    everyone = _keyed_cells(records, keys=[characteristic], mask=declared).assign(
        grade="All grades"
    )
    cells = pd.concat([everyone, by_grade], ignore_index=True).rename(
        columns={characteristic: "group"}
    )
    totals = cells.groupby("grade", sort=False)[["count", "count_key"]].sum()
    totals.columns = ["total", "total_key"]
    cells = cells.join(totals, on="grade")
    # Every declared group of every grade appears, with zeros, so a missing one is visible.
    grades = cells["grade"].unique()
    full = pd.MultiIndex.from_product([grades, groups], names=["grade", "group"])
    cells = cells.set_index(["grade", "group"]).reindex(full).reset_index()
    for column in ("count", "count_key"):
        cells[column] = cells[column].fillna(0).astype("int64")
    for column in ("total", "total_key"):
        cells[column] = cells.groupby("grade")[column].transform("max").fillna(0).astype("int64")
    cells["characteristic"] = characteristic
    shown = disclosure.perturb_counts(
        cells,
        protection=protection,
        count_columns=("count", "total"),
        complements=(("count", "total"),),
    )
    table = stats.representation(
        shown,
        benchmarks=benchmarks.astype({"characteristic": str, "group": str}),
        by=["grade"],
    )
    return disclosure.hide_derived(table, family=())


def distribution_by_group(
    records: pd.DataFrame,
    *,
    characteristic: str,
    category: str,
    categories: Sequence[str],
    protection: DisclosureConfig | None,
    groups: Sequence[str] | None = None,
    rule: stats.FlagRule = DEFAULT_RULE,
) -> tuple[pd.DataFrame, stats.DistributionTest, list[str]]:
    """How each group's records spread over ``categories`` (appraisal markings, day bands).

    Returns the long table (``group``, ``category``, ``numerator``: records of the group
    in the category; ``denominator``: records of the group; ``share``), protected like
    every count, with the chi-square test of independence made from the shown counts of
    the groups that have at least ``rule.min_denominator`` records and no hidden cell,
    and the list of groups left out of the test.
    """
    groups = list(groups or CHARACTERISTICS[characteristic].groups)
    chosen = records[
        records[characteristic].isin(groups).to_numpy()
        & records[category].isin(categories).to_numpy()
    ]
    cells = _keyed_cells(chosen, keys=[characteristic, category]).rename(
        columns={characteristic: "group", category: "category"}
    )
    full = pd.MultiIndex.from_product([groups, list(categories)], names=["group", "category"])
    cells = cells.set_index(["group", "category"]).reindex(full, fill_value=0).reset_index()
    totals = cells.groupby("group", sort=False)[["count", "count_key"]].sum()
    totals.columns = ["denominator", "denominator_key"]
    cells = cells.join(totals, on="group").rename(
        columns={"count": "numerator", "count_key": "numerator_key"}
    )
    cells = cells[cells["denominator"] > 0]
    cells["characteristic"] = characteristic
    shown = disclosure.perturb_counts(cells, protection=protection)
    with np.errstate(invalid="ignore", divide="ignore"):
        shown["share"] = shown["numerator"] / shown["denominator"]
    shown = disclosure.hide_derived(shown, family=())
    by_group = shown.groupby("group", sort=False)
    testable = [
        g
        for g, rows in by_group
        if not rows["suppressed"].any() and rows["denominator"].min() >= rule.min_denominator
    ]
    crosstab = shown[shown["group"].isin(testable)].pivot(
        index="group", columns="category", values="numerator"
    )
    test = stats.distribution_test(crosstab.fillna(0))
    left_out = [g for g in shown["group"].unique() if g not in testable]
    return shown.reset_index(drop=True), test, left_out


# --- Disabled prisoners: crude and adjusted relative rates ------------------------------


def adjusted_relative_rates(
    records: pd.DataFrame,
    *,
    measures: Sequence[Measure | str],
    characteristic: str,
    comparator: str,
    strata: Sequence[str],
    protection: DisclosureConfig | None,
) -> pd.DataFrame:
    """The Mantel-Haenszel relative rate of every group, pooled over ``strata``.

    The strata (for example age band and establishment) are never shown one by one:
    each stratum's counts are perturbed by the cell key method, unhidden, before pooling,
    so the pooled figure rests on no true count. Columns: ``measure``, ``group``,
    ``adjusted_relative_rate``, ``adj_low``, ``adj_high``. Set it beside the crude
    figures of the page's matrix, which are already protected and adjusted for the
    comparisons on the page.
    """
    counts = data.group_counts(
        records,
        measures=measures,
        characteristic=characteristic,
        by=list(strata),
        include_not_declared=False,
    )
    return _adjusted_from_counts(
        counts, strata=strata, comparator=comparator, protection=protection
    )


def adjusted_relative_rates_in(
    frame: pd.DataFrame,
    selection: Selection,
    extract: str,
    *,
    measures: Sequence[Measure | str],
    characteristic: str,
    comparator: str,
    stratum: str,
    protection: DisclosureConfig | None,
) -> pd.DataFrame:
    """:func:`adjusted_relative_rates` of the selection's records, strata of ``stratum`` and unit.

    The same table as ``adjusted_relative_rates(select(frame, selection, extract),
    strata=[stratum, unit], ...)`` (empty if the selection has no records), from the sums
    by unit, stratum and group (:func:`windows.stratum_counts_for`: made at publication,
    or counted with the window's sums, within a group too) where it has them; else from
    the records.
    """
    resolved = [MEASURES[m] if isinstance(m, str) else m for m in measures]
    counts = None
    if windows.applies(extract):
        counts = windows.stratum_counts_for(
            frame,
            extract,
            periods=periods_of(selection, extract),
            places=selection.places,
            stratum=stratum,
            characteristic=characteristic,
            measures=resolved,
            within=selection.within,
        )
    if counts is not None:
        strata = [stratum, windows.UNIT[extract]]
        return _adjusted_from_counts(
            counts, strata=strata, comparator=comparator, protection=protection
        )
    records = select(frame, selection, extract)
    if records.empty:
        return pd.DataFrame()
    return adjusted_relative_rates(
        records,
        measures=resolved,
        characteristic=characteristic,
        comparator=comparator,
        strata=[stratum, windows.UNIT.get(extract, "establishment")],
        protection=protection,
    )


def _adjusted_from_counts(
    counts: pd.DataFrame,
    *,
    strata: Sequence[str],
    comparator: str,
    protection: DisclosureConfig | None,
) -> pd.DataFrame:
    """:func:`adjusted_relative_rates` of counts by stratum and group, each perturbed first."""
    if protection is not None:
        counts = counts.assign(
            numerator=protection.ptable.perturb(
                counts["numerator"], cellkey.cell_keys(counts["numerator_key"])
            ),
            denominator=protection.ptable.perturb(
                counts["denominator"], cellkey.cell_keys(counts["denominator_key"])
            ),
        )
        counts["numerator"] = np.minimum(counts["numerator"], counts["denominator"])
    adjusted = stats.mantel_haenszel_relative_rate(
        counts, strata=list(strata), comparator=comparator, by=["measure"]
    )
    return adjusted[["measure", "group", "adjusted_relative_rate", "adj_low", "adj_high"]]


def share_by(
    records: pd.DataFrame,
    *,
    part: np.ndarray,
    whole: np.ndarray,
    by: Sequence[str],
    protection: DisclosureConfig | None,
    rows: np.ndarray | None = None,
) -> pd.DataFrame:
    """How many records of ``whole`` are in ``part``, for each ``by`` value, after disclosure control.

    ``part`` and ``whole`` are boolean masks over ``records`` (``part`` within ``whole``),
    for example staff from ethnic minorities among staff who declared an ethnic group;
    ``rows`` (a boolean mask too) counts only those records, as ``records[rows]`` would.
    Columns: the ``by`` columns (as text, in the order of their text), ``numerator``,
    ``denominator``, ``suppressed``, ``share`` and its Wilson interval (``share_low``,
    ``share_high``), made from the shown counts.
    """
    keys = _keys_of(records)
    inside = part & whole
    if rows is not None:
        inside, whole = inside & rows, whole & rows
    # Grouped by the columns' categories, named as text after: turning every record's
    # value into text cost more than the counting (0.15 s for a region's staff).
    work = pd.DataFrame(
        {
            **{c: records[c].astype("category") for c in by},
            "numerator": inside.astype("int64"),
            "denominator": whole.astype("int64"),
            "numerator_key": np.where(inside, keys, 0),
            "denominator_key": np.where(whole, keys, 0),
        }
    )
    if rows is not None:
        work = work[rows]
    counts = work.groupby(list(by), observed=True, dropna=False, sort=False).sum().reset_index()
    for c in by:
        counts[c] = counts[c].astype(object).astype(str)
    counts = counts.sort_values(list(by), ignore_index=True)
    shown = disclosure.perturb_counts(counts, protection=protection)
    with np.errstate(invalid="ignore", divide="ignore"):
        shown["share"] = shown["numerator"] / shown["denominator"]
    shown["share_low"], shown["share_high"] = stats.wilson_interval(
        shown["numerator"], shown["denominator"]
    )
    return disclosure.hide_derived(shown, family=())
