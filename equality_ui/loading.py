"""Loading validated extracts once per process, shared by every session.

Every script run reads one generation of the published set: the first call in a run pins
the generation that ``validated`` names then, and every later call in that run reads the
same one, so a generation published meanwhile is never mixed with the one a page began
with. The next run picks the new generation up.

Frames live in ``st.cache_resource`` (one copy, not pickled per rerun) keyed on the
extract's checksum in the manifest (and, for extracts given establishment attributes,
the establishments' checksum), so a newly published extract is picked up and an
unchanged one is never read twice. Pages must treat the frames as read-only.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import os
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from equality_core import access, data, derived
from equality_core.paths import DataPaths, resolve_data_dir
from equality_core.publish import usable_cpus
from equality_ui import identity

LOG = logging.getLogger("equality_monitor")

#: Extracts that carry an establishment code and get its region, function and estate.
_PLACED = (
    "prisoner_periods",
    "deaths_in_custody",
    "staff_periods",
    "prisoner_survey",
    "staff_survey",
)

#: Environment variable: published data older than this many days are flagged on every page.
STALE_AFTER_VARIABLE = "EQUALITY_MONITOR_STALE_AFTER_DAYS"
STALE_AFTER_DAYS = 120

_PIN = "_equality_monitor_generation"


def data_paths() -> DataPaths:
    """The data folder: ``EQUALITY_MONITOR_DATA`` if set, else ``data/``."""
    return resolve_data_dir()


def published_paths() -> DataPaths:
    """The data folder pinned to one generation of the published set for this script run.

    Pinned on the run's context: a new run (``ctx.cursors`` is new each run) pins afresh;
    a fragment's rerun keeps the generation the page was drawn from.
    """
    paths = data_paths()
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return paths.pinned()
    pin = getattr(ctx, _PIN, None)
    same_run = pin is not None and (pin[1] is ctx.cursors or bool(ctx.fragment_ids_this_run))
    if same_run and pin[0] == str(paths.root):
        return pin[2]
    pinned = paths.pinned()
    setattr(ctx, _PIN, (str(paths.root), ctx.cursors, pinned))
    return pinned


def _generation_key(paths: DataPaths) -> tuple[str, str, int]:
    manifest = paths.manifest
    stamp = manifest.stat().st_mtime_ns if manifest.exists() else 0
    return str(paths.root), str(paths.generation or ""), stamp


_MANIFEST = "_equality_monitor_manifest"


def manifest() -> dict:
    """The manifest of the generation this run reads (empty if nothing is published).

    Read once per script run: pages ask for it over a hundred times a run, and each hit
    of ``st.cache_data`` unpickles a copy; its file is looked at only the first time,
    since the run reads one pinned generation, whose manifest does not change. Callers
    must not modify it.
    """
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return _manifest(*_generation_key(published_paths()))
    held = getattr(ctx, _MANIFEST, None)
    if held is not None and held[0] is ctx.cursors:
        return held[2]
    key = _generation_key(published_paths())
    found = _manifest(*key)
    setattr(ctx, _MANIFEST, (ctx.cursors, key, found))
    return found


@st.cache_data(show_spinner=False, max_entries=16)
def _manifest(root: str, generation: str, stamp: int) -> dict:
    paths = DataPaths(Path(root), Path(generation) if generation else None)
    try:
        return data.read_manifest(paths)
    except (OSError, ValueError):
        LOG.exception("could not read the manifest of %s", generation or root)
        return {"extracts": {}}


@st.cache_resource(show_spinner="Loading the validated extract…", max_entries=24)
def _load(root: str, name: str, checksum: str, _paths: DataPaths) -> pd.DataFrame:
    # ``checksum`` holds the establishments' checksum too for placed extracts, so the
    # attributes attached always come from the same generation as the rows.
    # Started ahead by :func:`prefetch` (same generation and checksum): wait for that read.
    key = (root, name, checksum)
    with _AHEAD_LOCK:
        _STARTED.add(key)
        ahead = _AHEAD.pop(name, None)
    if ahead is not None and ahead[0] == key:
        return ahead[1].result()
    return _read(_paths, name)


def _read(paths: DataPaths, name: str) -> pd.DataFrame:
    """The published extract ``name``, with its establishments' attributes and sums."""
    frame = data.load_validated(paths, name)
    if name in _PLACED:
        establishments = data.load_validated(paths, "establishments")
        frame = data.attach_establishment_attributes(frame, establishments)
    # Window and trend sums made at publication, where they were (same rows, secret, code).
    derived.attach(paths, name, frame)
    return frame


