"""The accessibility statement, the sidebar's menu of pages, and the statistical terms.

AppTest on the bundled small demo: the statement follows GOV.UK's model structure and
says what the regulations ask (compliance, what fails, how to ask for another format and
to report a problem, the enforcement procedure, when it was prepared) with no
placeholder; the menu that replaces Streamlit's keeps every section, title and address;
the data page shows the glossary's statistical terms.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest  # noqa: TID251 (a UI test)

from equality_core.contract_doc import statistical_terms
from tests.conftest import REPOSITORY

pytestmark = pytest.mark.xdist_group("apptest")

APP = str(REPOSITORY / "app.py")
PAGE = "pages/92_accessibility.py"
TIMEOUT = 120

#: GOV.UK's model accessibility statement's sections, in its order.
MODEL_HEADINGS = [
    "How accessible this dashboard is",
    "Feedback and contact information",
    "Reporting accessibility problems with this dashboard",
    "Enforcement procedure",
    "Technical information about this dashboard's accessibility",
    "What we're doing to improve accessibility",
    "Preparation of this accessibility statement",
]

#: The menu: each section's pages, as (title, address), in order.
MENU = {
    "": [("Overview", "")],
    "Strategic equality objectives": [
        ("1. Public Sector Equality Duty and disproportionate outcomes", "psed"),
        ("2. Offenders' outcomes and access to services", "offenders"),
        ("3. A workforce that reflects society", "workforce"),
        ("4. Engagement of disabled staff", "disabled_staff"),
        ("5. Needs of disabled prisoners and offenders", "disabled_offenders"),
    ],
    "About the data": [
        ("Data and glossary", "data"),
        ("Presentation mode", "presentation"),
        ("Accessibility statement", "accessibility"),
    ],
}


@pytest.fixture(autouse=True)
def _bundled_demo(monkeypatch) -> None:
    monkeypatch.setenv("EQUALITY_MONITOR_DATA", str(REPOSITORY / "data"))


def _open(page: str | None, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if page is not None:
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def _text(at: AppTest) -> str:
    parts = [e.value for e in at.title] + [e.value for e in at.header]
    parts += [e.value for e in at.subheader] + [e.value for e in at.markdown]
    return "\n".join(str(p) for p in parts)


@pytest.fixture(scope="module")
def statement() -> Iterator[AppTest]:
    """The statement, run once for the tests that only read it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EQUALITY_MONITOR_DATA", str(REPOSITORY / "data"))
        yield _open(PAGE)


def test_the_statement_follows_the_model_structure(statement: AppTest) -> None:
    assert [t.value for t in statement.title] == ["Accessibility statement"]
    headers = [h.value for h in statement.header]
    assert headers == MODEL_HEADINGS
    subheaders = [h.value for h in statement.subheader]
    assert subheaders == ["Compliance status", "Non-accessible content"]
    assert "Synthetic demo data" in "\n".join(w.value for w in statement.warning)


def test_the_statement_says_what_the_regulations_ask(statement: AppTest) -> None:
    text = _text(statement)
    # Scope and compliance status against WCAG 2.2 AA.
    assert "This accessibility statement applies to Equality Monitor" in text
    assert "partially compliant" in text and "version 2.2" in text and "AA" in text
    # What does not meet it yet, with the success criteria, and the alternatives.
    for criterion in ("2.1.1", "1.4.11", "1.1.1"):
        assert criterion in text
    assert "Table view and downloads" in text and "CSV" in text
    assert "accessible spreadsheet" in text
    # How to ask for another format and report a problem: the team that runs it.
    assert text.count("team that runs the dashboard in your organisation") >= 2
    # Enforcement: the EHRC and the advisory service, in the model's words.
    assert "Equality and Human Rights Commission (EHRC) is responsible for enforcing" in text
    assert "Equality Advisory and Support Service (EASS)" in text
    # What the automated test checks, and that people have not yet tested it.
    assert "axe-core" in text and "serious or critical" in text
    assert "not yet been audited" in text
    # Prepared, reviewed and tested on the same date.
    assert text.count("25 November 2026") == 3


def test_the_statement_has_no_placeholder(statement: AppTest) -> None:
    text = _text(statement)
    assert "@" not in text, "no e-mail address: users contact the team that runs it"
    assert not re.search(r"\[(?!Web Content|Equality Advisory|AbilityNet)[^\]]*\]", text), (
        "a square-bracketed placeholder is left in the statement"
    )
    for placeholder in ("TODO", "XXX", "example.com", "[name", "[date", "[number"):
        assert placeholder.lower() not in text.lower()


def _menu(at: AppTest) -> dict[str, list[tuple[str, str]]]:
    """The sidebar's menu as sections of (label, address), read from its elements."""
    menu: dict[str, list[tuple[str, str]]] = {"": []}
    section = ""
    nav = next(
        (b for b in at.sidebar.children.values() if getattr(b, "key", None) == "site_navigation"),
        None,
    )
    assert nav is not None, "the sidebar has no menu of pages"
    for element in nav.children.values():
        if element.type == "markdown":
            section = element.value.strip("*")
            menu[section] = []
        elif element.type == "page_link":
            menu[section].append((element.value, element.proto.page.rsplit("/", 1)[-1]))
    return menu


def test_the_menu_has_every_section_title_and_address() -> None:
    at = _open(None)
    shown = _menu(at)
    expected = {
        section: [(t + (" (this page)" if a == "" else ""), a) for t, a in pages]
        for section, pages in MENU.items()
    }
    assert shown == expected


def test_the_menu_says_which_page_is_shown() -> None:
    at = _open(PAGE)
    labels = [link for links in _menu(at).values() for link, _ in links]
    assert "Accessibility statement (this page)" in labels
    assert sum(label.endswith("(this page)") for label in labels) == 1


def test_presentation_mode_has_no_menu() -> None:
    at = _open("pages/91_presentation.py")
    assert not at.sidebar.get("page_link")


def test_the_data_page_shows_the_statistical_terms() -> None:
    at = _open("pages/90_data.py")
    assert "Statistical terms" in [h.value for h in at.header]
    text = "\n".join(m.value for m in at.markdown).replace("\\", "")
    for term, meaning in statistical_terms():
        assert f"**{term}**" in text
        assert meaning in text
