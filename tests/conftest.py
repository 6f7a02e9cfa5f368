"""Shared fixtures: the small demo, generated and validated once per test session."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

from equality_core.paths import DataPaths

settings.register_profile("ci", max_examples=40, deadline=None)
settings.register_profile("dev", max_examples=150, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Pages write every view to the audit trail: in tests, to a throwaway database, never to
# the bundled data folder. A test that needs its own trail sets the variable itself.
if "EQUALITY_MONITOR_AUDIT_URL" not in os.environ:
    _AUDIT_FOLDER = tempfile.mkdtemp(prefix="eqm-audit-")
    atexit.register(shutil.rmtree, _AUDIT_FOLDER, ignore_errors=True)
    os.environ["EQUALITY_MONITOR_AUDIT_URL"] = f"sqlite:///{_AUDIT_FOLDER}/audit.sqlite3"

DEMO_SEED = 20261124
REPOSITORY = Path(__file__).resolve().parent.parent


def open_table_views(at):
    """Open every chart's table view, as a user clicking each, and run the page again.

    Table views are made only when open (``panels.table_view_expander``): a test that
    reads a page's tables or downloads opens them first, or it would read nothing.
    Returns the AppTest; asserts that the rerun raised nothing and left none closed.
    """
    from equality_ui.panels import TABLE_VIEW_PREFIX

    closed = [
        key
        for key in list(at.session_state)
        if str(key).startswith(TABLE_VIEW_PREFIX) and not at.session_state[key]
    ]
    for key in closed:
        at.session_state[key] = True
    if closed:
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> DataPaths:
    """A data folder holding the small demo: raw files, validated Parquet, manifest, reports.

    Built in-process through the command line's own entry point, once per session.
    Tests must not modify it: copy what you need with :func:`copy_published`.
    """
    from equality_core.cli import main

    root = tmp_path_factory.mktemp("small-demo")
    code = main(["demo", "--data", str(root), "--scale", "small", "--seed", str(DEMO_SEED)])
    assert code == 0, "the small demo must validate cleanly"
    return DataPaths(root)
