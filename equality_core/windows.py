"""Counts of each period window by unit, computed once and shared by every view.

A view's comparisons (:func:`equality_core.analysis.emt_matrix`) need, for one period
window and one place, the numerator and denominator of every measure for every group of
one characteristic. Place filters only ever choose whole units: establishments for
prisoners and staff (a prison group, function or estate is a set of establishments),
probation delivery units for the community extracts. And prisoners are collapsed per
person **and establishment** over a window. So the counts of a place are exactly the sum
of its units' counts, record keys included (the cell key method sums keys, which add).

This module keeps, for each extract frame and window, every measure's parts summed by
unit and group for every characteristic (:func:`equality_core.data.count_columns`). The
first view of a window pays for collapsing its records once; every later view of that
window, whatever its place, characteristic or comparator, adds up a few hundred rows.
The frames are the long-lived read-only frames the dashboard holds; entries go when
their frame does.

Views that look within a group of a second characteristic are sums of units' counts
too, but not of the window's: a view chooses the group's records before prisoners are
collapsed (a prisoner's group may change within a window), so a window's sums within a
group are counted once from the group's records and kept the same way. Trends within a
group are counted from the records (:func:`period_counts_for` says so).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np
import pandas as pd

from equality_core import data
from equality_core.cellkey import IDENTIFIERS, RECORD_KEY
from equality_core.measures import MEASURES, Measure, is_in
from equality_core.schema import CHARACTERISTICS

#: The unit each extract's places are made of.
UNIT = {
    "prisoner_periods": "establishment",
    "deaths_in_custody": "establishment",
    "staff_periods": "establishment",
    "community_terminations": "division",
    "community_journey": "division",
}
#: Windows kept per frame (each a few megabytes at national scale; one made at
#: publication is read again in about 25 ms, so a short list is enough).
WINDOWS_KEPT = 32
_ROWS = "\0rows"
_ROWS_KEY = "\0rows_key"
#: The entry of :func:`unit_sums` that sums every record of a unit.
EVERYONE = "\0everyone"
#: Sums by unit, stratum and group made for each window at publication, by extract, as
#: (stratum, characteristic): what objective 5's adjusted rates pool (strata of age band
#: and establishment, the unit). :func:`stratum_counts_for` reads them.
STRATA = {"prisoner_periods": (("age_band", "disability"),)}

_lock = threading.Lock()
#: By the frame's id: frames are not hashable. An entry is dropped when its frame is
#: collected (weakref.finalize), so an id reused by a later frame never finds it.
_memo: dict[int, OrderedDict] = {}
_units: dict[int, pd.DataFrame] = {}
#: Each frame's :func:`units_in_place`, by extract and place (a few hundred at most).
_in_place: dict[int, dict] = {}
_PLACES_KEPT = 512
_published: dict[int, Published] = {}


def _forget(key: int) -> None:
    with _lock:
        _memo.pop(key, None)
        _units.pop(key, None)
        _in_place.pop(key, None)
        _published.pop(key, None)


def applies(extract: str) -> bool:
    """True if a view's counts are sums of its units' counts: for extracts with units.

    A view that looks within a group is too: its window's sums are counted once from the
    group's records (:func:`unit_sums` with ``within``), since a view selects the
    group's records before collapsing prisoners per person and establishment, and a
    place is a set of units. Trends by period (:func:`period_counts_for`) are not summed
    within a group.
    """
    return extract in UNIT


def _remember(kept: OrderedDict, key: object, value: object) -> None:
    """Keep ``value`` as the newest entry, dropping the oldest beyond :data:`WINDOWS_KEPT`."""
    with _lock:
        kept[key] = value
        while len(kept) > WINDOWS_KEPT:
            kept.popitem(last=False)


def _kept(frame: pd.DataFrame) -> OrderedDict:
    key = id(frame)
    with _lock:
        found = _memo.get(key)
        if found is None:
            found = OrderedDict()
            _memo[key] = found
            weakref.finalize(frame, _forget, key)
        return found


def window_records(
    frame: pd.DataFrame,
    extract: str,
    periods: Sequence[str],
    within: tuple[str, str] | None = None,
) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The records of one window as a view counts them (prisoners collapsed), every place.

    With ``within``, only the records in that group of a second characteristic, chosen
    before prisoners are collapsed, as :func:`equality_core.analysis.select` chooses them.
    Given as a table and a row mask over it (None: every row), so that records that are
    not collapsed are not copied: copying every column of a large group's records was a
    sixth of a "look within" view.
    """
    mask = is_in(frame["period"], periods).to_numpy()
    if within is not None:
        column, group = within
        if column not in frame.columns:
            raise ValueError(f"within: the records do not carry {column!r}")
        mask = mask & (frame[column] == group).to_numpy()
    if extract == "prisoner_periods":
        # Counted by record keys, never by identifier: the identifier is not copied.
        collapsed = data.prisoners_over_period(
            frame, list(periods), rows=mask, leave_out=[IDENTIFIERS[extract]]
        )
        return collapsed, None
    return frame, mask


