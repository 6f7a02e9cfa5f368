"""Every page against axe-core's WCAG 2.2 AA rules, in headless Chromium.

Each page of the bundled demo is opened in a real browser on a real ``streamlit run
app.py`` server (the server and browser fixtures are the browser test's own), the charts
are left to draw, and axe-core (shipped inside the ``axe-playwright-python`` package: no
download at run time) checks the whole document with the WCAG 2.0, 2.1 and 2.2 A and AA
rules. No violation of impact "serious" or "critical" may remain; a failure names each
rule, how many elements break it and a few of them.

axe-core cannot judge text inside a chart's SVG (it reports it as "needs review": it
cannot tell the background), so a second test measures the contrast of every chart
title, axis label and legend against the chart's background itself.

Skipped when Chromium is absent, unless ``EQUALITY_MONITOR_REQUIRE_BROWSER=1`` (set in CI).
"""

from __future__ import annotations

import pytest

from tests.conftest import REPOSITORY

# The fixtures are imported, not copied: one definition of how the server and Chromium start.
from tests.test_browser import browser, server  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

#: WCAG 2.2 AA asks 4.5:1 of text under 18.66px bold or 24px (chart text is smaller).
MINIMUM_CONTRAST = 4.5
#: The WCAG 2.2 AA rule set, as axe-core tags it.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = {"serious", "critical"}

#: Every page: its address, text that shows it has loaded, and the charts it draws at least
#: (an objective page draws its first section, a tab, until another is opened).
PAGES = {
    "": ("Equality Monitor", 1),
    "psed": ("1. Public Sector Equality Duty", 1),
    "offenders": ("2. Offenders' outcomes", 4),
    "workforce": ("3. A workforce that reflects society", 1),
    "disabled_staff": ("4. Engagement of disabled staff", 1),
    "disabled_offenders": ("5. Needs of disabled prisoners", 1),
    "data": ("Data and glossary", 0),
    "presentation": ("Slide 1 of", 1),
    "accessibility": ("Accessibility statement", 0),
}


def test_every_page_is_checked() -> None:
    """A new page file gets an entry here (its address is its file name less the number)."""
    addresses = {f.stem.split("_", 1)[1] for f in (REPOSITORY / "pages").glob("*.py")}
    assert {"" if a == "overview" else a for a in addresses} == set(PAGES)


#: True once the page shows a finished run: the script is not running (the app's own
#: state, set at once, where the running indicator shows only after a delay) and no
#: element is still greyed out from the run before (stale elements fail contrast).
_SETTLED = """() => {
    const app = document.querySelector('[data-testid=stApp]');
    return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
        && !document.querySelector('[data-stale=true]')
        && !document.querySelector('[data-testid=stStatusWidget] [data-testid=stStatusWidgetRunningIcon]');
}"""


def _idle(page) -> None:
    """Wait until the page shows a finished run, still so a moment later (the last draw)."""
    page.wait_for_function(_SETTLED, timeout=120_000)
    page.wait_for_timeout(1_000)
    page.wait_for_function(_SETTLED, timeout=120_000)


def _open(browser, server: str, path: str):  # noqa: F811
    """The page at ``path`` once its title, demo banner and charts have rendered."""
    text, charts = PAGES[path]
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server}/{path}", wait_until="domcontentloaded")
    # In the page itself, not the menu, which names the page as soon as the app starts.
    page.locator("[data-testid=stMain]").get_by_text(text, exact=False).first.wait_for(
        timeout=90_000
    )
    page.locator("[data-testid=stAlert]", has_text="Synthetic demo data").first.wait_for(
        timeout=30_000
    )
    if charts:
        page.wait_for_function(
            "n => document.querySelectorAll('[data-testid=stVegaLiteChart] svg, "
            "[data-testid=stVegaLiteChart] canvas').length >= n",
            arg=charts,
            timeout=120_000,
        )
    # Let the last elements of the run settle: the app is idle once Streamlit's running
    # indicator has gone.
    _idle(page)
    assert page.locator("[data-testid=stException]").count() == 0
    return page


def _blocking(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v.get("impact") in BLOCKING]


def _describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        targets = [
            " ".join(map(str, node["target"]))
            + "".join(f"\n      {check['message']}" for check in node.get("any", [])[:1])
            for node in v["nodes"][:3]
        ]
        lines.append(
            f"{v['id']} ({v['impact']}, {len(v['nodes'])} elements): {v['help']}\n"
            + "\n".join(f"    {t}" for t in targets)
        )
    return "\n".join(lines)


