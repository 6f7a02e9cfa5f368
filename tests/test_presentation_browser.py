"""Presentation mode and the overview's summary in headless Chromium, at 1366 by 768.

What AppTest cannot check: the keys move between slides, the controls fit the screen
without scrolling, each slide opens at its top, the board pack downloaded from the page
opens in python-pptx with a slide for each slide of the deck, and the overview's one-page
PDF names the flags its tiles name. Slide changes are
timed and the times printed (not asserted: a shared machine's timings vary).
Uses the server and browser fixtures of ``test_browser`` (skipped without Chromium,
unless CI requires it).
"""

from __future__ import annotations

import io
import re
import time

import pytest

from tests.test_browser import browser, server  # noqa: F401 - the shared fixtures

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

WIDTH, HEIGHT = 1366, 768
ADDRESS = "presentation?establishment=HMP+Caldwick+(CAL)"
CHART = "[data-testid=stVegaLiteChart] svg, [data-testid=stVegaLiteChart] canvas"
SLIDE_CHART = ".st-key-deck_slide [data-testid=stVegaLiteChart]"


def _open(browser, server: str, address: str = ADDRESS, **options):  # noqa: F811
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT}, **options)
    page.goto(f"{server}/{address}", wait_until="domcontentloaded")
    page.locator(".st-key-deck_slide h1").first.wait_for(timeout=180_000)
    page.wait_for_function(
        "selector => document.querySelectorAll(selector).length >= 1", arg=CHART, timeout=120_000
    )
    return page


def _position(page) -> tuple[int, int]:
    found = re.search(r"Slide (\d+) of (\d+)", page.locator(".st-key-deck_count").inner_text())
    assert found is not None
    return int(found.group(1)), int(found.group(2))


def _heading(page) -> str:
    return page.locator(".st-key-deck_slide h1").inner_text().strip()


def _scroll_top(page) -> float:
    return page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTop")


def _press(page, key: str) -> float:
    """Press ``key``; the seconds until the next slide's heading and chart are drawn."""
    before = _heading(page)
    started = time.perf_counter()
    page.keyboard.press(key)
    page.wait_for_function(
        "before => { const h = document.querySelector('.st-key-deck_slide h1');"
        " return h && h.innerText.trim() !== before; }",
        arg=before,
        timeout=30_000,
    )
    page.wait_for_function(
        "selector => [...document.querySelectorAll(selector)].some("
        "c => c.querySelector('svg, canvas'))",
        arg=SLIDE_CHART,
        timeout=30_000,
    )
    return time.perf_counter() - started


