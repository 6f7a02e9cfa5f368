"""Validate raw extracts with Great Expectations and publish the ones that pass.

A run checks each extract on its own (reading, coercion, its suite), then the set that
would be published as a whole: each new extract against the one it would replace (a
shrink in rows, periods or establishments is refused unless accepted), and references
across the set (codes in use must stay in ``establishments``). The extracts that pass
are published together, with the unchanged rest, as one new generation of the published
set (:mod:`equality_core.publish`), under a lock on the data folder. Every extract gets
its own report in ``reports/``, whatever happens to the others, and no failure is a
traceback. Only this module (with :mod:`equality_core.suites`) knows that Great
Expectations exists; it is imported lazily because the import alone takes seconds.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from equality_core import cellkey
from equality_core.ingest import (
    ROW_NUMBER,
    SAMPLE_ROWS,
    Failure,
    ParquetChunks,
    ReadLimits,
    UnreadableExtractError,
    find_raw_file,
    merge_read_failures,
    notes_on_columns,
    open_parquet_chunks,
    read_raw_extract,
    visible,
)
from equality_core.paths import RAW_SUFFIXES, DataPaths
from equality_core.publish import (
    SPAWN,
    Candidate,
    PublishError,
    atomic_write_text,
    data_folder_lock,
    pass_on,
    process_pool,
    publish_generation,
    publish_workers,
    read_manifest_at,
    recover,
    wait_passing_on,
    worker_progress,
)
from equality_core.schema import EXTRACT_ORDER, EXTRACTS, Extract
from equality_core.suites import (
    ESTABLISHMENT_CODES,
    EXPECTATIONS_DIR,
    MAX_ROWS,
    MIN_ROWS,
    load_suite_document,
    rule_in_words,
)

LOG = logging.getLogger("equality_monitor")

Progress = Callable[[str], None]

#: Plausible row counts for each extract (national scale fits well inside).
ROW_BOUNDS: dict[str, tuple[int, int]] = {
    "establishments": (1, 1_000),
    "benchmarks": (1, 1_000),
    "prisoner_periods": (1, 20_000_000),
    "deaths_in_custody": (0, 100_000),
    "prisoner_survey": (1, 2_000_000),
    "community_terminations": (1, 20_000_000),
    "community_journey": (1, 20_000_000),
    "staff_periods": (1, 5_000_000),
    "staff_survey": (1, 2_000_000),
    "equality_analyses": (1, 100_000),
    "delivery_plan": (1, 10_000),
    "counts": (1, 20_000_000),
}

#: Rows per Great Expectations call; larger extracts are validated in chunks of whole
#: periods, because Great Expectations peaks at five to six times the frame's memory. A
#: Parquet file with more rows is read a chunk at a time too (see _check_in_chunks), so
#: memory is bounded by the chunk, not the extract; CSV and workbooks (small by nature:
#: a national-scale CSV would be gigabytes) are read whole.
CHUNK_ROWS = 1_000_000

SHRINK_RULE = "no shrink against the published extract"
REFERENCE_RULE = "codes in use stay in establishments"


@dataclass(frozen=True)
class ValidationSettings:
    """What a validate run may accept, and its limits.

    ``accept_shrink`` publishes an extract even if it shrinks against the one it replaces;
    ``shrink_tolerance`` is the fall in rows (a fraction) tolerated without it;
    ``max_file_bytes`` bounds a raw file and what a workbook expands to;
    ``report_retention_days`` is how long reports keep their sample rows (record-level
    data); ``lock_timeout`` is how long to wait for another run to finish;
    ``chunk_rows`` bounds the rows checked at once (a Parquet file with more is read in
    chunks of whole periods, never whole; a CSV or workbook is read whole and checked in
    such chunks).
    """

    accept_shrink: bool = False
    shrink_tolerance: float = 0.10
    max_file_bytes: int = 2 * 1024**3
    report_retention_days: int = 90
    lock_timeout: float = 600.0
    chunk_rows: int = CHUNK_ROWS

    def __post_init__(self) -> None:
        if not 0 <= self.shrink_tolerance < 1:
            raise ValueError(
                f"shrink_tolerance must be at least 0 and below 1, got {self.shrink_tolerance!r}"
            )
        if self.max_file_bytes <= 0:
            raise ValueError(f"max_file_bytes must be positive, got {self.max_file_bytes!r}")
        if self.chunk_rows < 1:
            raise ValueError(f"chunk_rows must be at least 1, got {self.chunk_rows!r}")
        if self.report_retention_days < 0:
            raise ValueError(
                f"report_retention_days must be 0 or more, got {self.report_retention_days!r}"
            )


@dataclass
class ValidationOutcome:
    """What happened to one extract in one run.

    ``error`` is set when the input could not be used at all (unreadable, refused before
    its rules could be checked, or the run failed around it); ``failures`` lists the
    rules it broke.
    """

    extract: str
    success: bool
    published: bool
    source_file: str | None
    report_path: Path | None
    rows: int = 0
    rules_checked: int = 0
    failures: list[Failure] = field(default_factory=list)
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    generation: str | None = None

    @property
    def unusable(self) -> bool:
        """True when the input could not be used at all (the exit code is then 2)."""
        return self.error is not None

    def summary(self) -> str:
        """A few lines for the terminal: the verdict, then each failed rule with sample rows."""
        if self.success:
            return (
                f"PASS  {self.extract}: {self.rows:,} rows, {self.rules_checked} rules "
                f"({self.source_file}) - published"
            )
        source = self.source_file or "no raw file"
        lines = [f"FAIL  {self.extract} ({source}) - nothing replaced"]
        if self.error:
            lines.append(f"      {visible(self.error)}")
        for failure in self.failures:
            lines.append(
                f"      column {failure.column or '(table)'}: rule '{failure.rule}' broken by "
                f"{failure.unexpected_count:,} row(s): {visible(failure.description)}"
            )
            for row in failure.sample_rows[:SAMPLE_ROWS]:
                lines.append(f"        {json.dumps(_plain(row), ensure_ascii=False)}")
        if self.report_path:
            lines.append(f"      report: {self.report_path}")
        return "\n".join(lines)


def _plain(row: dict) -> dict:
    return Failure(None, "", "", 0, [row]).as_dict()["sample_rows"][0]


# --- Great Expectations -----------------------------------------------------------------

_CONTEXT: dict[str, object] = {}


def _validation_definition(extract_name: str):
    """A validation definition for the committed suite of ``extract_name`` (built once)."""
    key = f"vd:{extract_name}"
    if key in _CONTEXT:
        return _CONTEXT[key]
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    if "context" not in _CONTEXT:
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        _CONTEXT["context"] = context
        _CONTEXT["asset"] = context.data_sources.add_pandas("extracts").add_dataframe_asset("frame")
        _CONTEXT["batch"] = _CONTEXT["asset"].add_batch_definition_whole_dataframe("whole")
    context = _CONTEXT["context"]
    document = load_suite_document(extract_name, EXPECTATIONS_DIR)
    suite = context.suites.add(gx.ExpectationSuite(**document))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(
            name=f"validate-{extract_name}", data=_CONTEXT["batch"], suite=suite
        )
    )
    _CONTEXT[key] = definition
    return definition


def _chunks(frame: pd.DataFrame, chunk_rows: int) -> list[pd.DataFrame]:
    """An extract read whole, in chunks of whole periods (rows with no period last)."""
    if len(frame) <= chunk_rows or "period" not in frame.columns:
        return [frame]
    sizes = frame.groupby("period", sort=True, observed=True).size()
    groups: list[list[str]] = [[]]
    running = 0
    for period, size in sizes.items():
        if running and running + size > chunk_rows:
            groups.append([])
            running = 0
        groups[-1].append(period)
        running += size
    chunks = [frame[frame["period"].isin(periods)] for periods in groups]
    missing = frame["period"].isna()
    if missing.any():
        chunks.append(frame[missing])
    return chunks


def _failure_from_result(result, frame: pd.DataFrame, extract: Extract) -> Failure:
    config = result.expectation_config
    kwargs = dict(config.kwargs)
    column = kwargs.get("column")
    if column is None and "column_A" in kwargs:
        column = f"{kwargs['column_B']}, {kwargs['column_A']}"
    if column is None and "column_list" in kwargs:
        column = ", ".join(kwargs["column_list"])
    info = result.exception_info or {}
    if info.get("raised_exception"):
        message = str(info.get("exception_message", "the rule could not be evaluated"))
        return Failure(column, config.type, f"could not check: {message[:300]}", 0)
    details = result.result or {}
    words = rule_in_words(config.type, kwargs)
    if (
        config.type == "expect_column_values_to_be_in_set"
        and column in extract.column_names
        and extract.column(column).references
    ):
        # At run time the parameter is already the list of codes; say what the list is.
        table, key = extract.column(column).references.split(".")
        words = f"{column} is a known establishment code (a {key} in the {table} extract)"
    if config.type == "expect_table_row_count_to_be_between":
        low, high = (_count_words(kwargs.get(k)) for k in ("min_value", "max_value"))
        observed = _count_words(details.get("observed_value"))
        return Failure(
            column,
            words,
            f"the extract has {observed} rows; between {low} and {high} are plausible",
            1,
            [],
        )
    if config.type == "expect_table_columns_to_match_set":
        return Failure(column, words, f"observed {details.get('observed_value')}", 1, [])
    count = int(details.get("unexpected_count") or 0)
    samples = []
    for row in (details.get("unexpected_index_list") or [])[:SAMPLE_ROWS]:
        source_row = row.get(ROW_NUMBER)
        sample = {ROW_NUMBER: source_row}
        sample.update({k: v for k, v in row.items() if k != ROW_NUMBER})
        samples.append(sample)
    percent = details.get("unexpected_percent")
    share = f" ({percent:.2f}% of rows)" if isinstance(percent, float) else ""
    return Failure(column, words, f"{count:,} row(s) break the rule{share}", count, samples)


def _count_words(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


#: Suite rules over a key; when the key has no period, chunks cannot judge it alone.
_UNIQUE_RULES = ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique")
_ROW_COUNT_RULE = "expect_table_row_count_to_be_between"
#: Rules about the table rather than its values: one failure, however many chunks.
_TABLE_RULES = (_ROW_COUNT_RULE, "expect_table_columns_to_match_set")


@dataclass
class _Merged:
    """One rule over every chunk: the first failure, and counts over the whole extract."""

    failure: Failure | None = None
    unexpected: int = 0
    judged: int = 0  # values the rule judged (present ones), over every chunk
    samples: list[dict] = field(default_factory=list)
    merges: bool = True  # False for table rules and rules that could not be checked


class _SuiteRun:
    """An extract's suite run over its chunks (or its whole frame), with the results merged.

    A rule broken in several chunks is one failure, as the whole extract would give it:
    its rows counted over every chunk, its share of the rows judged over the whole
    extract, its first offending rows in the file. With more than one chunk, the rules
    that span chunks are the caller's: the row count (:meth:`count_rows`) and a key
    without the period (:class:`_KeyCheck`, then :meth:`add_unique`), whose failures
    take the place and the words of the suite's own.
    """

    def __init__(self, extract: Extract, parameters: dict, *, chunked: bool) -> None:
        self.extract = extract
        self.chunked = chunked
        self._given = dict(parameters)
        self.parameters = dict(parameters)
        if chunked:  # the row count is checked on the whole extract (count_rows)
            self.parameters[MIN_ROWS], self.parameters[MAX_ROWS] = 0, None
        #: True when a key without the period must be checked across chunks.
        self.spans_chunks = chunked and "period" not in extract.key
        self.rules = 0
        self._definition = _validation_definition(extract.name)
        self._merged: dict[int, _Merged] = {}
        self._rule_index: dict[str, tuple[int, dict]] = {}

    @property
    def failed(self) -> bool:
        """True once any chunk broke any rule."""
        return any(m.failure is not None for m in self._merged.values())

    def check(self, chunk: pd.DataFrame) -> None:
        """Run the suite on one chunk and merge what it finds."""
        result = self._definition.run(
            batch_parameters={"dataframe": chunk},
            expectation_parameters=self.parameters,
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": [ROW_NUMBER],
                "partial_unexpected_count": SAMPLE_ROWS,
            },
        )
        self.rules = len(result.results)
        for index, item in enumerate(result.results):
            config = item.expectation_config
            self._rule_index.setdefault(config.type, (index, dict(config.kwargs)))
            if self.spans_chunks and config.type in _UNIQUE_RULES:
                continue  # judged across chunks by _KeyCheck
            merged = self._merged.setdefault(index, _Merged())
            details = item.result or {}
            judged = details.get("element_count")
            if isinstance(judged, int):
                merged.judged += judged - int(details.get("missing_count") or 0)
            if item.success:
                continue
            failure = _failure_from_result(item, chunk, self.extract)
            if merged.failure is None:
                merged.failure = failure
                raised = bool((item.exception_info or {}).get("raised_exception"))
                merged.merges = not raised and config.type not in _TABLE_RULES
            merged.unexpected += failure.unexpected_count
            merged.samples.extend(failure.sample_rows)

    def count_rows(self, rows: int) -> None:
        """The row count of the whole extract, checked when the chunks could not."""
        if not self.chunked or _ROW_COUNT_RULE not in self._rule_index:
            return
        index, kwargs = self._rule_index[_ROW_COUNT_RULE]
        low, high = self._given[MIN_ROWS], self._given[MAX_ROWS]
        if (low is None or rows >= low) and (high is None or rows <= high):
            return
        kwargs = {**kwargs, "min_value": low, "max_value": high}
        failure = Failure(
            None,
            rule_in_words(_ROW_COUNT_RULE, kwargs),
            f"the extract has {_count_words(rows)} rows; between {_count_words(low)} and "
            f"{_count_words(high)} are plausible",
            1,
            [],
        )
        self._merged[index] = _Merged(failure, 1, 0, [], merges=False)

    def unique_rule(self) -> tuple[int, str, dict] | None:
        """The suite's rule over the key: its place, type and arguments (None if none)."""
        for rule in _UNIQUE_RULES:
            if rule in self._rule_index:
                index, kwargs = self._rule_index[rule]
                return index, rule, kwargs
        return None

    def add_unique(self, failure: Failure | None) -> None:
        """The failure of the key across chunks, in the place of the suite's own rule."""
        found = self.unique_rule()
        if failure is not None and found is not None:
            self._merged[found[0]] = _Merged(failure, failure.unexpected_count, 0, [], False)

    def failures(self) -> list[Failure]:
        """Every broken rule, in the suite's order, as one failure each."""
        failures = []
        for index in sorted(self._merged):
            merged = self._merged[index]
            if merged.failure is None:
                continue
            failure = merged.failure
            if self.chunked and merged.merges:
                share = (
                    f" ({100 * merged.unexpected / merged.judged:.2f}% of rows)"
                    if merged.judged
                    else ""
                )
                samples = sorted(merged.samples, key=lambda row: row.get(ROW_NUMBER, 0))
                failure = Failure(
                    failure.column,
                    failure.rule,
                    f"{merged.unexpected:,} row(s) break the rule{share}",
                    merged.unexpected,
                    samples[:SAMPLE_ROWS],
                )
            failures.append(failure)
        return failures


