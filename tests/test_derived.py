"""The sums made at publication are exactly the sums the dashboard would count.

:mod:`equality_core.derived` stores, when an extract is published, its record keys and
every standard window's sums by unit (and each measure's sums by period). Here each is
read back and compared with counting the records again (:mod:`equality_core.windows`'s
own counting, itself held equal to counting the records directly in test_windows), for
every window and extract of the small demo, and for windows not stored that are added
from their quarters; and a folder made with another secret, or for another extract, is
never used.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sys
import types

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from equality_core import cellkey, data, derived, publish, windows
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


def _assert_same_sums(stored: dict, counted: dict) -> None:
    assert list(stored) == list(counted)
    for entry, table in counted.items():
        pd.testing.assert_frame_equal(stored[entry], table, check_exact=True)


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
        _assert_same_sums(stored, counted)
        checked += 1
    assert checked >= 3


def _windows_not_stored(quarters: list[str]) -> list[tuple[str, ...]]:
    """Pairs and runs of two or three quarters held, and odd windows, none standard.

    Odd windows: a quarter not held beside one held, quarters none of them held (no
    records), and a quarter twice.
    """
    held = sorted(quarters, key=data.quarter_index)
    runs = [tuple(held[i : i + n]) for n in (2, 3) for i in range(len(held) - n + 1)]
    chosen = [*itertools.combinations(held, 2), *runs]
    chosen += [
        ("2001-Q1", held[0]),
        ("2001-Q1", "2001-Q2"),
        (held[-1], held[0], held[-1]),
    ]
    standard = set(derived.standard_windows(held))
    return [w for w in dict.fromkeys(chosen) if w not in standard]


# Staff are held by financial year, each stored: no window of theirs is added.
@pytest.mark.parametrize(
    "extract", [e for e in derived.EXTRACTS if e not in ("prisoner_periods", "staff_periods")]
)
def test_windows_not_stored_are_added_from_their_quarters(published, extract) -> None:
    """Records not collapsed over a window: its sums are its quarters' sums, added."""
    frame = _loaded(published, extract)
    source = _source(published, extract, frame)
    quarters = [str(p) for p in frame["period"].cat.categories]
    assert all("-Q" in q for q in quarters)
    added = 0
    for periods in _windows_not_stored(quarters):
        counted = windows.compute_unit_sums(frame, extract, periods)
        stored = source.window(periods)
        if counted is None:
            assert stored is None, f"{extract} {periods}: sums of no records"
            continue
        assert stored is not None, f"{extract} {periods}: counted, not added"
        _assert_same_sums(stored, counted)
        added += 1
    assert added >= 10


def test_windows_not_stored_of_prisoners_are_counted(published) -> None:
    """Prisoners are collapsed per person and establishment over a window: not added."""
    frame = _loaded(published, "prisoner_periods")
    source = _source(published, "prisoner_periods", frame)
    unstored = _windows_not_stored([str(p) for p in frame["period"].cat.categories])
    assert unstored
    assert all(source.window(periods) is None for periods in unstored)


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


def test_person_codes_read_back_number_the_people_of_each_row(published) -> None:
    """The codes stored at publication group rows exactly as their person identifiers do."""
    frame = _loaded(published, "prisoner_periods")
    assert derived.attach(published, "prisoner_periods", frame)
    stored = data.person_codes(frame)
    assert (derived._folder_for(published, "prisoner_periods") / "person_codes.parquet").exists()
    # Same partition of the rows: numbered by first appearance, both give the same numbers.
    np.testing.assert_array_equal(pd.factorize(stored)[0], pd.factorize(frame["person_id"])[0])
    shorter = frame.iloc[:-1].reset_index(drop=True)
    with pytest.raises(ValueError, match="person codes"):
        data.use_person_codes(shorter, stored)


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