def test_three_slides_with_the_keyboard_each_opening_at_its_top(server: str, browser) -> None:  # noqa: F811
    page = _open(browser, server)
    assert page.locator("[data-testid=stException]").count() == 0
    first, count = _position(page)
    assert first == 1 and count >= 4
    times = []
    for expected, key in ((2, "ArrowRight"), (3, "PageDown"), (4, "ArrowRight")):
        # The presenter has scrolled down the slide before moving on.
        page.mouse.move(WIDTH // 2, HEIGHT // 2)
        page.mouse.wheel(0, 2_000)
        page.wait_for_function(
            "() => document.querySelector('[data-testid=stMain]').scrollTop > 0", timeout=5_000
        )
        times.append(_press(page, key))
        assert _position(page) == (expected, count)
        assert f"slide={expected}" in page.url  # the address follows the slide
        page.wait_for_function(
            "() => document.querySelector('[data-testid=stMain]').scrollTop === 0",
            timeout=5_000,
        )
    for expected, key in ((3, "ArrowLeft"), (2, "PageUp")):
        times.append(_press(page, key))
        assert _position(page) == (expected, count)
    print("slide changes in Chromium (s):", ", ".join(f"{t:.2f}" for t in times))
    assert page.locator("[data-testid=stException]").count() == 0
    page.close()


def test_the_controls_fit_a_1366_by_768_screen(server: str, browser) -> None:  # noqa: F811
    page = _open(browser, server)
    assert _scroll_top(page) == 0
    controls = [
        page.locator(".st-key-region"),
        page.locator(".st-key-establishment"),
        page.locator(".st-key-period_kind"),
        page.locator(".st-key-characteristics"),
        page.get_by_test_id("stPopoverButton"),
        page.locator(".st-key-deck_previous button"),
        page.locator(".st-key-deck_next button"),
        page.get_by_role("button", name="Board pack of these slides (PowerPoint)"),
    ]
    for control in controls:
        box = control.first.bounding_box()
        assert box is not None, control
        assert box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT, (control, box)
        assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, (control, box)
    # The slide's heading starts on the first screen too.
    heading = page.locator(".st-key-deck_slide h1").bounding_box()
    assert heading is not None and heading["y"] < HEIGHT * 0.6
    page.close()


def test_keys_in_a_control_do_not_change_the_slide(server: str, browser) -> None:  # noqa: F811
    page = _open(browser, server)
    shown = _position(page)
    page.locator(".st-key-characteristics input").first.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Escape")
    page.wait_for_timeout(1_000)
    assert _position(page) == shown
    page.close()


def test_the_board_pack_holds_the_slides_of_the_deck(server: str, browser) -> None:  # noqa: F811
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    page = _open(browser, server, accept_downloads=True)
    _, count = _position(page)
    page.get_by_test_id("stPopoverButton").click()
    ticks = page.locator("[data-testid=stPopoverBody] [data-testid=stCheckbox]")
    ticks.first.wait_for(timeout=30_000)
    headlines = [
        re.sub(r"^\d+\. ", "", ticks.nth(n).inner_text().strip()) for n in range(ticks.count())
    ]
    assert len(headlines) == count
    page.keyboard.press("Escape")
    started = time.perf_counter()
    with page.expect_download(timeout=180_000) as download:
        page.get_by_role("button", name="Board pack of these slides (PowerPoint)").click()
    print(f"board pack of {count} slides downloaded in {time.perf_counter() - started:.1f} s")
    assert download.value.suggested_filename.endswith(".pptx")
    deck = Presentation(io.BytesIO(download.value.path().read_bytes()))
    slides = list(deck.slides)
    assert len(slides) == count + 2
    assert deck.slide_width * 9 == deck.slide_height * 16
    assert slides[0].shapes.title.text == "Equality Monitor: HMP Caldwick"
    assert [s.shapes.title.text for s in slides[1:-1]] == headlines
    for slide in slides[1:-1]:
        pictures = [s for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]
        assert len(pictures) == 1
        assert pictures[0]._element.nvPicPr.cNvPr.get("descr")
        assert "Description:" in slide.notes_slide.notes_text_frame.text
    cover = "\n".join(s.text_frame.text for s in slides[0].shapes if s.has_text_frame)
    assert "Synthetic demo data" in cover and "Twelve months to" in cover
    page.close()


def test_the_overview_summary_names_the_tiles_flags(server: str, browser) -> None:  # noqa: F811
    from pypdf import PdfReader

    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT}, accept_downloads=True)
    page.goto(f"{server}/?establishment=HMP+Caldwick+(CAL)", wait_until="domcontentloaded")
    button = page.get_by_role("button", name="One-page summary of this place (PDF)")
    button.wait_for(timeout=180_000)
    box = button.bounding_box()
    assert box is not None and box["y"] + box["height"] <= HEIGHT  # on the first screen
    # The tiles list the cells flagged, as objective 1's matrix does.
    items = page.locator("[data-testid=stMain] li")
    items.first.wait_for(timeout=60_000)  # the demo plants flags at HMP Caldwick
    named = {item.inner_text().strip() for item in items.all()}
    with page.expect_download(timeout=120_000) as download:
        button.click()
    reader = PdfReader(io.BytesIO(download.value.path().read_bytes()))
    assert len(reader.pages) == 1
    text = " ".join(reader.pages[0].extract_text().split())
    assert "Equality Monitor summary: HMP Caldwick" in text
    assert "Synthetic demo data" in text and "Source: Equality Monitor" in text
    for sentence in named:
        assert f"- {sentence}" in text
    page.close()
