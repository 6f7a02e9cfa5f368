"""Where the data folder is, and the layout inside it.

``--data DIR`` wins over the ``EQUALITY_MONITOR_DATA`` environment variable, which wins
over ``data/`` (relative to the working directory).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENVIRONMENT_VARIABLE = "EQUALITY_MONITOR_DATA"
DEFAULT_DATA_DIR = Path("data")
DEMO_MARKER = ".equality-monitor-demo.json"
RAW_SUFFIXES = (".csv", ".xlsx", ".parquet")


@dataclass(frozen=True)
class DataPaths:
    """The folders of one data directory: raw inputs, validated Parquet and reports."""

    root: Path

    @property
    def raw(self) -> Path:
        """Raw extracts as supplied; never modified by the pipeline."""
        return self.root / "raw"

    @property
    def validated(self) -> Path:
        """Published, validated Parquet extracts and their manifest."""
        return self.root / "validated"

    @property
    def reports(self) -> Path:
        """One JSON report per validation run, pass or fail."""
        return self.root / "reports"

    @property
    def manifest(self) -> Path:
        """The manifest of published extracts."""
        return self.validated / "manifest.json"

    @property
    def demo_marker(self) -> Path:
        """Marker that ``demo`` writes in ``raw/`` to say it owns the files there."""
        return self.raw / DEMO_MARKER

    def validated_file(self, extract: str) -> Path:
        """The published Parquet file of ``extract``."""
        return self.validated / f"{extract}.parquet"


def resolve_data_dir(explicit: str | os.PathLike[str] | None = None) -> DataPaths:
    """The data directory: ``explicit`` if given, else the environment variable, else ``data/``."""
    if explicit:
        return DataPaths(Path(explicit))
    from_environment = os.environ.get(ENVIRONMENT_VARIABLE)
    if from_environment:
        return DataPaths(Path(from_environment))
    return DataPaths(DEFAULT_DATA_DIR)