def test_windows_added_after_the_sums_are_removed_are_counted_instead(small_demo, tmp_path) -> None:
    """A window added from its quarters is counted instead once the file has gone.

    Never the sum of the quarters read before: here the file is cut short after the
    first quarter stored, so that quarter reads and the next one does not.
    """
    root = tmp_path / "data"
    shutil.copytree(small_demo.root, root, symlinks=True)
    paths = DataPaths(root).pinned()
    extract = "community_terminations"
    frame = _loaded(paths, extract)
    folder = derived._folder_for(paths, extract)
    stored = folder / "windows.parquet"
    quarters = sorted(map(str, frame["period"].cat.categories), key=data.quarter_index)
    first = json.loads((folder / "index.json").read_text())["windows"][0]
    periods = [first, quarters[0]]
    assert first != quarters[0] and tuple(periods) not in derived.standard_windows(quarters)
    assert _source(paths, extract, frame).window(periods) is not None
    chunks = pq.ParquetFile(stored).metadata.row_group(0)
    first_ends = max(
        (c.dictionary_page_offset or c.data_page_offset) + c.total_compressed_size
        for c in (chunks.column(i) for i in range(chunks.num_columns))
    )
    source = _source(paths, extract, frame)
    assert source.window([first]) is not None  # opens the file
    os.truncate(stored, first_ends)
    assert source.window([first]) is not None
    assert source.window(periods) is None
    windows.use_published(frame, source)
    counted = windows.compute_unit_sums(frame, extract, periods)
    _assert_same_sums(windows.unit_sums(frame, extract, periods), counted)
    stored.unlink()
    assert _source(paths, extract, frame).window(periods) is None


def test_a_window_is_not_added_from_quarters_read_before_the_sums_went(
    published, monkeypatch
) -> None:
    """Another reader may find the folder gone between two quarters: counted, not part-added."""
    extract = "community_terminations"
    frame = _loaded(published, extract)
    source = _source(published, extract, frame)
    quarters = sorted(map(str, frame["period"].cat.categories), key=data.quarter_index)
    read = source._stored_window

    def read_then_gone(label: str) -> dict | None:
        sums = read(label)
        source._windows.clear()  # as a reader in another thread does on finding it gone
        return sums

    monkeypatch.setattr(source, "_stored_window", read_then_gone)
    assert source.window([quarters[0], quarters[-1]]) is None


def test_every_windows_strata_equal_counting_the_records(published) -> None:
    """Prisoners' sums by unit, age band and disability, as stored and as counted."""
    extract = "prisoner_periods"
    frame = _loaded(published, extract)
    source = _source(published, extract, frame)
    names = [windows.strata_entry(*pair) for pair in windows.STRATA[extract]]
    checked = 0
    for periods in derived.standard_windows([str(p) for p in frame["period"].cat.categories]):
        counted = windows.compute_unit_sums(frame, extract, periods, strata=True)
        stored = source.strata(periods)
        if counted is None:
            assert stored is None
            continue
        assert stored is not None and list(stored) == names, f"{periods}: not stored"
        for name in names:
            pd.testing.assert_frame_equal(stored[name], counted[name], check_exact=True)
        checked += 1
    assert checked >= 3
    # Reading a window does not read them: they are not among its entries.
    latest = derived.standard_windows([str(p) for p in frame["period"].cat.categories])[0]
    assert not set(names) & set(source.window(latest))


