"""Sums made once, when an extract is published, so the dashboard need not make them.

Loading an extract used to cost the dashboard, in every new process, a keyed hash of
every record (record keys, :mod:`equality_core.cellkey`) and then, for every window a
view asked for, the collapse of its records into sums by unit
(:mod:`equality_core.windows`). Both depend only on the published extract, the
record-key secret and the code that counts, so the validate run makes them once, after
publishing, into a folder named by exactly those three things:

``derived/<extract>-<checksum>-<secret fingerprint>-<code version>/``

- ``record_key.parquet``: each record's key, in the published file's row order;
- ``windows.parquet``: :func:`equality_core.windows.compute_unit_sums` for the standard
  windows (:func:`standard_windows`: each quarter, each financial year, and twelve
  months to each quarter), one Parquet row group per window.
  Any other window of quarters is the sum of its quarters' sums, and is read so, for
  every extract but prisoners (collapsed per person and establishment over a window,
  so theirs are counted from the records);
- ``strata.parquet``: for prisoners, the same windows' sums by unit, age band and
  disability (:data:`equality_core.windows.STRATA`), what objective 5's adjusted rates
  pool, in a file of their own so that reading a window does not read them;
- ``trends-<characteristic>.parquet``: every measure's sums by unit, period and group
  (:func:`equality_core.windows.compute_period_sums`), what trends add up;
- ``index.json``: what the folder holds, written last (a folder without it is ignored).

A folder whose name does not match (another secret, other code, another extract) is
never read: the dashboard counts from the records as before. These are the very sums the
views add up, so a view's figures and their protection are the same either way
(``tests/test_derived.py`` holds them equal). Folders no generation uses are removed.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import logging
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from equality_core import cellkey, data, windows
from equality_core.paths import DataPaths
from equality_core.publish import process_pool, publish_workers, usable_cpus
from equality_core.schema import CHARACTERISTICS

LOG = logging.getLogger("equality_monitor")

#: The data folder's subfolder holding the derived sums.
FOLDER = "derived"
#: Extracts whose sums are made (those with units).
EXTRACTS = tuple(windows.UNIT)
#: Modules whose code decides what the sums are: a change to any makes new folders.
_CODE = ("cellkey.py", "data.py", "derived.py", "measures.py", "schema.py", "windows.py")
_INDEX = "index.json"
_UNIT, _GROUP, _ENTRY, _PERIOD = "\0unit", "\0group", "\0entry", "\0period"
_STRATUM = "\0stratum"
_WINDOWS_FILE, _STRATA_FILE = "windows.parquet", "strata.parquet"


@functools.cache
def code_version() -> str:
    """A digest of the code that decides the sums (:data:`_CODE`)."""
    digest = hashlib.blake2b(digest_size=8)
    here = Path(__file__).parent
    for name in _CODE:
        digest.update(name.encode() + b"\0" + (here / name).read_bytes())
    return digest.hexdigest()


def folder_name(extract: str, checksum: str, fingerprint: str) -> str:
    """The folder of one extract's sums: extract, checksum, secret and code."""
    return f"{extract}-{checksum[:16]}-{fingerprint}-{code_version()}"


def standard_windows(periods: Sequence[str]) -> list[tuple[str, ...]]:
    """The windows whose sums are made in advance, for the periods held, each once.

    Every quarter, every financial year and the twelve months to every quarter: every
    window a period filter offers. An extract by financial year (staff) has each year.
    Other windows of quarters are added from their quarters
    (:meth:`PublishedSums.window`), or for prisoners counted when first asked for.

    A prisoner window costs a collapse of its records (a year's, for twelve months):
    the tenth round made them all, once counting a window had become cheaper, where
    only the latest twelve had been made and older ones took a second to count on
    screen. Every other extract's windows of quarters are sums of their quarters' sums.
    """
    if not all("-Q" in p for p in periods):
        return [(p,) for p in sorted(periods, reverse=True)]
    found: dict[tuple[str, ...], None] = {}
    for kind in data.PERIOD_KINDS:
        ends = data.period_choices(periods, kind)
        for end in ends:
            found.setdefault(tuple(data.quarters_in_period(kind, end)), None)
    return list(found)


