"""The dashboard reads one whole generation per run, and says what is stale or failing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest  # noqa: TID251 - the tests drive the dashboard

from equality_core import access, publish
from equality_core.paths import DataPaths
from equality_core.validation import validate_all
from tests.conftest import REPOSITORY

from .hostile.corpus import build_good_set

APP = str(REPOSITORY / "app.py")
TIMEOUT = 120


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> DataPaths:
    return build_good_set(tmp_path_factory.mktemp("dashboard") / "data")


@pytest.fixture
def folder(good: DataPaths, tmp_path: Path, monkeypatch) -> DataPaths:
    paths = DataPaths(tmp_path / "data")
    shutil.copytree(good.root, paths.root, symlinks=True)
    # Supplied data: without sign-in configured, the dashboard serves them only when the
    # access file says so explicitly (and warns on every page).
    (paths.root / "access.toml").write_text('[settings]\nsign_in = "off"\n', encoding="utf-8")
    monkeypatch.setenv("EQUALITY_MONITOR_DATA", str(paths.root))
    return paths


def _reader() -> None:
    """An app that reads, lets a new generation be published mid-run, and reads again."""
    import streamlit as st  # noqa: TID251 - the app under test

    from equality_core import publish
    from equality_ui import loading

    first = loading.manifest().get("generation")
    before = loading.extract("delivery_plan")["status"].iloc[0]
    switch_to = st.session_state.get("switch_to")
    if switch_to:
        publish._switch_link(loading.data_paths(), switch_to)
        st.session_state["switch_to"] = None
    second = loading.manifest().get("generation")
    after = loading.extract("delivery_plan")["status"].iloc[0]
    st.markdown(f"{first}|{second}|{before}|{after}")


def test_a_generation_published_mid_run_is_not_mixed_in(folder: DataPaths) -> None:
    old = folder.pinned().generation.name
    plan = pd.read_csv(folder.raw / "delivery_plan.csv", dtype=str, keep_default_na=False)
    before = plan.loc[0, "status"]
    plan.loc[0, "status"] = "Delayed" if before != "Delayed" else "Complete"
    plan.to_csv(folder.raw / "delivery_plan.csv", index=False)
    new = validate_all(folder, ["delivery_plan"])[0].generation
    publish._switch_link(folder, old)  # the dashboard starts on the old generation

    at = AppTest.from_function(_reader, default_timeout=TIMEOUT)
    at.session_state["switch_to"] = new
    # A bare script, not app.py: give it the access app.py's gate would.
    at.session_state["_equality_monitor_access"] = access.open_access()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    first, second, status_before, status_after = at.markdown[0].value.split("|")
    assert first == second == old, "one run reads one generation"
    assert status_before == status_after == before
    at.run()  # the next run picks up the new generation
    first, second, status_before, status_after = at.markdown[0].value.split("|")
    assert first == second == new
    assert status_before == status_after == plan.loc[0, "status"]


def _read_ahead() -> None:
    """An app that reads extracts ahead and then asks for them, or does only one of these."""
    import streamlit as st  # noqa: TID251 - the app under test

    from equality_core import publish
    from equality_ui import loading

    switch_to = st.session_state.get("switch_to")
    if switch_to:
        publish._switch_link(loading.data_paths(), switch_to)
        st.session_state["switch_to"] = None
    mode = st.session_state.get("mode", "both")
    names = ("delivery_plan", "prisoner_periods")
    if mode != "ask":
        loading.prefetch(names)
    if mode == "ahead":
        st.markdown("read ahead")
        return
    ahead = {name: loading._AHEAD.get(name) for name in names}
    served = {name: loading.whole_extract(name) for name in names}
    same = [name for name in names if ahead[name] and ahead[name][1].result() is served[name]]
    status = served["delivery_plan"]["status"].iloc[0]
    st.markdown(f"{loading.manifest().get('generation')}|{status}|{','.join(same)}")
    st.session_state.setdefault("frames", []).append(served)


def test_extracts_read_ahead_are_served_once_and_only_for_their_generation(
    folder: DataPaths,
) -> None:
    from equality_core import data

    old = folder.pinned().generation.name
    # Prisoners' record keys need a secret (a folder without one loads no prisoner rows).
    (folder.root / "disclosure.toml").write_text(
        'record_key_secret = "a-test-secret-of-some-length"\nrecord_key_version = "test-1"\n',
        encoding="utf-8",
    )
    at = AppTest.from_function(_read_ahead, default_timeout=TIMEOUT)
    at.session_state["_equality_monitor_access"] = access.open_access()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    generation, _, same = at.markdown[0].value.split("|")
    # The frames read ahead are the very ones served: nothing was read twice...
    assert generation == old and same == "delivery_plan,prisoner_periods"
    # ...and they are the published extracts, as read without reading ahead.
    served = at.session_state["frames"][0]
    expected = data.load_validated(folder.pinned(), "prisoner_periods")
    pd.testing.assert_frame_equal(
        served["prisoner_periods"][expected.columns], expected, check_exact=True
    )
    at.run()  # read ahead once per process: the cached frames are served, not read again
    assert at.markdown[0].value.split("|")[2] == ""
    assert at.session_state["frames"][1]["prisoner_periods"] is served["prisoner_periods"]

    # Two new generations. The first is read ahead but never asked for...
    plan = pd.read_csv(folder.raw / "delivery_plan.csv", dtype=str, keep_default_na=False)
    generations = {}
    for changed in ("Delayed", "Complete"):
        plan.loc[0, "status"] = changed
        plan.to_csv(folder.raw / "delivery_plan.csv", index=False)
        generations[changed] = validate_all(folder, ["delivery_plan"])[0].generation
    at.session_state["mode"] = "ahead"
    at.session_state["switch_to"] = generations["Delayed"]
    at.run()
    # ...then the second is asked for: what was read ahead is not served for it.
    at.session_state["mode"] = "ask"
    at.session_state["switch_to"] = generations["Complete"]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    generation, status_now, same = at.markdown[0].value.split("|")
    assert generation == generations["Complete"] and status_now == "Complete"
    assert "delivery_plan" not in same.split(",")


def _open_data_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/90_data.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_stale_published_data_are_named_on_every_page(folder: DataPaths, monkeypatch) -> None:
    manifest_path = folder.pinned().generation / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["extracts"]["prisoner_periods"]["validated_at"] = "2020-01-31T09:00:00.000000+0000"
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.setenv("EQUALITY_MONITOR_STALE_AFTER_DAYS", "30")
    at = _open_data_page()
    warnings = " ".join(w.value for w in at.warning)
    assert "Published data are older than 30 days" in warnings
    assert "prisoners by quarter (validated 31 January 2020" in warnings
    assert "delivery plan" not in warnings.lower(), "only the stale extract is named"


def test_fresh_data_carry_no_stale_warning(folder: DataPaths) -> None:
    at = _open_data_page()
    assert not any("older than" in w.value for w in at.warning)


def test_the_data_page_names_an_extract_whose_latest_validation_failed(
    folder: DataPaths,
) -> None:
    prisoners = pd.read_csv(folder.raw / "prisoner_periods.csv", dtype=str)
    prisoners.head(1).to_csv(folder.raw / "prisoner_periods.csv", index=False)
    [outcome] = validate_all(folder, ["prisoner_periods"])
    assert not outcome.published
    at = _open_data_page()
    errors = " ".join(e.value for e in at.error)
    assert "Latest validation failed for: prisoners by quarter" in errors
    table = next(e.value for e in at.dataframe if "Status" in e.value.columns)
    row = table[table["Extract"] == "Prisoners by quarter"].iloc[0]
    assert row["Status"] == "✖ Latest validation failed: last good version shown"
    assert row["Rows"] > 1, "the last good version is still the one shown"
    assert any("Why prisoners by quarter failed" in e.label for e in at.expander)
    shown = " ".join(str(v) for e in at.dataframe for v in e.value.to_numpy().ravel())
    assert "rows fall" in shown
    captions = " ".join(c.value for c in at.caption)
    assert "generation " + folder.pinned().generation.name in captions


def test_supplied_data_are_refused_without_sign_in(folder: DataPaths) -> None:
    (folder.root / "access.toml").unlink()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Sign-in is required for these data" in e.value for e in at.error)
    assert not at.dataframe and not at.metric


def test_sign_in_switched_off_is_said_on_every_page(folder: DataPaths) -> None:
    for page in ("pages/00_overview.py", "pages/90_data.py"):
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        assert any("Sign-in is switched off" in w.value for w in at.warning), page
