"""Spreadsheet downloads in the Analysis Function's accessible-spreadsheet form.

A workbook has a cover sheet (what the table is, its period, the filters, the source and
when it was made), a table of contents, a notes sheet and one table per sheet, with the
table's title, subtitles and source above it (the guidance at
analysisfunction.civilservice.gov.uk, "Releasing statistics in spreadsheets"); the
``gptables`` package, written by the Analysis Function for exactly this, lays it out.

Tables reach this module after disclosure control. Figures are written as numbers, with
an Excel number format chosen by what the column holds (:data:`COLUMN_FORMATS`): counts
``#,##0``, rates and shares as percentages, ratios to two decimal places, p-values to four.
The header names the unit ("Rate (%)"). Suppressed figures are the text ``[c]`` and
figures that do not apply ``[x]``, right-aligned among the numbers; the notes sheet says
what both mean. Text that a spreadsheet would run as a formula is prefixed with an
apostrophe, as in CSV downloads, and the workbook is told never to turn text into
formulas or links.
"""

from __future__ import annotations

import re
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from equality_core.disclosure import escape_formula, for_display

#: The note every table carries: what ``[c]`` and ``[x]`` mean.
SUPPRESSION_NOTE = (
    "[c] marks a figure not shown to protect confidentiality: a count of 1 to 4 people (with "
    "or without the outcome), a count below the threshold once perturbed, or a rate or ratio "
    "made from one. [x] marks a figure that does not apply. Every count is perturbed slightly "
    "and consistently (the cell key method), and every figure is made from the counts shown, "
    "so a total may differ a little from the sum of its parts."
)
#: The note on how figures are written, carried by every table.
FIGURES_NOTE = (
    "Figures are stored unrounded and shown rounded: percentages to one decimal place, "
    "ratios to two and p-values to four. A p-value below 0.0001 shows as <0.0001; the cell "
    "holds its exact value."
)
#: Event rates (events per prisoner-quarter of exposure) are written per this many.
EVENTS_PER = 100
#: The exposure an event rate is counted over (the event measures are all prisoners').
EVENT_EXPOSURE = "prisoner-quarters"
#: The note a table with event rates carries.
EVENTS_NOTE = (
    f"An event measure counts events (for example uses of force), not people: its rate is "
    f"events per {EVENTS_PER} {EVENT_EXPOSURE} of time in custody, and its denominator the "
    f"{EVENT_EXPOSURE} held."
)

#: Excel number formats, by what a column holds.
COUNT_FORMAT = "#,##0"
PERCENTAGE_FORMAT = "0.0%"
RATIO_FORMAT = "0.00"
#: Four decimal places say all a reader needs of a p-value; a smaller one reads as a
#: threshold ("<0.0001") rather than in scientific notation, which few readers parse and
#: which suggests a precision that a test's assumptions do not support. The exact value
#: stays in the cell.
P_VALUE_FORMAT = '[<0.0001]"<0.0001";0.0000'
#: Rates already given per some number (per 100, per 1,000), and other plain figures.
DECIMAL_FORMAT = "#,##0.0"


@dataclass(frozen=True)
class ColumnFormat:
    """How a spreadsheet writes one column: its number format and the unit in its header.

    ``event_unit`` is the unit for event measures (events per prisoner-quarter rather than
    people); ``rate`` marks the columns whose values are rates, written per
    :data:`EVENTS_PER` for event measures. ``same_as_left`` marks a column (a bare "95%
    interval from") that takes the format of the figure to its left.
    """

    number_format: str | None = None
    unit: str | None = None
    event_unit: str | None = None
    rate: bool = False
    same_as_left: bool = False


_NUMERATOR = ColumnFormat(COUNT_FORMAT, "people", event_unit="events")
_DENOMINATOR = ColumnFormat(COUNT_FORMAT, "people", event_unit=EVENT_EXPOSURE)
_COUNT = ColumnFormat(COUNT_FORMAT)
_RECORDS = ColumnFormat(COUNT_FORMAT, "records")
_RATE = ColumnFormat(
    PERCENTAGE_FORMAT, "%", event_unit=f"per {EVENTS_PER} {EVENT_EXPOSURE}", rate=True
)
_PERCENTAGE = ColumnFormat(PERCENTAGE_FORMAT, "%")
_RELATIVE_RATE = ColumnFormat(RATIO_FORMAT, "ratio to comparator")
_TO_BENCHMARK = ColumnFormat(RATIO_FORMAT, "ratio to benchmark")
_P_VALUE = ColumnFormat(P_VALUE_FORMAT)
_DECIMAL = ColumnFormat(DECIMAL_FORMAT)
_SAME_AS_LEFT = ColumnFormat(same_as_left=True)