def _rows_of(values: pd.Series, rows: np.ndarray | None) -> pd.Series:
    """``values[rows]`` (every row if ``rows`` is None), by :func:`data.take_rows`."""
    return values if rows is None else data.take_rows(values, rows)


def _unit_keys(values: pd.Series) -> pd.Series:
    """Each record's unit as the sums name it (its text), coded once for every group-by.

    Groups as ``values.astype(str)`` would: the units present, in the order of their
    text, and no unit (so in no unit's sums) for a missing one. Each of the ten
    group-bys of a window turned the units into text again and hashed them.
    """
    if not isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype("category")
    codes = values.cat.codes.to_numpy()
    labels = values.cat.categories.astype(str)
    present = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(labels)))
    names = labels[present]
    order = np.argsort(names.to_numpy(), kind="stable")
    # Each category's place among the units present, and -1 (none) for a missing unit.
    position = np.full(len(labels) + 1, -1, dtype=np.int64)
    position[present[order]] = np.arange(len(present))
    units = pd.Categorical.from_codes(position[codes], categories=names[order], validate=False)
    return pd.Series(units, index=values.index, name=values.name, copy=False)


def _units_as_text(summed: pd.DataFrame) -> pd.DataFrame:
    """Sums grouped by :func:`_unit_keys`, their units named by text, not by category."""
    index = summed.index
    if isinstance(index, pd.MultiIndex):
        level = index.levels[0]
        summed.index = index.set_levels(pd.Index(level.categories, name=level.name), level=0)
    else:
        summed.index = pd.Index(index.categories, name=index.name)[index.codes]
    return summed


def unit_sums(
    frame: pd.DataFrame,
    extract: str,
    periods: Sequence[str],
    within: tuple[str, str] | None = None,
    entries: Sequence[str] | None = None,
) -> dict[str, pd.DataFrame] | None:
    """Every measure's parts summed by unit and group, for each characteristic the frame has.

    One entry per window (and ``within`` group), kept with the frame; None if the window
    has no records. Read from the sums made at publication (:mod:`equality_core.derived`)
    where the frame has them, else counted from the records: a window within a group is
    counted once from the group's records, then shared by every place, characteristic
    and comparator of that view.

    Counted from the records, only ``entries`` (characteristics, or :data:`EVERYONE`)
    are sure to be there (every one if None): a view asks for the one or two it shows,
    and summing every characteristic was two fifths of a "look within" change. An entry
    asked for later is counted then and kept beside the others.
    """
    key = (extract, tuple(periods), within)
    kept, found, published = _lookup(frame, key)
    if found is None or (found is not _MISSING and not isinstance(found, _Partial)):
        return found
    if found is not _MISSING:
        missing = [e for e in _entries_wanted(frame, entries) if e not in found]
        if not missing:
            return found
        more = compute_unit_sums(frame, extract, periods, within, missing)
        result = _Partial({**found, **(more or {})})
        _remember(kept, key, result)
        return result
    result = None
    if published is not None and within is None:
        result = published.window(periods)
    if result is None:
        # A window counted from the records (within a group too) carries its strata
        # (:data:`STRATA`): one more sum beside the collapse, where objective 5's
        # adjusted rates, asking for them next, would collapse the records again.
        if entries is None:
            result = compute_unit_sums(frame, extract, periods, within, strata=True)
        else:
            wanted = _entries_wanted(frame, entries)
            counted = compute_unit_sums(frame, extract, periods, within, wanted, strata=True)
            result = None if counted is None else _Partial(counted)
    _remember(kept, key, result)
    return result


_MISSING = object()


def _lookup(frame: pd.DataFrame, key: object) -> tuple[OrderedDict, object, Published | None]:
    """The frame's kept entries, the entry under ``key`` and the frame's published sums.

    The entry is :data:`_MISSING` if none is kept (and made the newest if one is); the
    published sums are None if the frame has none.
    """
    kept = _kept(frame)
    with _lock:
        found = kept.get(key, _MISSING)
        if found is not _MISSING:
            kept.move_to_end(key)
        return kept, found, _published.get(id(frame))