@pytest.mark.parametrize(
    ("kind", "places", "within"),
    [
        ("rolling", (), None),
        ("rolling", (("region", "Women's Estate"),), None),
        ("quarter", (("establishment", "CAL"),), None),
        ("financial_year", (("function", "Category B local"),), None),
        ("rolling", (("region", "Yorkshire"), ("establishment", "CHA")), None),  # none there
        ("rolling", (), ("sex", "Female")),  # within a group: counted with its window
        ("quarter", (("region", "Women's Estate"),), ("ethnic_group", "White")),
    ],
)
@pytest.mark.parametrize("attached", [True, False])
def test_adjusted_rates_from_the_stored_strata_equal_counting_the_records(
    published, kind, places, within, attached
) -> None:
    """Objective 5's Mantel-Haenszel rates from the sums, against the records' own.

    The sums read as made at publication (``attached``), or counted with the window's
    sums (a window not made then, or a frame without them).
    """
    from equality_core import analysis
    from equality_core.analysis import (
        Selection,
        adjusted_relative_rates,
        adjusted_relative_rates_in,
        select,
    )

    extract = "prisoner_periods"
    frame = _loaded(published, extract)
    assert not attached or derived.attach(published, extract, frame)
    held = [str(p) for p in frame["period"].cat.categories]
    selection = Selection(kind, data.period_choices(held, kind)[0], places, within)
    measures = [m for m in MEASURES.values() if m.extract == extract and m.kind == "proportion"]
    arguments = {
        "measures": measures,
        "characteristic": "disability",
        "comparator": "Not disabled",
        "protection": cellkey.demo_config(),
    }
    from_sums = adjusted_relative_rates_in(
        frame, selection, extract, stratum="age_band", **arguments
    )
    records = select(frame, selection, extract)
    if records.empty:
        assert from_sums.empty
        return
    # From the sums (within a group, those counted with the group's window).
    assert (
        windows.stratum_counts_for(
            frame,
            extract,
            periods=analysis.periods_of(selection, extract),
            places=places,
            stratum="age_band",
            characteristic="disability",
            measures=measures,
            within=within,
        )
        is not None
    )
    counted = adjusted_relative_rates(records, strata=["age_band", "establishment"], **arguments)
    assert len(counted) and counted["adjusted_relative_rate"].notna().any()
    key = ["measure", "group"]
    pd.testing.assert_frame_equal(
        from_sums.sort_values(key, ignore_index=True),
        counted.sort_values(key, ignore_index=True),
        check_dtype=False,
    )


def _folder_contents(root) -> dict[str, object]:
    """Every file of every sums folder: Parquet as tables, the index without its timing."""
    out: dict[str, object] = {}
    for folder in sorted((root / derived.FOLDER).iterdir()):
        for file in sorted(folder.iterdir()):
            name = f"{folder.name}/{file.name}"
            if file.suffix == ".parquet":
                out[name] = pq.read_table(file)
            else:
                index = json.loads(file.read_text())
                index.pop("seconds")
                out[name] = index
    return out


def test_sums_made_in_several_processes_equal_those_made_in_one(
    small_demo, tmp_path, monkeypatch, submitted_to_processes
) -> None:
    """Extracts made side by side in worker processes give the very same folders.

    With a script as ``__main__`` that must not run again in a worker, as a Streamlit
    page is when a test's AppTest ran before in the same process.
    """
    script = tmp_path / "page.py"
    script.write_text('raise SystemExit("a worker ran the parent\'s __main__")\n')
    page = types.ModuleType("__main__")
    page.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", page)
    copies = {}
    for label in ("one", "two"):
        root = tmp_path / label
        shutil.copytree(small_demo.root, root, symlinks=True)
        shutil.rmtree(root / derived.FOLDER)
        copies[label] = root
    derived.build_published(DataPaths(copies["one"]), workers=1)
    # The small demo is below the size that pays for processes: lower it for this test.
    monkeypatch.setattr(derived, "PARALLEL_FROM_ROWS", 0)
    submitted = submitted_to_processes
    said: list[str] = []
    made = derived.build_published(DataPaths(copies["two"]), said.append, workers=2)
    assert sys.modules["__main__"] is page
    # Every extract went to a worker process, the largest first.
    assert sorted(submitted) == sorted(derived.EXTRACTS)
    assert submitted[0] == "prisoner_periods"
    assert sorted(p.name for p in made) == sorted(
        p.name for p in (copies["one"] / derived.FOLDER).iterdir()
    )
    assert len(made) == len(derived.EXTRACTS)
    assert sorted(line.split(":")[0] for line in said) == sorted(
        f"derived sums of {e}" for e in derived.EXTRACTS
    )
    one, two = _folder_contents(copies["one"]), _folder_contents(copies["two"])
    assert list(one) == list(two)
    for name, content in one.items():
        assert content.equals(two[name]) if hasattr(content, "equals") else content == two[name]


@pytest.mark.parametrize(
    ("text", "expected"), [("", min(2, os.cpu_count() or 1)), ("1", 1), ("999", None)]
)
def test_publish_workers_come_from_the_environment(monkeypatch, text, expected) -> None:
    monkeypatch.setenv(publish.WORKERS_VARIABLE, text)
    cpus = len(os.sched_getaffinity(0))
    assert publish.publish_workers() == (cpus if expected is None else min(expected, cpus))


