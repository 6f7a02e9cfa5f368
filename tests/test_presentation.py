"""Presentation mode with AppTest on the bundled demo: the deck, its address, its ticks.

The slides are the findings that hold for the place: flagged outcomes first, then
declaration coverage, then the objectives' headline figures. The address holds the
whole deck (place, period, characteristics, slides left out, slide shown), so reopening
it shows the same slide; unticking a slide takes it out of the deck and the address; a
place in the address must be one the place filter offers (for a signed-in user, only
their own places).
"""

from __future__ import annotations

import re
import time

import pytest
from streamlit.testing.v1 import AppTest  # noqa: TID251 - AppTest drives the page

from tests.conftest import REPOSITORY

pytestmark = pytest.mark.xdist_group("apptest")

APP = str(REPOSITORY / "app.py")
PAGE = "pages/91_presentation.py"
TIMEOUT = 180
CALDWICK = "HMP Caldwick (CAL)"
WOMEN = "Women's Estate"
AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "test-cookie-secret-not-for-use",
    "client_id": "equality-monitor",
    "client_secret": "not-a-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
ACCESS = f"""
[users."governor@example.org"]
places = ["region:{WOMEN}"]
permissions = ["download"]

[users."reader@example.org"]
places = ["England and Wales"]
permissions = []

[users."analyst@example.org"]
places = ["England and Wales"]
permissions = ["exact_figures", "download"]
"""


@pytest.fixture(autouse=True)
def _bundled_demo(monkeypatch) -> None:
    monkeypatch.setenv("EQUALITY_MONITOR_DATA", str(REPOSITORY / "data"))


def _open(query: dict[str, str | list[str]] | None = None, *, email: str | None = None):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if email is not None:
        at.secrets["auth"] = AUTH
        at.user = {
            "is_logged_in": True,
            "email": email,
            "name": email.split("@")[0].title(),
            "iat": int(time.time()) - 60,
        }
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page(PAGE).run()
    assert not at.exception, [str(e.value)[:500] for e in at.exception]
    return at