class _Partial(dict):
    """Sums of a window counted for some entries only (:func:`unit_sums`)."""


def _entries_wanted(frame: pd.DataFrame, entries: Sequence[str] | None) -> list[str]:
    """The entries of :func:`unit_sums` asked for that the frame can have (all if None).

    Everyone always: a view's funnel plot and declaration rates ask for it after its
    comparisons, and it costs one small group-by beside the collapse they share.
    """
    everything = [EVERYONE, *(c for c in CHARACTERISTICS if c in frame.columns)]
    if entries is None:
        return everything
    return [e for e in everything if e == EVERYONE or e in entries]


def strata_entry(stratum: str, characteristic: str) -> str:
    """The name of the sums by unit, ``stratum`` and ``characteristic`` (:data:`STRATA`)."""
    return f"{stratum}\0{characteristic}"


def compute_unit_sums(
    frame: pd.DataFrame,
    extract: str,
    periods: Sequence[str],
    within: tuple[str, str] | None = None,
    entries: Sequence[str] | None = None,
    *,
    strata: bool = False,
) -> dict[str, pd.DataFrame] | None:
    """:func:`unit_sums` counted from the records (nothing kept); only ``entries`` if given.

    With ``strata``, also the extract's :data:`STRATA` sums (by unit, stratum and group,
    named by :func:`strata_entry`), counted from the same collapsed records: what the
    sums made at publication hold beside each window.
    """
    records, rows = window_records(frame, extract, periods, within)
    if not (len(records) if rows is None else rows.any()):
        return None
    unit = UNIT[extract]
    measures = [m for m in MEASURES.values() if m.extract == extract]
    work = data.count_columns(records, measures, rows)
    work[_ROWS] = np.ones(len(work), dtype="int64")
    keys = (
        records[RECORD_KEY].to_numpy(dtype="int64")
        if RECORD_KEY in records.columns
        else np.zeros(len(records), dtype="int64")
    )
    work[_ROWS_KEY] = keys if rows is None else keys[rows]
    units = _unit_keys(_rows_of(records[unit], rows))
    summing = _GroupSums(work)
    result = {
        characteristic: _units_as_text(
            summing.sum_by([units, _rows_of(records[characteristic], rows)], observed=False)
        )
        for characteristic in CHARACTERISTICS
        if characteristic in records.columns and (entries is None or characteristic in entries)
    }
    if entries is None or EVERYONE in entries:
        # Everyone, whatever their groups (a missing value included): funnel plots of
        # everyone, and the records a declaration rate is out of.
        result[EVERYONE] = _units_as_text(summing.sum_by(units, observed=True))
    for stratum, characteristic in STRATA.get(extract, ()) if strata else ():
        if stratum in records.columns and characteristic in records.columns:
            keys = [
                units,
                _rows_of(records[stratum], rows),
                _rows_of(records[characteristic], rows),
            ]
            summed = summing.sum_by(keys, observed=False)
            result[strata_entry(stratum, characteristic)] = _units_as_text(summed)
    return result


#: Sums by ``np.bincount`` (in floating point) are exact while they stay below 2**53.
_EXACT_BELOW = 2**53


