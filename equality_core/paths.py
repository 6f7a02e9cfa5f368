"""Where the data folder is, and the layout inside it.

``--data DIR`` wins over the ``EQUALITY_MONITOR_DATA`` environment variable, which wins
over ``data/`` (relative to the working directory).

The published set is kept in generations: ``generations/<id>/`` holds every published
Parquet file of one generation and its ``manifest.json``, and ``validated`` is a symbolic
link naming the current generation. Publishing writes a whole new generation and then
switches the link in one atomic rename, so a reader that resolves the link once (see
:meth:`DataPaths.pinned`) reads one whole generation and never a mix of two.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENVIRONMENT_VARIABLE = "EQUALITY_MONITOR_DATA"
DEFAULT_DATA_DIR = Path("data")
DEMO_MARKER = ".equality-monitor-demo.json"
RAW_SUFFIXES = (".csv", ".xlsx", ".parquet")
#: The lock file that a validate run holds (``fcntl.flock``) for the whole run.
LOCK_FILE = ".equality-monitor.lock"


@dataclass(frozen=True)
class DataPaths:
    """The folders of one data directory: raw inputs, published generations and reports.

    ``generation`` pins the published set to one generation directory; without it,
    ``validated`` is the link to whichever generation is current when it is opened.
    """

    root: Path
    generation: Path | None = None

    @property
    def raw(self) -> Path:
        """Raw extracts as supplied; never modified by the pipeline."""
        return self.root / "raw"

    @property
    def pointer(self) -> Path:
        """The symbolic link ``validated`` that names the current generation."""
        return self.root / "validated"

    @property
    def generations(self) -> Path:
        """Every kept generation of the published set, one directory each."""
        return self.root / "generations"

    @property
    def lock_file(self) -> Path:
        """The file a validate run locks for its whole run."""
        return self.root / LOCK_FILE

    @property
    def validated(self) -> Path:
        """The published set: the pinned generation, else the current one (via the link)."""
        return self.generation if self.generation is not None else self.pointer

    @property
    def reports(self) -> Path:
        """One JSON report per extract and validation run, pass or fail."""
        return self.root / "reports"

    @property
    def manifest(self) -> Path:
        """The manifest of the published set."""
        return self.validated / "manifest.json"

    @property
    def demo_marker(self) -> Path:
        """Marker that ``demo`` writes in ``raw/`` to say it owns the files there."""
        return self.raw / DEMO_MARKER

    def validated_file(self, extract: str) -> Path:
        """The published Parquet file of ``extract``."""
        return self.validated / f"{extract}.parquet"

    def pinned(self) -> DataPaths:
        """These paths pinned to the generation current now (unchanged if none is).

        Read everything of one view through the pinned paths: a generation published
        meanwhile is not mixed in. A ``validated`` folder that is a plain directory (an
        older layout, or a copy made without keeping links) is read as it is.
        """
        if self.generation is not None:
            return self
        try:
            target = Path(os.path.realpath(self.pointer, strict=True))
        except OSError:
            return self
        return DataPaths(self.root, target)

    @property
    def generation_id(self) -> str | None:
        """The id of the pinned generation (its directory name), if pinned."""
        return self.generation.name if self.generation is not None else None


def resolve_data_dir(explicit: str | os.PathLike[str] | None = None) -> DataPaths:
    """The data directory: ``explicit`` if given, else the environment variable, else ``data/``."""
    if explicit:
        return DataPaths(Path(explicit))
    from_environment = os.environ.get(ENVIRONMENT_VARIABLE)
    if from_environment:
        return DataPaths(Path(from_environment))
    return DataPaths(DEFAULT_DATA_DIR)
