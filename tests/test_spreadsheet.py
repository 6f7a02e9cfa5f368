"""Spreadsheet downloads: the accessible layout, number formats, units, [c] and [x], the cover."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
import openpyxl
import pandas as pd
import pytest

from equality_core import analysis, cellkey, stats
from equality_core.spreadsheet import (
    COLUMN_FORMATS,
    COUNT_FORMAT,
    DECIMAL_FORMAT,
    EVENTS_NOTE,
    FIGURES_NOTE,
    P_VALUE_FORMAT,
    PERCENTAGE_FORMAT,
    RATIO_FORMAT,
    SUPPRESSION_NOTE,
    ColumnFormat,
    accessible_workbook,
    column_format,
)

MADE_AT = datetime(2026, 3, 3, 9, 5, tzinfo=UTC)


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


def _columns(sheet, first_header: str) -> dict[str, list]:
    """The table's cells (openpyxl cells, with their formats) by header."""
    rows = list(sheet.iter_rows())
    start = next(i for i, row in enumerate(rows) if row[0].value == first_header)
    headers = [cell.value for cell in rows[start] if cell.value is not None]
    body = rows[start + 1 :]
    return {h: [row[i] for row in body] for i, h in enumerate(headers)}


def _protected() -> pd.DataFrame:
    counts = pd.DataFrame(
        {
            "measure": "use_of_force",
            "characteristic": "ethnic_group",
            "group": ["White", "Black", "Asian", "Mixed", "Not stated"],
            "numerator": [50, 3, 40, 12, 9],
            "denominator": [400, 60, 300, 90, 700],
            "numerator_key": [10, 20, 30, 40, 50],
            "denominator_key": [15, 25, 35, 45, 55],
        }
    )
    protected = analysis.protected_disparity_table(counts, protection=cellkey.demo_config())
    return protected[["group", "numerator", "denominator", *stats.REPORTED_COLUMNS, "suppressed"]]


def test_cover_contents_notes_then_one_table_per_sheet() -> None:
    book = _workbook(pd.DataFrame({"group": ["White"], "numerator": [10]}), notes={"x": "A note."})
    assert book.sheetnames == ["Cover", "Contents", "Notes", "Table"]
    notes = [row[1] for row in _rows(book["Notes"]) if row[1]]
    assert SUPPRESSION_NOTE in notes and FIGURES_NOTE in notes and "A note." in notes
    assert EVENTS_NOTE not in notes  # no event rates in this table
    table = _rows(book["Table"])
    assert table[0][0] == "Force used: Black rate 1.67 times White"
    assert ["group", "numerator (people)"] in table and ["White", 10] in table


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
    book = _workbook(protected[columns], cover_about=["=SUM(A1)", "@cmd"])
    table = _rows(book["Table"])
    black = next(row for row in table if row[0] == "Black")
    assert black[1:] == ["[c]", "[c]", "[c]", "[c]", "[c]"]
    not_stated = next(row for row in table if row[0] == "Not stated")
    assert not_stated[4:] == ["[x]", "[x]"]  # never compared: does not apply
    assert '\'=HYPERLINK("http://x")' in [row[0] for row in table]
    cover = [row[0] for row in _rows(book["Cover"])]
    assert "'=SUM(A1)" in cover and "'@cmd" in cover
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    white = next(row for row in table if row[0] == "White")
    shown = protected.set_index("group").loc["White"]
    assert white[1] == int(shown["numerator"])  # counts are whole numbers
    assert np.isclose(white[3], shown["numerator"] / shown["denominator"])  # numbers stay numbers


def test_numbers_stay_numbers_with_a_format_by_what_the_column_holds() -> None:
    protected = _protected()
    book = _workbook(protected)
    columns = _columns(book["Table"], "group")
    expected = {
        "numerator (people)": COUNT_FORMAT,
        "denominator (people)": COUNT_FORMAT,
        "rate (%)": PERCENTAGE_FORMAT,
        "rate_low (%)": PERCENTAGE_FORMAT,
        "rate_high (%)": PERCENTAGE_FORMAT,
        "relative_rate (ratio to comparator)": RATIO_FORMAT,
        "rr_low (ratio to comparator)": RATIO_FORMAT,
        "rr_high (ratio to comparator)": RATIO_FORMAT,
        "p_value": P_VALUE_FORMAT,
        "p_adjusted": P_VALUE_FORMAT,
    }
    assert set(expected) <= set(columns)
    assert [c.value for c in columns["group"]] == ["White", "Black", "Asian", "Mixed", "Not stated"]
    for header, number_format in expected.items():
        cells = columns[header]
        assert all(cell.number_format == number_format for cell in cells), header
        assert all(cell.alignment.horizontal == "right" for cell in cells), header
        # Asian is shown and compared: every figure of its row is a number.
        assert cells[2].data_type == "n" and isinstance(cells[2].value, (int, float)), header
    hidden = [cells[1] for header, cells in columns.items() if header in expected]
    assert {cell.value for cell in hidden} == {"[c]"}  # Black: 3 people, hidden
    assert all(cell.data_type == "s" and cell.alignment.horizontal == "right" for cell in hidden)
    assert columns["group"][0].number_format == "General"  # text keeps General