class _GroupSums:
    """``work.groupby(keys, observed=..., sort=True).sum()`` for many keys, made faster.

    ``work`` holds integer parts (:func:`equality_core.data.count_columns`). Two things
    made the ten group-bys of a window counted from the records take half as long:

    - Many measures share a population, so their denominators (records, exposure,
      people, record keys) are the same column again and again: of the 58 columns of a
      prisoner window, 21 repeat another. Each distinct column is summed once and its
      sums copied. Columns are found equal by their values, never by their names.
    - Each column is summed on its own by ``np.bincount`` over the keys' combined
      category codes, reading it once in order; pandas' group-by read the table across
      its columns, row by row. The sums are exact: the largest possible sum is checked
      to stay below 2**53 first.

    The result is the group-by's (index, columns, types); keys that are not categorical,
    or sums that could be too large, go to pandas' group-by.
    """

    def __init__(self, work: pd.DataFrame) -> None:
        self.work = work
        self.columns = work.columns
        arrays = [work.iloc[:, i].to_numpy() for i in range(work.shape[1])]
        firsts: dict[int, list[int]] = {}
        source = np.arange(len(arrays))
        for i, values in enumerate(arrays):
            total = int(values.sum())
            for j in firsts.setdefault(total, []):
                if np.array_equal(arrays[j], values):
                    source[i] = j
                    break
            else:
                firsts[total].append(i)
        distinct = np.flatnonzero(source == np.arange(len(source)))
        self.arrays = [arrays[i] for i in distinct]
        # Each column's place among the distinct ones.
        self.position = np.searchsorted(distinct, source)
        largest = max((int(np.abs(a).max(initial=0)) for a in self.arrays), default=0)
        self.exact = all(a.dtype.kind in "iub" for a in self.arrays) and (
            largest * max(len(work), 1) < _EXACT_BELOW
        )

    def sum_by(self, keys: pd.Series | list[pd.Series], *, observed: bool) -> pd.DataFrame:
        """``work.groupby(keys, observed=observed, sort=True).sum()``."""
        listed = keys if isinstance(keys, list) else [keys]
        if not self.exact or not all(isinstance(k.dtype, pd.CategoricalDtype) for k in listed):
            return self.work.groupby(keys, observed=observed, sort=True).sum()
        sizes = [len(k.cat.categories) for k in listed]
        size = int(np.prod(sizes))
        combined = np.zeros(len(self.work), dtype=np.int64)
        missing = np.zeros(len(self.work), dtype=bool)
        for key, width in zip(listed, sizes, strict=True):
            codes = key.cat.codes.to_numpy()
            missing |= codes < 0
            combined = combined * width + codes
        combined[missing] = size  # rows with a missing key: one more group, dropped below
        sums = np.empty((size, len(self.arrays)), dtype=np.int64)
        for j, values in enumerate(self.arrays):
            counted = np.bincount(combined, weights=values, minlength=size + 1)
            sums[:, j] = counted[:size]
        levels = [pd.CategoricalIndex(k.cat.categories, dtype=k.dtype, name=k.name) for k in listed]
        index = pd.MultiIndex.from_product(levels) if len(levels) > 1 else levels[0]
        out = pd.DataFrame(sums[:, self.position], index=index, columns=self.columns)
        if observed:
            seen = np.bincount(combined, minlength=size + 1)[:size] > 0
            out = out[seen]
        return out


def compute_period_sums(
    frame: pd.DataFrame, extract: str, measures: Sequence[Measure], characteristic: str
) -> pd.DataFrame:
    """Each measure's parts summed by unit, period and group over the whole frame.

    What :func:`period_counts_for` adds up for a trend (nothing kept).
    """
    unit = UNIT[extract]
    work = data.count_columns(frame, list(measures))
    # Units by their codes, named after the sums: each record's unit as text cost half a
    # second at national scale, for labels only the few hundred sums carry.
    units = frame[unit]
    if not isinstance(units.dtype, pd.CategoricalDtype):
        units = units.astype("category")
    keys = [units.cat.codes.rename(unit), frame["period"], frame[characteristic]]
    summed = work.groupby(keys, observed=False, sort=True).sum()
    # As grouping by the units as text gives them: their text, in its order, without
    # records whose unit is missing.
    codes = summed.index.get_level_values(0).to_numpy()
    summed = summed[codes >= 0]
    names = units.cat.categories.astype(str).take(codes[codes >= 0]).rename(unit)
    summed.index = pd.MultiIndex.from_arrays(
        [names, *(summed.index.get_level_values(i) for i in (1, 2))]
    )
    return summed.iloc[np.argsort(names.to_numpy(), kind="stable")]


def use_published(frame: pd.DataFrame, published: Published) -> None:
    """Read ``frame``'s window and trend sums from ``published`` where it has them.

    ``published`` (:class:`equality_core.derived.PublishedSums`) must describe exactly
    this frame: the loader checks the extract's checksum, the record-key secret and the
    code that counts before it hands one over.
    """
    _kept(frame)  # registers the frame, so the source goes with it
    with _lock:
        _published[id(frame)] = published


class Published(Protocol):
    """Sums of one frame made in advance: None where a window or trend was not made."""

    def window(self, periods: Sequence[str]) -> dict[str, pd.DataFrame] | None:
        """A window's :func:`compute_unit_sums`, or None if it was not made."""

    def trend(self, measure: str, characteristic: str) -> pd.DataFrame | None:
        """One measure's :func:`compute_period_sums` by a characteristic, or None."""

    def strata(self, periods: Sequence[str]) -> dict[str, pd.DataFrame] | None:
        """A window's :data:`STRATA` sums (by unit, stratum and group), or None."""