def _window_label(periods: Sequence[str]) -> str:
    return "|".join(periods)


def _entry_table(entry: str, table: pd.DataFrame) -> pd.DataFrame:
    """One entry of a window's sums as plain columns (unit, group, the sums)."""
    out = table.reset_index()
    unit_column, *rest = list(table.index.names)
    renamed = {unit_column: _UNIT}
    if rest:
        renamed[rest[0]] = _GROUP
    out = out.rename(columns=renamed)
    if _GROUP in out.columns:
        out[_GROUP] = out[_GROUP].astype("str")
    else:
        out.insert(1, _GROUP, pd.Series([None] * len(out), dtype="str"))
    out.insert(0, _ENTRY, entry)
    return out


def build(paths: DataPaths, extract: str, checksum: str) -> Path | None:
    """Make the sums of a published extract (if not made already); returns their folder.

    ``checksum`` is the extract's published ``source_sha256``. Reads the published file
    of the generation ``paths`` names.
    """
    target = _target(paths, extract, checksum)
    if target is None or (target / _INDEX).exists():
        return target
    started = time.perf_counter()
    frame = data.load_validated(paths, extract, derived_keys=False)
    temporary = target.with_name(f".tmp-{target.name}-{time.time_ns()}")
    temporary.mkdir(parents=True)
    try:
        index = _write(temporary, frame, extract)
        index.update(
            extract=extract,
            source_sha256=checksum,
            record_key_fingerprint=data.disclosure_config(paths).secret_fingerprint,
            code_version=code_version(),
            rows=len(frame),
            seconds=round(time.perf_counter() - started, 1),
        )
        (temporary / _INDEX).write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
        try:
            temporary.rename(target)
        except OSError:
            if not (target / _INDEX).exists():  # not another run's same folder
                raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return target