class _KeyCheck:
    """Whether a key without the period is unique across every chunk of an extract.

    Each chunk leaves a 64-bit hash of each row's key and the row's number; rows whose
    hash appears more than once are the candidates, whose keys the caller fetches
    (:meth:`candidates`) for :meth:`failure` to compare exactly. As the suite's rule
    does, a one-column key ignores rows without a value.
    """

    def __init__(self, extract: Extract) -> None:
        self.key = list(extract.key)
        self.judged = 0
        self._hashes: list[np.ndarray] = []
        self._rows: list[np.ndarray] = []

    def add(self, chunk: pd.DataFrame) -> None:
        """Remember the hashes of one chunk's keys."""
        keys = chunk[self.key]
        rows = chunk[ROW_NUMBER]
        if len(self.key) == 1:
            present = keys[self.key[0]].notna()
            keys, rows = keys[present], rows[present]
        self.judged += len(keys)
        self._hashes.append(pd.util.hash_pandas_object(keys, index=False).to_numpy())
        self._rows.append(rows.to_numpy())

    def candidates(self) -> np.ndarray:
        """Row numbers whose key's hash appears more than once, ascending."""
        if not self._hashes:
            return np.empty(0, dtype="int64")
        hashes = np.concatenate(self._hashes)
        rows = np.concatenate(self._rows)
        order = np.argsort(hashes, kind="stable")
        ordered = hashes[order]
        same = ordered[1:] == ordered[:-1]
        repeated = np.zeros(len(ordered), dtype=bool)
        repeated[1:] |= same
        repeated[:-1] |= same
        return np.sort(rows[order[repeated]])

    def failure(self, rule: str, kwargs: dict, rows: pd.DataFrame) -> Failure | None:
        """The failure, if the candidate ``rows`` (row number and key) share keys."""
        if rows.empty:
            return None
        rows = rows.sort_values(ROW_NUMBER, kind="stable")
        shared = rows.duplicated(self.key, keep=False)
        count = int(shared.sum())
        if not count:
            return None
        share = f" ({100 * count / self.judged:.2f}% of rows)" if self.judged else ""
        return Failure(
            self.key[0] if len(self.key) == 1 else ", ".join(self.key),
            rule_in_words(rule, kwargs),
            f"{count:,} row(s) break the rule{share}",
            count,
            rows.loc[shared, [ROW_NUMBER, *self.key]].head(SAMPLE_ROWS).to_dict("records"),
        )


