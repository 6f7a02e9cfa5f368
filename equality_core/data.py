"""Read validated extracts and turn record-level rows into counts for the statistics.

Only published, validated Parquet is read (never raw files). Loading is the caller's to
cache (the dashboard keeps one copy per process); everything here is a plain function of
its inputs. The counts produced have the columns the statistics engine takes:
``measure, characteristic, group, numerator, denominator`` plus any ``by`` columns.
"""

from __future__ import annotations

import functools
import json
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from equality_core import cellkey
from equality_core.cellkey import RECORD_KEY
from equality_core.measures import MEASURES, Measure, is_in
from equality_core.paths import DataPaths
from equality_core.schema import CHARACTERISTICS, EXTRACTS

PeriodKind = str  # "quarter", "rolling", "financial_year"
PERIOD_KINDS = ("rolling", "quarter", "financial_year")
PERIOD_KIND_LABELS = {
    "rolling": "Rolling twelve months",
    "quarter": "Quarter",
    "financial_year": "Financial year",
}


class ExtractNotAvailableError(Exception):
    """A validated extract the caller asked for has not been published."""


# --- Loading ---------------------------------------------------------------------------


def read_manifest(paths: DataPaths) -> dict:
    """The manifest of published extracts, or an empty one."""
    try:
        return json.loads(paths.manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"extracts": {}}


#: Text columns without a fixed list of values that are still few in distinct values.
_CODED_FREE_TEXT = ("establishment", "period", "division")


def load_validated(paths: DataPaths, name: str, *, derived_keys: bool = True) -> pd.DataFrame:
    """Read a published extract, with category columns as pandas categoricals.

    Categoricals (ordered as in the contract; periods and codes sorted) make the
    group-bys over millions of rows several times faster and keep groups in their
    harmonised order. Record keys are read from the extract's derived sums
    (:mod:`equality_core.derived`) where they were made at publication with the same
    secret (``derived_keys``), else computed.
    """
    path = paths.validated_file(name)
    if not path.exists():
        raise ExtractNotAvailableError(f"{name} has not been validated and published")
    columns = EXTRACTS[name].columns
    coded = [c.name for c in columns if c.allowed is not None or c.name in _CODED_FREE_TEXT]
    # Read text columns straight into categoricals (Parquet dictionaries): building them
    # from millions of Python strings took three times as long as the read itself.
    present = set(pq.read_schema(path).names)
    table = pq.read_table(path, read_dictionary=[c for c in coded if c in present])
    # Each dictionary column straight to its categories, in Arrow's and NumPy's loops:
    # letting pandas unify the row groups' dictionaries and then recode to the
    # contract's order took about a fifth of a national prisoner extract's read.
    names = table.column_names
    categorical = {}
    for column in columns:
        if column.name in names and column.name in coded:
            found = dictionary_to_categorical(table.column(column.name), column.allowed)
            if found is not None:
                categorical[column.name] = found
    table = table.drop_columns(list(categorical))
    # One block per column, taken over from Arrow's buffers where it can be: gathering
    # the number columns into one block copied hundreds of megabytes (a quarter of a
    # national extract's cold read), and freeing the table as it goes lowers the peak.
    frame = table.to_pandas(split_blocks=True, self_destruct=True)
    del table
    for column_name, values in categorical.items():
        frame[column_name] = values
    for column in columns:
        if column.name in categorical or column.name not in coded or column.name not in frame:
            continue
        values = frame[column.name]
        if not isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype("category")
        categories = column.allowed or sorted(values.cat.categories)
        frame[column.name] = values.cat.set_categories(list(categories))
    frame = frame[names]
    identifier = cellkey.IDENTIFIERS.get(name)
    if identifier is not None and identifier in frame.columns:
        keys = None
        if derived_keys:
            from equality_core import derived  # derived counts with this module

            keys = derived.record_keys(paths, name, len(frame))
        if keys is None:
            config = disclosure_config(paths)
            keys = cellkey.record_keys(frame[identifier], secret=config.secret)
        frame[cellkey.RECORD_KEY] = keys
    return frame


