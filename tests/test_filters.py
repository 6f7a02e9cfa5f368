"""The shared filters: what happens when the setting changes, a link holds a value that is
not an option, or the reader resets them; and the line summarising them.

AppTest cannot see the browser's address bar or what a select box displays, so these
tests read what the server tells the browser: a widget's ``set_value`` and ``raw_value``
are what makes the browser show (and put in the address) a value the script changed.
Filters are set through ``at.query_params`` and by value, never by ``select_index``.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest  # noqa: TID251 - the tests drive the dashboard

from equality_ui import filters
from tests.conftest import REPOSITORY

pytestmark = pytest.mark.xdist_group("apptest")

APP = str(REPOSITORY / "app.py")
OFFENDERS = "pages/02_offenders.py"
CUSTODY = "In custody"
JOURNEY = "Community: sentencing, risk, breach and recall"
TIMEOUT = 120


@pytest.fixture(autouse=True)
def _bundled_demo(monkeypatch) -> None:
    monkeypatch.setenv("EQUALITY_MONITOR_DATA", str(REPOSITORY / "data"))


@pytest.fixture(scope="module")
def establishments() -> pd.DataFrame:
    return pd.read_parquet(REPOSITORY / "data" / "validated" / "establishments.parquet")


def _open(page: str = OFFENDERS, query: dict[str, str] | None = None) -> AppTest:
    """The page opened at an address, as a browser opens it: that page runs first.

    (Running the overview first would let its own place filter read the address.)
    """
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def _captions(at: AppTest) -> str:
    return "\n".join(str(c.value) for c in at.caption)


def _address_messages(at: AppTest) -> list[str]:
    return [str(w.value) for w in at.warning if "The page address sets" in str(w.value)]


def _summary(at: AppTest) -> str:
    lines = [str(m.value) for m in at.markdown if str(m.value).startswith("**Showing:**")]
    assert len(lines) == 1, lines
    # The line is Markdown with its values escaped: read it as the reader sees it.
    return lines[0].replace("\\", "")


def _told_browser(at: AppTest, key: str, label: str) -> bool:
    """Whether the last run told the browser to show ``label`` in the select box ``key``."""
    proto = at.selectbox(key=key).proto
    return proto.set_value and proto.raw_value == label


# 1. The measure (and any filter the new setting does not offer) resets with the setting.


def test_the_measure_falls_back_to_the_first_of_the_new_setting() -> None:
    at = _open()
    _ok(at.selectbox(key="measure").set_value("segregated").run())
    _ok(at.button_group(key="setting").set_value(JOURNEY).run())

    measure = at.selectbox(key="measure")
    assert measure.value == "sentence_above_proposal"
    # The browser is told, so it no longer shows (or keeps in the address) 'Segregated'.
    assert _told_browser(at, "measure", "Sentence more severe than proposed")
    captions = _captions(at)
    assert "setting changed" in captions
    assert "Segregated" in captions and "Sentence more severe than proposed" in captions

    _ok(at.button_group(key="setting").set_value(CUSTODY).run())
    assert at.selectbox(key="measure").value == "adjudication_proven"
    assert _told_browser(at, "measure", "Proven adjudication")


def test_an_establishment_is_cleared_when_the_setting_has_none(establishments) -> None:
    code = str(establishments["code"].iloc[0])
    name = str(establishments["name"].iloc[0])
    at = _open()
    _ok(at.selectbox(key="establishment").set_value(code).run())
    _ok(at.button_group(key="setting").set_value(JOURNEY).run())
    assert f"Establishment “{name} ({code})” does not apply" in _captions(at).replace("\\", "")
    assert name not in _summary(at)

    # Back in custody the establishment does not come back unasked.
    _ok(at.button_group(key="setting").set_value(CUSTODY).run())
    assert at.selectbox(key="establishment").value == filters.ALL
    assert name not in _summary(at)


def test_no_fallback_caption_when_nothing_changed_setting() -> None:
    at = _open()
    _ok(at.selectbox(key="measure").set_value("segregated").run())
    assert "setting changed" not in _captions(at)


# 2. A value in the address that is not an option is named, escaped, not silently replaced.


def test_a_measure_the_address_names_wrongly_is_named_in_a_message() -> None:
    at = _open(query={"measure": "nonsense"})
    [message] = _address_messages(at)
    assert "“measure”" in message and "“nonsense”" in message
    assert "not a measure you can choose" in message
    assert "shows “Proven adjudication” instead" in message
    assert at.selectbox(key="measure").value == "adjudication_proven"


def test_every_wrong_value_is_in_one_message() -> None:
    at = _open(query={"measure": "nonsense", "establishment": "ZZZ", "period_kind": "Weekly"})
    [message] = _address_messages(at)
    for parameter, value in [("measure", "nonsense"), ("establishment", "ZZZ")]:
        assert f"“{parameter}” to “{value}”" in message
    assert "“period\\_kind” to “Weekly”" in message


def test_a_place_out_of_scope_reads_as_one_that_does_not_exist(establishments) -> None:
    """A link must not tell an existing place from a made-up one."""
    inside = establishments.iloc[0]
    outside = establishments[establishments["region"] != inside["region"]].iloc[0]
    label = f"{outside['name']} ({outside['code']})"
    region = str(inside["region"])

    made_up = _open(query={"region": region, "establishment": "ZZZ"})
    out_of_scope = _open(query={"region": region, "establishment": label})
    [first] = _address_messages(made_up)
    [second] = _address_messages(out_of_scope)
    assert "not a place you can choose" in first
    assert "does not exist" not in first
    assert first.replace("ZZZ", "VALUE") == second.replace(filters.escape(label), "VALUE")
    assert out_of_scope.selectbox(key="establishment").value == filters.ALL


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("<script>alert(1)</script>", "\\<script\\>alert\\(1\\)\\<\\/script\\>"),
        (
            "**bold** [x](javascript:alert(1))",
            "\\*\\*bold\\*\\* \\[x\\]\\(javascript\\:alert\\(1\\)\\)",
        ),
        (":red[big] $x$ &lt;", "\\:red\\[big\\] \\$x\\$ \\&lt\\;"),
        ("Wh\u200bite\x00\n", "Wh\\\\u200bite\\\\x00\\\\n"),
    ],
)
def test_the_value_is_shown_as_typed_never_as_markup(value: str, escaped: str) -> None:
    at = _open(query={"measure": value})
    [message] = _address_messages(at)
    assert f"“{escaped}”" in message
    # Every character Markdown or HTML would act on is preceded by a backslash: with the
    # escaped characters taken out, none is left (the sentence itself uses none of them).
    unescaped = re.sub(r"\\.", "", message, flags=re.DOTALL)
    assert not set(unescaped) & set("<>*_[]()$&:`~|\\\x00\u200b\n"), unescaped


def test_a_long_value_is_cut_short() -> None:
    at = _open(query={"establishment": "x" * 5000})
    [message] = _address_messages(at)
    assert "x" * 60 + "…" in message
    assert "x" * 61 not in message


def test_a_wrong_setting_is_named() -> None:
    at = _open(query={"setting": "Prison"})
    messages = _address_messages(at)
    assert any("“setting” to “Prison”" in m and "not a setting" in m for m in messages)
    assert at.selectbox(key="measure").value == "adjudication_proven"


def test_a_good_link_brings_no_message() -> None:
    at = _open(query={"measure": "Segregated", "characteristic": "Religion or belief"})
    assert not _address_messages(at)
    assert at.selectbox(key="measure").value == "segregated"


# 3. A reset button, and one line summarising what is chosen.


def test_reset_puts_every_filter_back_to_its_default(establishments) -> None:
    code = str(establishments["code"].iloc[0])
    at = _open(
        query={
            "measure": "Segregated",
            "period_kind": "Financial year",
            "characteristic": "Religion or belief",
        }
    )
    _ok(at.selectbox(key="establishment").set_value(code).run())
    _ok(at.selectbox(key="within").set_value("age_band").run())
    assert at.selectbox(key="period_kind").value == "financial_year"
    _ok(at.button(key="reset_filters").click().run())

    expected = {
        "measure": ("adjudication_proven", "Proven adjudication"),
        "period_kind": ("rolling", "Rolling twelve months"),
        "establishment": (filters.ALL, filters.ALL),
        "characteristic": ("ethnic_group", "Ethnic group"),
        "within": ("none", "No restriction"),
    }
    for key, (value, label) in expected.items():
        assert at.selectbox(key=key).value == value, key
        # Told to the browser, which then drops the parameter from the address.
        assert _told_browser(at, key, label), key
    latest = at.selectbox(key="period_rolling").value
    assert _summary(at) == (
        f"**Showing:** Proven adjudication · Twelve months to {latest} · England and Wales · "
        "by ethnic group, comparator the largest group"
    )


def test_reset_returns_the_setting_to_custody() -> None:
    at = _open(query={"setting": JOURNEY})
    assert at.selectbox(key="measure").value == "sentence_above_proposal"
    _ok(at.button(key="reset_filters").click().run())
    assert at.button_group(key="setting").value == CUSTODY
    assert at.selectbox(key="measure").value == "adjudication_proven"
    assert "setting changed" not in _captions(at)


def test_the_summary_names_what_is_chosen(establishments) -> None:
    row = establishments.iloc[0]
    at = _open(query={"comparator_ethnic_group": "White", "within": "Age band"})
    _ok(at.selectbox(key="establishment").set_value(str(row["code"])).run())
    _ok(at.selectbox(key="within_age_band").set_value("18-20").run())
    latest = at.selectbox(key="period_rolling").value
    assert _summary(at) == (
        f"**Showing:** Proven adjudication · Twelve months to {latest} · {row['name']} · "
        "by ethnic group, comparator White · among age band: 18-20"
    )


@pytest.mark.parametrize(
    "page", ["pages/01_psed.py", "pages/03_workforce.py", "pages/05_disabled_offenders.py"]
)
def test_every_objective_page_has_the_summary_and_the_reset(page: str) -> None:
    at = _open(page)
    summary = _summary(at)
    assert summary.startswith("**Showing:** ")
    assert "comparator the largest group" in summary
    assert at.button(key="reset_filters").label == "Reset filters"


def test_shown_makes_invisible_characters_visible() -> None:
    assert filters.shown("") == "(nothing)"
    assert filters.shown("a\tb") == "a\\\\tb"
    assert filters.shown("y" * 61) == "y" * 60 + "…"
