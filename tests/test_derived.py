"""The sums made at publication are exactly the sums the dashboard would count.

:mod:`equality_core.derived` stores, when an extract is published, its record keys and
every standard window's sums by unit (and each measure's sums by period). Here each is
read back and compared with counting the records again (:mod:`equality_core.windows`'s
own counting, itself held equal to counting the records directly in test_windows), for
every window and extract of the small demo; and a folder made with another secret, or
for another extract, is never used.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from equality_core import cellkey, data, derived, windows
from equality_core.measures import MEASURES
from equality_core.paths import DataPaths
from equality_core.schema import CHARACTERISTICS


@pytest.fixture(scope="module")
def published(small_demo) -> DataPaths:
    return small_demo.pinned()


def _loaded(paths: DataPaths, extract: str) -> pd.DataFrame:
    frame = data.load_validated(paths, extract)
    if "establishment" in frame.columns and extract != "deaths_in_custody":
        frame = data.attach_establishment_attributes(
            frame, data.load_validated(paths, "establishments")
        )
    return frame


def _source(paths: DataPaths, extract: str, frame: pd.DataFrame) -> derived.PublishedSums:
    folder = derived._folder_for(paths, extract)
    assert folder is not None, f"the validate run made no sums for {extract}"
    index = json.loads((folder / "index.json").read_text())
    return derived.PublishedSums(folder, frame, extract, index)


@pytest.mark.parametrize("extract", derived.EXTRACTS)
def test_every_standard_window_equals_counting_the_records(published, extract) -> None:
    frame = _loaded(published, extract)
    source = _source(published, extract, frame)
    periods_held = [str(p) for p in frame["period"].cat.categories]
    checked = 0
    for periods in derived.standard_windows(periods_held):
        counted = windows.compute_unit_sums(frame, extract, periods)
        stored = source.window(periods)
        if counted is None:
            assert stored is None
            continue
        assert stored is not None, f"{extract} {periods}: not stored"
        assert list(stored) == list(counted)
        for entry, table in counted.items():
            pd.testing.assert_frame_equal(stored[entry], table, check_exact=True)
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize(
    "extract", [e for e in derived.EXTRACTS if any(m.extract == e for m in MEASURES.values())]
)
def test_every_trend_equals_counting_the_records(published, extract) -> None:
    frame = _loaded(published, extract)
    source = _source(published, extract, frame)
    measures = [m for m in MEASURES.values() if m.extract == extract]
    characteristics = [c for c in CHARACTERISTICS if c in frame.columns]
    assert measures and characteristics
    for measure in measures:
        for characteristic in characteristics:
            counted = windows.compute_period_sums(frame, extract, [measure], characteristic)
            stored = source.trend(measure.name, characteristic)
            assert stored is not None, f"{measure.name} by {characteristic}: not stored"
            pd.testing.assert_frame_equal(stored, counted, check_exact=True)


def test_record_keys_read_back_equal_hashing_again(published) -> None:
    frame = data.load_validated(published, "prisoner_periods")
    config = data.disclosure_config(published)
    hashed = cellkey.record_keys(frame["person_id"], secret=config.secret)
    stored = derived.record_keys(published, "prisoner_periods", len(frame))
    assert stored is not None
    np.testing.assert_array_equal(stored, hashed)
    np.testing.assert_array_equal(frame[cellkey.RECORD_KEY].to_numpy(), hashed)


def test_another_secret_never_reads_the_sums(small_demo, tmp_path) -> None:
    root = tmp_path / "data"
    shutil.copytree(small_demo.root, root, symlinks=True)
    paths = DataPaths(root).pinned()
    assert derived._folder_for(paths, "prisoner_periods") is not None
    (root / cellkey.CONFIG_FILE).write_text(
        'record_key_secret = "another secret of this deployment"\nrecord_key_version = "2"\n',
        encoding="utf-8",
    )
    config = data.disclosure_config(paths)
    assert (
        config.secret_fingerprint != data.disclosure_config(small_demo.pinned()).secret_fingerprint
    )
    assert derived._folder_for(paths, "prisoner_periods") is None
    frame = data.load_validated(paths, "prisoner_periods")
    hashed = cellkey.record_keys(frame["person_id"], secret=config.secret)
    np.testing.assert_array_equal(frame[cellkey.RECORD_KEY].to_numpy(), hashed)
    assert not derived.attach(paths, "prisoner_periods", frame)


def test_sums_of_another_extract_are_never_read(published, tmp_path) -> None:
    """A folder is named by the extract's checksum: a changed extract finds none."""
    frame = _loaded(published, "staff_periods")
    shorter = frame.iloc[:-1]
    assert derived.attach(published, "staff_periods", frame)
    assert not derived.attach(published, "staff_periods", shorter)


def test_views_read_the_stored_sums(published) -> None:
    """A frame with its sums attached answers from them: a window not stored is counted."""
    frame = _loaded(published, "prisoner_periods")
    assert derived.attach(published, "prisoner_periods", frame)
    latest = data.period_choices([str(p) for p in frame["period"].cat.categories], "rolling")[0]
    periods = data.quarters_in_period("rolling", latest)
    sums = windows.unit_sums(frame, "prisoner_periods", periods)
    counted = windows.compute_unit_sums(frame, "prisoner_periods", periods)
    for entry, table in counted.items():
        pd.testing.assert_frame_equal(sums[entry], table, check_exact=True)
    # Three quarters is no standard window: counted from the records, and the same way.
    odd = periods[:3]
    assert windows.unit_sums(frame, "prisoner_periods", odd) is not None


def test_unused_folders_are_removed(small_demo, tmp_path) -> None:
    root = tmp_path / "data"
    shutil.copytree(small_demo.root, root, symlinks=True)
    paths = DataPaths(root)
    stale = root / derived.FOLDER / "prisoner_periods-0000000000000000-aaaa-bbbb"
    stale.mkdir(parents=True)
    kept = sorted(p.name for p in (root / derived.FOLDER).iterdir() if p != stale)
    assert derived.prune(paths) == [stale.name]
    assert sorted(p.name for p in (root / derived.FOLDER).iterdir()) == kept


def test_the_derive_command_makes_them_again(small_demo, tmp_path) -> None:
    """After a code upgrade the sums are made again by ``derive``, without validating."""
    from equality_core.cli import main

    root = tmp_path / "data"
    shutil.copytree(small_demo.root, root, symlinks=True)
    shutil.rmtree(root / derived.FOLDER)
    paths = DataPaths(root).pinned()
    assert derived._folder_for(paths, "prisoner_periods") is None
    assert main(["derive", "--data", str(root)]) == 0
    assert all(derived._folder_for(paths, e) is not None for e in derived.EXTRACTS)


def test_sums_removed_under_a_running_dashboard_are_counted_instead(small_demo, tmp_path) -> None:
    """A newer publication may prune a folder a running process still reads from."""
    root = tmp_path / "data"
    shutil.copytree(small_demo.root, root, symlinks=True)
    paths = DataPaths(root).pinned()
    frame = _loaded(paths, "prisoner_periods")
    source = _source(paths, "prisoner_periods", frame)
    shutil.rmtree(derived._folder_for(paths, "prisoner_periods"))
    latest = data.period_choices([str(p) for p in frame["period"].cat.categories], "rolling")[0]
    assert source.window(data.quarters_in_period("rolling", latest)) is None
    assert source.trend(next(iter(MEASURES)), "ethnic_group") is None
