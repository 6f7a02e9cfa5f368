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


def flagged_matrix_rows(at) -> set[tuple[str, str]]:
    """The (measure, group) cells flagged higher or lower in the page's matrix table."""
    open_table_views(at)
    for element in at.dataframe:
        frame = element.value
        if {"Measure", "Group", "Flag"} <= set(getattr(frame, "columns", ())):
            flagged = frame[frame["Flag"].isin(["higher", "lower"])]
            return set(zip(flagged["Measure"], flagged["Group"], strict=True))
    raise AssertionError("no matrix table on the page")


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


#: How a page's sections (``equality_ui.objective.sections``) are keyed in Session State.
SECTION_SUFFIX = "-section"


def _section_key(at) -> str | None:
    """The Session State key of the page's sections (tabs), or None for a page without."""
    keys = [key for key in list(at.session_state) if str(key).endswith(SECTION_SUFFIX)]
    assert len(keys) <= 1, keys
    return keys[0] if keys else None


def open_section(at, label: str):
    """Run the page again with the tab ``label`` open, as a user clicking it; the AppTest."""
    key = _section_key(at)
    assert key is not None, "the page has no sections"
    assert label in [tab.label for tab in at.tabs], label
    at.session_state[key] = label
    at.run()
    assert not at.exception, (label, [e.value for e in at.exception])
    return at


def each_section(at, *, table_views: bool = True):
    """Open each section (tab) of the page in turn, as a user clicking each tab.

    A page runs only its open section's code, so a test that reads what a page shows
    reads it section by section. Yields each tab's label after the page has run with that
    tab open (and, with ``table_views``, its table views opened: :func:`open_table_views`);
    the first tab is open again afterwards. A page without sections yields None once,
    as it is (its table views opened too, with ``table_views``).
    """
    if _section_key(at) is None:
        if table_views:
            open_table_views(at)
        yield None
        return
    labels = [tab.label for tab in at.tabs]
    assert labels, "the page keeps a section's state but shows no tabs"
    for label in labels:
        open_section(at, label)
        if table_views:
            open_table_views(at)
        yield label
    open_section(at, labels[0])


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


@pytest.fixture
def submitted_to_processes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the publish step submits to its process pools (each job's extract), in order.

    The pools' ``ProcessPoolExecutor`` is replaced by one that notes each job's second
    argument (the extract) and runs it as before, in a process of its own.
    """
    from equality_core import publish

    submitted: list[str] = []

    class Pool(publish.ProcessPoolExecutor):
        def submit(self, function, /, *args, **kwargs):
            submitted.append(args[1])
            return super().submit(function, *args, **kwargs)

    monkeypatch.setattr(publish, "ProcessPoolExecutor", Pool)
    return submitted
