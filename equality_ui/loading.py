"""Loading validated extracts once per process, shared by every session.

Frames live in ``st.cache_resource`` (one copy, not pickled per rerun) keyed on the
extract's checksum in the manifest, so a newly published extract is picked up and an
unchanged one is never read twice. Pages must treat the frames as read-only.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import streamlit as st

from equality_core import data
from equality_core.paths import DataPaths, resolve_data_dir

LOG = logging.getLogger("equality_monitor")

#: Extracts that carry an establishment code and get its region, function and estate.
_PLACED = (
    "prisoner_periods",
    "deaths_in_custody",
    "staff_periods",
    "prisoner_survey",
    "staff_survey",
)


def data_paths() -> DataPaths:
    """The data folder: ``EQUALITY_MONITOR_DATA`` if set, else ``data/``."""
    return resolve_data_dir()


def manifest() -> dict:
    """The manifest of published extracts, re-read when the file changes."""
    paths = data_paths()
    stamp = paths.manifest.stat().st_mtime_ns if paths.manifest.exists() else 0
    return _manifest(str(paths.root), stamp)


@st.cache_data(show_spinner=False)
def _manifest(root: str, stamp: int) -> dict:
    return data.read_manifest(DataPaths(Path(root)))


@st.cache_resource(show_spinner="Loading the validated extract…", max_entries=24)
def _load(root: str, name: str, checksum: str) -> pd.DataFrame:
    paths = DataPaths(Path(root))
    frame = data.load_validated(paths, name)
    if name in _PLACED:
        establishments = data.load_validated(paths, "establishments")
        frame = data.attach_establishment_attributes(frame, establishments)
    return frame


def extract(name: str) -> pd.DataFrame | None:
    """The published extract ``name`` (read-only), or None if it is not published."""
    entry = manifest().get("extracts", {}).get(name)
    if entry is None:
        return None
    try:
        return _load(str(data_paths().root), name, entry["source_sha256"])
    except Exception:
        LOG.exception("could not load extract %s", name)
        return None


def source_line() -> str:
    """Where downloaded figures come from, for the source line of a spreadsheet."""
    entries = manifest().get("extracts", {})
    stamps = sorted(e.get("validated_at", "") for e in entries.values())
    latest = stamps[-1][:16].replace("T", " ") + " UTC" if stamps else "not yet"
    demo = data.is_demo_data(manifest())
    kind = "synthetic demo data, describing no real prison or person" if demo else "extracts"
    return f"Source: Equality Monitor ({kind}), validated {latest}."


def checksum(name: str) -> str:
    """The published checksum of an extract: the cache key of everything computed from it."""
    return manifest().get("extracts", {}).get(name, {}).get("source_sha256", "")


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
    paths = data_paths()
    reports = paths.reports
    stamp = max((p.stat().st_mtime_ns for p in reports.glob("*.json")), default=0)
    return _statuses(str(paths.root), stamp)


@st.cache_data(show_spinner=False)
def _statuses(root: str, stamp: int) -> list[data.ExtractStatus]:
    return data.extract_statuses(DataPaths(Path(root)))
