"""Traceability: figures carry the protection's versions, and a change of secret is recorded.

Rotating the record-key secret changes every figure, so it must never be silent: validate
records the protection each generation was published with, and the dashboard shows no
figure while the configured protection differs from the recorded one.
"""

from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from equality_core import cellkey, data
from equality_core.cli import main
from equality_core.paths import DataPaths
from tests.conftest import REPOSITORY, open_table_views

pytestmark = pytest.mark.xdist_group("apptest")

NEW_SECRET = (
    'record_key_secret = "a rotated secret of the deployment"\nrecord_key_version = "2026-12"\n'
)


@pytest.fixture
def demo_copy(small_demo: DataPaths, tmp_path) -> DataPaths:
    root = tmp_path / "data"
    shutil.copytree(small_demo.root, root, symlinks=True)
    return DataPaths(root)


def _page(paths: DataPaths, monkeypatch) -> AppTest:
    monkeypatch.setenv("EQUALITY_MONITOR_DATA", str(paths.root))
    at = AppTest.from_file(str(REPOSITORY / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/02_offenders.py").run()
    return open_table_views(at)


def test_each_publication_records_its_protection_and_a_rotation_is_an_event(
    demo_copy: DataPaths, monkeypatch
) -> None:
    manifest = data.read_manifest(demo_copy)
    demo = cellkey.demo_config()
    assert manifest["disclosure"] == demo.versions()
    assert [entry["record_key_version"] for entry in manifest["disclosure_history"]] == ["demo-1"]
    before = _page(demo_copy, monkeypatch)
    assert not before.exception and not before.error

    # The secret is rotated: until validate records it, no figure is shown.
    (demo_copy.root / cellkey.CONFIG_FILE).write_text(NEW_SECRET, encoding="utf-8")
    stopped = _page(demo_copy, monkeypatch)
    assert not stopped.exception
    assert any(
        "not the one the published data were recorded with" in e.value for e in stopped.error
    )
    assert not stopped.dataframe

    assert main(["validate", "--data", str(demo_copy.root)]) == 0
    history = data.read_manifest(demo_copy)["disclosure_history"]
    assert [entry["record_key_version"] for entry in history] == ["demo-1", "2026-12"]
    assert history[0]["record_key_fingerprint"] != history[1]["record_key_fingerprint"]
    after = _page(demo_copy, monkeypatch)
    assert not after.exception and not after.error and after.dataframe
