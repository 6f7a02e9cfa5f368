"""Consistent perturbation of counts by the cell key method (DESIGN.md section 4).

Every record carries a *record key*, a number from 0 to 255 drawn from a keyed hash
(SipHash, keyed from the secret) of its pseudonymous identifier. A count's *cell key* is the sum of the record keys of the
records it counts, modulo 256. The perturbation table (ptable) maps the true count and
the cell key to the count shown. Because the cell key depends only on which records a
cell holds, the same cell shows the same count in every view, download and slide, so
setting one view beside another and subtracting gives an attacker a difference of noisy
figures, not a hidden count. This is the method of ONS (Census 2021 custom tables, the
Integrated Data Service; its ``cell-key-perturbation`` package is the reference the tests
check against), the ABS TableBuilder and DWP Stat-Xplore.

Extracts that arrive aggregated (surveys, the ``counts`` extract, the ``disparity``
command's input) have no records: each input row gets a key from a keyed hash of its
coordinates instead (:func:`coordinate_keys`), and a cell's key is the sum over the rows
it adds up. That protection is weaker (one row may stand for many people), and the
methodology says so.

The secret behind the keyed hash and the ptable live in one configuration,
``disclosure.toml`` in the data folder (:func:`load_config`), read alike by ``validate``,
the dashboard and the command line. The bundled demo's file is in the repository; a real
deployment keeps its own outside it.
"""

from __future__ import annotations

import base64
import hashlib
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

#: Record and cell keys run from 0 to ``KEY_RANGE - 1``.
KEY_RANGE = 256
#: The ptable has rows for true counts 0 to ``MAX_PCV``; larger counts reuse rows 501-750
#: (the ONS convention), so the noise of a large count still depends on its value.
MAX_PCV = 750
#: The file, in the data folder, that holds the record-key secret and the ptable's name.
CONFIG_FILE = "disclosure.toml"
#: The ptables shipped with the code.
PTABLE_DIR = Path(__file__).resolve().parent / "ptables"
DEFAULT_PTABLE = "noise3_v1"
#: Columns that identify a record, by extract: the record key is a keyed hash of this.
IDENTIFIERS = {
    "prisoner_periods": "person_id",
    "deaths_in_custody": "death_id",
    "community_terminations": "termination_id",
    "community_journey": "person_id",
    "staff_periods": "staff_id",
}
#: The column that carries each record's key once an extract is loaded.
RECORD_KEY = "record_key"


class DisclosureConfigError(Exception):
    """The disclosure configuration is missing or unusable."""


# --- The perturbation table ---------------------------------------------------------------


#: The shipped ptable's distribution: how many of the 256 cell keys give each noise.
#: Variance 1.6875, maximum 3 (``noise3_v1``). The first ptable, ``noise2_v1`` (variance
#: 1, maximum 2), let an attacker who clamps a difference into 1 to 4 beat guessing by
#: 10 to 20 points; see docs/methodology.md.
NOISE3_V1 = {-3: 8, -2: 24, -1: 48, 0: 96, 1: 48, 2: 24, 3: 8}
NOISE2_V1 = {-2: 16, -1: 64, 0: 96, 1: 64, 2: 16}