def place_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Every distinct combination of the frame's place columns (as text), kept with it.

    A few hundred rows for millions of records: what place filters offer, and which
    units a place chooses, are read from it rather than from the records.
    """
    _kept(frame)  # registers the frame, so its entries go with it
    with _lock:
        table = _units.get(id(frame))
    if table is None:
        table = _unique_rows(frame, _place_columns(frame))
        with _lock:
            _units[id(frame)] = table
    return table


def units_in_place(
    frame: pd.DataFrame, extract: str, places: Sequence[tuple[str, str]]
) -> list[str]:
    """The units (establishments, delivery units) a place filter chooses.

    Kept with the frame by place: a view asks for the same place's units five to ten
    times (every extract of its matrix, its funnel, its declaration rates).
    """
    key = (extract, tuple(places))
    kept = _kept(frame)
    with _lock:
        chosen = _in_place.setdefault(id(frame), {}).get(key)
    if chosen is None:
        unit = UNIT[extract]
        table = place_table(frame)
        mask = np.ones(len(table), dtype=bool)
        for column, value in places:
            if column in table.columns:
                mask &= (table[column] == value).to_numpy()
        chosen = tuple(sorted(set(table.loc[mask, unit])))
        with _lock:
            found = _in_place.get(id(frame))
            if found is not None and kept is _memo.get(id(frame)):
                if len(found) >= _PLACES_KEPT:
                    found.pop(next(iter(found)))
                found[key] = chosen
    return list(chosen)


def _place_columns(frame: pd.DataFrame) -> list[str]:
    return [
        c
        for c in ("region", "establishment", "function", "estate", "probation_region", "division")
        if c in frame.columns
    ]


def _unique_rows(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Distinct combinations of a few (categorical) columns over millions of rows, quickly.

    Each row's category codes are packed into one integer, so one hash pass finds the
    distinct combinations.
    """
    categoricals = []
    for column in columns:
        series = frame[column]
        if not isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(str).astype("category")
        categoricals.append(series)
    packed = np.zeros(len(frame), dtype="int64")
    for series in categoricals:
        packed = packed * (len(series.cat.categories) + 1) + (series.cat.codes.to_numpy() + 1)
    # The first row of each distinct combination (a hash pass, no sort).
    rows = pd.Series(packed).drop_duplicates().index.to_numpy()
    out = {}
    for column, series in zip(columns, categoricals, strict=True):
        values = series.iloc[rows]
        out[column] = np.where(values.isna().to_numpy(), None, values.astype(str).to_numpy())
    return pd.DataFrame(out, dtype=object).reset_index(drop=True)


def group_counts_for(
    frame: pd.DataFrame,
    extract: str,
    *,
    periods: Sequence[str],
    places: Sequence[tuple[str, str]],
    within: tuple[str, str] | None = None,
    characteristic: str,
    measures: Sequence[Measure] | None = None,
) -> pd.DataFrame | None:
    """:func:`equality_core.data.group_counts` of the window's records in a place.

    The same table as counting the place's records directly (the test holds them equal),
    from the window's sums by unit; None if the place has no records in the window.
    Only where :func:`applies`.
    """
    if not applies(extract):
        raise ValueError(f"no sums by unit for {extract!r}: its records have no units")
    resolved = list(measures or [m for m in MEASURES.values() if m.extract == extract])
    by_unit = _place_sums(frame, extract, periods, places, characteristic, within)
    if by_unit is None or by_unit.empty or by_unit[_ROWS].sum() == 0:
        return None
    names = tuple(f"{m.name}\0" for m in resolved)
    keep = [c for c in by_unit.columns if c.startswith(names)]
    groups = frame[characteristic]
    if isinstance(groups.dtype, pd.CategoricalDtype):
        # Every group, observed or not, as counting the records themselves gives.
        categories = pd.CategoricalIndex(
            groups.cat.categories, dtype=groups.dtype, name=characteristic
        )
        summed = _sum_by_group(by_unit, keep, categories)
    else:
        summed = by_unit[keep].groupby(level=1, observed=False, sort=True).sum()
    return data.counts_from_sums(summed, measures=resolved, characteristic=characteristic)


