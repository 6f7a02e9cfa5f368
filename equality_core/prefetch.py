"""Read the published extracts in the background while a new dashboard process starts.

A new process spends its first page view importing pandas, SciPy and Altair (about 1.8 s)
and then reading the extracts (about 2 s at national scale, mostly decompressing the
prisoner extract and allocating its memory). Reading Parquet releases the GIL, so started
first, in a thread of its own, it runs on another core while the imports hold this one:
:func:`equality_core.data.load_validated` then takes the table already read.

Only the Arrow tables are kept, each until it is taken (once) or for
:data:`KEPT_SECONDS`. A table is used only if its file is the one that was read (same
path, size, modification time and inode), so a publication in between is read afresh.
This module imports no pandas: it must be cheap to import before everything else.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from equality_core.paths import DataPaths
from equality_core.schema import EXTRACTS

LOG = logging.getLogger(__name__)

#: What every first page view reads, largest first: the extracts of the overview.
PREFETCHED = (
    "prisoner_periods",
    "community_terminations",
    "community_journey",
    "staff_periods",
    "establishments",
)
#: How long a table read ahead waits to be taken before it is let go.
KEPT_SECONDS = 300.0
#: Text columns without a fixed list of values that are still few in distinct values.
CODED_FREE_TEXT = ("establishment", "period", "division")


def coded_columns(name: str) -> list[str]:
    """The extract's text columns read as Parquet dictionaries (categoricals in pandas)."""
    return [
        c.name for c in EXTRACTS[name].columns if c.allowed is not None or c.name in CODED_FREE_TEXT
    ]


def read_table(path: Path, name: str) -> pa.Table:
    """The published Parquet of extract ``name``, coded columns as dictionaries."""
    present = set(pq.read_schema(path).names)
    return pq.read_table(path, read_dictionary=[c for c in coded_columns(name) if c in present])


def _identity(path: Path) -> tuple[int, int, int]:
    found = path.stat()
    return found.st_size, found.st_mtime_ns, found.st_ino


class Prefetcher:
    """Tables read ahead in one background thread, each given out once."""

    def __init__(self, kept_seconds: float = KEPT_SECONDS) -> None:
        self.kept_seconds = kept_seconds
        self._condition = threading.Condition()
        self._tables: dict[str, tuple[tuple[int, int, int], pa.Table]] = {}
        self._pending: set[str] = set()
        self._started = False

    def start(self, paths: DataPaths, names: Sequence[str] = PREFETCHED) -> threading.Thread | None:
        """Start reading the published ``names``, once: the thread, or None if not started.

        Nothing is read if nothing is published.
        """
        with self._condition:
            if self._started:
                return None
        pinned = paths.pinned()
        wanted = [(name, pinned.validated_file(name)) for name in names]
        wanted = [(name, path) for name, path in wanted if path.exists()]
        with self._condition:
            if self._started or not wanted:
                return None
            self._started = True
            self._pending.update(str(path) for _, path in wanted)
        thread = threading.Thread(
            target=self._read_all, args=(wanted,), name="equality-monitor-prefetch", daemon=True
        )
        thread.start()
        return thread

    def _read_all(self, wanted: list[tuple[str, Path]]) -> None:
        for name, path in wanted:
            try:
                entry = (_identity(path), read_table(path, name))
            except Exception:  # the page reads it itself, and reports any error there
                LOG.debug("could not read %s ahead", path, exc_info=True)
                entry = None
            with self._condition:
                self._pending.discard(str(path))
                if entry is not None:
                    self._tables[str(path)] = entry
                self._condition.notify_all()
        with self._condition:  # what is not taken in time is let go
            self._condition.wait_for(lambda: not self._tables, timeout=self.kept_seconds)
            self._tables.clear()

    def ready(self, timeout: float | None = None) -> bool:
        """Wait until every table started is read (or failed); False on timeout."""
        with self._condition:
            return self._condition.wait_for(lambda: not self._pending, timeout=timeout)

    def take(self, path: Path) -> pa.Table | None:
        """The table read ahead from ``path`` (waiting while it is being read), or None.

        A table is given once; None if it was not read ahead, failed, or its file changed.
        """
        key = str(path)
        with self._condition:
            self._condition.wait_for(lambda: key not in self._pending)
            entry = self._tables.pop(key, None)
            self._condition.notify_all()
        if entry is None:
            return None
        try:
            same = _identity(path) == entry[0]
        except OSError:
            same = False
        return entry[1] if same else None


#: The process's prefetcher: started by the dashboard, taken from by ``load_validated``.
PREFETCHER = Prefetcher()


def start(paths: DataPaths) -> threading.Thread | None:
    """:meth:`Prefetcher.start` of the process's prefetcher, unless turned off."""
    return PREFETCHER.start(paths) if enabled() else None


def take(path: Path) -> pa.Table | None:
    """:meth:`Prefetcher.take` of the process's prefetcher."""
    return PREFETCHER.take(path)


def enabled() -> bool:
    """False if ``EQUALITY_MONITOR_PREFETCH=0``: read on demand only (for measuring)."""
    return os.environ.get("EQUALITY_MONITOR_PREFETCH", "1") != "0"