def _run_suite(
    frame: pd.DataFrame, extract: Extract, parameters: dict, chunk_rows: int = CHUNK_ROWS
) -> tuple[int, list[Failure]]:
    """Run the suite on an extract read whole (in chunks of whole periods if large)."""
    chunks = _chunks(frame, chunk_rows)
    run = _SuiteRun(extract, parameters, chunked=len(chunks) > 1)
    keys = _KeyCheck(extract) if run.spans_chunks else None
    for chunk in chunks:
        run.check(chunk)
        if keys is not None:
            keys.add(chunk)
    run.count_rows(len(frame))
    found = run.unique_rule()
    if keys is not None and found is not None:
        candidates = frame[frame[ROW_NUMBER].isin(keys.candidates())]
        run.add_unique(keys.failure(found[1], found[2], candidates[[ROW_NUMBER, *keys.key]]))
    return run.rules, run.failures()


# --- The published set --------------------------------------------------------------------


def read_manifest(paths: DataPaths) -> dict:
    """The manifest of the current generation (an empty one if nothing is published yet)."""
    return read_manifest_at(paths.pinned().generation)


def _origin(paths: DataPaths, checked: _Checked) -> str:
    try:
        marker = json.loads(paths.demo_marker.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return "supplied"
    made = marker.get("files", {}).get(checked.path.name)
    return "demo" if made == checked.sha256 else "supplied"


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")


def _published_frame(generation: Path | None, name: str, columns: list[str]) -> pd.DataFrame | None:
    """Columns of a published extract of the current generation (None if not published)."""
    if generation is None:
        return None
    path = generation / f"{name}.parquet"
    if not path.exists():
        return None
    present = [c for c in columns if c in pq.read_schema(path).names]
    return pd.read_parquet(path, columns=present)


def _published_profile(
    generation: Path | None, name: str, columns: list[str]
) -> pd.DataFrame | None:
    """Rows of a published extract by the distinct values of ``columns`` (None if not published).

    Read a batch of row groups at a time, never whole: a profile as :class:`_Summary`
    gives, with the rows of each combination in the column ``ROWS``.
    """
    if generation is None:
        return None
    path = generation / f"{name}.parquet"
    if not path.exists():
        return None
    schema = pq.read_schema(path)
    present = [c for c in columns if c in schema.names]
    text = [
        c
        for c in present
        if pa.types.is_string(schema.field(c).type)
        or pa.types.is_large_string(schema.field(c).type)
    ]
    profile = _Profile(present)
    parquet = pq.ParquetFile(path, read_dictionary=text)
    if not present:
        profile.add(pd.DataFrame(index=range(parquet.metadata.num_rows)))
        return profile.result()
    for batch in parquet.iter_batches(batch_size=CHUNK_ROWS, columns=present):
        profile.add(batch.to_pandas())
    return profile.result()


#: The column of a profile that holds how many rows share its values.
ROWS = "rows"
#: Columns the checks over the whole set read, besides the references to establishments.
_SET_COLUMNS = ("period", "code", "closed")


def _set_columns(extract: Extract) -> list[str]:
    wanted = [*_SET_COLUMNS, *_reference_columns(extract)]
    return [c for c in dict.fromkeys(wanted) if c in extract.column_names]


class _Profile:
    """Rows by the distinct values of some columns, added up a chunk at a time."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        self._parts: list[pd.DataFrame] = []

    def add(self, frame: pd.DataFrame) -> None:
        columns = [c for c in self.columns if c in frame.columns]
        if not columns:
            self._parts.append(pd.DataFrame({ROWS: [len(frame)]}))
            return
        counts = frame.groupby(columns, dropna=False, sort=False, observed=True).size()
        part = counts.rename(ROWS).reset_index()
        for column in columns:
            if isinstance(part[column].dtype, pd.CategoricalDtype):
                part[column] = part[column].astype(part[column].cat.categories.dtype)
        self._parts.append(part)
        if len(self._parts) >= 16:
            self._parts = [self.result()]

    def result(self) -> pd.DataFrame:
        if not self._parts:
            return pd.DataFrame({**{c: [] for c in self.columns}, ROWS: []})
        whole = pd.concat(self._parts, ignore_index=True)
        columns = [c for c in self.columns if c in whole.columns]
        if not columns:
            return pd.DataFrame({ROWS: [int(whole[ROWS].sum())]})
        return (
            whole.groupby(columns, dropna=False, sort=False, observed=True)[ROWS]
            .sum()
            .reset_index()
        )


class _Summary:
    """What the checks over the whole set need of an extract, gathered chunk by chunk.

    The rows by period, establishment code and closing date (the profile) and, for each
    code of each column referring to establishments, its first rows in the file: the
    extract itself is never needed again once its chunks are checked.
    """

    def __init__(self, extract: Extract) -> None:
        self.rows = 0
        self._profile = _Profile(_set_columns(extract))
        self._firsts: dict[str, list[pd.DataFrame]] = {c: [] for c in _reference_columns(extract)}

    def add(self, chunk: pd.DataFrame) -> None:
        self.rows += len(chunk)
        self._profile.add(chunk)
        for column, parts in self._firsts.items():
            if column not in chunk.columns:
                continue
            present = chunk.loc[chunk[column].notna(), [ROW_NUMBER, column]]
            parts.append(present.groupby(column, sort=False, observed=True).head(SAMPLE_ROWS))
            if len(parts) >= 16:
                parts[:] = [self._first(column, None)]

    def profile(self) -> pd.DataFrame:
        """Rows by the distinct values of the set's columns, in the column ``ROWS``."""
        return self._profile.result()

    def _first(self, column: str, codes: list[str] | None) -> pd.DataFrame:
        parts = self._firsts.get(column) or []
        if not parts:
            return pd.DataFrame({ROW_NUMBER: [], column: []})
        rows = pd.concat(parts, ignore_index=True)
        if codes is not None:
            rows = rows[rows[column].astype(str).isin(codes)]
        rows = rows.sort_values(ROW_NUMBER, kind="stable")
        return rows.groupby(column, sort=False, observed=True).head(SAMPLE_ROWS)

    def first_rows(self, column: str, codes: list[str]) -> list[dict]:
        """The first rows in the file (row number and value) holding any of ``codes``."""
        rows = self._first(column, codes)
        return rows[[ROW_NUMBER, column]].head(SAMPLE_ROWS).to_dict("records")


@dataclass
class _Checked:
    """One extract as checked: what the checks over the set and the publish need of it.

    ``frame`` holds the coerced rows of an extract read whole; an extract read in chunks
    has ``staged`` instead, its coerced rows written as they were checked.
    """

    path: Path
    sha256: str
    summary: _Summary
    frame: pd.DataFrame | None = None
    staged: Path | None = None


# --- Reports ------------------------------------------------------------------------------

_REPORT_STAMP = re.compile(r"-(\d{8}T\d{6})(?:\.\d+)?Z\.json$")


def _write_report(paths: DataPaths, outcome: ValidationOutcome, started: str, extra: dict) -> Path:
    stamp = started.replace(":", "").replace("-", "").replace("+0000", "Z")
    path = paths.reports / f"{outcome.extract}-{stamp}.json"
    report = {
        "extract": outcome.extract,
        "source_file": outcome.source_file,
        "started_at": started,
        "success": outcome.success,
        "published": outcome.published,
        "generation": outcome.generation,
        "rows": outcome.rows,
        "rules_checked": outcome.rules_checked,
        "rules_failed": len(outcome.failures) + (1 if outcome.error else 0),
        "error": visible(outcome.error) if outcome.error else None,
        "failures": [f.as_dict() for f in outcome.failures],
        "notes": [visible(n) for n in outcome.notes],
        **extra,
    }
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    atomic_write_text(path, text)
    return path


def _report_time(path: Path) -> dt.datetime | None:
    match = _REPORT_STAMP.search(path.name)
    if not match:
        return None
    return dt.datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=dt.UTC)


