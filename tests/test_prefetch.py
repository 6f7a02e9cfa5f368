"""Extracts read ahead in a new process are the extracts read on demand, or not used at all.

:mod:`equality_core.prefetch` reads the published Parquet in a background thread while
the dashboard's modules load; ``data.load_validated`` takes a table read ahead only if its
file is still the one read. Checked on a copy of the small demo against reading it again.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pyarrow.parquet as pq
import pytest

from equality_core import data, prefetch
from equality_core.paths import DataPaths

NAMES = ["staff_periods", "establishments"]


@pytest.fixture
def demo_copy(small_demo: DataPaths, tmp_path) -> DataPaths:
    root = tmp_path / "data"
    shutil.copytree(small_demo.root, root, symlinks=True)
    return DataPaths(root)


@pytest.fixture
def prefetcher(monkeypatch) -> prefetch.Prefetcher:
    """A prefetcher of the test's own, as ``load_validated`` finds the process's one."""
    fresh = prefetch.Prefetcher(kept_seconds=30)
    monkeypatch.setattr(prefetch, "PREFETCHER", fresh)
    monkeypatch.delenv("EQUALITY_MONITOR_PREFETCH", raising=False)
    return fresh


def test_an_extract_read_ahead_is_the_extract_read_on_demand(demo_copy, prefetcher) -> None:
    on_demand = {name: data.load_validated(demo_copy, name) for name in NAMES}
    assert prefetch.start(demo_copy) is not None
    assert prefetch.start(demo_copy) is None, "once per process"
    assert prefetcher.ready(timeout=60)
    paths = demo_copy.pinned()
    for name in NAMES:
        read_ahead = data.load_validated(paths, name)
        pd.testing.assert_frame_equal(read_ahead, on_demand[name])
        # It was the table read ahead (given once), not a second read.
        assert prefetcher.take(paths.validated_file(name)) is None


def test_a_file_published_again_after_the_read_ahead_is_read_afresh(demo_copy, prefetcher) -> None:
    paths = demo_copy.pinned()
    assert prefetcher.start(demo_copy, names=["staff_periods"]) is not None
    assert prefetcher.ready(timeout=60)
    path = paths.validated_file("staff_periods")
    table = pq.read_table(path)
    shorter = table.slice(0, table.num_rows - 7)
    path.unlink()  # a new file (inode), as publishing writes one
    pq.write_table(shorter, path)
    frame = data.load_validated(paths, "staff_periods")
    assert len(frame) == table.num_rows - 7


def test_nothing_published_starts_nothing(tmp_path, prefetcher) -> None:
    assert prefetcher.start(DataPaths(tmp_path / "empty")) is None


def test_a_table_not_taken_in_time_is_let_go(demo_copy) -> None:
    brief = prefetch.Prefetcher(kept_seconds=0.2)
    thread = brief.start(demo_copy, names=["establishments"])
    assert thread is not None
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert brief.take(demo_copy.pinned().validated_file("establishments")) is None


def test_turned_off_it_reads_nothing_ahead(demo_copy, prefetcher, monkeypatch) -> None:
    monkeypatch.setenv("EQUALITY_MONITOR_PREFETCH", "0")
    assert prefetch.start(demo_copy) is None
