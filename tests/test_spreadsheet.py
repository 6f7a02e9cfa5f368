"""Spreadsheet downloads: the accessible layout, [c] for suppressed figures, no formulas."""

from __future__ import annotations

import io

import numpy as np
import openpyxl
import pandas as pd
import pytest

from equality_core import analysis, cellkey
from equality_core.spreadsheet import SUPPRESSION_NOTE, accessible_workbook


def _workbook(table: pd.DataFrame, **options) -> openpyxl.Workbook:
    data = accessible_workbook(
        table,
        title="Force used: Black rate 1.67 times White",
        subtitles=["England and Wales, twelve months to 2025-Q4"],
        source="Source: Equality Monitor, synthetic demo data",
        **options,
    )
    return openpyxl.load_workbook(io.BytesIO(data))


def _rows(sheet) -> list[list[object]]:
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def test_cover_contents_notes_then_one_table_per_sheet() -> None:
    book = _workbook(pd.DataFrame({"group": ["White"], "numerator": [10]}), notes={"x": "A note."})
    assert book.sheetnames == ["Cover", "Contents", "Notes", "Table"]
    notes = [row[1] for row in _rows(book["Notes"]) if row[1]]
    assert SUPPRESSION_NOTE in notes and "A note." in notes
    table = _rows(book["Table"])
    assert table[0][0] == "Force used: Black rate 1.67 times White"
    assert ["group", "numerator"] in table and ["White", 10] in table


def test_suppressed_figures_are_c_and_text_never_becomes_a_formula() -> None:
    counts = pd.DataFrame(
        {
            "measure": "use_of_force",
            "characteristic": "ethnic_group",
            "group": ["White", "Black", "Asian", '=HYPERLINK("http://x")', "Not stated"],
            "numerator": [50, 3, 40, 12, 9],
            "denominator": [400, 60, 300, 90, 700],
            "numerator_key": [10, 20, 30, 40, 50],
            "denominator_key": [15, 25, 35, 45, 55],
        }
    )
    protected = analysis.protected_disparity_table(counts, protection=cellkey.demo_config())
    columns = ["group", "numerator", "denominator", "rate", "relative_rate", "flag", "suppressed"]
    book = _workbook(protected[columns])
    table = _rows(book["Table"])
    black = next(row for row in table if row[0] == "Black")
    assert black[1:] == ["[c]", "[c]", "[c]", "[c]", "[c]"]
    not_stated = next(row for row in table if row[0] == "Not stated")
    assert not_stated[4:] == ["[x]", "[x]"]  # never compared: does not apply
    assert '\'=HYPERLINK("http://x")' in [row[0] for row in table]
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    white = next(row for row in table if row[0] == "White")
    shown = protected.set_index("group").loc["White"]
    assert white[1] == int(shown["numerator"])  # counts are whole numbers
    assert np.isclose(white[3], shown["numerator"] / shown["denominator"])  # numbers stay numbers


def test_a_table_needs_a_title() -> None:
    with pytest.raises(ValueError, match="title"):
        accessible_workbook(pd.DataFrame({"a": [1]}), title=" ", source="Source: test")