def dictionary_to_categorical(
    values: pa.ChunkedArray, categories: Sequence[str] | None = None
) -> pd.Categorical | None:
    """A dictionary-encoded Arrow column as a pandas categorical of ``categories``.

    ``categories`` in their order, or, if None, the values present sorted. A value not
    among the categories becomes missing, as ``Categorical.set_categories`` makes it.
    None if the column is not dictionary-encoded text.
    """
    kind = values.type
    if not pa.types.is_dictionary(kind) or not (
        pa.types.is_string(kind.value_type) or pa.types.is_large_string(kind.value_type)
    ):
        return None
    if values.num_chunks > 1:
        values = values.unify_dictionaries()
    held = values.chunk(0).dictionary.to_pylist() if values.num_chunks else []
    if categories is None:
        categories = sorted(v for v in held if v is not None)
    categories = list(categories)
    position = {value: code for code, value in enumerate(categories)}
    dtype = pd.CategoricalDtype(categories, ordered=False)
    # Each held value's code among the categories, -1 where it is not one; the last
    # entry is for a missing value.
    recode = np.array([position.get(value, -1) for value in held] + [-1])
    codes = np.empty(len(values), dtype=_code_width(len(categories)))
    at = 0
    for chunk in values.chunks:
        indices = chunk.indices
        if chunk.null_count:
            indices = pc.fill_null(indices, len(held))
        codes[at : at + len(chunk)] = recode[indices.to_numpy()]
        at += len(chunk)
    return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)


def _code_width(count: int) -> type[np.signedinteger]:
    """The integer type pandas keeps the codes of ``count`` categories in."""
    for width in (np.int8, np.int16, np.int32):
        if count < np.iinfo(width).max:
            return width
    return np.int64


def disclosure_config(paths: DataPaths) -> cellkey.DisclosureConfig:
    """The data folder's disclosure configuration (the demo's default for demo data)."""
    return cellkey.load_config(
        paths.root, demo=is_demo_data(read_manifest(paths)) or paths.demo_marker.exists()
    )


@dataclass(frozen=True)
class ExtractStatus:
    """Validation status of one extract: what is published and how the latest run went."""

    extract: str
    published: dict | None
    latest_report: dict | None
    latest_report_file: str | None

    @property
    def latest_failed(self) -> bool:
        """True when the most recent validation run of this extract failed."""
        return bool(self.latest_report) and not self.latest_report.get("success", False)