def _write(folder: Path, frame: pd.DataFrame, extract: str) -> dict:
    keys = frame.get(cellkey.RECORD_KEY)
    if keys is not None:
        pq.write_table(
            pa.table({cellkey.RECORD_KEY: keys.to_numpy(dtype="uint8")}),
            folder / "record_key.parquet",
        )
    if "person_id" in frame.columns:
        pq.write_table(
            pa.table({"person": data.person_codes(frame).astype(np.int32)}),
            folder / "person_codes.parquet",
        )
    periods_held = [str(p) for p in frame["period"].cat.categories]
    with_rows = frame["period"].value_counts()
    written = []
    # A single period's sums are its records' sums as they are (prisoners are one row
    # per person and establishment in a quarter): a trend is those sums, period by period.
    by_period: dict[str, dict[str, pd.DataFrame]] = {}
    strata_names = {windows.strata_entry(*pair) for pair in windows.STRATA.get(extract, ())}
    writer = strata_writer = None
    strata_written: list[str] = []
    try:
        # Single periods first: a window of records not collapsed (every extract but
        # prisoners) is the sum of its periods' sums, which is far cheaper than counting.
        additive = extract != "prisoner_periods"
        made = [
            periods
            for periods in sorted(standard_windows(periods_held), key=len)
            if with_rows.reindex(list(periods)).fillna(0).sum()
        ]
        counted = _counted_in_order(
            lambda periods: windows.compute_unit_sums(frame, extract, periods, strata=True),
            [periods for periods in made if len(periods) == 1 or not additive],
        )
        for periods in made:
            if len(periods) > 1 and additive:
                sums = _added([by_period[p] for p in periods if p in by_period])
            else:
                counted_periods, sums = next(counted)
                assert counted_periods == periods
            if sums is None:
                continue
            strata = {entry: sums.pop(entry) for entry in list(sums) if entry in strata_names}
            if strata:
                table = pd.concat(
                    [_strata_table(entry, part) for entry, part in strata.items()],
                    ignore_index=True,
                )
                arrow = pa.Table.from_pandas(table, preserve_index=False)
                if strata_writer is None:
                    strata_writer = pq.ParquetWriter(folder / _STRATA_FILE, arrow.schema)
                strata_writer.write_table(arrow, row_group_size=len(table) + 1)
                strata_written.append(_window_label(periods))
            if len(periods) == 1:
                by_period[periods[0]] = sums
            table = pd.concat(
                [_entry_table(entry, part) for entry, part in sums.items()], ignore_index=True
            )
            arrow = pa.Table.from_pandas(table, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(folder / _WINDOWS_FILE, arrow.schema)
            writer.write_table(arrow, row_group_size=len(table) + 1)
            written.append(_window_label(periods))
    finally:
        for open_writer in (writer, strata_writer):
            if open_writer is not None:
                open_writer.close()
    trends = []
    if by_period and set(by_period) == {str(p) for p in with_rows[with_rows > 0].index}:
        for characteristic in CHARACTERISTICS:
            if characteristic not in frame.columns:
                continue
            parts = [
                sums[characteristic].reset_index().assign(**{_PERIOD: period})
                for period, sums in by_period.items()
            ]
            table = pd.concat(parts, ignore_index=True)
            unit = windows.UNIT[extract]
            table = table.rename(columns={unit: _UNIT, characteristic: _GROUP})
            table[_GROUP] = table[_GROUP].astype("str")
            columns = [c for c in table.columns if c not in (_UNIT, _PERIOD, _GROUP)]
            measures = [c for c in columns if not c.startswith("\0")]
            table = table[[_UNIT, _PERIOD, _GROUP, *measures]]
            pq.write_table(
                pa.Table.from_pandas(table, preserve_index=False),
                folder / f"trends-{characteristic}.parquet",
            )
            trends.append(characteristic)
    return {"windows": written, "trends": trends, "strata": strata_written}


#: Windows counted from the records at once while making an extract's sums: two on a
#: machine with two cores or more (:func:`_counted_in_order`).
WINDOW_THREADS = min(2, usable_cpus())


def _counted_in_order(
    count: Callable[[tuple[str, ...]], dict | None], windows_wanted: list[tuple[str, ...]]
) -> Iterator[tuple[tuple[str, ...], dict | None]]:
    """Each window with its ``count``, in order, :data:`WINDOW_THREADS` counted at once.

    Prisoners' windows are each collapsed and counted from the records, the longest part
    of publishing (168 of 184 s five times national), on one core while the other
    extracts were done. Much of a window's count is NumPy, which lets go of the
    interpreter's lock, so two threads count the windows a third quicker, each holding
    its own window's working set. Never more than the threads' windows are in flight
    beyond the one handed back, and they are handed back in order, so the files written
    are the same.
    """
    if WINDOW_THREADS < 2:
        for periods in windows_wanted:
            yield periods, count(periods)
        return
    waiting = iter(windows_wanted)
    with ThreadPoolExecutor(WINDOW_THREADS, thread_name_prefix="equality-sums") as pool:
        in_flight = deque(
            (periods, pool.submit(count, periods))
            for periods in itertools.islice(waiting, WINDOW_THREADS)
        )
        while in_flight:
            periods, future = in_flight.popleft()
            result = future.result()
            following = next(waiting, None)
            if following is not None:
                in_flight.append((following, pool.submit(count, following)))
            yield periods, result


def _entries(
    table: pd.DataFrame, keys: list[str]
) -> Iterator[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """Each entry of a stored window: its name, its rows, and their sums (``keys`` left out).

    The rows of an entry are written together (:func:`_write`), so each is a slice of
    the table: cheaper than splitting it by a group-by and dropping the key columns of
    every part (a third of reading an older window). Split by a group-by if an entry's
    rows are not together.
    """
    names = table[_ENTRY].to_numpy()
    if not len(names):
        return
    starts = np.flatnonzero(np.r_[True, names[1:] != names[:-1]])
    if len(set(names[starts])) < len(starts):
        for entry, part in table.groupby(_ENTRY, sort=False):
            yield str(entry), part, part.drop(columns=keys)
        return
    sums = table.drop(columns=keys)
    for start, end in zip(starts, [*starts[1:], len(names)], strict=True):
        yield str(names[start]), table.iloc[start:end], sums.iloc[start:end]


def _strata_table(entry: str, table: pd.DataFrame) -> pd.DataFrame:
    """One :data:`windows.STRATA` entry of a window as plain columns (unit, stratum, group)."""
    out = table.reset_index()
    unit_column, stratum, characteristic = list(table.index.names)
    out = out.rename(columns={unit_column: _UNIT, stratum: _STRATUM, characteristic: _GROUP})
    for column in (_STRATUM, _GROUP):
        out[column] = out[column].astype("str")
    out.insert(0, _ENTRY, entry)
    return out


def _added(parts: list[dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame] | None:
    """The sums of a window from its periods' sums, as counting its records gives them.

    Every group of every unit with records in any of the periods, in the same order.
    """
    if not parts:
        return None
    out = {}
    for entry in parts[0]:
        stacked = pd.concat([part[entry] for part in parts])
        levels = list(range(stacked.index.nlevels))
        out[entry] = stacked.groupby(level=levels, observed=False, sort=True).sum()
    return out


class PublishedSums:
    """The derived sums of one loaded frame, read a window or a trend at a time.

    Implements :class:`equality_core.windows.Published`. Holds the frame's categories,
    not the frame, so each table is rebuilt with exactly the dtypes counting gives.
    """

    def __init__(self, folder: Path, frame: pd.DataFrame, extract: str, index: dict):
        self._folder = folder
        self._extract = extract
        self._unit = windows.UNIT[extract]
        self._dtypes = {
            c: frame[c].dtype for c in ("period", *CHARACTERISTICS) if c in frame.columns
        }
        # As counting makes the units (as text), from one row rather than millions.
        self._unit_dtype = frame[self._unit].iloc[:1].astype(str).dtype
        self._windows = {label: i for i, label in enumerate(index.get("windows", []))}
        # Every quarter of the categories is a standard window, stored unless it has no
        # records. Kept apart from _windows, which empties when the folder is gone.
        self._quarters_stored = frozenset(
            q for q in self._dtypes["period"].categories if _window_label([q]) in self._windows
        )
        self._trends = set(index.get("trends", []))
        self._strata = {label: i for i, label in enumerate(index.get("strata", []))}
        self._lock = threading.Lock()
        #: Each file read so far, by name, opened once.
        self._files: dict[str, pq.ParquetFile] = {}

    def _units(self, values: pd.Series) -> pd.Index:
        return pd.Index(values.to_numpy(), dtype=self._unit_dtype, name=self._unit)

    def window(self, periods: Sequence[str]) -> dict[str, pd.DataFrame] | None:
        """:func:`equality_core.windows.compute_unit_sums` of a window, or None if not made.

        A window of quarters not stored itself is added from its quarters' stored sums,
        for every extract but prisoners (collapsed over the window, so not additive).
        None if the folder has gone, never a partial sum: the caller counts instead.
        """
        label = _window_label(periods)
        additive = self._extract != "prisoner_periods" and all("-Q" in p for p in periods)
        if label in self._windows or len(periods) < 2 or not additive:
            return self._stored_window(label)
        parts = []
        # A quarter held twice is counted once, as counting the records does.
        for quarter in dict.fromkeys(periods):
            if quarter not in self._quarters_stored:
                continue  # no records in it
            sums = self._stored_window(_window_label([quarter]))
            if sums is None:
                return None
            parts.append(sums)
        return _added(parts)

    def _row_group(self, name: str, held: dict[str, int], label: str) -> pd.DataFrame | None:
        """The row group of window ``label`` in file ``name``, whose windows ``held`` lists.

        None if not held, or if the file has gone (a newer publication pruned it): then
        ``held`` is emptied, so that the caller and later ones count instead.
        """
        position = held.get(label)
        if position is None:
            return None
        try:
            with self._lock:
                if name not in self._files:
                    self._files[name] = pq.ParquetFile(self._folder / name)
                return self._files[name].read_row_group(position).to_pandas()
        except OSError:
            LOG.warning("derived sums in %s are gone; counting from the records", self._folder)
            held.clear()
            return None

    def _stored_window(self, label: str) -> dict[str, pd.DataFrame] | None:
        table = self._row_group(_WINDOWS_FILE, self._windows, label)
        if table is None:
            return None
        out: dict[str, pd.DataFrame] = {}
        for entry, part, sums in _entries(table, [_ENTRY, _UNIT, _GROUP]):
            units = self._units(part[_UNIT])
            if entry == windows.EVERYONE:
                index = units
            else:
                groups = pd.CategoricalIndex(
                    part[_GROUP].to_numpy(), dtype=self._dtypes[entry], name=entry
                )
                index = pd.MultiIndex.from_arrays([units, groups])
            out[entry] = sums.set_axis(index, axis=0)
        return out

    def strata(self, periods: Sequence[str]) -> dict[str, pd.DataFrame] | None:
        """A window's :data:`equality_core.windows.STRATA` sums, or None if not made.

        Each indexed by unit, stratum and group, every combination of the units with
        records, as :func:`equality_core.windows.compute_unit_sums` counts them.
        """
        table = self._row_group(_STRATA_FILE, self._strata, _window_label(periods))
        if table is None:
            return None
        out: dict[str, pd.DataFrame] = {}
        for entry, part, sums in _entries(table, [_ENTRY, _UNIT, _STRATUM, _GROUP]):
            stratum, characteristic = entry.split("\0")
            index = pd.MultiIndex.from_arrays(
                [
                    self._units(part[_UNIT]),
                    pd.CategoricalIndex(
                        part[_STRATUM].to_numpy(), dtype=self._dtypes[stratum], name=stratum
                    ),
                    pd.CategoricalIndex(
                        part[_GROUP].to_numpy(),
                        dtype=self._dtypes[characteristic],
                        name=characteristic,
                    ),
                ]
            )
            out[entry] = sums.set_axis(index, axis=0)
        return out

    def trend(self, measure: str, characteristic: str) -> pd.DataFrame | None:
        """:func:`equality_core.windows.compute_period_sums` of one measure, or None."""
        if characteristic not in self._trends:
            return None
        prefix = f"{measure}\0"
        path = self._folder / f"trends-{characteristic}.parquet"
        try:
            names = [n for n in pq.read_schema(path).names if n.startswith(prefix)]
            if not names:
                return None
            table = pq.read_table(path, columns=[_UNIT, _PERIOD, _GROUP, *names]).to_pandas()
        except OSError:
            LOG.warning("derived sums in %s are gone; counting from the records", self._folder)
            self._trends.clear()
            return None
        units = self._units(table[_UNIT])
        index = pd.MultiIndex.from_arrays(
            [
                units,
                pd.CategoricalIndex(
                    table[_PERIOD].to_numpy(), dtype=self._dtypes["period"], name="period"
                ),
                pd.CategoricalIndex(
                    table[_GROUP].to_numpy(),
                    dtype=self._dtypes[characteristic],
                    name=characteristic,
                ),
            ]
        )
        # Counting over the whole frame gives every unit, period and group, with zeros.
        full = pd.MultiIndex.from_product(
            [
                units.unique().sort_values(),
                pd.CategoricalIndex(
                    self._dtypes["period"].categories, dtype=self._dtypes["period"]
                ),
                pd.CategoricalIndex(
                    self._dtypes[characteristic].categories, dtype=self._dtypes[characteristic]
                ),
            ],
            names=[self._unit, "period", characteristic],
        )
        return table[names].set_axis(index, axis=0).reindex(full, fill_value=0)


def _target(paths: DataPaths, extract: str, checksum: str) -> Path | None:
    """Where an extract's sums go under the data folder's secret and this code (or None)."""
    if extract not in EXTRACTS or not checksum:
        return None
    fingerprint = data.disclosure_config(paths).secret_fingerprint
    return paths.root / FOLDER / folder_name(extract, checksum, fingerprint)


def _folder_for(paths: DataPaths, extract: str) -> Path | None:
    """The published extract's sums folder, if it was made (whole) for this secret and code."""
    entry = data.read_manifest(paths).get("extracts", {}).get(extract, {})
    folder = _target(paths, extract, entry.get("source_sha256", ""))
    return folder if folder is not None and (folder / _INDEX).exists() else None


def record_keys(paths: DataPaths, extract: str, rows: int) -> np.ndarray | None:
    """The published extract's record keys made at publication, or None if not made."""
    folder = _folder_for(paths, extract)
    if folder is None or not (folder / "record_key.parquet").exists():
        return None
    keys = pq.read_table(folder / "record_key.parquet").column(0).to_numpy().astype(np.int64)
    if len(keys) != rows:
        LOG.warning("derived record keys of %s do not match its rows; recomputing", extract)
        return None
    return keys


def attach(paths: DataPaths, extract: str, frame: pd.DataFrame) -> bool:
    """Let :mod:`equality_core.windows` read ``frame``'s sums from its derived folder.

    ``frame`` must be the published extract as loaded (its rows in the file's order,
    before any restriction to a place). False if no folder was made for it.
    """
    folder = _folder_for(paths, extract)
    if folder is None:
        return False
    try:
        index = json.loads((folder / _INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if index.get("rows") != len(frame):
        return False
    windows.use_published(frame, PublishedSums(folder, frame, extract, index))
    people = folder / "person_codes.parquet"
    if people.exists():
        try:
            codes = pq.read_table(people).column(0).to_numpy().astype(np.int64)
            data.use_person_codes(frame, codes)
        except (OSError, ValueError, pa.ArrowException):
            LOG.warning("person codes of %s cannot be read; they are made when needed", extract)
    return True


#: Below this many records to count in all, every extract is counted in this process:
#: starting a process (importing pandas and the rest) costs more than it saves.
PARALLEL_FROM_ROWS = 1_000_000


def build_published(paths: DataPaths, progress=None, *, workers: int | None = None) -> list[Path]:
    """Make the sums of every extract the current generation publishes, if not made.

    Extracts are independent: with more than one to make and at least
    :data:`PARALLEL_FROM_ROWS` records among them, they are made in up to ``workers``
    processes at once (default :func:`equality_core.publish.publish_workers`), the
    largest first, so that the others are made beside it. At national scale prisoners
    take two thirds of the time, which the others now share.
    """
    pinned = paths.pinned()
    published = data.read_manifest(pinned).get("extracts", {})
    jobs = [
        (extract, str(entry.get("source_sha256", "")), int(entry.get("rows") or 0))
        for extract, entry in sorted(published.items())
        if extract in EXTRACTS
    ]
    to_make = [job for job in jobs if not _made(pinned, job[0], job[1])]
    workers = publish_workers() if workers is None else max(1, workers)
    parallel = (
        workers > 1
        and len(to_make) > 1
        and sum(rows for _, _, rows in to_make) >= PARALLEL_FROM_ROWS
    )
    folders: dict[str, Path | None] = {}
    if parallel:
        largest_first = sorted(to_make, key=lambda job: -job[2])
        with process_pool(min(workers, len(to_make))) as pool:
            running = {
                pool.submit(_timed_build, pinned, extract, checksum): extract
                for extract, checksum, _ in largest_first
            }
            for done in as_completed(running):
                folder, took = done.result()
                folders[running[done]] = folder
                _report(progress, running[done], folder, took)
    made = []
    for extract, checksum, _ in jobs:
        if extract in folders:
            folder = folders[extract]
        else:
            folder, took = _timed_build(pinned, extract, checksum)
            _report(progress, extract, folder, took)
        if folder is not None:
            made.append(folder)
    prune(paths)
    return made


def _made(paths: DataPaths, extract: str, checksum: str) -> bool:
    target = _target(paths, extract, checksum)
    return target is None or (target / _INDEX).exists()


def _timed_build(paths: DataPaths, extract: str, checksum: str) -> tuple[Path | None, float]:
    """:func:`build`, and the seconds it took (in whichever process made it)."""
    started = time.perf_counter()
    folder = build(paths, extract, checksum)
    return folder, time.perf_counter() - started


def _report(progress, extract: str, folder: Path | None, took: float) -> None:
    if progress and folder is not None:
        progress(f"derived sums of {extract}: {folder.name} ({took:.1f} s)")


def prune(paths: DataPaths) -> list[str]:
    """Remove derived folders that no kept generation publishes; returns their names."""
    root = paths.root / FOLDER
    if not root.exists():
        return []
    fingerprint = data.disclosure_config(paths).secret_fingerprint
    used = set()
    generations = paths.generations.iterdir() if paths.generations.exists() else []
    for generation in generations:
        try:
            manifest = json.loads((generation / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for extract, entry in manifest.get("extracts", {}).items():
            checksum = str(entry.get("source_sha256", ""))
            used.add(folder_name(extract, checksum, fingerprint))
    removed = []
    for folder in root.iterdir():
        if folder.name not in used:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed
