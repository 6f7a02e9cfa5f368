"""Sign-in, places and permissions on the pages (AppTest, the bundled demo, sign-in configured).

A user scoped to one prison group and one probation region sees only their places, with
England and Wales beside them, and never the name of another place, even with another
place's code typed into the address; exact figures are marked; a user with no places
sees no data; every view and refusal reaches the audit trail.
"""

from __future__ import annotations

import itertools
import time

import pytest
from streamlit.testing.v1 import AppTest

from equality_core import audit, data
from equality_core.paths import DataPaths
from equality_core.schema import CHARACTERISTICS
from tests.conftest import REPOSITORY, flagged_matrix_rows, open_table_views

pytestmark = pytest.mark.xdist_group("apptest")

APP = str(REPOSITORY / "app.py")
TIMEOUT = 120
REGION = "Women's Estate"
AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "test-cookie-secret-not-for-use",
    "client_id": "equality-monitor",
    "client_secret": "not-a-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
ACCESS = f"""
[settings]
session_hours = 10

[users."national@example.org"]
places = ["England and Wales"]
permissions = ["download", "validation_details"]

[users."governor@example.org"]
places = ["region:{REGION}", "probation_region:Wales"]
permissions = []

[users."analyst@example.org"]
places = ["England and Wales"]
permissions = ["exact_figures", "download"]
"""


@pytest.fixture
def setup(tmp_path, monkeypatch):
    access_file = tmp_path / "access.toml"
    access_file.write_text(ACCESS)
    url = f"sqlite:///{tmp_path}/audit.sqlite3"
    monkeypatch.setenv("EQUALITY_MONITOR_DATA", str(REPOSITORY / "data"))
    monkeypatch.setenv("EQUALITY_MONITOR_ACCESS_FILE", str(access_file))
    monkeypatch.setenv("EQUALITY_MONITOR_AUDIT_URL", url)
    return url


@pytest.fixture(scope="module")
def establishments():
    paths = DataPaths(REPOSITORY / "data").pinned()
    return data.load_validated(paths, "establishments")


_TOKENS = itertools.count()
_ISSUED = int(time.time()) - 60


def _open(page: str, email: str | None, query: dict[str, str] | None = None, **claims) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH
    if email is None:
        at.user = {"is_logged_in": False}
    else:
        at.user = {
            "is_logged_in": True,
            "email": email,
            "name": email.split("@")[0].title(),
            # Each test's sign-in is a token of its own (a sign-in is recorded once per token).
            "iat": _ISSUED - next(_TOKENS),
            **claims,
        }
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _text(at: AppTest) -> str:
    """Every piece of text the page rendered, its table views opened: markdown, titles, captions, alerts, tables."""
    open_table_views(at)
    parts = [
        str(e.value)
        for kind in ("markdown", "title", "header", "subheader", "caption", "warning", "info")
        for e in getattr(at, kind)
    ]
    parts += [e.label for e in at.selectbox] + [str(o) for s in at.selectbox for o in s.options]
    parts += [e.value.to_csv() for e in at.dataframe]
    parts += [str(e.value) for e in at.metric]
    return "\n".join(parts)


def test_sign_in_is_asked_for_and_nothing_shown(setup) -> None:
    at = _open("pages/02_offenders.py", None)
    assert at.title[0].value == "Sign in to the Equality Monitor"
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.dataframe and not at.metric


def test_user_without_places_sees_no_data(setup) -> None:
    at = _open("pages/00_overview.py", "stranger@example.org")
    assert "not been given access" in _text(at)
    assert not at.dataframe and not at.metric
    events = audit.read_events(setup, user="stranger@example.org")
    assert [e["kind"] for e in events] == ["sign_in", "denied"]


def test_scoped_user_sees_only_their_places(setup, establishments) -> None:
    inside = establishments[establishments["region"] == REGION]
    outside = establishments[
        (establishments["region"] != REGION) & (establishments["region"] != "Headquarters")
    ]
    at = _open("pages/02_offenders.py", "governor@example.org")
    options = {str(o) for o in at.selectbox(key="establishment").options}
    assert {f"{n} ({c})" for n, c in zip(inside["name"], inside["code"], strict=True)} <= options
    assert len(options) == len(inside) + 1  # and "All"
    assert set(at.selectbox(key="region").options) == {"All", REGION}
    text = _text(at)
    assert "England and Wales" in text  # the national figures beside theirs
    for name in outside["name"]:
        assert name not in text


def test_another_places_code_in_the_address_reads_as_no_place(setup, establishments) -> None:
    other = establishments[establishments["region"] == "Yorkshire"].iloc[0]
    typed = _open("pages/02_offenders.py", "governor@example.org", {"establishment": other["code"]})
    invented = _open("pages/02_offenders.py", "governor@example.org", {"establishment": "ZZZ"})
    [message] = [w.value for w in typed.warning if "page address" in w.value]
    [same] = [w.value for w in invented.warning if "page address" in w.value]
    assert message.replace(other["code"], "ZZZ") == same
    assert other["name"] not in _text(typed)
    denied = [e for e in audit.read_events(setup) if e["kind"] == "denied"]
    assert any(other["code"] in (e["detail"] or "") for e in denied)