def test_the_dashboard_titles_get_units_and_the_same_formats() -> None:
    protected = _protected()
    from equality_ui import panels

    titled = protected.rename(columns=panels._COLUMN_TITLES)
    columns = _columns(_workbook(titled).worksheets[-1], "Group")
    assert columns["Rate (%)"][0].number_format == PERCENTAGE_FORMAT
    assert columns["Relative rate (ratio to comparator)"][0].number_format == RATIO_FORMAT
    assert columns["Numerator (people)"][0].number_format == COUNT_FORMAT
    assert columns["Denominator (people)"][0].number_format == COUNT_FORMAT
    assert columns["p-value"][0].number_format == P_VALUE_FORMAT
    assert columns["Rate: 95% interval from (%)"][0].number_format == PERCENTAGE_FORMAT
    # A flag the dashboard has renamed still says why it is empty.
    flags = {g.value: f.value for g, f in zip(columns["Group"], columns["Flag"], strict=True)}
    assert flags["Black"] == "[c]" and flags["Not stated"] == "[x]"


def test_every_dashboard_title_is_written_as_its_data_column_is() -> None:
    from equality_ui import panels

    for name, title in panels._COLUMN_TITLES.items():
        assert column_format(title) == column_format(name), (name, title)


def test_formats_by_column_meaning_in_one_mapping() -> None:
    assert column_format("numerator").number_format == COUNT_FORMAT
    assert column_format("declaration_rate").number_format == PERCENTAGE_FORMAT
    assert column_format("share").number_format == PERCENTAGE_FORMAT
    assert column_format("benchmark_share").number_format == PERCENTAGE_FORMAT
    assert column_format("representation_ratio").unit == "ratio to benchmark"
    assert column_format("p_adjusted").number_format == P_VALUE_FORMAT
    assert column_format("Uses of force per 100 prisoner-quarters").number_format == DECIMAL_FORMAT
    assert column_format("Deaths per 1,000 prisoner-years").number_format == DECIMAL_FORMAT
    assert column_format("Establishment") == ColumnFormat()  # text: General, no unit
    assert column_format("year") == ColumnFormat()  # 2024, not "2,024"
    # Every figure the statistics engine reports has a format.
    for name in stats.REPORTED_COLUMNS:
        if name not in ("comparator", "flag"):
            assert COLUMN_FORMATS[name].number_format is not None, name


def test_p_values_keep_their_value_and_read_as_a_threshold_when_tiny() -> None:
    table = pd.DataFrame({"group": ["A", "B"], "p_value": [1e-12, 0.04321]})
    cells = _columns(_workbook(table)["Table"], "group")["p_value"]
    assert cells[0].value == pytest.approx(1e-12) and cells[1].value == pytest.approx(0.04321)
    assert '[<0.0001]"<0.0001"' in cells[0].number_format


def test_bare_interval_ends_take_the_format_of_the_figure_they_bound() -> None:
    shares = pd.DataFrame({"year": [2024], "share": [0.5], "low": [0.4], "high": [0.6]})
    columns = _columns(_workbook(shares)["Table"], "year")
    assert columns["low (%)"][0].number_format == PERCENTAGE_FORMAT
    assert columns["high (%)"][0].number_format == PERCENTAGE_FORMAT
    assert columns["year"][0].value == 2024 and columns["year"][0].number_format == "General"
    gaps = pd.DataFrame({"period": ["2024-25"], "difference": [-2.5], "low": [-4.0], "high": [1.0]})
    columns = _columns(_workbook(gaps)["Table"], "period")
    assert columns["low"][0].number_format == DECIMAL_FORMAT
    assert columns["difference"][0].value == -2.5  # a negative number stays a number