#: Reads started by :func:`prefetch`, by extract: ((root, name, checksum), future). The
#: first :func:`_load` of that key takes it out; a newer prefetch of the extract replaces
#: one not yet taken.
_AHEAD: dict[str, tuple[tuple[str, str, str], Future]] = {}
#: Every key read ahead or loaded in this process, so none is read ahead twice.
_STARTED: set[tuple[str, str, str]] = set()
_AHEAD_LOCK = threading.Lock()
#: Two reads at once where two CPUs are usable. Read one after another, the overview's
#: four extracts kept a new process's first page waiting for all of them in turn; now the
#: largest (prisoners, asked for first) is read on one thread while the others follow
#: one another on the second.
_READER = ThreadPoolExecutor(
    max_workers=min(2, usable_cpus()), thread_name_prefix="equality-monitor-read"
)


def prefetch(names: Iterable[str]) -> dict[str, Future]:
    """Start reading the extracts ``names`` in background threads, once per process.

    A new process's first page spends a couple of seconds importing its modules before it
    asks for data. Reading the Parquet meanwhile (mostly outside the GIL, so on the other
    core) shortens that first draw. The frames reach the same cache as
    :func:`whole_extract`'s on the first call that asks for them, so nothing is read
    twice, and only published whole extracts are read. Returns the reads it started.
    """
    published = manifest().get("extracts", {})
    paths = published_paths()
    root = str(paths.root)
    started = {}
    for name in names:
        if name not in published:
            continue
        key = (root, name, _published_checksum(name))
        with _AHEAD_LOCK:
            if key in _STARTED:
                continue
            _STARTED.add(key)
            started[name] = _READER.submit(_read, paths, name)
            _AHEAD[name] = (key, started[name])
    return started


#: The modules the overview and objective pages import, beyond what ``app.py`` imports.
_PAGE_MODULES = (
    "equality_core.analysis",
    "equality_core.findings",
    "equality_core.summary_pdf",
    "equality_ui.filters",
    "equality_ui.objective",
    "equality_ui.panels",
    "equality_ui.present",
)


def warm_up(names: Iterable[str]) -> None:
    """Read the extracts ``names`` and import the pages' modules, as the server starts.

    Run by the server (``serve.py``) in a thread of its own when it starts, so that the
    first person to open a page after a restart finds the published extracts in memory
    and the modules imported, rather than waiting for both (about 6 s at national scale
    on a 2-core machine). Nothing is shown to anyone: the frames wait in the cache of
    :func:`whole_extract` for the first session that may see them. A failure is logged,
    and that session reads the extract itself.
    """
    began = time.perf_counter()
    try:
        reads = prefetch(names)
    except Exception:  # never stop the server: the first page reads instead
        LOG.exception("warming up: the published extracts could not be looked up")
        return
    for module in _PAGE_MODULES:
        importlib.import_module(module)
    read = []
    for name, future in reads.items():
        try:
            future.result()
        except Exception:
            LOG.exception("warming up: %s could not be read; the first page reads it", name)
        else:
            read.append(name)
    LOG.info(
        "warmed up in %.1f s: %s read, the pages' modules imported",
        time.perf_counter() - began,
        ", ".join(read) or "no extract",
    )


def whole_extract(name: str) -> pd.DataFrame | None:
    """The whole published extract ``name`` (read-only), or None if it is not published.

    Every place's rows: only :func:`extract` (the user's places) and the national path
    (:func:`national`, aggregates only) may read it.
    """
    if name not in manifest().get("extracts", {}):
        return None
    paths = published_paths()
    try:
        return _load(str(paths.root), name, _published_checksum(name), paths)
    except Exception:
        LOG.exception("could not load extract %s", name)
        return None


def scoped_data() -> access.ScopedData:
    """The published extracts as the signed-in user may compute from them."""
    return access.ScopedData(identity.current().scope, whole_extract)


def extract(name: str) -> pd.DataFrame | None:
    """The rows of extract ``name`` in the signed-in user's places (read-only), or None.

    Restricted in :mod:`equality_core.access` before anything is computed from it; kept
    per process for each scope, so users of the same places share one copy.
    """
    scope = identity.current().scope
    if scope.national or name in access.NATIONWIDE:
        return whole_extract(name)
    if name not in manifest().get("extracts", {}):
        return None
    paths = published_paths()
    try:
        return _scoped(str(paths.root), name, checksum(name), scope)
    except Exception:
        LOG.exception("could not load extract %s for %s", name, scope.key())
        return None