def generate_ptable(
    *,
    noise_counts: dict[int, int] | None = None,
    max_pcv: int = MAX_PCV,
    seed: int = 20261125,
) -> pd.DataFrame:
    """A ptable in the ONS layout (``pcv, ckey, pvalue``) with bounded, unbiased noise.

    ``noise_counts`` says how many of the 256 cell keys give each perturbation; the
    default, :data:`NOISE3_V1`, is symmetric with maximum noise 3 and variance 1.6875.
    Symmetry makes the expected noise exactly zero for every true count. Noise that
    could take a count below zero is folded away symmetrically (a count of 1 takes -1, 0
    or +1; a count of 2 at most -2 or +2), and a count of 0 is never perturbed. Which keys give which noise is shuffled afresh for every count
    (from ``seed``), so that neighbouring counts with the same key do not move together.

    Parameters
    ----------
    noise_counts
        Number of cell keys (out of 256) for each perturbation value; must be symmetric
        and add up to 256.
    max_pcv
        The largest true count with a row of its own.
    seed
        Seed of the shuffle; the shipped ptable is this function's output for the default.
    """
    noise_counts = noise_counts or NOISE3_V1
    if sum(noise_counts.values()) != KEY_RANGE:
        raise ValueError(f"noise_counts must add up to {KEY_RANGE}, got {noise_counts!r}")
    if any(noise_counts.get(-d, 0) != n for d, n in noise_counts.items()):
        raise ValueError(f"noise_counts must be symmetric about zero, got {noise_counts!r}")
    rng = np.random.default_rng(seed)
    rows = [np.zeros(KEY_RANGE, dtype=np.int64)]
    for pcv in range(1, max_pcv + 1):
        allowed: dict[int, int] = {}
        for noise, count in sorted(noise_counts.items()):
            # Fold noise that would go below zero (and its mirror) back to the largest
            # magnitude allowed, which keeps the distribution symmetric.
            folded = int(np.sign(noise)) * min(abs(noise), pcv)
            allowed[folded] = allowed.get(folded, 0) + count
        values = np.repeat(list(allowed), list(allowed.values()))
        rows.append(values[rng.permutation(KEY_RANGE)])
    table = np.stack(rows)
    pcv, ckey = np.meshgrid(np.arange(max_pcv + 1), np.arange(KEY_RANGE), indexing="ij")
    return pd.DataFrame(
        {"pcv": pcv.ravel(), "ckey": ckey.ravel(), "pvalue": table.ravel().astype("int64")}
    )


@dataclass(frozen=True)
class Ptable:
    """A perturbation table: the noise for each true count (``pcv``) and cell key.

    ``name`` and ``sha256`` identify it in every download, image and slide.
    """

    name: str
    sha256: str
    noise: np.ndarray = field(repr=False, compare=False)

    @property
    def max_noise(self) -> int:
        """The largest perturbation, up or down."""
        return int(np.abs(self.noise).max())

    @property
    def variance(self) -> float:
        """The variance of the perturbation of counts large enough for all its noise."""
        return float(self.noise[self.max_noise :].astype(float).var(axis=1).max())

    @property
    def version(self) -> str:
        """A short, stable label: the name and the start of the file's checksum."""
        return f"{self.name} ({self.sha256[:12]})"

    def perturb(self, counts, cell_keys) -> np.ndarray:
        """The counts shown for true ``counts`` with cell keys ``cell_keys``.

        Counts above :data:`MAX_PCV` reuse rows 501 to 750 (as ONS does); a true zero
        stays zero; no count is made negative. NaN counts stay NaN.
        """
        true = np.asarray(counts, dtype=float)
        keys = np.asarray(cell_keys, dtype=float)
        missing = np.isnan(true) | np.isnan(keys)
        whole = np.where(missing, 0, true).astype(np.int64)
        key = np.where(missing, 0, keys).astype(np.int64) % KEY_RANGE
        if (whole < 0).any():
            raise ValueError("counts must not be negative")
        row = np.where(whole > MAX_PCV, (whole - 1) % 250 + 501, whole)
        shown = (whole + self.noise[row, key]).astype(float)
        return np.where(missing, np.nan, shown)


def _read_ptable(path: Path) -> Ptable:
    if not path.is_file():
        raise DisclosureConfigError(f"ptable {path} does not exist")
    raw = path.read_bytes()
    table = pd.read_csv(path)
    if list(table.columns) != ["pcv", "ckey", "pvalue"]:
        raise DisclosureConfigError(f"ptable {path} must have the columns pcv, ckey, pvalue")
    noise = np.zeros((MAX_PCV + 1, KEY_RANGE), dtype=np.int64)
    seen = np.zeros_like(noise, dtype=bool)
    pcv, ckey = table["pcv"].to_numpy(), table["ckey"].to_numpy()
    if pcv.min() < 0 or pcv.max() > MAX_PCV or ckey.min() < 0 or ckey.max() >= KEY_RANGE:
        raise DisclosureConfigError(
            f"ptable {path}: pcv must run from 0 to {MAX_PCV} and ckey from 0 to {KEY_RANGE - 1}"
        )
    noise[pcv, ckey] = table["pvalue"].to_numpy()
    seen[pcv, ckey] = True
    # Rows absent from the file (ONS ptables start at 1) mean no perturbation, as in the
    # reference implementation; every present count must have all its keys.
    present = seen.any(axis=1)
    if not seen[present].all():
        raise DisclosureConfigError(f"ptable {path}: some counts lack a row for every cell key")
    if (np.arange(MAX_PCV + 1)[:, None] + noise < 0).any():
        raise DisclosureConfigError(f"ptable {path} would make a count negative")
    return Ptable(path.stem, hashlib.sha256(raw).hexdigest(), noise)


