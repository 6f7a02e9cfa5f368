"""Spreadsheet downloads in the Analysis Function's accessible-spreadsheet form.

A workbook has a cover sheet, a table of contents, a notes sheet and one table per
sheet, with the table's title, subtitles and source above it (the guidance at
analysisfunction.civilservice.gov.uk, "Releasing statistics in spreadsheets"); the
``gptables`` package, written by the Analysis Function for exactly this, lays it out.

Tables reach this module after disclosure control: suppressed figures are ``[c]`` and
text that a spreadsheet would run as a formula is prefixed with an apostrophe, as in
CSV downloads. The workbook is also told never to turn text into formulas or links.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from equality_core.disclosure import escape_formula, for_display

#: The note every table carries: what ``[c]`` means.
SUPPRESSION_NOTE = (
    "[c] marks a figure not shown to protect confidentiality: a count of 1 to 4 people (with "
    "or without the outcome), a count below the threshold once perturbed, or a rate or ratio "
    "made from one. [x] marks a figure that does not apply. Every count is perturbed slightly "
    "and consistently (the cell key method), and every figure is made from the counts shown, "
    "so a total may differ a little from the sum of its parts."
)


def accessible_workbook(
    table: pd.DataFrame,
    *,
    title: str,
    subtitles: Sequence[str] = (),
    source: str,
    notes: Mapping[str, str] | None = None,
    cover_title: str = "Equality Monitor: table download",
    cover_about: Sequence[str] = (),
) -> bytes:
    """An .xlsx workbook holding ``table`` (already protected) with its cover and notes.

    ``title`` states the finding, as the chart's does; ``subtitles`` say what the figures
    are (place, period, filters); ``notes`` maps a short name to a note's text, and every
    note is referenced from the table's subtitle. The suppression note is always there.
    """
    if not title.strip():
        raise ValueError("title must state what the table shows, got an empty title")
    all_notes = {"suppression": SUPPRESSION_NOTE, **(notes or {})}
    shown = for_display(table)
    for column in shown.columns:
        if shown[column].dtype == object or pd.api.types.is_string_dtype(shown[column]):
            shown[column] = shown[column].map(escape_formula)
    # A figure with no value (a ratio for a group that is never compared) is a blank cell;
    # pd.NA and NaN would break the layout or be written as errors.
    shown = shown.astype(object).where(shown.notna(), None)
    shown.columns = [str(escape_formula(str(c))) for c in shown.columns]
    references = " ".join(f"$${name}$$" for name in all_notes)

    import gptables

    sheet = gptables.GPTable(
        table=shown.reset_index(drop=True),
        table_name="figures",
        title=title,
        subtitles=[*subtitles, f"Notes: {references}"],
        instructions="This worksheet contains one table. Some cells refer to notes, found on "
        "the Notes worksheet.",
        source=source,
    )
    cover = gptables.Cover(
        title=cover_title,
        intro=[f"This workbook holds one table: {title}."],
        about=list(cover_about) or None,
    )
    notes_table = pd.DataFrame(
        {"Note number": list(all_notes), "Note text": list(all_notes.values())}
    )
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
            workbook.close()
        return path.read_bytes()