#: How each column is written, found by the data's own column name or by the title the
#: dashboard gives it (tables arrive either way). A column not listed keeps Excel's
#: General format, and a title naming a rate "per 100" or "per 1,000" gets one decimal.
COLUMN_FORMATS: Mapping[str, ColumnFormat] = {
    # Counts
    "numerator": _NUMERATOR,
    "Numerator": _NUMERATOR,
    "denominator": _DENOMINATOR,
    "Denominator": _DENOMINATOR,
    "declared": _RECORDS,
    "records": _RECORDS,
    "count": _COUNT,
    "Staff in group": _COUNT,
    "total": _COUNT,
    "Staff who declared": _COUNT,
    "respondents": _COUNT,
    "Respondents": _COUNT,
    "Respondents who said so": _COUNT,
    "policies": _COUNT,
    "completed": _COUNT,
    "assured": _COUNT,
    "higher": _COUNT,
    "Groups flagged higher": _COUNT,
    "lower": _COUNT,
    "Groups flagged lower": _COUNT,
    "cells": _COUNT,
    "Comparisons judged": _COUNT,
    "Deaths": _COUNT,
    "Prisoner-quarters held": _COUNT,
    "Adjustments": _COUNT,
    "All adjustments": _COUNT,
    # Rates: percentages, or per 100 prisoner-quarters for event measures
    "rate": _RATE,
    "Rate": _RATE,
    "rate_low": _RATE,
    "Rate: 95% interval from": _RATE,
    "rate_high": _RATE,
    "Rate: 95% interval to": _RATE,
    "comparator_rate": _RATE,
    "Comparator's rate": _RATE,
    "national_rate": _RATE,
    "lower_95": _RATE,
    "95% limit from": _RATE,
    "upper_95": _RATE,
    "95% limit to": _RATE,
    "lower_998": _RATE,
    "99.8% limit from": _RATE,
    "upper_998": _RATE,
    "99.8% limit to": _RATE,
    # Shares and declaration rates: always percentages
    "share": _PERCENTAGE,
    "Share": _PERCENTAGE,
    "share_low": _PERCENTAGE,
    "Share: 95% interval from": _PERCENTAGE,
    "share_high": _PERCENTAGE,
    "Share: 95% interval to": _PERCENTAGE,
    "benchmark_share": _PERCENTAGE,
    "Benchmark share": _PERCENTAGE,
    "declaration_rate": _PERCENTAGE,
    "Declaration rate": _PERCENTAGE,
    # Ratios
    "relative_rate": _RELATIVE_RATE,
    "Relative rate": _RELATIVE_RATE,
    "rr_low": _RELATIVE_RATE,
    "Relative rate: 95% interval from": _RELATIVE_RATE,
    "rr_high": _RELATIVE_RATE,
    "Relative rate: 95% interval to": _RELATIVE_RATE,
    "adjusted_relative_rate": _RELATIVE_RATE,
    "Adjusted relative rate": _RELATIVE_RATE,
    "adj_low": _RELATIVE_RATE,
    "Adjusted: 95% interval from": _RELATIVE_RATE,
    "adj_high": _RELATIVE_RATE,
    "Adjusted: 95% interval to": _RELATIVE_RATE,
    "crude_relative_rate": _RELATIVE_RATE,
    "representation_ratio": _TO_BENCHMARK,
    "Share / benchmark": _TO_BENCHMARK,
    # p-values
    "p_value": _P_VALUE,
    "p-value": _P_VALUE,
    "p_adjusted": _P_VALUE,
    "Adjusted p-value (Benjamini-Hochberg)": _P_VALUE,
    # Rates already per some number, and other figures
    "rate_per_1000": _DECIMAL,
    "rate_per": _DECIMAL,
    "rate_low_per": _DECIMAL,
    "rate_high_per": _DECIMAL,
    "rate_low_per_1000": _DECIMAL,
    "rate_high_per_1000": _DECIMAL,
    "difference": _DECIMAL,
    "Difference": _DECIMAL,
    "dof": _DECIMAL,
    "Degrees of freedom": _DECIMAL,
    # Bare interval ends: the format of the figure they bound, to their left
    "low": _SAME_AS_LEFT,
    "95% interval from": _SAME_AS_LEFT,
    "high": _SAME_AS_LEFT,
    "95% interval to": _SAME_AS_LEFT,
}