@st.cache_resource(show_spinner=False, max_entries=48)
def _scoped(root: str, name: str, checksum: str, _scope: access.Scope) -> pd.DataFrame | None:
    # ``checksum`` carries the scope's key (see :func:`checksum`), so each scope has its own.
    return access.ScopedData(_scope, whole_extract).extract(name)


def national() -> access.NationalPath:
    """England and Wales figures for every user: whole extracts in, aggregates out."""
    return access.NationalPath(whole_extract)


def source_line() -> str:
    """Where downloaded figures come from, for the source line of a spreadsheet."""
    entries = manifest().get("extracts", {})
    stamps = sorted(e.get("validated_at", "") for e in entries.values())
    latest = stamps[-1][:16].replace("T", " ") + " UTC" if stamps else "not yet"
    demo = data.is_demo_data(manifest())
    kind = "synthetic demo data, describing no real prison or person" if demo else "extracts"
    return f"Source: Equality Monitor ({kind}), validated {latest}."


def checksum(name: str) -> str:
    """The cache key of everything computed from an extract for the signed-in user.

    The published checksum (:func:`_published_checksum`) and the user's places: figures
    computed for one scope are never served, from a cache, to a user of another.
    """
    scope = identity.current().scope
    own = _published_checksum(name)
    if scope.national or name in access.NATIONWIDE:
        return own
    return f"{own}|scope={scope.key()}"


def national_checksum(name: str) -> str:
    """The cache key of England and Wales figures (the same for every user)."""
    return f"{_published_checksum(name)}|national"


def _published_checksum(name: str) -> str:
    """The published checksum of an extract.

    For an extract given establishment attributes (region, function, estate) it includes
    the establishments' checksum, since figures by region change when they do.
    """
    published = manifest()
    entries = published.get("extracts", {})
    own = entries.get(name, {}).get("source_sha256", "")
    if own:
        # Record keys come from the secret: a republication after rotating it (the same
        # extract, other keys) must not be served from a frame loaded before.
        secret = (published.get("disclosure") or {}).get("record_key_fingerprint", "")
        own = f"{own}~{secret}" if secret else own
    if name in _PLACED and own:
        return f"{own}+{entries.get('establishments', {}).get('source_sha256', '')}"
    return own


def require(name: str, purpose: str) -> pd.DataFrame:
    """The extract, or a plain message and a stop if it is not available."""
    frame = extract(name)
    if frame is None:
        st.warning(
            f"The {name.replace('_', ' ')} extract has not been published, so {purpose} "
            "cannot be shown. The data page says why.",
            icon=":material/info:",
        )
        st.page_link("pages/90_data.py", label="Open the data page", icon=":material/database:")
        st.stop()
    return frame


def statuses() -> list[data.ExtractStatus]:
    """Validation status of every extract: published entry and latest report."""
    paths = published_paths()
    reports = paths.reports
    stamp = max((p.stat().st_mtime_ns for p in reports.glob("*.json")), default=0)
    return _statuses(*_generation_key(paths), stamp)


@st.cache_data(show_spinner=False, max_entries=16)
def _statuses(
    root: str, generation: str, manifest_stamp: int, stamp: int
) -> list[data.ExtractStatus]:
    return data.extract_statuses(DataPaths(Path(root), Path(generation) if generation else None))


def stale_after_days() -> int:
    """Age in days beyond which published data are called out (``EQUALITY_MONITOR_STALE_AFTER_DAYS``)."""
    text = os.environ.get(STALE_AFTER_VARIABLE, "")
    try:
        days = int(text)
    except ValueError:
        return STALE_AFTER_DAYS
    return days if days > 0 else STALE_AFTER_DAYS


def stale_extracts(now: dt.datetime | None = None) -> list[tuple[str, str, int]]:
    """Published extracts validated longer ago than :func:`stale_after_days`.

    Each as ``(extract, validated date, age in days)``, oldest first.
    """
    now = now or dt.datetime.now(dt.UTC)
    limit = stale_after_days()
    found = []
    for name, entry in manifest().get("extracts", {}).items():
        stamp = str(entry.get("validated_at", ""))
        try:
            when = dt.datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.UTC)
        except ValueError:
            continue
        age = (now - when).days
        if age > limit:
            found.append((name, when.strftime("%d %B %Y"), age))
    return sorted(found, key=lambda item: -item[2])


def generation_label() -> str:
    """Which generation of the published set this run shows, and when it was published."""
    published = manifest()
    generation = published.get("generation") or (published_paths().generation_id or "")
    stamp = str(published.get("published_at") or published.get("updated_at") or "")
    when = f", published {stamp[:16].replace('T', ' ')} UTC" if stamp else ""
    return f"generation {generation}{when}" if generation else "no generation"