def prune_reports(
    paths: DataPaths, *, retention_days: int, now: dt.datetime | None = None
) -> list[str]:
    """Remove record-level sample rows from reports older than ``retention_days``.

    Old reports are deleted, except each extract's latest, which keeps its verdict (the
    data page reads it) but loses its sample rows. Returns what was removed or redacted.
    """
    if not paths.reports.is_dir():
        return []
    now = now or dt.datetime.now(dt.UTC)
    cutoff = now - dt.timedelta(days=retention_days)
    reports = sorted(paths.reports.glob("*.json"))
    latest = {p.stem.rsplit("-", 1)[0]: p for p in reports}
    changed = []
    for report in reports:
        when = _report_time(report)
        if when is None or when >= cutoff:
            continue
        if latest.get(report.stem.rsplit("-", 1)[0]) != report:
            report.unlink(missing_ok=True)
            changed.append(f"deleted {report.name}")
            continue
        try:
            document = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if document.get("sample_rows_removed_at"):
            continue
        for failure in document.get("failures") or []:
            failure["sample_rows"] = []
        document["sample_rows_removed_at"] = now.strftime("%Y-%m-%dT%H:%M:%S+0000")
        atomic_write_text(report, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        changed.append(f"removed sample rows from {report.name}")
    return changed


# --- Checking one extract -------------------------------------------------------------------


def _without_echoes(suite_failures: list[Failure], type_failures: list[Failure]) -> list[Failure]:
    """Drop "never empty" failures that only repeat values already reported as unreadable.

    A value that cannot be read as its type is emptied by coercion, so the not-null rule
    would report the same rows a second time.
    """
    unreadable: dict[str | None, int] = {}
    for f in type_failures:
        if f.rule.startswith("values are"):
            unreadable[f.column] = unreadable.get(f.column, 0) + f.unexpected_count
    kept = []
    for failure in suite_failures:
        echoes = failure.rule.endswith("is never empty") and failure.column in unreadable
        if echoes and failure.unexpected_count <= unreadable[failure.column]:
            continue
        kept.append(failure)
    return kept


def _check_extract(
    paths: DataPaths,
    extract_name: str,
    *,
    establishment_codes: list[str],
    settings: ValidationSettings,
    progress: Progress | None,
    stage: _Stage,
) -> tuple[ValidationOutcome, _Checked | None]:
    """Read one extract and check it against its suite; publishes nothing.

    A Parquet file of more than ``settings.chunk_rows`` rows is read and checked a chunk
    of whole periods at a time (:func:`_check_in_chunks`); any other file whole.
    """
    extract = EXTRACTS[extract_name]
    outcome = ValidationOutcome(extract_name, False, False, None, None)
    try:
        path = find_raw_file(paths.raw, extract_name)
        if path is None:
            raise UnreadableExtractError(
                f"{extract_name}: no raw file {paths.raw}/{extract_name}.csv, .xlsx or .parquet"
            )
        outcome.source_file = path.name
        if progress:
            progress(f"{extract_name}: reading {path.name}")
        low, high = ROW_BOUNDS[extract_name]
        limits = ReadLimits(max_file_bytes=settings.max_file_bytes, max_rows=high)
        chunks = open_parquet_chunks(path, extract, limits, chunk_rows=settings.chunk_rows)
        raw = read_raw_extract(path, extract, limits) if chunks is None else None
    except UnreadableExtractError as error:
        outcome.error = str(error)
        return outcome, None
    parameters = {ESTABLISHMENT_CODES: establishment_codes, MIN_ROWS: low, MAX_ROWS: high}
    if chunks is not None:
        with chunks:
            return _check_in_chunks(chunks, outcome, parameters, settings, progress, stage)
    outcome.rows = len(raw.frame)
    outcome.notes = list(raw.notes)
    failures = list(raw.failures)
    missing_columns = any(f.rule == "required columns present" for f in failures)
    if not missing_columns:
        if progress:
            progress(f"{extract_name}: checking {len(raw.frame):,} rows against its suite")
        rules, suite_failures = _run_suite(raw.frame, extract, parameters, settings.chunk_rows)
        outcome.rules_checked = rules
        failures.extend(_without_echoes(suite_failures, raw.failures))
    outcome.failures = failures
    outcome.success = not failures
    summary = _Summary(extract)
    summary.add(raw.frame)
    return outcome, _Checked(raw.path, raw.sha256, summary, frame=raw.frame)


def _check_in_chunks(
    chunks: ParquetChunks,
    outcome: ValidationOutcome,
    parameters: dict,
    settings: ValidationSettings,
    progress: Progress | None,
    stage: _Stage,
) -> tuple[ValidationOutcome, _Checked | None]:
    """Check a large Parquet extract a chunk of whole periods at a time, never whole.

    Each chunk is coerced and run through the suite, and leaves what the rules that span
    chunks need: its row count, its key's hashes (a key without the period), and its
    rows by period and establishment for the checks over the set. While nothing has
    failed, the coerced chunk is written to the stage, so that publishing moves the
    file rather than reading the extract again. The failures are those the whole file
    would give (see :meth:`_SuiteRun.failures` and
    :func:`equality_core.ingest.merge_read_failures`).
    """
    extract = chunks.extract
    name = extract.name
    outcome.rows = chunks.rows
    try:
        count = chunks.plan(settings.chunk_rows)
    except UnreadableExtractError as error:
        outcome.error = str(error)
        return outcome, None
    missing_columns = any(f.rule == "required columns present" for f in chunks.failures)
    run = None if missing_columns else _SuiteRun(extract, parameters, chunked=count > 1)
    keys = _KeyCheck(extract) if run is not None and run.spans_chunks else None
    summary = _Summary(extract)
    writer = None if run is None else _StagedWriter(stage.path(name), extract)
    read_failures: list[Failure] = []
    relabelled: dict[str, set[str]] = {}
    if progress:
        progress(
            f"{name}: checking {chunks.rows:,} rows against its suite, in {count} chunk(s) "
            "of whole periods"
        )
    try:
        for number, chunk in enumerate(chunks.chunks(), start=1):
            frame = chunk.frame
            read_failures.extend(chunk.failures)
            for column, labels in chunk.relabelled.items():
                relabelled.setdefault(column, set()).update(labels)
            summary.add(frame)
            if run is not None:
                run.check(frame)
            if keys is not None:
                keys.add(frame)
            if writer is not None and (read_failures or run.failed):
                writer.abandon()  # it will not be published: stop writing it
                writer = None
            elif writer is not None:
                writer.write(frame)
            if progress and count > 1:
                progress(f"{name}: chunk {number} of {count} checked ({len(frame):,} rows)")
        read = merge_read_failures(read_failures, extract)
        failures = list(chunks.failures) + read
        if run is not None:
            run.count_rows(chunks.rows)
            found = run.unique_rule()
            candidates = keys.candidates() if keys is not None else np.empty(0)
            if found is not None and candidates.size:
                # A second pass over the key's columns alone, for the rows that may share one.
                parts = [
                    c.frame.loc[c.frame[ROW_NUMBER].isin(candidates), [ROW_NUMBER, *keys.key]]
                    for c in chunks.chunks(columns=keys.key)
                ]
                rows = pd.concat(parts, ignore_index=True)
                run.add_unique(keys.failure(found[1], found[2], rows))
            outcome.rules_checked = run.rules
            failures.extend(_without_echoes(run.failures(), read))
    except UnreadableExtractError as error:
        if writer is not None:
            writer.abandon()
        outcome.error = str(error)
        return outcome, None
    except BaseException:
        if writer is not None:
            writer.abandon()
        raise
    outcome.notes = list(chunks.notes) + notes_on_columns(extract, relabelled, {})
    outcome.failures = failures
    outcome.success = not failures
    staged = None
    if writer is not None and outcome.success:
        staged = writer.close()
    elif writer is not None:
        writer.abandon()
    return outcome, _Checked(chunks.path, chunks.sha256, summary, staged=staged)


class _StagedWriter:
    """The coerced rows of an extract read in chunks, written as each chunk is checked.

    The same Parquet as publishing a whole frame writes (``DataFrame.to_parquet``: the
    contract's columns, pandas metadata, zstd), a chunk after another.
    """

    def __init__(self, path: Path, extract: Extract) -> None:
        self.path = path
        self.columns = list(extract.column_names)
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def write(self, chunk: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(chunk[self.columns], preserve_index=False)
        if self._writer is None:
            self._schema = table.schema
            self._writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        else:
            table = table.cast(self._schema)
        self._writer.write_table(table)

    def close(self) -> Path:
        """Finish the file; returns its path."""
        if self._writer is None:  # no chunk at all: an empty table of the contract
            raise ValueError(f"{self.path.name}: no rows were staged")
        self._writer.close()
        self._writer = None
        return self.path

    def abandon(self) -> None:
        """Close and remove the file."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.path.unlink(missing_ok=True)


class _Stage:
    """A folder for the rows of extracts checked in chunks until they are published.

    Inside ``generations/`` (so publishing moves files within one file system) and named
    like a generation being built (``.tmp-…``), so that the next run removes one left by
    a killed run (:func:`equality_core.publish.recover`); a run removes its own at its end.
    """

    def __init__(self, paths: DataPaths, folder: Path | None = None) -> None:
        """``folder``: one made already (by another process's stage), to stage into."""
        self._root = paths.generations
        self._folder = folder

    def folder(self) -> Path:
        """The stage's folder, made if it was not."""
        if self._folder is None:
            self._folder = self._root / f".tmp-stage-{secrets.token_hex(4)}"
            self._folder.mkdir(parents=True)
        return self._folder

    def path(self, name: str) -> Path:
        return self.folder() / f"{name}.parquet"

    def remove(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


# --- Checking the set that would be published --------------------------------------------

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_FINANCIAL_YEAR = re.compile(r"^(\d{4})-\d\d$")


def _period_position(label: str) -> tuple[str, int] | None:
    """A period's kind and running number (quarters and financial years count apart)."""
    if match := _QUARTER.match(label):
        return "quarter", int(match.group(1)) * 4 + int(match.group(2)) - 1
    if match := _FINANCIAL_YEAR.match(label):
        return "financial year", int(match.group(1))
    return None


def _weights(frame: pd.DataFrame) -> pd.Series:
    """How many rows each row of ``frame`` stands for: 1, or its ``ROWS`` in a profile."""
    if ROWS in frame.columns:
        return frame[ROWS].astype("int64")
    return pd.Series(1, index=frame.index, dtype="int64")


def _rows(frame: pd.DataFrame) -> int:
    return int(_weights(frame).sum())


def _rows_by(frame: pd.DataFrame, column: str) -> pd.Series:
    """Rows by value of ``column``: most first, then by value (values present only)."""
    values = frame[column]
    present = values.notna()
    counts = _weights(frame)[present].groupby(values[present].astype(str)).sum()
    order = sorted(counts.index, key=lambda value: (-int(counts[value]), value))
    return counts.reindex(order)


def shrink_failures(
    old: pd.DataFrame,
    new: pd.DataFrame,
    *,
    extract: Extract,
    tolerance: float,
    closed_codes: set[str] = frozenset(),
) -> list[Failure]:
    """How a new extract shrinks against the published one it would replace.

    ``old`` and ``new`` are the extracts' rows (the columns ``period``, ``code``,
    ``closed`` and ``establishment`` as far as they have them), or profiles of them: one
    row per distinct combination with its number of rows in the column ``rows``.
    Compared over the periods both cover (losing the oldest periods at the start of the
    range is a roll forward, not a shrink): rows falling by more than ``tolerance``; a
    period of the old extract missing from inside the new one's range, or after its end;
    an establishment no longer covered that is not in ``closed_codes``. For the
    ``establishments`` extract itself: a code disappearing that was not marked closed.
    """
    failures: list[Failure] = []
    old_overlap, new_overlap = old, new
    if "period" in extract.column_names and "period" in old.columns:
        old_rows = _rows_by(old, "period")
        new_rows = _rows_by(new, "period")
        old_positions = {p: _period_position(p) for p in old_rows.index}
        new_positions = {p: _period_position(p) for p in new_rows.index}
        missing: list[dict] = []
        keep_old = set()
        keep_new = set()
        for kind in ("quarter", "financial year"):
            old_kind = {p: pos[1] for p, pos in old_positions.items() if pos and pos[0] == kind}
            new_kind = {p: pos[1] for p, pos in new_positions.items() if pos and pos[0] == kind}
            if not old_kind:
                keep_new |= set(new_kind)
                continue
            if not new_kind:
                keep_old |= set(old_kind)
                missing += [
                    {"period": p, "rows_before": int(old_rows[p]), "where": "all periods"}
                    for p in sorted(old_kind, key=old_kind.get)
                ]
                continue
            first, last = min(new_kind.values()), max(new_kind.values())
            last_old = max(old_kind.values())
            keep_old |= {p for p, i in old_kind.items() if first <= i <= last_old}
            keep_new |= {p for p, i in new_kind.items() if i <= last_old}
            for period, position in sorted(old_kind.items(), key=lambda item: item[1]):
                if period in new_kind or position < first:
                    continue
                where = "inside the range" if position <= last else "after the new last period"
                missing.append(
                    {"period": period, "rows_before": int(old_rows[period]), "where": where}
                )
        if missing:
            labels = ", ".join(f"{m['period']} ({m['where']})" for m in missing[:8])
            more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
            failures.append(
                Failure(
                    "period",
                    SHRINK_RULE,
                    f"{len(missing)} period(s) of the published extract are missing: "
                    f"{labels}{more}",
                    len(missing),
                    missing[:SAMPLE_ROWS],
                )
            )
        old_overlap = old[old["period"].astype(str).isin(keep_old)]
        new_overlap = new[new["period"].astype(str).isin(keep_new)]
    before, after = _rows(old_overlap), _rows(new_overlap)
    if before and after < before * (1 - tolerance):
        fall = 1 - after / before
        scope = " in the periods both cover" if old_overlap is not old else ""
        failures.append(
            Failure(
                None,
                SHRINK_RULE,
                f"rows fall from {before:,} to {after:,}{scope} ({fall:.0%} fewer), more than "
                f"the {tolerance:.0%} tolerated",
                before - after,
                [{"rows_before": before, "rows_now": after}],
            )
        )
    if extract.name == "establishments" and "code" in old.columns:
        still_open = old[old["closed"].isna()] if "closed" in old.columns else old
        gone = sorted(set(still_open["code"].astype(str)) - set(new["code"].astype(str)))
        if gone:
            failures.append(
                Failure(
                    "code",
                    SHRINK_RULE,
                    f"{len(gone)} establishment(s) disappear without being marked closed: "
                    f"{', '.join(gone[:10])}; keep them with a closed date",
                    len(gone),
                    [{"code": code} for code in gone[:SAMPLE_ROWS]],
                )
            )
    elif "establishment" in extract.column_names and "establishment" in old.columns:
        old_codes = _rows_by(old_overlap.dropna(subset=["establishment"]), "establishment")
        new_codes = set(new_overlap["establishment"].dropna().astype(str))
        gone = [c for c in old_codes.index if c not in new_codes and c not in closed_codes]
        if gone:
            failures.append(
                Failure(
                    "establishment",
                    SHRINK_RULE,
                    f"{len(gone)} establishment(s) no longer covered and not marked closed: "
                    + ", ".join(f"{c} ({int(old_codes[c]):,} rows before)" for c in gone[:10]),
                    len(gone),
                    [
                        {"establishment": c, "rows_before": int(old_codes[c])}
                        for c in gone[:SAMPLE_ROWS]
                    ],
                )
            )
    return failures


def _reference_columns(extract: Extract) -> list[str]:
    return [c.name for c in extract.columns if c.references == "establishments.code"]


def _codes_in_use(frame: pd.DataFrame, extract: Extract) -> pd.Series:
    """Rows per establishment code across an extract's reference columns (or a profile's)."""
    counts = [_rows_by(frame, c) for c in _reference_columns(extract) if c in frame.columns]
    counts = [c for c in counts if len(c)]
    if not counts:
        return pd.Series(dtype="int64")
    return pd.concat(counts).groupby(level=0).sum()


def _fail(outcome: ValidationOutcome, failure: Failure) -> None:
    outcome.failures.append(failure)
    outcome.success = False


def _check_set(
    outcomes: dict[str, ValidationOutcome],
    checked: dict[str, _Checked],
    generation: Path | None,
    published: dict,
    settings: ValidationSettings,
) -> None:
    """Shrink and cross-extract reference checks over the set that would be published.

    Works from each extract's summary (rows by period and establishment code, the first
    rows of each code) and profiles of the published extracts, read a batch at a time:
    no extract is held whole for these checks.
    """
    published_extracts = published.get("extracts", {})
    own_rules_passed = {name: outcomes[name].success for name in checked}

    def passing(name: str) -> bool:
        return name in checked and outcomes[name].success

    # The establishments extract first: the others' coverage is judged against it.
    order = sorted(checked, key=lambda n: (n != "establishments", EXTRACT_ORDER.index(n)))
    for name in order:
        if not passing(name) or name not in published_extracts:
            continue
        extract = EXTRACTS[name]
        old = _published_profile(generation, name, _set_columns(extract))
        if old is None:
            continue
        closed: set[str] = set()
        establishments = _final_establishments(outcomes, checked, generation, passing)
        if establishments is not None and "closed" in establishments.columns:
            closed = set(establishments.loc[establishments["closed"].notna(), "code"].astype(str))
        found = shrink_failures(
            old,
            checked[name].summary.profile(),
            extract=extract,
            tolerance=settings.shrink_tolerance,
            closed_codes=closed,
        )
        if not found:
            continue
        if settings.accept_shrink:
            outcomes[name].notes += [
                f"shrink accepted (--accept-shrink): {f.description}" for f in found
            ]
        else:
            for failure in found:
                failure.description += "; run with --accept-shrink if this is intended"
                _fail(outcomes[name], failure)

    # References, repeated until stable: refusing one extract changes what stays published.
    # A new establishments list must keep every code that an extract staying published
    # uses (said even if the list was refused for another reason); a new extract must use
    # only codes of the establishments that will be published.
    new_codes = None
    if own_rules_passed.get("establishments"):
        new_codes = set(checked["establishments"].frame["code"].astype(str))
    reported: set[str] = set()
    for _ in range(len(EXTRACTS) + 1):
        changed = False
        establishments = _final_establishments(outcomes, checked, generation, passing)
        known = set() if establishments is None else set(establishments["code"].astype(str))
        for name, extract in EXTRACTS.items():
            if not _reference_columns(extract) or name == "establishments":
                continue
            if passing(name):
                summary = checked[name].summary
                profile = summary.profile()
                codes = _codes_in_use(profile, extract)
                unknown = [c for c in codes.index if c not in known]
                if not unknown:
                    continue
                column = _reference_columns(extract)[0]
                using = profile[profile[column].astype(str).isin(unknown)]
                _fail(
                    outcomes[name],
                    Failure(
                        column,
                        f"{column} is a known establishment code (in the establishments "
                        "that would be published)",
                        f"{_rows(using):,} row(s) use code(s) not in establishments: "
                        f"{', '.join(unknown[:10])}",
                        _rows(using),
                        summary.first_rows(column, unknown),
                    ),
                )
                changed = True
            elif new_codes is not None and name in published_extracts and name not in reported:
                profile = _published_profile(generation, name, _reference_columns(extract))
                if profile is None:
                    continue
                codes = _codes_in_use(profile, extract)
                unknown = [c for c in codes.index if c not in new_codes]
                if not unknown:
                    continue
                reported.add(name)
                detail = ", ".join(f"{c} ({int(codes[c]):,} rows)" for c in unknown[:10])
                changed = changed or passing("establishments")
                _fail(
                    outcomes["establishments"],
                    Failure(
                        "code",
                        REFERENCE_RULE,
                        f"the published {name} extract still uses code(s) this extract drops: "
                        f"{detail}; keep them (with a closed date if closed)",
                        int(codes[unknown].sum()),
                        [
                            {"code": c, "extract": name, "rows": int(codes[c])}
                            for c in unknown[:SAMPLE_ROWS]
                        ],
                    ),
                )
        if not changed:
            break


def _final_establishments(outcomes, checked, generation, passing) -> pd.DataFrame | None:
    if passing("establishments"):
        return checked["establishments"].frame
    return _published_frame(generation, "establishments", ["code", "closed"])


# --- A whole run ------------------------------------------------------------------------------


def _raw_files_present(paths: DataPaths) -> list[str]:
    return [
        name
        for name in EXTRACT_ORDER
        if any(os.path.lexists(paths.raw / f"{name}{suffix}") for suffix in RAW_SUFFIXES)
    ]


def _publishable(name: str, checked: _Checked, origin: str, validated_at: str) -> Candidate:
    extract = EXTRACTS[name]
    entry = {
        "rows": checked.summary.rows,
        "source_file": checked.path.name,
        "source_sha256": checked.sha256,
        "suite": f"expectations/{name}.json",
        "validated_at": validated_at,
        "origin": origin,
    }
    if checked.staged is not None:
        return Candidate(name, None, entry, staged=checked.staged)
    frame = checked.frame.drop(columns=[ROW_NUMBER])[list(extract.column_names)]
    return Candidate(name, frame.reset_index(drop=True), entry)


def _disclosure_config(paths: DataPaths) -> cellkey.DisclosureConfig | None:
    """The data folder's disclosure configuration, or None where it has none yet."""
    try:
        return cellkey.load_config(paths.root, demo=paths.demo_marker.exists())
    except cellkey.DisclosureConfigError:
        return None


#: Below this many bytes of raw files to check (besides establishments, checked first),
#: every extract is checked in this process: a new process spends seconds importing
#: Great Expectations before it checks anything.
PARALLEL_FROM_BYTES = 20 * 1024**2


def _check_each(
    paths: DataPaths,
    names: list[str],
    *,
    generation: Path | None,
    settings: ValidationSettings,
    progress: Progress | None,
    stage: _Stage,
    workers: int | None,
) -> tuple[dict[str, ValidationOutcome], dict[str, _Checked], dict[str, str]]:
    """Check each extract of ``names`` (in that order): outcomes, what passed, when begun.

    Establishments first, in this process: the others' establishment codes are checked
    against this run's if they pass, else the published ones. The others are
    independent of one another; with more than one and at least
    :data:`PARALLEL_FROM_BYTES` of raw files among them, they are checked in up to
    ``workers`` processes at once (default
    :func:`equality_core.publish.publish_workers`), the largest file first. Each
    process checks whole extracts exactly as this one does, stages into the same
    folder, and its progress is passed on here as it comes.
    """
    outcomes: dict[str, ValidationOutcome] = {}
    checked: dict[str, _Checked] = {}
    started: dict[str, str] = {}
    establishments_this_run: pd.DataFrame | None = None
    if "establishments" in names:
        started["establishments"] = _now()
        outcome, found = _check_one(
            paths, "establishments", _codes(None, generation), settings, progress, stage
        )
        outcomes["establishments"] = outcome
        if found is not None:
            checked["establishments"] = found
            if outcome.success:
                establishments_this_run = found.frame
    rest = [n for n in names if n != "establishments"]
    codes = _codes(establishments_this_run, generation)
    workers = publish_workers() if workers is None else max(1, workers)
    sizes = {name: _raw_bytes(paths, name) for name in rest}
    results: dict[str, tuple[ValidationOutcome, _Checked | None]] = {}
    if workers > 1 and len(rest) > 1 and sum(sizes.values()) >= PARALLEL_FROM_BYTES:
        largest_first = sorted(rest, key=lambda name: -sizes[name])
        for name in largest_first:
            started[name] = _now()
        results = _check_in_processes(
            paths, largest_first, codes, settings, progress, stage, workers
        )
    else:
        for name in rest:
            started[name] = _now()
            results[name] = _check_one(paths, name, codes, settings, progress, stage)
    for name in rest:
        outcome, found = results[name]
        outcomes[name] = outcome
        if found is not None:
            checked[name] = found
    return outcomes, checked, started


def _codes(establishments: pd.DataFrame | None, generation: Path | None) -> list[str]:
    """The establishment codes the other extracts are checked against."""
    if establishments is None:
        establishments = _published_frame(generation, "establishments", ["code"])
    return [] if establishments is None else sorted(establishments["code"].astype(str).unique())


def _raw_bytes(paths: DataPaths, name: str) -> int:
    """The size of an extract's raw file (0 if none, or if checking it will say why not)."""
    try:
        path = find_raw_file(paths.raw, name)
        return 0 if path is None else path.stat().st_size
    except (OSError, UnreadableExtractError):
        return 0


def _check_one(
    paths: DataPaths,
    name: str,
    codes: list[str],
    settings: ValidationSettings,
    progress: Progress | None,
    stage: _Stage,
) -> tuple[ValidationOutcome, _Checked | None]:
    """:func:`_check_extract`, with anything it raises made the extract's failure."""
    try:
        return _check_extract(
            paths,
            name,
            establishment_codes=codes,
            settings=settings,
            progress=progress,
            stage=stage,
        )
    except Exception as error:  # never a traceback: the extract gets a report
        return _not_checked(name, error), None


def _not_checked(name: str, error: BaseException) -> ValidationOutcome:
    return ValidationOutcome(
        name,
        False,
        False,
        None,
        None,
        error=f"{name}: could not be checked ({type(error).__name__}: {error})",
    )


def _check_in_processes(
    paths: DataPaths,
    names: list[str],
    codes: list[str],
    settings: ValidationSettings,
    progress: Progress | None,
    stage: _Stage,
    workers: int,
) -> dict[str, tuple[ValidationOutcome, _Checked | None]]:
    """:func:`_check_one` of each extract in a pool of processes (:func:`process_pool`)."""
    messages = SPAWN.Queue()
    folder = stage.folder()  # made here, so that every process stages into it
    results: dict[str, tuple[ValidationOutcome, _Checked | None]] = {}
    with process_pool(min(workers, len(names)), messages=messages) as pool:
        running = {
            pool.submit(_check_in_process, paths, name, codes, settings, folder): name
            for name in names
        }
        wait_passing_on(running, messages, progress)
    pass_on(messages, progress)  # the last, flushed as the processes ended
    for future, name in running.items():
        try:
            results[name] = future.result()
        except Exception as error:  # a process that died (memory): its extracts fail
            results[name] = (_not_checked(name, error), None)
    return results


def _check_in_process(
    paths: DataPaths,
    name: str,
    codes: list[str],
    settings: ValidationSettings,
    folder: Path,
) -> tuple[ValidationOutcome, _Checked | None]:
    return _check_one(paths, name, codes, settings, worker_progress(), _Stage(paths, folder))


def validate_all(
    paths: DataPaths,
    names: Iterable[str] | None = None,
    *,
    progress: Progress | None = None,
    settings: ValidationSettings | None = None,
    workers: int | None = None,
) -> list[ValidationOutcome]:
    """Validate the named extracts (default: every extract with a raw file) and publish.

    Holds the data folder's lock for the whole run. Each extract is read and checked
    against its suite (references against this run's establishments if they pass, else
    the published ones), then the set that would be published is checked as a whole
    (shrink and references), and the extracts that pass are published together as one
    new generation. Every extract gets a report, whatever happens to the others.
    Extracts are checked side by side in up to ``workers`` processes (default
    :func:`equality_core.publish.publish_workers`) where that pays (:func:`_check_each`),
    and so are their sums made.

    Raises
    ------
    ValueError
        If an extract name is unknown.
    equality_core.publish.DataFolderBusyError
        If another run holds the lock for longer than ``settings.lock_timeout``.
    """
    settings = settings or ValidationSettings()
    if names:
        wanted = list(dict.fromkeys(names))
        unknown = [n for n in wanted if n not in EXTRACTS]
        if unknown:
            raise ValueError(f"unknown extract(s): {', '.join(unknown)}")
    else:
        wanted = None
    with data_folder_lock(paths, timeout=settings.lock_timeout, on_wait=progress):
        housekeeping = recover(paths)
        for note in housekeeping.notes:
            if progress:
                progress(note)
        pruned = prune_reports(paths, retention_days=settings.report_retention_days)
        if pruned and progress:
            progress(
                f"reports past the {settings.report_retention_days}-day retention: {len(pruned)}"
            )
        if wanted is None:
            wanted = _raw_files_present(paths)
        generation = paths.pinned().generation
        published = read_manifest_at(generation)
        stage = _Stage(paths)
        try:
            outcomes, checked, started = _check_each(
                paths,
                [n for n in EXTRACT_ORDER if n in wanted],
                generation=generation,
                settings=settings,
                progress=progress,
                stage=stage,
                workers=workers,
            )
            try:
                _check_set(outcomes, checked, generation, published, settings)
            except Exception as error:  # the set could not be checked: publish nothing
                for outcome in outcomes.values():
                    if outcome.success:
                        outcome.success = False
                        outcome.error = (
                            f"the published set could not be checked ({type(error).__name__}: "
                            f"{error}); nothing published"
                        )
            passed = [name for name, outcome in outcomes.items() if outcome.success]
            if passed:
                _publish(paths, passed, outcomes, checked, started, published, progress)
        finally:
            stage.remove()
        if any(outcome.published for outcome in outcomes.values()):
            _derive(paths, progress, workers)
        for name, outcome in outcomes.items():
            sha = checked[name].sha256 if name in checked else None
            try:
                outcome.report_path = _write_report(
                    paths, outcome, started[name], {"source_sha256": sha}
                )
            except Exception as error:  # a report that cannot be written stops no other
                outcome.notes.append(f"the report could not be written: {error}")
            if progress:
                progress(outcome.summary().splitlines()[0])
    return list(outcomes.values())


def _derive(paths: DataPaths, progress: Progress | None, workers: int | None = None) -> None:
    """Make the published extracts' sums for the dashboard (:mod:`equality_core.derived`).

    Never fails the run: without them the dashboard counts from the records, only slower.
    """
    from equality_core import derived

    try:
        derived.build_published(paths, progress=progress, workers=workers)
    except Exception as error:  # never a traceback: say what happened, and go on
        LOG.debug("derived sums could not be made", exc_info=True)
        if progress:
            progress(
                f"the dashboard's sums could not be made ({type(error).__name__}: {error}); "
                "it will count from the records instead"
            )


def _publish(
    paths: DataPaths,
    passed: list[str],
    outcomes: dict[str, ValidationOutcome],
    checked: dict[str, _Checked],
    started: dict[str, str],
    published: dict,
    progress: Progress | None,
) -> None:
    """Publish the extracts that passed as one new generation, and record the outcome."""
    published_at = _now()
    candidates = [
        _publishable(name, checked[name], _origin(paths, checked[name]), started[name])
        for name in passed
    ]
    record = cellkey.publication_record(
        published, _disclosure_config(paths), published_at=published_at
    )
    try:
        generation_id = publish_generation(
            paths, candidates, published_at=published_at, annotations=record
        )
    except PublishError as error:
        for name in passed:
            outcomes[name].success = False
            outcomes[name].error = str(error)
    else:
        for name in passed:
            outcomes[name].published = True
            outcomes[name].generation = generation_id
        if progress:
            progress(f"published generation {generation_id}: {', '.join(passed)}")