_PER_NUMBER = re.compile(r"\bper [0-9][0-9,]*\b", re.IGNORECASE)


def column_format(header: str) -> ColumnFormat:
    """How a column of this name or title is written (General, with no unit, if unknown).

    A ``same_as_left`` column is resolved by :func:`accessible_workbook`, which knows its
    neighbours.
    """
    known = COLUMN_FORMATS.get(header)
    if known is not None:
        return known
    if _PER_NUMBER.search(header):
        return _DECIMAL
    return ColumnFormat()


def column_formats(
    columns: Sequence[object], *, titles: Mapping[str, str] | None = None
) -> dict[str, ColumnFormat]:
    """Each column's format, in order, as spreadsheets and table views read figures.

    By its title if the caller gives one that says what the column holds
    ("Prisoner-quarters held" for a denominator), else by its own name; a bare interval
    end takes its left neighbour's. The ``suppressed`` column is skipped.
    """
    names = dict(titles or {})
    formats: dict[str, ColumnFormat] = {}
    previous = ColumnFormat()
    for column in columns:
        if column == "suppressed":
            continue
        fmt = ColumnFormat()
        if column in names:
            fmt = column_format(names[column])
        if fmt == ColumnFormat():
            fmt = column_format(str(column))
        if fmt.same_as_left:
            fmt = previous
        formats[str(column)] = fmt
        if fmt.number_format is not None:
            previous = fmt
    return formats


def _with_unit(header: str, unit: str | None) -> str:
    if not unit or f"({unit}" in header:
        return header
    return f"{header} ({unit})"


def _event_rows(event_rates: bool | Sequence[bool], rows: int) -> np.ndarray:
    if isinstance(event_rates, (bool, np.bool_)):
        return np.full(rows, bool(event_rates))
    flags = np.asarray(list(event_rates), dtype=bool)
    if len(flags) != rows:
        raise ValueError(
            f"event_rates must be one bool or one per row of the table ({rows}), "
            f"got {len(flags)} values"
        )
    return flags


def _filters_words(filters: Mapping[str, str] | Sequence[str]) -> str:
    if isinstance(filters, Mapping):
        parts = [f"{name}: {value}" for name, value in filters.items()]
    elif isinstance(filters, str):
        parts = [filters]
    else:
        parts = [str(f) for f in filters]
    return "; ".join(parts) if parts else "none"


def _made_words(made_at: datetime) -> str:
    zone = f" {made_at.tzname()}" if made_at.tzinfo is not None else ""
    return f"{made_at.day} {made_at:%B %Y} at {made_at:%H:%M}{zone}"