def _sum_by_group(
    by_unit: pd.DataFrame, columns: list[str], categories: pd.CategoricalIndex
) -> pd.DataFrame:
    """The ``columns`` of sums indexed by (unit, group) added up by group, one row per category.

    What ``by_unit[columns].groupby(level=1).sum().reindex(categories, fill_value=0)``
    gives, added up with NumPy: choosing the columns by name and pandas' group-by took
    a third of counting each extract of a matrix, which every page's view counts four
    times over. Rows whose group is missing or not a category count for none.
    """
    # Every sum is an integer: the frame is one block, read whole and its columns taken
    # by position.
    values = by_unit.to_numpy(dtype="int64")[:, by_unit.columns.get_indexer(columns)]
    out = np.zeros((len(categories), len(columns)), dtype="int64")
    if len(values):
        level = by_unit.index.levels[1]
        # Each row's category: its group's place in ``categories`` (-1 if none).
        where = np.append(categories.categories.get_indexer(level), -1)
        row_category = where[by_unit.index.codes[1]]
        found = row_category >= 0
        np.add.at(out, row_category[found], values[found])
    return pd.DataFrame(out, index=categories, columns=pd.Index(columns))


def group_counts_by_window(
    frame: pd.DataFrame,
    extract: str,
    *,
    windows: Mapping[str, Sequence[str]],
    places: Sequence[tuple[str, str]],
    characteristic: str,
    measures: Sequence[Measure],
    label: str = data.WINDOW,
) -> pd.DataFrame | None:
    """:func:`group_counts_for` of several windows of a place, in one table.

    ``windows`` maps a label (a financial year, say) to its periods; each window's rows
    are those :func:`group_counts_for` gives it, with the label in column ``label``
    (after ``measure``), sorted by measure, label and group. A window with no records in
    the place is left out; None if none has any. Added up in one pass: a view's flags
    over ten years asked for forty tables one at a time, a fifth of a change of place.
    """
    if not applies(extract):
        raise ValueError(f"no sums by unit for {extract!r}: its records have no units")
    chosen = units_in_place(frame, extract, places) if places else None
    tables, labels = [], []
    for name, periods in windows.items():
        sums = unit_sums(frame, extract, periods)
        if sums is None or characteristic not in sums:
            continue
        table = sums[characteristic]
        if chosen is not None:
            table = _of_units(table, chosen)
        if table.empty or table[_ROWS].sum() == 0:
            continue
        tables.append(table)
        labels.append(name)
    if not tables:
        return None
    names = tuple(f"{m.name}\0" for m in measures)
    keep = [c for c in tables[0].columns if c.startswith(names)]
    stacked = pd.concat(tables, keys=labels, names=[label])[keep]
    summed = stacked.groupby(level=[0, 2], observed=False, sort=False).sum()
    groups = frame[characteristic]
    if isinstance(groups.dtype, pd.CategoricalDtype):
        # Every group of every window, observed or not, as counting the records gives.
        full = pd.MultiIndex.from_product(
            [
                pd.Index(labels, name=label),
                pd.CategoricalIndex(groups.cat.categories, dtype=groups.dtype),
            ],
            names=[label, characteristic],
        )
        summed = summed.reindex(full, fill_value=0)
    return data.counts_from_sums(
        summed, measures=list(measures), characteristic=characteristic, by=[label]
    )


def period_counts_for(
    frame: pd.DataFrame,
    extract: str,
    *,
    measure: Measure,
    places: Sequence[tuple[str, str]],
    within: tuple[str, str] | None,
    characteristic: str,
) -> pd.DataFrame | None:
    """:func:`equality_core.data.group_counts` by period of a place's records, one measure.

    What a trend counts (each period's records as they are: prisoners per quarter), from
    the measure's sums by unit, period and group, kept with the frame; so the trend of
    another place, or with another comparator, adds up a few thousand rows. None where
    the sums do not apply: a 'look within' view (counted from the place's records, which
    costs little without copying them; its sums, kept, pushed windows far dearer to count
    out of the frame's short list), an extract without units.
    """
    if within is not None or not applies(extract) or characteristic not in frame.columns:
        return None
    key = ("periods", measure.name, characteristic)
    kept = _kept(frame)
    with _lock:
        found = kept.get(key)
        if found is not None:
            kept.move_to_end(key)
    if found is None:
        with _lock:
            published = _published.get(id(frame))
        if published is not None:
            found = published.trend(measure.name, characteristic)
        if found is None:
            found = compute_period_sums(frame, extract, [measure], characteristic)
        _remember(kept, key, found)
    by_unit = found
    if places:
        chosen = units_in_place(frame, extract, places)
        by_unit = _of_units(by_unit, chosen)
    summed = by_unit.groupby(level=[1, 2], observed=False, sort=True).sum()
    periods, groups = frame["period"], frame[characteristic]
    if isinstance(periods.dtype, pd.CategoricalDtype) and isinstance(
        groups.dtype, pd.CategoricalDtype
    ):
        full = pd.MultiIndex.from_product(
            [
                pd.CategoricalIndex(periods.cat.categories, dtype=periods.dtype),
                pd.CategoricalIndex(groups.cat.categories, dtype=groups.dtype),
            ],
            names=["period", characteristic],
        )
        summed = summed.reindex(full, fill_value=0)
    return data.counts_from_sums(
        summed, measures=[measure], characteristic=characteristic, by=["period"]
    )