def extract_statuses(paths: DataPaths) -> list[ExtractStatus]:
    """For every extract in the contract: its manifest entry and its latest report."""
    manifest = read_manifest(paths).get("extracts", {})
    latest: dict[str, Path] = {}
    if paths.reports.is_dir():
        for report in sorted(paths.reports.glob("*.json")):
            name = report.stem.rsplit("-", 1)[0]
            latest[name] = report  # names sort by timestamp, so the last one wins
    statuses = []
    for name in EXTRACTS:
        report_path = latest.get(name)
        report = None
        if report_path is not None:
            try:
                report = json.loads(report_path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                report = {"success": False, "error": "the report file cannot be read"}
        statuses.append(
            ExtractStatus(
                name, manifest.get(name), report, report_path.name if report_path else None
            )
        )
    return statuses


def is_demo_data(manifest: dict) -> bool:
    """True when any published extract came from the synthetic demo generator."""
    return any(e.get("origin") == "demo" for e in manifest.get("extracts", {}).values())


# --- Periods ----------------------------------------------------------------------------


def quarter_index(label: str) -> int:
    """A quarter label such as ``2024-Q1`` as a running number (year * 4 + quarter - 1)."""
    year, quarter = label.split("-Q")
    return int(year) * 4 + int(quarter) - 1


def quarter_label(index: int) -> str:
    """The inverse of :func:`quarter_index`."""
    return f"{index // 4}-Q{index % 4 + 1}"


def financial_year_of(quarter: str) -> str:
    """The financial year (April to March) a calendar quarter falls in: 2024-Q1 is in 2023-24."""
    year, q = quarter.split("-Q")
    start = int(year) - 1 if q == "1" else int(year)
    return f"{start}-{(start + 1) % 100:02d}"


def quarters_in_period(kind: PeriodKind, end: str) -> list[str]:
    """The quarters a period covers.

    ``rolling``: the four quarters ending with quarter ``end``; ``quarter``: ``end`` alone;
    ``financial_year``: the four quarters of financial year ``end`` (e.g. ``2023-24`` is
    2023-Q2 to 2024-Q1).
    """
    if kind == "quarter":
        return [end]
    if kind == "rolling":
        last = quarter_index(end)
        return [quarter_label(i) for i in range(last - 3, last + 1)]
    if kind == "financial_year":
        start = int(end[:4])
        return [f"{start}-Q2", f"{start}-Q3", f"{start}-Q4", f"{start + 1}-Q1"]
    raise ValueError(f"kind must be one of {PERIOD_KINDS}, got {kind!r}")


def period_label(kind: PeriodKind, end: str) -> str:
    """Words for a period: 'Twelve months to 2025-Q4', '2025-Q4', 'Financial year 2024-25'."""
    if kind == "rolling":
        return f"Twelve months to {end}"
    if kind == "financial_year":
        return f"Financial year {end}"
    return end


def period_choices(quarters: Iterable[str], kind: PeriodKind) -> list[str]:
    """Period end labels available for ``kind``, newest first, given the quarters held."""
    held = sorted(set(quarters), key=quarter_index)
    if not held:
        return []
    if kind == "quarter":
        return held[::-1]
    if kind == "rolling":
        return held[3:][::-1] if len(held) >= 4 else held[-1:]
    years = sorted({financial_year_of(q) for q in held})
    complete = [y for y in years if set(quarters_in_period("financial_year", y)) <= set(held)]
    return (complete or years)[::-1]


def previous_period_end(kind: PeriodKind, end: str) -> str:
    """The end of the period before: a year earlier for twelve-month periods."""
    if kind == "quarter":
        return quarter_label(quarter_index(end) - 1)
    if kind == "rolling":
        return quarter_label(quarter_index(end) - 4)
    start = int(end[:4]) - 1
    return f"{start}-{(start + 1) % 100:02d}"


# --- Record-level prisoner data over a period --------------------------------------------

_EVENT_COLUMNS = (
    "adjudications_charged",
    "adjudications_proven",
    "segregation_episodes",
    "use_of_force_incidents",
    "rotl_applications",
    "rotl_grants",
    "complaints",
    "programme_starts",
    "programme_completions",
    "negative_case_notes",
)
#: Column holding each person's number of quarters held in the period (the exposure).
EXPOSURE = "quarters_held"


def prisoners_over_period(
    frame: pd.DataFrame,
    quarters: Sequence[str],
    *,
    rows: np.ndarray | None = None,
    leave_out: Sequence[str] = (),
) -> pd.DataFrame:
    """One row per prisoner and establishment over the quarters given.

    Counts are summed across the quarters, so "at least one use of force in the period"
    is per person, not per person-quarter; the incentive level and characteristics are
    those of the latest quarter held; the release outcomes are those of the latest
    release. ``quarters_held`` is the person's exposure for event rates. ``rows`` (a
    boolean mask over ``frame``) keeps only those records, as ``frame[rows]`` would.
    Columns in ``leave_out`` are not copied into the result.
    """
    if len(quarters) == 1:
        kept = is_in(frame["period"], quarters).to_numpy()
        out = _without(frame, leave_out)[kept if rows is None else kept & rows].copy()
        out[EXPOSURE] = 1
        return out
    return prisoners_by_window(
        frame, dict.fromkeys(quarters, "period"), rows=rows, leave_out=leave_out, label=False
    )


#: Column that :func:`prisoners_by_window` labels each collapsed row's window with.
WINDOW = "window"

#: Each frame's people as integers (:func:`person_codes`), kept while the frame lives.
_PERSON_CODES: dict[int, np.ndarray] = {}


def person_codes(frame: pd.DataFrame) -> np.ndarray:
    """``person_id`` as integer codes, one per distinct person (any numbering).

    Made once per frame (a loaded extract is shared), or read with the extract's sums
    (:func:`use_person_codes`): numbering 900,000 people took 0.3 s.
    """
    key = id(frame)
    found = _PERSON_CODES.get(key)
    if found is None or len(found) != len(frame):
        found = pd.factorize(frame["person_id"])[0]
        use_person_codes(frame, found)
    return found


def use_person_codes(frame: pd.DataFrame, codes: np.ndarray) -> None:
    """Take ``codes`` as ``frame``'s person codes (made from the same rows, in order)."""
    if len(codes) != len(frame):
        raise ValueError(f"{len(codes)} person codes for {len(frame)} rows")
    key = id(frame)
    if key not in _PERSON_CODES:
        weakref.finalize(frame, _PERSON_CODES.pop, key, None)
    _PERSON_CODES[key] = codes


def _without(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``frame`` without those of ``columns`` it has (its other columns not copied)."""
    present = [c for c in columns if c in frame.columns]
    return frame.drop(columns=present) if present else frame


def _codes(values: pd.Series) -> np.ndarray:
    """A column's category codes (missing values -1), factorizing one that is not categorical."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy()
    return pd.factorize(values)[0]


def _is_not(values: pd.Series, value: str, rows: np.ndarray) -> np.ndarray:
    """``values.iloc[rows] != value`` as an array, by category codes where it can."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = list(values.cat.categories)
        if value not in categories:
            return np.ones(len(rows), dtype=bool)
        return values.cat.codes.to_numpy()[rows] != categories.index(value)
    return (values.iloc[rows] != value).to_numpy()


def prisoners_by_window(
    frame: pd.DataFrame,
    windows: Mapping[str, str],
    *,
    rows: np.ndarray | None = None,
    leave_out: Sequence[str] = (),
    label: bool = True,
) -> pd.DataFrame:
    """:func:`prisoners_over_period` for many windows in one pass.

    ``windows`` maps each quarter to the label of the window it belongs to (for example
    its financial year); quarters not in it are left out, as are rows outside ``rows``
    (a boolean mask over ``frame``). The result has one row per prisoner, establishment
    and window, with the window's label in ``window`` (unless ``label`` is False), in the
    order each first appears in the records sorted by quarter. Columns in ``leave_out``
    are not copied into it (counts never read ``person_id``, whose text was a third of
    copying the rows).

    Worked out on integer codes: the records kept are found, ordered by quarter and
    grouped through one integer per person, establishment and window, and only each
    group's latest record is copied. Sorting and copying every kept record and hashing
    person identifiers took a second for a large group over ten years.
    """
    period = frame["period"]
    if not isinstance(period.dtype, pd.CategoricalDtype):
        period = period.astype("category")
    names = list(dict.fromkeys(windows.values()))
    window_of = np.array(
        [names.index(windows[str(c)]) if str(c) in windows else -1 for c in period.cat.categories]
        + [-1],  # a missing quarter (code -1)
        dtype=np.int64,
    )
    period_codes = period.cat.codes.to_numpy()
    if rows is None:
        picked = np.flatnonzero(window_of[period_codes] >= 0)
    else:
        # The window of the rows kept only (a group's records are a few of millions).
        picked = np.flatnonzero(rows)
        picked = picked[window_of[period_codes[picked]] >= 0]
    # Latest quarter last; records of one quarter stay in their order (a stable sort).
    picked = picked[np.argsort(period_codes[picked], kind="stable")]
    picked_window = window_of[period_codes[picked]]
    people = person_codes(frame)[picked] + 1  # +1: a missing value (-1) is a group too
    places = _codes(frame["establishment"])[picked].astype(np.int64) + 1
    key = (people * (int(places.max(initial=0)) + 1) + places) * len(names) + picked_window
    _, first, groups = np.unique(key, return_index=True, return_inverse=True)
    # Groups numbered in the order they first appear, as the records are sorted.
    number = np.empty(len(first), dtype=np.int64)
    number[np.argsort(first, kind="stable")] = np.arange(len(first))
    codes = number[groups.reshape(-1)]
    count = len(first)
    position = np.arange(len(picked))
    latest = np.full(count, -1, dtype=np.int64)
    np.maximum.at(latest, codes, position)
    # Each group's latest record, but for the event counts, summed below: copying them
    # first was a third of copying the rows.
    summed = [c for c in _EVENT_COLUMNS if c in frame.columns]
    out = _without(frame, [*leave_out, *summed]).iloc[picked[latest]].reset_index(drop=True)
    if label:
        out[WINDOW] = np.array(names, dtype=object)[picked_window[latest]]
    for column in summed:
        out[column] = np.bincount(
            codes, weights=frame[column].to_numpy()[picked].astype(float), minlength=count
        ).astype("int64")
    # The frame's order of columns, as copying every row's latest record gave it.
    out = out[[c for c in frame.columns if c in out.columns] + ([WINDOW] if label else [])]
    out[EXPOSURE] = np.bincount(codes, minlength=count).astype("int64")
    released = _is_not(frame["accommodation_on_release"], "Not released", picked)
    if released.any():
        # Release outcomes are those of the latest release in the window, if any.
        latest_release = np.full(count, -1, dtype=np.int64)
        np.maximum.at(latest_release, codes[released], position[released])
        with_release = np.flatnonzero(latest_release >= 0)
        taken = picked[latest_release[with_release]]
        for column in ("accommodation_on_release", "employment_six_weeks"):
            values = out[column]
            if isinstance(values.dtype, pd.CategoricalDtype):
                # By category codes: setting categorical values validates each one.
                category_codes = values.cat.codes.to_numpy().copy()
                category_codes[with_release] = frame[column].cat.codes.to_numpy()[taken]
                out[column] = pd.Categorical.from_codes(category_codes, dtype=values.dtype)
            else:
                values = values.copy()
                values.iloc[with_release] = frame[column].to_numpy()[taken]
                out[column] = values
    return out


def attach_establishment_attributes(
    frame: pd.DataFrame, establishments: pd.DataFrame
) -> pd.DataFrame:
    """Add each row's establishment region, function and estate (for filters and splits)."""
    lookup = establishments.assign(code=establishments["code"].astype(str)).set_index("code")
    out = frame.copy(deep=False)  # new columns only: the records are shared, not copied
    codes = out["establishment"]
    if not isinstance(codes.dtype, pd.CategoricalDtype):
        codes = codes.astype(str).astype("category")
    # Look each attribute up once per establishment, then index by the row's code.
    known = pd.Index(codes.cat.categories.astype(str))
    row_codes = codes.cat.codes.to_numpy()
    for column in ("region", "function", "estate"):
        per_establishment = lookup[column].astype(str).reindex(known)
        categories = pd.Index(sorted(per_establishment.dropna().unique()))
        # Each establishment's code in the new categories, and -1 (missing) last, where a
        # row's missing establishment (code -1) finds it: one small-integer lookup a row.
        position = np.append(categories.get_indexer(per_establishment), -1)
        new_codes = position.astype(_code_width(len(categories)))[row_codes]
        out[column] = pd.Categorical.from_codes(new_codes, categories=categories, validate=False)
    return out


# --- Counts ----------------------------------------------------------------------------

#: The parts :func:`group_counts` sums for each measure, and the columns they become: the
#: counts, and (for records with keys) the record keys and people behind each count.
_COUNT_PARTS = {
    "num": "numerator",
    "den": "denominator",
    "num_key": "numerator_key",
    "den_key": "denominator_key",
    "num_people": "numerator_people",
    "den_people": "denominator_people",
}


def group_counts(
    frame: pd.DataFrame,
    *,
    measures: Sequence[Measure | str],
    characteristic: str,
    by: Sequence[str] = (),
    include_not_declared: bool = True,
    rows: np.ndarray | None = None,
) -> pd.DataFrame:
    """Numerator and denominator of each measure for each group of a characteristic.

    For a proportion measure the numerator counts rows in the measure's population with
    the outcome, and the denominator counts rows in its population; for an event measure
    the numerator sums the events and the denominator sums the exposure (the
    ``quarters_held`` column if present, else one per row). One vectorised group-by for
    all the measures. Groups with no rows still appear, with zero counts, so that a
    missing group is visible rather than silently absent.

    Where the records carry record keys (``record_key``, added when an extract is
    loaded), each count comes with the sum of the keys of the records it counts
    (``numerator_key``, ``denominator_key``) for the cell key method; an event measure
    also counts the people behind its totals (``numerator_people``: people with at least
    one event; ``denominator_people``: people in its population), since its events and
    exposure are not counts of people.

    ``rows`` (a boolean mask over ``frame``) counts only those records, as counting
    ``frame[rows]`` would, without copying them (see :func:`count_columns`).
    """
    if characteristic not in CHARACTERISTICS:
        raise ValueError(
            f"characteristic must be one of {list(CHARACTERISTICS)}, got {characteristic!r}"
        )
    resolved = [MEASURES[m] if isinstance(m, str) else m for m in measures]
    keys = [*by, characteristic]
    work = count_columns(frame, resolved, rows)
    for key in keys:
        work[key] = frame[key] if rows is None else frame[key][rows]
    summed = work.groupby(keys, observed=False, sort=True).sum()
    return counts_from_sums(
        summed,
        measures=resolved,
        characteristic=characteristic,
        by=by,
        include_not_declared=include_not_declared,
    )


#: At most this share of a frame's rows, :func:`count_columns` takes the columns the
#: measures read at those rows first (:class:`_AtRows`), rather than letting every
#: measure read every record and keeping its rows after.
_FEW_ROWS = 0.5


class _AtRows:
    """A frame's columns at some of its rows, each taken the first time it is read.

    What :func:`count_columns` gives the measures' masks when it counts a few records of
    many, such as one group's in a window: a mask reads columns by name, and the index,
    and nothing else (``equality_core.measures``), so only the columns read are taken,
    and each mask then works on the records counted instead of on millions. A "look
    within" view spent a fifth of its time on masks of records it did not count.
    """

    def __init__(self, frame: pd.DataFrame, positions: np.ndarray) -> None:
        self._frame = frame
        self._positions = positions
        self._taken: dict[str, pd.Series] = {}
        self.columns = frame.columns
        self.index = frame.index[positions]

    def __len__(self) -> int:
        return len(self._positions)

    def __getitem__(self, column: str) -> pd.Series:
        found = self._taken.get(column)
        if found is None:
            found = take_rows(self._frame[column], self._positions, self.index)
            self._taken[column] = found
        return found


def take_rows(values: pd.Series, rows: np.ndarray, index: pd.Index | None = None) -> pd.Series:
    """``values.iloc[rows]`` (``rows`` a boolean mask or positions), made quicker.

    A categorical column by its codes (its categories not checked again), numbers as an
    array; ``index`` is the rows' index if the caller has it already.
    """
    if index is None:
        index = values.index[rows]
    if isinstance(values.dtype, pd.CategoricalDtype):
        kept = pd.Categorical.from_codes(
            values.cat.codes.to_numpy()[rows], dtype=values.dtype, validate=False
        )
        return pd.Series(kept, index=index, name=values.name, copy=False)
    if isinstance(values.dtype, np.dtype):
        return pd.Series(values.to_numpy()[rows], index=index, name=values.name, copy=False)
    return values.iloc[rows]


def count_columns(
    frame: pd.DataFrame, resolved: Sequence[Measure], rows: np.ndarray | None = None
) -> pd.DataFrame:
    """Per record, each measure's parts that :func:`group_counts` sums.

    Columns are named after the measure and the part (see ``_COUNT_PARTS``); every one is
    additive, so sums over records, over units and over groups compose exactly. All are
    64-bit integers, written into one block as they are made: building the frame from
    separate columns copied every value a second time to gather them, which was up to a
    sixth of a "look within" view.

    ``rows`` (a boolean mask over ``frame``) keeps only those records' parts, without a
    copy of the records: if it keeps few of them (a group's records in a window), the
    measures read the columns they need at those rows only (:class:`_AtRows`); else they
    read the whole frame's columns and only the rows kept are worked on after.
    """
    if rows is not None and np.count_nonzero(rows) <= len(frame) * _FEW_ROWS:
        # The measures read the rows counted only, not every record of the frame.
        frame, rows = _AtRows(frame, np.flatnonzero(rows)), None

    def kept(values: np.ndarray) -> np.ndarray:
        return values if rows is None else values[rows]

    index = frame.index if rows is None else frame.index[rows]
    exposure = (
        kept(frame[EXPOSURE].to_numpy(dtype="int64"))
        if EXPOSURE in frame.columns
        else np.ones(len(index), dtype="int64")
    )
    record_key = (
        kept(frame[RECORD_KEY].to_numpy(dtype="int64")) if RECORD_KEY in frame.columns else None
    )
    keyed = record_key is not None
    names = [
        f"{m.name}\0{part}"
        for m in resolved
        for part in ("num", "den")
        + (("num_people", "den_people") if m.kind == "event" and keyed else ())
        + (("num_key", "den_key") if keyed else ())
    ]
    if not names:
        return pd.DataFrame({}, index=index)
    # One row per column, as pandas holds a block, each part written straight into its
    # row (a product with the population is "where in it, else 0"): the frame takes the
    # block without a copy, and no part is held twice. Rows are found by name.
    block = np.empty((len(names), len(index)), dtype="int64")
    row = dict(zip(names, block, strict=True))
    for m in resolved:
        part = f"{m.name}\0"
        population = kept(m.population(frame).to_numpy(dtype=bool))
        outcome = m.numerator(frame)
        if m.kind == "event":
            events = np.multiply(
                kept(outcome.to_numpy(dtype="int64")), population, out=row[part + "num"]
            )
            np.multiply(exposure, population, out=row[part + "den"])
            # Event totals are protected with per-person keys: the people with an event.
            contributors = events > 0
            if keyed:
                row[part + "num_people"][:] = contributors
                row[part + "den_people"][:] = population
        else:
            contributors = kept(outcome.to_numpy(dtype=bool)) & population
            row[part + "num"][:] = contributors
            row[part + "den"][:] = population
        if keyed:
            np.multiply(record_key, contributors, out=row[part + "num_key"])
            np.multiply(record_key, population, out=row[part + "den_key"])
    return pd.DataFrame(block.T, index=index, columns=names, copy=False)


def counts_from_sums(
    summed: pd.DataFrame,
    *,
    measures: Sequence[Measure],
    characteristic: str,
    by: Sequence[str] = (),
    include_not_declared: bool = True,
) -> pd.DataFrame:
    """:func:`group_counts`'s table from the sums of :func:`count_columns`.

    ``summed`` is indexed by ``[*by, characteristic]`` (every group, observed or not) with
    one column per measure and part: the sums over records, however they were made (over
    the records at once, or over units' sums).
    """
    resolved = list(measures)
    present = set(summed.columns)
    chosen = [m for m in resolved if any(f"{m.name}\0{p}" in present for p in _COUNT_PARTS)]
    rows, blocks = len(summed), len(chosen)
    groups = summed.index.get_level_values(characteristic).astype(str)
    # One block of rows per measure, in the measures' order, sorted by measure, then
    # ``by``, then the group's place in the harmonised list. The order is found first
    # and each column made in it: sorting a finished table, then choosing its columns,
    # was half the time (every extract of every view's matrix comes through here).
    harmonised = _group_order(characteristic)
    rank = harmonised.get_indexer(groups)
    rank = np.where(rank < 0, len(harmonised), rank)
    sort_keys = [rank]
    for level in reversed(list(by)):
        values = summed.index.get_level_values(level)
        if isinstance(values.dtype, pd.CategoricalDtype):
            codes = np.asarray(values.codes)
        else:
            codes = pd.factorize(values, sort=True)[0]
        sort_keys.append(np.where(codes < 0, codes.max(initial=0) + 1, codes))
    repeat = np.tile(np.arange(rows), blocks)
    block_of = np.repeat(np.arange(blocks), rows)
    order = np.lexsort([*(key[repeat] for key in sort_keys), block_of])
    row_of, block_of = repeat[order], block_of[order]
    columns: dict[str, object] = {"measure": np.array([m.name for m in chosen])[block_of]}
    for level in by:
        columns[level] = summed.index.get_level_values(level)[row_of].array
    columns["characteristic"] = characteristic
    columns["group"] = groups[row_of].array
    # Every sum as one block of integers, its columns taken by position: a hundred column
    # look-ups by name cost more than the arithmetic, on every year of a trend.
    block = np.column_stack([summed.to_numpy(dtype="int64"), np.zeros(rows, dtype="int64")])
    position = {name: i for i, name in enumerate(summed.columns)}
    for part, name in _COUNT_PARTS.items():
        found = [f"{m.name}\0{part}" in present for m in chosen]
        if not any(found):
            continue
        # A part a measure has not got: a proportion counts people, so its people are
        # its count; its keys are 0.
        taken = [
            position[f"{m.name}\0{part}"]
            if has
            else (
                position[f"{m.name}\0{part.removesuffix('_people')}"]
                if part.endswith("_people")
                else -1
            )
            for m, has in zip(chosen, found, strict=True)
        ]
        # -1 is the block's last column, of zeros.
        columns[name] = block[row_of, np.asarray(taken, dtype=np.intp)[block_of]]
    table = pd.DataFrame(columns, index=pd.RangeIndex(rows * blocks))
    if not include_not_declared:
        declared = table["group"].isin(CHARACTERISTICS[characteristic].groups).to_numpy()
        table = table[declared].reset_index(drop=True)
    return table


@functools.cache
def _group_order(characteristic: str) -> pd.Index:
    """A characteristic's values in their harmonised order (each group's rank is its place)."""
    return pd.Index(list(CHARACTERISTICS[characteristic].allowed_values))