def accessible_workbook(
    table: pd.DataFrame,
    *,
    title: str,
    subtitles: Sequence[str] = (),
    source: str,
    notes: Mapping[str, str] | None = None,
    cover_title: str = "Equality Monitor: table download",
    cover_about: Sequence[str] = (),
    titles: Mapping[str, str] | None = None,
    period: str | None = None,
    filters: Mapping[str, str] | Sequence[str] | None = None,
    made_at: datetime | None = None,
    event_rates: bool | Sequence[bool] = False,
) -> bytes:
    """An .xlsx workbook holding ``table`` (already protected) with its cover and notes.

    Parameters
    ----------
    table
        The protected table: figures as numbers (NaN where hidden or not applicable), with
        the ``suppressed`` column from disclosure control if it has one. Its columns are
        the data's own names (``rate``) or the dashboard's titles (``Rate``); either way
        :data:`COLUMN_FORMATS` gives each its number format and unit.
    title
        What the table shows, stated as a finding, as the chart's title does.
    subtitles
        What the figures are (place, period, filters), shown above the table.
    source
        Where the figures come from: on the cover and under the table's title.
    notes
        A short name for each further note and its text; every note is referenced from
        the table's subtitle. The notes on ``[c]``/``[x]`` and on rounding are always there.
    cover_title, cover_about
        The cover's heading and its "About these data" paragraphs.
    titles
        Column titles by data name, when ``table`` has the data's own names: the header
        reads the title and its unit. A title listed in :data:`COLUMN_FORMATS` says what
        its column holds ("Prisoner-quarters held" for a denominator); otherwise the
        data's name does.
    period
        The period the figures cover ("twelve months to 2025-Q4"), stated on the cover.
    filters
        The filters applied, as ``{"Region": "North West"}`` or as sentences, stated on the
        cover (an empty one says "none").
    made_at
        When the figures were made (default: now), stated on the cover and stored as the
        workbook's creation time.
    event_rates
        True where the rates are event rates (events per prisoner-quarter) rather than
        shares of people: one bool for the whole table, or one per row for a table that
        mixes the two kinds (the matrix of every measure). Event rates are written per
        :data:`EVENTS_PER` prisoner-quarters, to one decimal place, and their headers say so.

    Returns
    -------
    bytes
        The workbook. Numbers are numbers, with number formats; ``[c]`` and ``[x]`` are
        text, right-aligned in numeric columns; text that a spreadsheet would run as a
        formula begins with an apostrophe, and no cell is a formula or a link.
    """
    if not title.strip():
        raise ValueError("title must state what the table shows, got an empty title")
    events = _event_rows(event_rates, len(table))
    made_at = made_at or datetime.now(UTC)
    names = dict(titles or {})
    data = table.reset_index(drop=True)

    formats = column_formats(data.columns, titles=names)

    # Event rates are written per EVENTS_PER, the unit their charts use.
    for column, fmt in formats.items():
        if fmt.rate and events.any():
            values = pd.to_numeric(data[column], errors="coerce")
            data[column] = values.where(~events, values * EVENTS_PER)

    # Every empty cell says why (the standard leaves no cell blank): hidden, or not
    # applicable; text columns such as a renamed flag included.
    shown = for_display(data, every_column=True)
    for column in shown.columns:
        values = shown[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            shown[column] = values.astype(object).map(escape_formula)

    headers = []
    for column in shown.columns:
        fmt = formats[str(column)]
        unit = fmt.unit
        if fmt.event_unit is not None and events.all():
            unit = fmt.event_unit
        elif fmt.event_unit is not None and events.any():
            unit = f"{fmt.unit}, or {fmt.event_unit} for event measures"
        headers.append(str(escape_formula(_with_unit(names.get(column, str(column)), unit))))
    shown.columns = headers

    additional_formatting: list[dict] = []
    for position, column in enumerate(formats):
        fmt = formats[column]
        if fmt.number_format is None:
            continue
        additional_formatting.append(
            {
                "column": {
                    "columns": [position],
                    "format": {"num_format": fmt.number_format, "align": "right"},
                }
            }
        )
        if fmt.rate:
            # One item per cell: gptables applies a "cells" list only to its last cell.
            additional_formatting.extend(
                {"cell": {"cells": (row + 1, position), "format": {"num_format": DECIMAL_FORMAT}}}
                for row in np.flatnonzero(events)
            )

    all_notes = {"suppression": SUPPRESSION_NOTE, "figures": FIGURES_NOTE}
    if events.any():
        all_notes["events"] = EVENTS_NOTE
    all_notes.update(notes or {})
    references = " ".join(f"$${name}$$" for name in all_notes)
    source_words = source if source.lower().startswith("source") else f"Source: {source}"
    intro = [f"This workbook holds one table: {title}."]
    if period is not None:
        intro.append(f"Period: {period}.")
    if filters is not None:
        intro.append(f"Filters: {_filters_words(filters)}.")
    intro += [source_words, f"Made on {_made_words(made_at)}."]

    import gptables

    sheet = gptables.GPTable(
        table=shown,
        table_name="figures",
        title=title,
        subtitles=[*subtitles, f"Notes: {references}"],
        instructions="This worksheet contains one table. [c] marks a figure hidden to protect "
        "confidentiality and [x] one that does not apply. Some cells refer to notes, found on "
        "the Notes worksheet.",
        source=source_words,
        additional_formatting=additional_formatting,
    )
    cover = gptables.Cover(
        title=cover_title,
        intro=[str(escape_formula(line)) for line in intro],
        about=[str(escape_formula(line)) for line in cover_about] or None,
    )
    notes_table = pd.DataFrame(
        {"Note number": list(all_notes), "Note text": list(all_notes.values())}
    )
    created = made_at.astimezone(UTC).replace(tzinfo=None) if made_at.tzinfo else made_at
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.xlsx"
        with warnings.catch_warnings():
            # gptables warns about its own optional features, and uses a pandas keyword
            # that pandas 3 deprecates: neither is ours to act on.
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            workbook = gptables.produce_workbook(
                filename=str(path),
                sheets={"Table": sheet},
                cover=cover,
                notes_table=notes_table,
                workbook_options={"strings_to_formulas": False, "strings_to_urls": False},
            )
            workbook.set_properties(
                {"title": title, "author": "Equality Monitor", "created": created}
            )
            workbook.close()
        return path.read_bytes()
