"""The one-page summary PDF, read back with pypdf: one page, the words, the markings."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from equality_core import summary_pdf

SOURCE = (
    "Source: Equality Monitor (synthetic demo data, describing no real prison or person), "
    "validated 2026-01-05 10:00 UTC.",
    "Disclosure control: Cell key perturbation, ptable demo, record keys demo-1, threshold "
    "10 (secret fingerprint 0123abcd). [c]: hidden to protect confidentiality; [x]: does "
    "not apply.",
)
MARKING = "OFFICIAL-SENSITIVE: exact figures"
TILES = (
    summary_pdf.Tile(
        "1. Disproportionate outcomes (PSED)",
        "Flags by ethnic group: 4",
        ("4 outcome(s) flagged by ethnic group, against 6 the year before. ▲ Improving",),
    ),
    summary_pdf.Tile("3. Workforce representation", "Staff from ethnic minorities: 11.9%"),
    summary_pdf.Tile(
        "4. Engagement gap for disabled staff", "Engagement gap, 2024-25: −4.1 points"
    ),
)
FLAGGED = (
    "Force used: Black 2.05 times White, higher (adverse)",
    "Segregated: Mixed 1.62 times White, higher (adverse)",
    "Incentive level Enhanced: Black 0.71 times White, lower (adverse)",
)


def _summary(**changes) -> summary_pdf.Summary:
    facts = {
        "place": "HMP Caldwick",
        "period": "Twelve months to 2025-Q4",
        "validated": "2026-01-05 10:00 UTC",
        "demo": True,
        "tiles": TILES,
        "flagged": FLAGGED,
        "source_lines": SOURCE,
        "marking": None,
    }
    return summary_pdf.Summary(**{**facts, **changes})


def _read(summary: summary_pdf.Summary) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(summary_pdf.summary_pdf(summary)))
    text = "\n".join(page.extract_text() for page in reader.pages)
    # Lines wrap where the page is narrow: read the words, not the breaks.
    return reader, " ".join(text.split())


def test_one_a4_page_with_title_tiles_flagged_findings_and_sources() -> None:
    reader, text = _read(_summary())
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    assert "Equality Monitor summary: HMP Caldwick" in text
    assert "Twelve months to 2025-Q4" in text and "2026-01-05 10:00 UTC" in text
    for tile in TILES:
        assert tile.objective in text and tile.figure in text
    assert "▲ Improving" in text  # set in a Unicode font, read back as written
    for sentence in FLAGGED:
        assert sentence in text
    assert SOURCE[0] in text and "[c]: hidden to protect confidentiality" in text


def test_demo_data_say_so_and_real_data_do_not() -> None:
    _, demo = _read(_summary())
    assert summary_pdf.DEMO_SENTENCE in demo
    _, real = _read(
        _summary(demo=False, source_lines=("Source: Equality Monitor (extracts).", SOURCE[1]))
    )
    assert "ynthetic" not in real


def test_exact_figures_carry_the_marking_at_top_and_bottom() -> None:
    reader, text = _read(_summary(marking=MARKING))
    assert text.count(MARKING) == 2
    lines = reader.pages[0].extract_text().splitlines()
    assert lines[0] == MARKING and lines[-1] == MARKING
    assert MARKING in reader.metadata.get("/Keywords", "")
    _, protected = _read(_summary())
    assert "OFFICIAL" not in protected


def test_many_flagged_findings_still_make_one_page_and_the_rest_are_counted() -> None:
    many = tuple(f"Measure {n}: Black 1.{n:02d} times White, higher (adverse)" for n in range(90))
    reader, text = _read(_summary(flagged=many, marking=MARKING))
    assert len(reader.pages) == 1
    listed = [s for s in many if s in text]
    more = re.search(r"And (\d+) more flagged findings: objective 1 of the dashboard", text)
    assert more is not None
    assert len(listed) + int(more.group(1)) == len(many)
    assert listed == list(many[: len(listed)])  # the first ones, in order
    assert text.count(MARKING) == 2 and SOURCE[0] in text  # the footer is not pushed off


def test_no_flagged_findings_is_said() -> None:
    _, text = _read(_summary(flagged=()))
    assert "No outcome is flagged here." in text


def test_the_document_says_its_language_and_title() -> None:
    reader, _ = _read(_summary())
    assert reader.trailer["/Root"]["/Lang"] == "en-GB"
    assert (
        reader.metadata.title == "Equality Monitor summary: HMP Caldwick, Twelve months to 2025-Q4"
    )


def test_text_from_extracts_is_written_as_text() -> None:
    place = "HMP <b>Caldwick</b> %PDF-1.7 (x) \\ \x00"
    reader, text = _read(_summary(place=place))
    assert len(reader.pages) == 1
    assert "HMP <b>Caldwick</b> %PDF-1.7 (x) \\" in text


def test_without_a_truetype_font_the_builtin_one_is_used(monkeypatch) -> None:
    monkeypatch.setattr(summary_pdf, "FONT_CANDIDATES", ())
    reader, text = _read(_summary(marking=MARKING))
    assert len(reader.pages) == 1
    assert "^ Improving" in text  # the nearest Latin-1 equivalent of ▲
    assert "Force used: Black 2.05 times White, higher (adverse)" in text
    assert text.count(MARKING) == 2


def test_a_summary_without_a_source_is_refused() -> None:
    with pytest.raises(ValueError, match="source_lines"):
        _summary(source_lines=())