@pytest.mark.parametrize("text", ["two", "0", "-1"])
def test_publish_workers_refuse_what_is_not_a_count(monkeypatch, text) -> None:
    monkeypatch.setenv(publish.WORKERS_VARIABLE, text)
    with pytest.raises(ValueError, match=publish.WORKERS_VARIABLE):
        publish.publish_workers()


def test_entries_of_a_window_are_its_rows_whether_together_or_not() -> None:
    """Each entry's rows and sums, by slices where they are together, else by a group-by."""
    table = pd.DataFrame(
        {
            derived._ENTRY: ["a", "a", "b", "c", "c", "c"],
            derived._UNIT: list("uvwxyz"),
            "n": [1, 2, 3, 4, 5, 6],
        }
    )
    keys = [derived._ENTRY, derived._UNIT]

    def as_lists(found):
        return [
            (e, list(part[derived._UNIT]), list(sums.columns), list(sums["n"]))
            for e, part, sums in found
        ]

    assert as_lists(derived._entries(table, keys)) == [
        ("a", ["u", "v"], ["n"], [1, 2]),
        ("b", ["w"], ["n"], [3]),
        ("c", ["x", "y", "z"], ["n"], [4, 5, 6]),
    ]
    apart = table.iloc[[0, 2, 1, 3, 4, 5]]  # the rows of "a" not together
    assert as_lists(derived._entries(apart, keys)) == [
        ("a", ["u", "v"], ["n"], [1, 2]),
        ("b", ["w"], ["n"], [3]),
        ("c", ["x", "y", "z"], ["n"], [4, 5, 6]),
    ]
    assert as_lists(derived._entries(table.iloc[:0], keys)) == []


@pytest.mark.parametrize("command", ["validate", "demo", "derive"])
def test_commands_refuse_a_bad_workers_count_before_any_work(
    small_demo, tmp_path, monkeypatch, capsys, command
) -> None:
    from equality_core.cli import main

    root = tmp_path / "data"
    shutil.copytree(small_demo.root, root, symlinks=True)
    before = sorted(p.name for p in (root / "generations").iterdir())
    monkeypatch.setenv(publish.WORKERS_VARIABLE, "two")
    assert main([command, "--data", str(root)]) == 2
    assert publish.WORKERS_VARIABLE in capsys.readouterr().err
    assert sorted(p.name for p in (root / "generations").iterdir()) == before


def test_sums_counted_on_two_threads_equal_those_counted_on_one(
    small_demo, tmp_path, monkeypatch
) -> None:
    """Windows counted two at a time give the very same folders, row groups in order."""
    contents = []
    for threads in (1, 2):
        root = tmp_path / f"threads-{threads}"
        shutil.copytree(small_demo.root, root, symlinks=True)
        shutil.rmtree(root / derived.FOLDER)
        monkeypatch.setattr(derived, "WINDOW_THREADS", threads)
        derived.build_published(DataPaths(root), workers=1)
        contents.append(_folder_contents(root))
    one, two = contents
    assert list(one) == list(two) and len(one) > len(derived.EXTRACTS)
    for name, content in one.items():
        assert content.equals(two[name]) if hasattr(content, "equals") else content == two[name]


def test_windows_counted_at_once_come_back_in_order_a_few_at_a_time(monkeypatch) -> None:
    import threading
    import time

    monkeypatch.setattr(derived, "WINDOW_THREADS", 2)
    lock = threading.Lock()
    running = {"now": 0, "most": 0}

    def count(periods):
        with lock:
            running["now"] += 1
            running["most"] = max(running["most"], running["now"])
        time.sleep(0.01 * (len(periods) % 3))  # later windows may finish first
        with lock:
            running["now"] -= 1
        return {"sum": len(periods)}

    wanted = [tuple(f"2025-Q{q}" for q in range(1, n + 1)) for n in (4, 1, 3, 2, 4, 1, 2)]
    got = list(derived._counted_in_order(count, wanted))
    assert [periods for periods, _ in got] == wanted
    assert [sums["sum"] for _, sums in got] == [len(p) for p in wanted]
    assert running["most"] == 2

    def fails(periods):
        raise RuntimeError(f"could not count {periods}")

    with pytest.raises(RuntimeError, match="could not count"):
        list(derived._counted_in_order(fails, wanted))
