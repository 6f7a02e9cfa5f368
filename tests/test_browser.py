"""Every page in headless Chromium against a real ``streamlit run app.py`` server.

Checks what AppTest cannot: the pages render in a browser without an error block, the
charts draw, the filters live in the address bar, and the demo banner shows. Skipped
when Chromium is absent, unless ``EQUALITY_MONITOR_REQUIRE_BROWSER=1`` (set in CI), in
which case a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from tests.conftest import REPOSITORY

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRED = os.environ.get("EQUALITY_MONITOR_REQUIRE_BROWSER") == "1"
PAGES = {
    "": "Equality Monitor",
    "psed": "1. Public Sector Equality Duty",
    "offenders": "2. Offenders' outcomes",
    "workforce": "3. A workforce that reflects society",
    "disabled_staff": "4. Engagement of disabled staff",
    "disabled_offenders": "5. Needs of disabled prisoners",
    "data": "Data and glossary",
}

#: Pages and the number of charts each must draw at least.
CHART_PAGES = {
    "": 1,
    "psed": 1,
    "offenders": 4,
    "workforce": 1,
    "disabled_staff": 1,
    "disabled_offenders": 1,
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if CHROMIUM is None:
        if REQUIRED:
            pytest.fail("Chromium is required (EQUALITY_MONITOR_REQUIRE_BROWSER=1) but not found")
        pytest.skip("Chromium is not installed")
    pytest.importorskip("playwright")
    port = _free_port()
    env = {**os.environ, "EQUALITY_MONITOR_DATA": str(REPOSITORY / "data")}
    # The server's log goes to a file: a pipe nobody reads fills up and stalls the server.
    log_path = tmp_path_factory.mktemp("server") / "streamlit.log"
    log = log_path.open("w", encoding="utf-8")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", "serve.py",
            "--server.headless=true", f"--server.port={port}", "--server.address=127.0.0.1",
            "--browser.gatherUsageStats=false", "--server.fileWatcherType=none",
        ],
        cwd=REPOSITORY,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.read().decode() == "ok":
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the Streamlit server did not start within 60 s")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        errors = [line for line in log_path.read_text().splitlines() if "Error" in line]
        if errors:
            print("Streamlit server log errors:", *errors[-20:], sep="\n")


@pytest.fixture(scope="module")
def browser(server: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        yield launched
        launched.close()


@pytest.mark.parametrize("path", list(PAGES))
def test_page_renders_in_chromium(server: str, browser, path: str, tmp_path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server}/{path}", wait_until="domcontentloaded")
    page.get_by_text(PAGES[path], exact=False).first.wait_for(timeout=90_000)
    banner = page.locator("[data-testid=stAlert]", has_text="Synthetic demo data")
    banner.first.wait_for(timeout=30_000)
    if path in CHART_PAGES:
        # The charts come last: wait for them rather than for a fixed time.
        page.wait_for_function(
            "n => document.querySelectorAll('[data-testid=stVegaLiteChart] svg, "
            "[data-testid=stVegaLiteChart] canvas').length >= n",
            arg=CHART_PAGES[path],
            timeout=120_000,
        )
    page.wait_for_timeout(1_000)
    assert page.locator("[data-testid=stException]").count() == 0
    page.screenshot(path=str(tmp_path / f"{path or 'overview'}.png"), full_page=True)
    page.close()


def test_filter_is_kept_in_the_address_bar(server: str, browser) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    # Bound widgets put the label they show in the address.
    page.goto(
        f"{server}/offenders?characteristic=Religion+or+belief", wait_until="domcontentloaded"
    )
    page.get_by_text("2. Offenders' outcomes", exact=False).first.wait_for(timeout=90_000)
    page.get_by_text("by religion", exact=False).first.wait_for(timeout=120_000)
    assert "characteristic=Religion" in page.url
    assert page.get_by_text("by religion", exact=False).count() >= 1
    page.close()


def test_table_downloads_are_csv_and_an_accessible_spreadsheet(
    server: str, browser, tmp_path
) -> None:
    """AppTest cannot read download bytes: click the buttons in a real browser."""
    import io

    import openpyxl

    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.goto(f"{server}/offenders", wait_until="domcontentloaded")
    page.get_by_text("Table view and downloads").first.wait_for(timeout=120_000)
    page.get_by_text("Table view and downloads").first.click()  # made when opened
    page.get_by_role("button", name="Download this table (CSV)").first.wait_for(timeout=60_000)
    with page.expect_download(timeout=60_000) as csv_download:
        page.get_by_role("button", name="Download this table (CSV)").first.click()
    text = csv_download.value.path().read_text(encoding="utf-8")
    lines = text.splitlines()
    # Where the figures come from and how they were protected, then the table.
    assert lines[0].startswith('"# Source: Equality Monitor') and "generation" in lines[0]
    assert "Cell key perturbation" in lines[1] and "record keys demo-1" in lines[1]
    assert lines[2].startswith("series,group,numerator,denominator,rate")
    with page.expect_download(timeout=60_000) as xlsx_download:
        page.get_by_role(
            "button", name="Download as a spreadsheet (accessible .xlsx)"
        ).first.click()
    book = openpyxl.load_workbook(io.BytesIO(xlsx_download.value.path().read_bytes()))
    assert book.sheetnames == ["Cover", "Contents", "Notes", "Table"]
    assert str(book["Table"]["A1"].value).startswith("Proven adjudication: ")
    cover = " ".join(str(c.value) for row in book["Cover"].iter_rows() for c in row if c.value)
    assert "Cell key perturbation" in cover
    with page.expect_download(timeout=60_000) as png_download:
        page.get_by_role(
            "button", name="Download the chart as an image (PNG, for slides)"
        ).first.click()
    png = png_download.value.path().read_bytes()
    # A 16:9 slide at 1920 by 1080: the size is in the PNG header.
    assert int.from_bytes(png[16:20], "big") == 1920
    assert int.from_bytes(png[20:24], "big") == 1080
    page.close()


def test_a_section_opens_when_its_tab_is_clicked_and_is_kept_in_the_address(
    server: str, browser
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server}/offenders", wait_until="domcontentloaded")
    page.get_by_role("tab", name="Deaths in custody").wait_for(timeout=120_000)
    assert page.get_by_role("heading", name="Deaths in custody").count() == 0
    page.get_by_role("tab", name="Deaths in custody").click()
    page.get_by_role("heading", name="Deaths in custody").wait_for(timeout=120_000)
    page.wait_for_function(
        "() => document.querySelectorAll('[role=tabpanel] [data-testid=stVegaLiteChart] svg, "
        "[role=tabpanel] [data-testid=stVegaLiteChart] canvas').length >= 1",
        timeout=120_000,
    )
    assert "obj2-section=Deaths" in page.url
    page.close()


def test_the_board_pack_holds_every_section_of_the_page(server: str, browser) -> None:
    """A page computes its open section only; making the pack draws every section."""
    import io

    from pptx import Presentation

    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.goto(f"{server}/offenders", wait_until="domcontentloaded")
    make = page.get_by_role("button", name="Make a board pack (PowerPoint)")
    make.wait_for(timeout=120_000)
    make.click()
    download = page.get_by_role("button", name="Download the board pack (PowerPoint)")
    download.wait_for(timeout=120_000)
    with page.expect_download(timeout=180_000) as pack:
        download.click()
    deck = Presentation(io.BytesIO(pack.value.path().read_bytes()))
    titles = [s.shapes.title.text for s in deck.slides if s.shapes.title is not None]
    page.close()
    words = " ".join(titles).lower()
    # The first section (relative rates), and sections behind other tabs.
    assert "proven adjudication" in words, titles
    assert "in custody" in words, titles
    assert "declar" in words, titles
    assert "treated with respect" in words or "feel unsafe" in words, titles