def test_titles_given_by_the_caller_name_the_header_and_can_say_what_a_column_is() -> None:
    deaths = pd.DataFrame(
        {
            "group": ["White", "Black"],
            "numerator": [12.0, 5.0],
            "denominator": [40000.0, 9000.0],
            "rate_per_1000": [1.2, 2.222],
            "rate_low_per_1000": [0.6, 0.7],
        }
    )
    titles = {
        "group": "Group",
        "numerator": "Deaths",
        "denominator": "Prisoner-quarters held",
        "rate_per_1000": "Deaths per 1,000 prisoner-years",
        "rate_low_per_1000": "95% interval from",
    }
    columns = _columns(_workbook(deaths, titles=titles)["Table"], "Group")
    assert list(columns) == [
        "Group",
        "Deaths",
        "Prisoner-quarters held",  # not "(people)": the caller's title says what it counts
        "Deaths per 1,000 prisoner-years",
        "95% interval from",
    ]
    assert columns["Prisoner-quarters held"][0].number_format == COUNT_FORMAT
    assert columns["Deaths per 1,000 prisoner-years"][1].value == pytest.approx(2.222)
    assert columns["95% interval from"][0].number_format == DECIMAL_FORMAT
    plain = _columns(_workbook(deaths, titles={"numerator": "Numerator"})["Table"], "group")
    assert "Numerator (people)" in plain


def test_event_rates_are_written_per_100_prisoner_quarters() -> None:
    table = pd.DataFrame(
        {
            "group": ["White", "Black"],
            "numerator": [70.0, 40.0],
            "denominator": [200.0, 100.0],
            "rate": [0.35, 0.4],
            "relative_rate": [np.nan, 1.142857],
        }
    )
    book = _workbook(table, event_rates=True)
    columns = _columns(book["Table"], "group")
    rates = columns["rate (per 100 prisoner-quarters)"]
    assert [c.value for c in rates] == pytest.approx([35.0, 40.0])
    assert {c.number_format for c in rates} == {DECIMAL_FORMAT}
    assert "numerator (events)" in columns and "denominator (prisoner-quarters)" in columns
    assert columns["relative_rate (ratio to comparator)"][1].value == pytest.approx(1.142857)
    notes = [row[1] for row in _rows(book["Notes"]) if row[1]]
    assert EVENTS_NOTE in notes


def test_a_table_mixing_people_and_events_formats_each_row() -> None:
    table = pd.DataFrame(
        {
            "measure_label": ["Force used", "Uses of force", "ROTL granted"],
            "rate": [0.2, 0.35, 0.5],
        }
    )
    columns = _columns(_workbook(table, event_rates=[False, True, False])["Table"], "measure_label")
    (header,) = [h for h in columns if h.startswith("rate")]
    assert header == "rate (%, or per 100 prisoner-quarters for event measures)"
    cells = columns[header]
    assert [c.value for c in cells] == pytest.approx([0.2, 35.0, 0.5])
    assert [c.number_format for c in cells] == [
        PERCENTAGE_FORMAT,
        DECIMAL_FORMAT,
        PERCENTAGE_FORMAT,
    ]
    with pytest.raises(ValueError, match="event_rates"):
        _workbook(table, event_rates=[True])


def test_the_cover_states_period_filters_source_and_date() -> None:
    book = _workbook(
        pd.DataFrame({"group": ["White"], "numerator": [10]}),
        period="twelve months to 2025-Q4",
        filters={"Region": "North West", "Establishment": "HMP Ashcombe"},
        made_at=MADE_AT,
        cover_about=["Counts are perturbed."],
    )
    cover = [row[0] for row in _rows(book["Cover"]) if row[0]]
    assert "Period: twelve months to 2025-Q4." in cover
    assert "Filters: Region: North West; Establishment: HMP Ashcombe." in cover
    assert "Source: Equality Monitor, synthetic demo data" in cover
    assert "Made on 3 March 2026 at 09:05 UTC." in cover
    assert "Counts are perturbed." in cover
    assert any("Force used: Black rate 1.67 times White" in line for line in cover)
    assert book.properties.title == "Force used: Black rate 1.67 times White"
    assert book.properties.created == datetime(2026, 3, 3, 9, 5)
    unfiltered = _workbook(pd.DataFrame({"group": ["White"], "numerator": [10]}), filters=[])
    assert "Filters: none." in [row[0] for row in _rows(unfiltered["Cover"])]


def test_the_cover_says_when_it_was_made_even_when_not_told() -> None:
    before = datetime.now(UTC).replace(second=0, microsecond=0)
    book = _workbook(pd.DataFrame({"group": ["White"], "numerator": [10]}))
    made = [row[0] for row in _rows(book["Cover"]) if str(row[0]).startswith("Made on ")]
    assert len(made) == 1
    stamp = datetime.strptime(made[0], "Made on %d %B %Y at %H:%M UTC.").replace(tzinfo=UTC)
    assert stamp >= before
    assert not any(str(row[0]).startswith(("Period:", "Filters:")) for row in _rows(book["Cover"]))


def test_a_table_needs_a_title() -> None:
    with pytest.raises(ValueError, match="title"):
        accessible_workbook(pd.DataFrame({"a": [1]}), title=" ", source="Source: test")