def test_scoped_figures_differ_from_the_national_users(setup) -> None:
    national = open_table_views(_open("pages/01_psed.py", "national@example.org"))
    scoped = open_table_views(_open("pages/01_psed.py", "governor@example.org"))
    # Same page, same filters, run in one process (shared caches): different figures.
    assert national.dataframe[0].value.to_csv() != scoped.dataframe[0].value.to_csv()
    assert "your places" in _text(scoped)


def test_exact_figures_are_marked(setup) -> None:
    at = _open("pages/02_offenders.py", "analyst@example.org")
    assert any("OFFICIAL-SENSITIVE: exact figures" in w.value for w in at.warning)
    protected = _open("pages/02_offenders.py", "national@example.org")
    assert not any("OFFICIAL-SENSITIVE" in w.value for w in protected.warning)


def test_a_user_without_download_permission_gets_no_download(setup) -> None:
    at = _open("pages/02_offenders.py", "governor@example.org")
    assert "Downloads are not part of your access." in _text(at)


def test_expired_session_signs_out_and_is_recorded(setup) -> None:
    at = _open("pages/00_overview.py", "national@example.org", iat=int(time.time()) - 11 * 3600)
    assert not at.dataframe and not at.metric
    kinds = [e["kind"] for e in audit.read_events(setup, user="national@example.org")]
    assert kinds == ["session_expired"]


def test_page_views_are_recorded_with_filters(setup) -> None:
    label = CHARACTERISTICS["religion"].label
    _open("pages/02_offenders.py", "national@example.org", {"characteristic": label})
    events = audit.read_events(setup, user="national@example.org")
    assert [e["kind"] for e in events] == ["sign_in", "page_view"]
    view = events[-1]
    assert view["page"] == "offenders"
    assert view["filters"]["characteristic"] == label


def test_validation_details_need_the_permission(setup) -> None:
    allowed = _open("pages/90_data.py", "national@example.org")
    refused = _open("pages/90_data.py", "governor@example.org")
    assert "Source file" in allowed.dataframe[0].value.columns
    assert "Source file" not in refused.dataframe[0].value.columns
    assert "Source SHA-256" not in refused.dataframe[0].value.columns


def test_board_pack_is_offered_only_to_users_who_may_download(setup) -> None:
    def labels(at: AppTest) -> list[str]:
        return [str(b.proto.label) for b in at.get("download_button")]

    allowed = open_table_views(_open("pages/02_offenders.py", "national@example.org"))
    refused = open_table_views(_open("pages/02_offenders.py", "governor@example.org"))
    assert "Download this table (CSV)" in labels(allowed)
    assert [b.label for b in refused.button if (b.key or "").startswith("make-boardpack")] == []
    allowed.button(key="make-boardpack-obj2").click().run()
    assert not allowed.exception, [e.value for e in allowed.exception]
    assert "Download the board pack (PowerPoint)" in labels(allowed)
    assert labels(refused) == []


def test_a_sign_in_is_recorded_once_per_token(setup) -> None:
    issued = _ISSUED - 3_000  # a token no other test uses (they count down from _ISSUED)
    for _ in range(2):  # two browser sessions (a reload, another tab) with one token
        _open("pages/00_overview.py", "national@example.org", iat=issued)
    kinds = [e["kind"] for e in audit.read_events(setup, user="national@example.org")]
    assert kinds.count("sign_in") == 1


def test_a_scoped_user_sees_england_and_wales_as_the_national_user_does(setup) -> None:
    # The scoped user's England and Wales comes from the national path, the national
    # user's from their own view of no place: the same count of flags either way.
    national = _first_tile_count(_open("pages/00_overview.py", "national@example.org"))
    scoped = _open("pages/00_overview.py", "governor@example.org")
    beside = [str(m.value) for m in scoped.markdown if str(m.value).startswith("England and")]
    assert beside[0] == f"England and Wales: {national}."


def _first_tile_count(at: AppTest) -> int:
    """The overview's count of cells flagged by ethnic group (its first tile)."""
    [line] = [
        str(m.value)
        for m in at.markdown
        if "flagged by ethnic group in the Equality Monitoring" in str(m.value)
    ]
    return int(line.split()[0])


def test_the_overview_counts_each_user_s_own_flags(setup) -> None:
    # Run in one process (shared caches), the scoped user first: the national user's
    # overview must not be served the flags counted from the scoped user's places.
    for email in ("governor@example.org", "national@example.org", "governor@example.org"):
        overview = _open("pages/00_overview.py", email)
        matrix = _open("pages/01_psed.py", email)
        assert _first_tile_count(overview) == len(flagged_matrix_rows(matrix)), email
    national = _first_tile_count(_open("pages/00_overview.py", "national@example.org"))
    assert national != _first_tile_count(_open("pages/00_overview.py", "governor@example.org"))
