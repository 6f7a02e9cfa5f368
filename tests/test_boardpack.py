"""Board packs: the .pptx opened with python-pptx, slide by slide.

The findings are made by the statistics engine from hand-built counts (as in
``test_findings``) and drawn by the dashboard's own chart functions; the deck is read back
with python-pptx: slide count, titles, pictures, alt text, speaker notes, the demo words
and the marking for exact figures.
"""

from __future__ import annotations

import io
import struct
import time

import pandas as pd
import pytest
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE

from equality_core import analysis, boardpack, findings, stats
from equality_core.measures import MEASURES
from equality_ui import charts

BLACK = "Black, Black British, Black Welsh, Caribbean or African"
ASIAN = "Asian, Asian British or Asian Welsh"
MIXED = "Mixed or Multiple ethnic groups"
SOURCE = (
    "Source: Equality Monitor (synthetic demo data, describing no real prison or person), "
    "validated 2026-01-05 10:00 UTC.",
    "Disclosure control: Cell key perturbation, ptable demo, record keys demo-1, threshold "
    "10 (secret fingerprint 0123abcd). [c]: hidden to protect confidentiality; [x]: does "
    "not apply.",
)
RULE = stats.FlagRule()
MARKING = "OFFICIAL-SENSITIVE: exact figures"


def _table(rows: list[tuple[str, int, int]], measure: str = "use_of_force") -> pd.DataFrame:
    counts = pd.DataFrame(rows, columns=["group", "numerator", "denominator"])
    counts.insert(0, "characteristic", "ethnic_group")
    counts.insert(0, "measure", measure)
    return analysis.protected_disparity_table(counts, protection=None, kind=MEASURES[measure].kind)


def _view(place: str = "HMP Caldwick", measure: str = "use_of_force") -> findings.View:
    return findings.View(MEASURES[measure], "ethnic_group", place, "Twelve months to 2025-Q4")


def _findings(place: str = "HMP Caldwick") -> list[tuple[findings.Finding, dict]]:
    table = _table([("White", 720, 10000), (BLACK, 330, 2400), (ASIAN, 90, 1300), (MIXED, 40, 600)])
    national = _table([("White", 7000, 100000), (BLACK, 2600, 24000), (ASIAN, 800, 13000)])
    forest = findings.relative_rates(table, national, _view(place))
    rates = findings.rates(table, national, _view(place))
    coverage = pd.DataFrame(
        {
            "characteristic": ["ethnic_group", "religion", "disability"],
            "declared": [950, 610, 700],
            "records": [1000, 1000, 1000],
            "declaration_rate": [0.95, 0.61, 0.70],
            "rate_low": [0.93, 0.58, 0.67],
            "rate_high": [0.96, 0.64, 0.73],
            "meets_target": [True, False, False],
            "suppressed": [False, False, False],
        }
    )
    declaration = findings.declaration(coverage, place=place)
    return [
        (
            forest,
            charts.forest_plot(
                forest.drawn,
                title=forest.headline,
                subtitle=forest.subtitle,
                tolerance=forest.options["tolerance"],
            ).to_dict(),
        ),
        (
            rates,
            charts.rates_chart(
                rates.drawn, title=rates.headline, subtitle=rates.subtitle, kind="proportion"
            ).to_dict(),
        ),
        (
            declaration,
            charts.declaration_chart(
                declaration.drawn, title=declaration.headline, target=0.8
            ).to_dict(),
        ),
    ]


def _cover(**changes) -> boardpack.Cover:
    facts = {
        "place": "HMP Caldwick",
        "period": "Twelve months to 2025-Q4",
        "validated": "2026-01-05 10:00 UTC",
        "demo": True,
        "source_lines": SOURCE,
        "method": "Rates with 95% intervals, relative rates against a comparator group. "
        + RULE.describe(),
        "marking": None,
    }
    return boardpack.Cover(**{**facts, **changes})


@pytest.fixture(scope="module")
def items() -> list[tuple[findings.Finding, dict]]:
    return _findings()


@pytest.fixture(scope="module")
def demo_deck(items) -> Presentation:
    started = time.perf_counter()
    content = boardpack.board_pack(items, cover=_cover())
    print(f"board pack of {len(items)} findings built in {time.perf_counter() - started:.2f} s")
    return Presentation(io.BytesIO(content))


def _texts(slide) -> list[str]:
    return [shape.text_frame.text for shape in slide.shapes if shape.has_text_frame]


def _pictures(slide) -> list:
    return [shape for shape in slide.shapes if shape.shape_type == MSO_SHAPE_TYPE.PICTURE]


def test_a_title_slide_one_slide_per_finding_and_a_closing_slide(demo_deck, items) -> None:
    slides = list(demo_deck.slides)
    assert len(slides) == len(items) + 2
    assert demo_deck.slide_width * 9 == demo_deck.slide_height * 16  # 16:9
    titles = [slide.shapes.title.text for slide in slides]
    assert titles[0] == "Equality Monitor: HMP Caldwick"
    assert titles[1:-1] == [finding.headline for finding, _ in items]
    assert titles[-1] == "How these figures are made"


def test_the_title_slide_names_place_period_validation_and_demo_data(demo_deck) -> None:
    words = "\n".join(_texts(demo_deck.slides[0]))
    assert "HMP Caldwick" in words
    assert "Twelve months to 2025-Q4" in words
    assert "Data validated 2026-01-05 10:00 UTC" in words
    assert "Synthetic demo data" in words
    assert "OFFICIAL-SENSITIVE" not in words  # protected figures carry no marking