def _place_sums(
    frame: pd.DataFrame,
    extract: str,
    periods: Sequence[str],
    places: Sequence[tuple[str, str]],
    entry: str,
    within: tuple[str, str] | None = None,
    units: Sequence[str] | None = None,
) -> pd.DataFrame | None:
    """One entry of the window's sums (within a group), for the units of a place only.

    ``units`` are the place's units if the caller has them already (as
    :func:`units_in_place` gives them).
    """
    sums = unit_sums(frame, extract, periods, within, entries=(entry,))
    if sums is None or entry not in sums:
        return None
    table = sums[entry]
    if places:
        table = _of_units(table, units_in_place(frame, extract, places) if units is None else units)
    return table


def _of_units(table: pd.DataFrame, units: Sequence[str]) -> pd.DataFrame:
    """The rows of sums indexed by unit first (then anything) whose unit is in ``units``.

    With a second level, each unit of the level is looked up once and the rows are found
    by their codes, instead of making every row's unit to look it up.
    """
    index = table.index
    if index.nlevels == 1:
        return table[np.asarray(index.isin(units))]
    # A missing unit (code -1) reads the entry added last: never chosen.
    chosen = np.append(np.asarray(index.levels[0].isin(units)), False)
    return table[chosen[index.codes[0]]]


def stratum_counts_for(
    frame: pd.DataFrame,
    extract: str,
    *,
    periods: Sequence[str],
    places: Sequence[tuple[str, str]],
    stratum: str,
    characteristic: str,
    measures: Sequence[Measure],
    within: tuple[str, str] | None = None,
) -> pd.DataFrame | None:
    """:func:`equality_core.data.group_counts` of a place's window by stratum and unit.

    The table of ``group_counts(records, characteristic=..., by=[stratum, unit],
    include_not_declared=False)`` for the units with records (counting the records gives
    every unit, with zeros), from the sums made at publication (:data:`STRATA`), or for
    a window not made then (or ``within`` a group), from those :func:`unit_sums` counted
    with the window's sums; None where it has none (the published sums' file gone): the
    caller counts the records. A place is a set of units, so its sums are its units'.
    """
    if (stratum, characteristic) not in STRATA.get(extract, ()):
        return None
    entry = strata_entry(stratum, characteristic)
    found = None
    if within is None:
        key = ("strata", tuple(periods))
        kept, found, published = _lookup(frame, key)
        if found is _MISSING:
            found = None if published is None else published.strata(periods)
            if found is not None:
                _remember(kept, key, found)
    if found is None:
        # A window not made at publication, or within a group: counted with the
        # window's own sums (from the same collapse of the records).
        found = unit_sums(frame, extract, periods, within, entries=(entry,))
    if found is None or entry not in found:
        return None
    table = found[entry]
    if places:
        table = _of_units(table, units_in_place(frame, extract, places))
    if table.empty or table[_ROWS].sum() == 0:
        return None  # no records: the caller finds none to count
    unit = UNIT[extract]
    summed = table.reorder_levels([1, 0, 2])
    return data.counts_from_sums(
        summed,
        measures=list(measures),
        characteristic=characteristic,
        by=[stratum, unit],
        include_not_declared=False,
    )


def funnel_counts_for(
    frame: pd.DataFrame,
    extract: str,
    *,
    periods: Sequence[str],
    places: Sequence[tuple[str, str]],
    measure: Measure,
    characteristic: str | None,
    group: str | None,
    within: tuple[str, str] | None = None,
) -> pd.DataFrame | None:
    """Each unit's numerator and denominator of a proportion measure, with their keys.

    What :func:`equality_core.analysis.funnel` counts from the place's records (for one
    group, or everyone), from the window's sums by unit; None where the sums do not apply.
    """
    if extract not in UNIT or measure.kind != "proportion":
        return None
    unit = UNIT[extract]
    if characteristic and group:
        table = _place_sums(frame, extract, periods, places, characteristic, within)
        if table is None:
            return None
        groups = table.index.get_level_values(1).astype(str)
        table = table[np.asarray(groups == group)].droplevel(1)
    else:
        table = _place_sums(frame, extract, periods, places, EVERYONE, within)
        if table is None:
            return None
    parts = {"num": "numerator", "den": "denominator", "num_key": "numerator_key"}
    parts["den_key"] = "denominator_key"
    out = pd.DataFrame(
        {name: table[f"{measure.name}\0{part}"].to_numpy() for part, name in parts.items()},
        index=pd.Index(table.index.astype(str), name=unit),
    )
    return out.reset_index()