@cache
def load_ptable(name_or_path: str = DEFAULT_PTABLE) -> Ptable:
    """A shipped ptable by name (``noise3_v1``), or a ptable CSV by path."""
    path = Path(name_or_path)
    if path.suffix != ".csv":
        path = PTABLE_DIR / f"{name_or_path}.csv"
    return _read_ptable(path)


# --- Record keys and cell keys ------------------------------------------------------------


def _siphash_key(secret: bytes) -> str:
    """A 16-character key for pandas' keyed SipHash, drawn from the secret (96 bits)."""
    digest = hashlib.blake2b(secret, digest_size=12, person=b"eqm-record-key").digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def record_keys(identifiers: pd.Series | Sequence[str], *, secret: bytes) -> np.ndarray:
    """Each record's key, 0 to 255: a keyed hash of its pseudonymous identifier.

    The hash is SipHash-2-4 (a keyed pseudo-random function, vectorised in pandas), keyed
    with 96 bits drawn from the secret by BLAKE2b. The same identifier always gets the
    same key under the same secret, so keys survive a re-publish; another deployment's
    secret gives other keys; without the secret the keys cannot be worked out. A missing
    identifier gets key 0: it still counts, and adds nothing to a cell's key.
    """
    if not secret:
        raise ValueError("secret must not be empty")
    values = pd.Series(identifiers).astype("string")
    # Many records per person: hash each distinct identifier once.
    categorize = values.nunique() < 0.5 * len(values)
    hashes = pd.util.hash_pandas_object(
        values.fillna(""), index=False, hash_key=_siphash_key(secret), categorize=categorize
    ).to_numpy()
    keys = (hashes % np.uint64(KEY_RANGE)).astype(np.int64)
    return np.where(values.isna().to_numpy(), 0, keys)


def coordinate_keys(frame: pd.DataFrame, columns: Sequence[str], *, secret: bytes) -> np.ndarray:
    """A key for each row of an aggregated input, from its coordinates (weaker protection).

    ``columns`` are the row's coordinates (for example unit, period, characteristic,
    group and measure): their values, joined, go through the same keyed hash as
    identifiers. Sum the keys of the rows a cell adds up, as for records.
    """
    if not len(columns):
        raise ValueError("columns must name at least one coordinate")
    if frame.empty:
        return np.zeros(0, dtype=np.int64)
    parts = [frame[c].astype("string").fillna("") for c in columns]
    joined = parts[0].str.cat(parts[1:], sep="\x1f") if len(parts) > 1 else parts[0]
    return record_keys(joined, secret=secret)


def cell_keys(summed_record_keys) -> np.ndarray:
    """Cell keys from sums of record keys: the sum modulo 256."""
    return np.asarray(summed_record_keys, dtype=np.int64) % KEY_RANGE


# --- Configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class DisclosureConfig:
    """The disclosure settings that ``validate``, the dashboard and the command line share.

    ``secret`` keys the hash behind record keys; ``secret_version`` is its label, shown
    with every download and recorded with every publication, so a rotation is never
    silent. ``threshold`` (5 or 10): shown counts below it read ``[c]``.
    """

    secret: bytes = field(repr=False)
    secret_version: str
    ptable: Ptable
    threshold: int = 5
    survey_minimum: int = 10
    source: str = ""

    def __post_init__(self) -> None:
        if self.threshold not in (5, 10):
            raise DisclosureConfigError(f"threshold must be 5 or 10, got {self.threshold!r}")
        if len(self.secret) < 16:
            raise DisclosureConfigError("record_key_secret must be at least 16 characters long")

    @property
    def secret_fingerprint(self) -> str:
        """A one-way fingerprint of the secret, to tell two secrets apart without showing it."""
        return hashlib.blake2b(self.secret, digest_size=6, person=b"eqm-fingerprint").hexdigest()

    def versions(self) -> dict[str, str]:
        """What a download records about the protection applied to it."""
        return {
            "ptable": self.ptable.version,
            "record_key_version": self.secret_version,
            "record_key_fingerprint": self.secret_fingerprint,
            "threshold": str(self.threshold),
        }

    def describe(self) -> str:
        """The protection in one line, for source lines and slides."""
        return (
            f"Cell key perturbation, ptable {self.ptable.version}, record keys "
            f"{self.secret_version}, threshold {self.threshold}"
        )