def test_each_finding_slide_has_its_chart_as_a_picture_at_slide_resolution(
    demo_deck, items
) -> None:
    for slide, (finding, _) in zip(list(demo_deck.slides)[1:-1], items, strict=True):
        (picture,) = _pictures(slide)
        blob = picture.image.blob
        assert picture.image.content_type == "image/png"
        width_px, height_px = struct.unpack(">II", blob[16:24])
        shown_inches = picture.width / 914400
        # At least 1920 pixels across the slide's 13.333 inches, less rounding.
        assert width_px / shown_inches >= 140, (width_px, shown_inches)
        assert picture.width * height_px == pytest.approx(picture.height * width_px, rel=0.01)
        # Within the slide, below the title and above the description.
        assert picture.left >= 0 and picture.left + picture.width <= demo_deck.slide_width
        assert picture.top > slide.shapes.title.top
        # Screen readers announce the chart's text description.
        assert picture._element.nvPicPr.cNvPr.get("descr") == finding.description


def test_each_finding_slide_has_description_c_note_and_source_line(demo_deck, items) -> None:
    for slide, (finding, _) in zip(list(demo_deck.slides)[1:-1], items, strict=True):
        words = _texts(slide)
        description = next(s for s in slide.shapes if s.name == "Description").text_frame
        lines = [p.text for p in description.paragraphs]
        assert lines[0].startswith(finding.subtitle[:40])
        assert 2 <= len(lines) <= 3
        assert "[c]" in "\n".join(words)
        assert SOURCE[0] in words[-2] or any(SOURCE[0] in w for w in words)


def test_a_long_description_is_cut_on_the_slide_and_given_in_full_in_the_notes(
    demo_deck, items
) -> None:
    forest, _ = items[0]
    assert len(forest.description) > 300  # four groups and England and Wales: long
    slide = demo_deck.slides[1]
    shown = next(s for s in slide.shapes if s.name == "Description").text_frame.text
    assert "(in full in the speaker notes)" in shown
    assert forest.description not in shown
    notes = slide.notes_slide.notes_text_frame.text
    assert forest.description in notes
    assert forest.headline in notes and SOURCE[0] in notes and SOURCE[1] in notes


def test_every_slide_has_notes_and_says_demo_data(demo_deck) -> None:
    for slide in demo_deck.slides:
        assert slide.has_notes_slide and slide.notes_slide.notes_text_frame.text.strip()
        assert any("Synthetic demo data" in text for text in _texts(slide))


def test_the_closing_slide_states_the_method_the_flag_rule_and_the_methodology(
    demo_deck,
) -> None:
    words = "\n".join(_texts(demo_deck.slides[-1]))
    assert RULE.describe() in words
    assert "docs/methodology.md" in words


def test_exact_figures_carry_the_marking_on_every_slide_top_and_bottom(items) -> None:
    deck = Presentation(io.BytesIO(boardpack.board_pack(items, cover=_cover(marking=MARKING))))
    for slide in deck.slides:
        marks = [s for s in slide.shapes if s.has_text_frame and s.text_frame.text == MARKING]
        assert len(marks) == 2
        tops = sorted(m.top for m in marks)
        assert tops[0] < deck.slide_height * 0.1 and tops[1] > deck.slide_height * 0.9
    assert MARKING in "\n".join(_texts(deck.slides[0]))
    assert MARKING in deck.core_properties.keywords
    # Nothing is hidden or perturbed in exact figures: the slides do not say it is.
    for slide in list(deck.slides)[1:-1]:
        words = "\n".join(_texts(slide))
        assert boardpack.EXACT_NOTE in words and "perturbed slightly" not in words


def test_real_data_carry_no_demo_words(items) -> None:
    source = ("Source: Equality Monitor (extracts), validated 2026-01-05 10:00 UTC.", SOURCE[1])
    deck = Presentation(
        io.BytesIO(boardpack.board_pack(items, cover=_cover(demo=False, source_lines=source)))
    )
    for slide in deck.slides:
        assert not any("ynthetic" in text for text in _texts(slide))
        assert "ynthetic" not in slide.notes_slide.notes_text_frame.text


def test_a_finding_with_nothing_to_draw_gets_words_not_a_picture(items) -> None:
    hidden = _table([("White", 720, 10000), (BLACK, 3, 24)])
    hidden["suppressed"] = True
    empty = findings.relative_rates(hidden, None, _view())
    assert empty.empty is not None
    deck = Presentation(io.BytesIO(boardpack.board_pack([(empty, None)], cover=_cover())))
    slide = deck.slides[1]
    assert slide.shapes.title.text == empty.headline
    assert not _pictures(slide)
    assert empty.empty in "\n".join(_texts(slide))


def test_text_from_extracts_is_kept_as_typed_and_control_characters_dropped(items) -> None:
    place = "HMP <b>Caldwick</b> [x](javascript:alert(1))\x00\x1b"
    forest, chart = _findings(place)[0]
    deck = Presentation(
        io.BytesIO(boardpack.board_pack([(forest, chart)], cover=_cover(place=place)))
    )
    typed = "HMP <b>Caldwick</b> [x](javascript:alert(1))"
    assert deck.slides[0].shapes.title.text == f"Equality Monitor: {typed}"
    assert typed in deck.slides[1].notes_slide.notes_text_frame.text


def test_a_png_already_made_is_placed_as_given(items) -> None:
    from equality_core import images

    finding, chart = items[0]
    png = images.slide_png(chart, title=finding.headline, source_lines=SOURCE)
    deck = Presentation(io.BytesIO(boardpack.board_pack([(finding, png)], cover=_cover())))
    (picture,) = _pictures(deck.slides[1])
    assert picture.image.blob == png


def test_a_cover_without_a_source_is_refused() -> None:
    with pytest.raises(ValueError, match="source_lines"):
        _cover(source_lines=())