def _declared_by_unit(
    table: pd.DataFrame, declared: Sequence[str], units: pd.Index
) -> tuple[np.ndarray, np.ndarray]:
    """Records in the ``declared`` groups of each of ``units``, and their keys' sum.

    ``table`` is one characteristic's sums by unit and group. Summed on the index's codes
    (a few hundred rows, once per characteristic on every filter change, where a group-by
    and a reindex cost ten times the arithmetic). Integers stay exact: the sums are far
    below 2**53.
    """
    index = table.index
    unit_codes, group_codes = index.codes[0], index.codes[1]
    groups = index.levels[1]
    if not _is_text(groups):
        groups = groups.astype(str)
    is_declared = np.asarray(groups.isin(list(declared)))
    kept = (group_codes >= 0) & (unit_codes >= 0)
    kept[kept] = is_declared[group_codes[kept]]
    width = len(index.levels[0])
    rows = np.bincount(
        unit_codes[kept], weights=table[_ROWS].to_numpy(dtype=float)[kept], minlength=width
    )
    keys = np.bincount(
        unit_codes[kept], weights=table[_ROWS_KEY].to_numpy(dtype=float)[kept], minlength=width
    )
    where = index.levels[0].get_indexer(units)
    found = where >= 0
    out_rows = np.zeros(len(units), dtype=np.int64)
    out_keys = np.zeros(len(units), dtype=np.int64)
    out_rows[found] = rows[where[found]].astype(np.int64)
    out_keys[found] = keys[where[found]].astype(np.int64)
    return out_rows, out_keys


def _is_text(values: pd.Index) -> bool:
    """Whether an index holds text already (as text, or as categories that are text)."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    return isinstance(dtype, pd.StringDtype)


def declaration_counts_for(
    frame: pd.DataFrame,
    extract: str,
    *,
    periods: Sequence[str],
    places: Sequence[tuple[str, str]],
    characteristics: Sequence[str],
    declared_groups: Mapping[str, Sequence[str]],
    by_unit: bool,
    within: tuple[str, str] | None = None,
) -> pd.DataFrame | None:
    """Records and declared records of each characteristic (by unit), with their keys.

    What :func:`equality_core.analysis.declaration` counts from the place's records,
    from the window's sums: declared are the records in ``declared_groups``.
    """
    if extract not in UNIT:
        return None
    unit = UNIT[extract]
    units = units_in_place(frame, extract, places) if places else None
    # Every entry asked for at once: within a group, each one asked alone is counted alone.
    unit_sums(frame, extract, periods, within, entries=(EVERYONE, *characteristics))
    everyone = _place_sums(frame, extract, periods, places, EVERYONE, within, units)
    if everyone is None:
        return None
    parts, named = [], []
    records, records_key = everyone[_ROWS].to_numpy(), everyone[_ROWS_KEY].to_numpy()
    unit_index = pd.Index(everyone.index.astype(str), name=unit)
    for characteristic in characteristics:
        table = _place_sums(frame, extract, periods, places, characteristic, within, units)
        if table is None:
            continue
        declared, declared_key = _declared_by_unit(
            table, declared_groups[characteristic], everyone.index
        )
        counts = pd.DataFrame(
            {
                "declared": declared,
                "records": records,
                "declared_key": declared_key,
                "records_key": records_key,
            },
            index=unit_index,
        )
        counts = counts[counts["records"] > 0]
        if by_unit:
            counts = counts.reset_index()
            counts[unit] = counts[unit].astype(frame[unit].dtype)  # as the records hold it
        else:
            counts = counts.sum().to_frame().T
        parts.append(counts)
        named.append(characteristic)
    if not parts:
        return None
    out = pd.concat(parts, ignore_index=True)
    # Named once for all: a text column inserted into each part cost more than its sums.
    lengths = [len(part) for part in parts]
    out.insert(1 if by_unit else 0, "characteristic", np.repeat(np.array(named), lengths))
    return out