def _axe(page) -> list[dict]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(
        page,
        options={"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]},
    )
    return results.response["violations"]


@pytest.mark.parametrize("path", list(PAGES))
def test_no_serious_or_critical_axe_violation(server: str, browser, path: str) -> None:  # noqa: F811
    page = _open(browser, server, path)
    try:
        violations = _axe(page)
    finally:
        page.close()
    blocking = _blocking(violations)
    print(f"/{path}: {sum(len(v['nodes']) for v in blocking)} serious or critical")
    print(_describe(violations))
    assert not blocking, f"axe-core (WCAG 2.2 AA) on /{path}:\n{_describe(blocking)}"


#: The objective pages, whose sections are tabs computed when opened.
SECTIONED = ["psed", "offenders", "workforce", "disabled_staff", "disabled_offenders"]


@pytest.mark.parametrize("path", SECTIONED)
def test_every_section_passes_axe_and_its_chart_text_is_readable(
    server: str,  # noqa: F811
    browser,  # noqa: F811
    path: str,
) -> None:
    """Each tab but the first, opened as a user clicks it: axe-core and the charts' text."""
    page = _open(browser, server, path)
    blocking: dict[str, str] = {}
    low: dict[str, list[dict]] = {}
    try:
        tabs = page.get_by_role("tab")
        labels = [tabs.nth(i).inner_text() for i in range(tabs.count())]
        assert len(labels) >= 3, labels
        for label in labels[1:]:
            page.get_by_role("tab", name=label).click()
            panel = page.get_by_role("tabpanel", name=label)
            panel.locator("[data-testid=stElementContainer]").first.wait_for(timeout=120_000)
            _idle(page)
            assert page.locator("[data-testid=stException]").count() == 0, label
            found = _blocking(_axe(page))
            if found:
                blocking[label] = _describe(found)
            texts = page.evaluate(CHART_TEXT_CONTRAST)
            low[label] = [t for t in texts if t["ratio"] < MINIMUM_CONTRAST]
    finally:
        page.close()
    assert not blocking, f"axe-core (WCAG 2.2 AA) on /{path}: {blocking}"
    assert not any(low.values()), {k: v[:4] for k, v in low.items() if v}


def test_axe_finds_a_violation_planted_in_the_page(server: str, browser) -> None:  # noqa: F811
    """The check can fail: grey-on-white text and an unlabelled image are reported."""
    page = _open(browser, server, "data")
    try:
        page.evaluate(
            """() => {
                const p = document.createElement('p');
                p.textContent = 'Planted low-contrast text';
                p.style.cssText = 'position: fixed; top: 200px; left: 400px; z-index: 999999; '
                    + 'color: #BFBFBF; background: #FFFFFF; font-size: 16px;';
                document.body.appendChild(p);
                const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
                svg.setAttribute('role', 'img');
                document.querySelector('[data-testid=stMain]').appendChild(svg);
            }"""
        )
        found = {v["id"] for v in _blocking(_axe(page))}
    finally:
        page.close()
    assert {"color-contrast", "svg-img-alt"} <= found


#: Contrast of each chart's guide text (titles, axis labels and titles, legends) with the
#: chart's background, by the WCAG formula; opacity is blended over the background, and
#: text that is not drawn at all (opacity 0) is left out.
CHART_TEXT_CONTRAST = """() => {
    const channel = c => {
        c /= 255;
        return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    };
    const rgb = text => (text.match(/[0-9.]+/g) || []).map(Number);
    const luminance = ([r, g, b]) =>
        0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    const found = [];
    for (const svg of document.querySelectorAll('[data-testid=stVegaLiteChart] svg')) {
        // A transparent chart shows the page's white through it.
        const own = rgb(getComputedStyle(svg).backgroundColor);
        const background = own.length < 3 || own[3] === 0 ? [255, 255, 255] : own.slice(0, 3);
        const selector = '[class*="role-axis"] text, [class*="role-legend"] text, '
            + '[class*="role-title"] text';
        for (const text of svg.querySelectorAll(selector)) {
            if (!text.textContent.trim()) continue;
            const style = getComputedStyle(text);
            const [r, g, b] = rgb(style.fill);
            let alpha = Number(style.fillOpacity) * Number(style.opacity);
            for (let node = text.parentElement; node && node !== svg; node = node.parentElement) {
                alpha *= Number(getComputedStyle(node).opacity);
            }
            // Vega hides labels that would overlap by making them fully transparent.
            if (alpha === 0) continue;
            const shown = [r, g, b].map((c, i) => alpha * c + (1 - alpha) * background[i]);
            const [light, dark] = [luminance(shown), luminance(background)].sort((x, y) => y - x);
            found.push({
                text: text.textContent.trim().slice(0, 60),
                fill: style.fill,
                ratio: (light + 0.05) / (dark + 0.05),
            });
        }
    }
    return found;
}"""


@pytest.mark.parametrize("path", [p for p, (_, charts) in PAGES.items() if charts])
def test_chart_text_has_enough_contrast(server: str, browser, path: str) -> None:  # noqa: F811
    page = _open(browser, server, path)
    try:
        texts = page.evaluate(CHART_TEXT_CONTRAST)
    finally:
        page.close()
    assert texts, f"no chart text found on /{path}"
    low = [t for t in texts if t["ratio"] < MINIMUM_CONTRAST]
    assert not low, f"chart text under {MINIMUM_CONTRAST}:1 on /{path}: " + "; ".join(
        f"{t['text']!r} {t['fill']} {t['ratio']:.2f}:1" for t in low[:8]
    )