def _unescaped(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _position(at: AppTest) -> tuple[int, int]:
    """The slide shown and the number of slides, from "Slide 3 of 12"."""
    found = [re.search(r"Slide (\d+) of (\d+)", m.value) for m in at.markdown]
    (match,) = [f for f in found if f]
    return int(match.group(1)), int(match.group(2))


def _heading(at: AppTest) -> str:
    """The slide's heading: the finding's headline."""
    (heading,) = [m.value for m in at.markdown if m.value.startswith("# ")]
    return _unescaped(heading[2:])


def _ticks(at: AppTest) -> list:
    return [c for c in at.checkbox if str(c.key).startswith("tick_")]


def _headline_of(tick) -> str:
    """A tick's label is the slide's number and headline."""
    return _unescaped(tick.label).split(". ", 1)[1]


def _next(at: AppTest) -> AppTest:
    at.button(key="deck_next").click().run()
    assert not at.exception, [str(e.value)[:500] for e in at.exception]
    return at


def test_flagged_outcomes_come_first_then_coverage_then_the_objectives() -> None:
    at = _open()
    ids = [str(t.key).removeprefix("tick_") for t in _ticks(at)]
    kinds = [i.split(".", 1)[0] for i in ids]
    assert kinds[0] == "flag", ids  # the demo plants flags nationally
    first_coverage, first_objective = kinds.index("coverage"), kinds.index("objective1")
    assert set(kinds[:first_coverage]) == {"flag"}
    assert set(kinds[first_coverage:first_objective]) == {"coverage"}
    assert all(k.startswith("objective") for k in kinds[first_objective:])
    assert _position(at) == (1, len(ids))
    assert _heading(at) == _headline_of(_ticks(at)[0])
    # Flagged slides state a flag; for each characteristic, adverse ones come first.
    for characteristic in ("ethnic_group", "disability"):
        flagged = [
            _headline_of(t)
            for t in _ticks(at)
            if str(t.key).startswith(f"tick_flag.{characteristic}.")
        ]
        assert flagged, characteristic
        assert all(re.search(r" (higher|lower)\b", h) for h in flagged)
        adverse = ["(adverse)" in h for h in flagged]
        assert adverse == sorted(adverse, reverse=True)


def test_next_and_previous_walk_the_deck_and_keep_the_address() -> None:
    at = _open()
    _, count = _position(at)
    headlines = [_headline_of(t) for t in _ticks(at)]
    assert at.button(key="deck_previous").disabled
    for number in (2, 3):
        _next(at)
        assert _position(at) == (number, count)
        assert _heading(at) == headlines[number - 1]
        assert at.query_params["slide"] == str(number)
    at.button(key="deck_previous").click().run()
    assert _position(at) == (2, count)


def test_the_address_reopens_the_deck_on_the_same_slide() -> None:
    first = _open({"establishment": CALDWICK, "characteristics": "Ethnic group"})
    ids = [str(t.key).removeprefix("tick_") for t in _ticks(first)]
    headlines = [_headline_of(t) for t in _ticks(first)]
    assert len(ids) >= 4
    left_out = ids[1]
    reopened = _open(
        {
            "establishment": CALDWICK,
            "characteristics": "Ethnic group",
            "omit": left_out,
            "slide": "3",
        }
    )
    assert reopened.selectbox(key="establishment").value == "CAL"
    assert reopened.multiselect(key="characteristics").value == ["ethnic_group"]
    assert _position(reopened) == (3, len(ids) - 1)
    # Slide 3 of the deck without slide 2 is the fourth of the whole deck.
    assert _heading(reopened) == headlines[3]
    assert reopened.checkbox(key=f"tick_{left_out}").value is False
    assert "HMP Caldwick" in _heading(reopened) or "HMP Caldwick" in "\n".join(
        c.value for c in reopened.caption
    )


def test_unticking_a_slide_takes_it_out_of_the_deck_and_into_the_address() -> None:
    at = _open({"characteristics": "Ethnic group"})
    _, count = _position(at)
    second = _ticks(at)[1]
    gone, left_out = _headline_of(second), str(second.key).removeprefix("tick_")
    second.uncheck().run()
    assert _position(at) == (1, count - 1)
    assert at.query_params["omit"] == left_out
    seen = [_heading(at)]
    for _ in range(count - 2):
        seen.append(_heading(_next(at)))
    assert gone not in seen and len(seen) == count - 1
    at.checkbox(key=f"tick_{left_out}").check().run()
    assert _position(at)[1] == count
    assert "omit" not in at.query_params


def test_the_slide_on_screen_stays_when_an_earlier_one_is_left_out() -> None:
    at = _open({"slide": "3"})
    shown = _heading(at)
    _ticks(at)[0].uncheck().run()
    assert _heading(at) == shown
    assert _position(at)[0] == 2


def test_a_place_in_the_address_must_be_one_the_filter_offers() -> None:
    at = _open({"establishment": "HMP Nowhere (ZZZ)"})
    warnings = "\n".join(w.value for w in at.warning)
    assert "not a place you can choose" in _unescaped(warnings)
    assert at.selectbox(key="establishment").value == "All"
    assert "England and Wales" in "\n".join(c.value for c in at.caption)


def test_a_scoped_user_can_present_only_their_places(tmp_path, monkeypatch) -> None:
    access_file = tmp_path / "access.toml"
    access_file.write_text(ACCESS)
    monkeypatch.setenv("EQUALITY_MONITOR_ACCESS_FILE", str(access_file))
    monkeypatch.setenv("EQUALITY_MONITOR_AUDIT_URL", f"sqlite:///{tmp_path}/audit.sqlite3")
    at = _open({"establishment": CALDWICK}, email="governor@example.org")
    assert at.selectbox(key="region").options == ["All", WOMEN]
    assert at.selectbox(key="establishment").value == "All"
    # The address's value is refused in the words used for a place that does not exist.
    refused = _unescaped("\n".join(w.value for w in at.warning))
    assert f"“{CALDWICK}”, which is not a place you can choose" in refused
    words = _unescaped(
        "\n".join(
            [m.value for m in at.markdown]
            + [c.value for c in at.caption]
            + [t.label for t in _ticks(at)]
        )
    )
    assert "Caldwick" not in words  # the slides are for the user's own places
    assert _ticks(at), "the user's own places have slides"


def test_the_board_pack_is_offered_only_to_users_who_may_download(tmp_path, monkeypatch) -> None:
    at = _open()
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Board pack of these slides (PowerPoint)" in labels
    access_file = tmp_path / "access.toml"
    access_file.write_text(ACCESS)
    monkeypatch.setenv("EQUALITY_MONITOR_ACCESS_FILE", str(access_file))
    monkeypatch.setenv("EQUALITY_MONITOR_AUDIT_URL", f"sqlite:///{tmp_path}/audit.sqlite3")
    reader = _open(email="reader@example.org")
    assert not reader.get("download_button")
    assert "Downloads are not part of your access." in [c.value for c in reader.caption]


def test_no_characteristic_means_no_slides_and_says_so() -> None:
    at = _open({"characteristics": ""})
    assert _position(at) == (0, 0)
    assert any("No slides" in i.value for i in at.info)


def test_exact_figures_are_presented_under_their_marking(tmp_path, monkeypatch) -> None:
    access_file = tmp_path / "access.toml"
    access_file.write_text(ACCESS)
    monkeypatch.setenv("EQUALITY_MONITOR_ACCESS_FILE", str(access_file))
    monkeypatch.setenv("EQUALITY_MONITOR_AUDIT_URL", f"sqlite:///{tmp_path}/audit.sqlite3")
    at = _open({"characteristics": "Disability"}, email="analyst@example.org")
    assert any("OFFICIAL-SENSITIVE: exact figures" in w.value for w in at.warning)
    assert _position(at)[1] >= 3
    assert "objective4" in [str(t.key).removeprefix("tick_") for t in _ticks(at)]
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Board pack of these slides (PowerPoint)" in labels