#: The documented default for the bundled synthetic demo only: it protects nothing real,
#: and a data folder holding supplied extracts must have a ``disclosure.toml`` of its own.
DEMO_SECRET = "equality-monitor-synthetic-demo-only"
DEMO_SECRET_VERSION = "demo-1"


def demo_config() -> DisclosureConfig:
    """The configuration the bundled synthetic demo uses when its folder has no file."""
    return DisclosureConfig(
        secret=DEMO_SECRET.encode("utf-8"),
        secret_version=DEMO_SECRET_VERSION,
        ptable=load_ptable(DEFAULT_PTABLE),
        source="the synthetic demo's default (no disclosure.toml)",
    )


def load_config(root: str | Path, *, demo: bool = False) -> DisclosureConfig:
    """Read ``disclosure.toml`` from the data folder ``root``.

    Without the file, a folder of synthetic demo data (``demo``) uses
    :func:`demo_config`; any other folder is an error, so supplied data is never
    protected with the demo's published secret.

    Keys: ``record_key_secret`` (text, at least 16 characters; or
    ``record_key_secret_file``, a path to a file holding it, relative to the data folder),
    ``record_key_version`` (a label), optional ``ptable`` (a shipped name or a CSV path;
    default ``noise3_v1``), ``threshold`` (5 or 10) and ``survey_minimum``.
    """
    path = Path(root) / CONFIG_FILE
    try:
        settings = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        if demo:
            return demo_config()
        raise DisclosureConfigError(
            f"{path} does not exist: disclosure control needs a record-key secret "
            "(see docs/methodology.md, 'Disclosure control')"
        ) from error
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise DisclosureConfigError(f"{path} cannot be read: {error}") from error
    secret = settings.get("record_key_secret")
    if secret is None and "record_key_secret_file" in settings:
        secret_path = Path(root) / str(settings["record_key_secret_file"])
        try:
            secret = secret_path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise DisclosureConfigError(f"{path}: cannot read {secret_path}: {error}") from error
    if not isinstance(secret, str) or not secret:
        raise DisclosureConfigError(f"{path} must set record_key_secret")
    version = settings.get("record_key_version")
    if not isinstance(version, str) or not version:
        raise DisclosureConfigError(f"{path} must set record_key_version")
    ptable_name = str(settings.get("ptable", DEFAULT_PTABLE))
    if ptable_name.endswith(".csv") and not Path(ptable_name).is_absolute():
        ptable_name = str(Path(root) / ptable_name)
    return DisclosureConfig(
        secret=secret.encode("utf-8"),
        secret_version=version,
        ptable=load_ptable(ptable_name),
        threshold=int(settings.get("threshold", 5)),
        survey_minimum=int(settings.get("survey_minimum", 10)),
        source=str(path),
    )


def publication_record(
    previous: Mapping[str, object], config: DisclosureConfig | None, *, published_at: str
) -> dict[str, object]:
    """What a new generation's manifest records about the protection its figures get.

    ``previous`` is the manifest being replaced. Returns ``disclosure`` (the ptable and
    record-key versions, the secret's fingerprint and the threshold) and
    ``disclosure_history``, which gains an entry whenever these change, rotation of the
    secret included: figures change with them, so the change is recorded, never silent.
    With no configuration (supplied data without ``disclosure.toml``) ``disclosure`` is
    None, and the dashboard will not show the figures until one exists.
    """
    history = list(previous.get("disclosure_history") or [])
    current = config.versions() if config is not None else None
    if current is not None and previous.get("disclosure") != current:
        history.append({**current, "from": published_at})
    return {"disclosure": current, "disclosure_history": history}


def matches_publication(manifest: Mapping[str, object], config: DisclosureConfig) -> bool:
    """True when ``config`` is the configuration the published figures were recorded with.

    A manifest from before this record (no ``disclosure`` entry) matches any
    configuration, so upgrading does not hide data.
    """
    recorded = manifest.get("disclosure")
    if not isinstance(recorded, Mapping):
        return True
    return dict(recorded) == config.versions()
