"""No page shows a traceback, whatever its address holds.

Every page is opened through app.py with hostile values for every query parameter the
pages read (their bound filters, the presentation's slide, app.py's present), and must
render without an exception element. Streamlit is also told to hide error details.
"""

from __future__ import annotations

import tomllib

import pytest
from streamlit.testing.v1 import AppTest  # noqa: TID251 - the tests drive the dashboard

from equality_core.schema import CHARACTERISTICS
from tests.conftest import REPOSITORY

APP = str(REPOSITORY / "app.py")
PAGES = [
    "pages/00_overview.py",
    "pages/01_psed.py",
    "pages/02_offenders.py",
    "pages/03_workforce.py",
    "pages/04_disabled_staff.py",
    "pages/05_disabled_offenders.py",
    "pages/90_data.py",
    "pages/91_presentation.py",
]
#: Every query parameter a page reads: app.py's, the presentation's, and each bound filter.
PARAMETERS = [
    "present",
    "slide",
    "omit",
    "characteristics",
    "setting",
    "theme",
    "measure",
    "period_kind",
    "period_rolling",
    "period_quarter",
    "period_financial_year",
    "region",
    "function",
    "estate",
    "establishment",
    "probation_region",
    "division",
    "characteristic",
    *[f"comparator_{c}" for c in CHARACTERISTICS],
    "within",
    *[f"within_{c}" for c in CHARACTERISTICS],
    "death_classification",
    "perception",
    "representation_group",
    "glossary_objective",
]
HOSTILE = [
    "abc",
    "",
    "-1",
    "0",
    "99999999999999999999",
    "1e309",
    "NaN",
    "None",
    "<script>alert(1)</script>",
    "' OR '1'='1",
    "\x00",
    "Wh\u200bite",
    "../../etc/passwd",
    "%00%0a",
    "x" * 5000,
    "😀",
    "[]",
    "{}",
    "true",
    "2024-Q9",
    "Largest group",
    "All",
    "Religion or belief",
    "ethnic_group",
]
TIMEOUT = 120


@pytest.fixture(autouse=True)
def _bundled_demo(monkeypatch) -> None:
    monkeypatch.setenv("EQUALITY_MONITOR_DATA", str(REPOSITORY / "data"))


def _values(rotation: int | None) -> dict[str, str]:
    """``abc`` for every parameter, or each parameter a different hostile value."""
    if rotation is None:
        return dict.fromkeys(PARAMETERS, "abc")
    return {key: HOSTILE[(i * 7 + rotation) % len(HOSTILE)] for i, key in enumerate(PARAMETERS)}


def _open(page: str, query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(page).run()
    return at


@pytest.mark.parametrize("rotation", [None, 0], ids=["abc", "mixed"])
@pytest.mark.parametrize("page", PAGES)
def test_every_page_survives_hostile_query_parameters(page: str, rotation: int | None) -> None:
    at = _open(page, _values(rotation))
    assert not at.exception, [str(e.value)[:500] for e in at.exception]
    assert at.title or at.markdown, "the page rendered"


@pytest.mark.parametrize(
    ("slide", "shown"),
    [("abc", 1), ("", 1), ("0", 1), ("-5", 1), ("3", 3), (" 4 ", 4), ("999", 0), ("1e3", 1)],
)
def test_presentation_slide_from_the_address(slide: str, shown: int) -> None:
    """A number past the end opens the deck's last slide (``shown`` 0 stands for it)."""
    at = _open("pages/91_presentation.py", {"slide": slide})
    assert not at.exception, [str(e.value)[:500] for e in at.exception]
    (position,) = [m.value for m in at.markdown if m.value.startswith("**Slide ")]
    number, count = (int(n) for n in position.strip("*").split()[1::2])
    assert count > 4 and number == (shown or count)


def test_streamlit_hides_error_details() -> None:
    config = tomllib.loads((REPOSITORY / ".streamlit" / "config.toml").read_text("utf-8"))
    # false is deprecated in Streamlit 1.67 and behaves as "stacktrace".
    assert config["client"]["showErrorDetails"] == "none"
