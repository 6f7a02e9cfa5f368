"""Validate raw extracts with Great Expectations and publish the ones that pass.

Each extract is published on its own: a pass writes ``validated/<extract>.parquet``
atomically (temporary file, then rename) and then its manifest entry (likewise); a
failure replaces nothing. Every run, pass or fail, writes a report to ``reports/``.
Only this module (with :mod:`equality_core.suites`) knows that Great Expectations
exists; it is imported lazily because the import alone takes seconds.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from equality_core.ingest import (
    ROW_NUMBER,
    SAMPLE_ROWS,
    Failure,
    RawExtract,
    UnreadableExtractError,
    find_raw_file,
    read_raw_extract,
)
from equality_core.paths import DataPaths
from equality_core.schema import EXTRACT_ORDER, EXTRACTS, Extract
from equality_core.suites import (
    ESTABLISHMENT_CODES,
    EXPECTATIONS_DIR,
    MAX_ROWS,
    MIN_ROWS,
    load_suite_document,
    rule_in_words,
)

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

#: Rows per Great Expectations call; larger extracts are validated in chunks by period,
#: because Great Expectations peaks at five to six times the frame's memory.
CHUNK_ROWS = 1_000_000


@dataclass
class ValidationOutcome:
    """What happened to one extract in one run."""

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

    def summary(self) -> str:
        """A few lines for the terminal: the verdict, then each failed rule with sample rows."""
        if self.success:
            return (
                f"PASS  {self.extract}: {self.rows:,} rows, {self.rules_checked} rules "
                f"({self.source_file}) - published"
            )
        lines = [f"FAIL  {self.extract} ({self.source_file or 'no file'}) - nothing replaced"]
        if self.error:
            lines.append(f"      {self.error}")
        for failure in self.failures:
            lines.append(
                f"      column {failure.column or '(table)'}: rule '{failure.rule}' broken by "
                f"{failure.unexpected_count:,} row(s): {failure.description}"
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


def _chunks(frame: pd.DataFrame, extract: Extract) -> list[pd.DataFrame]:
    if len(frame) <= CHUNK_ROWS or "period" not in frame.columns:
        return [frame]
    sizes = frame.groupby("period", sort=True, observed=True).size()
    groups: list[list[str]] = [[]]
    running = 0
    for period, size in sizes.items():
        if running and running + size > CHUNK_ROWS:
            groups.append([])
            running = 0
        groups[-1].append(period)
        running += size
    return [frame[frame["period"].isin(periods)] for periods in groups]


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
    if config.type in (
        "expect_table_row_count_to_be_between",
        "expect_table_columns_to_match_set",
    ):
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


def _run_suite(
    frame: pd.DataFrame, extract: Extract, parameters: dict
) -> tuple[int, list[Failure]]:
    definition = _validation_definition(extract.name)
    chunks = _chunks(frame, extract)
    merged: dict[int, Failure] = {}
    rules = 0
    for chunk in chunks:
        chunk_parameters = dict(parameters)
        if len(chunks) > 1:  # the row count is checked on the whole extract below
            chunk_parameters[MIN_ROWS], chunk_parameters[MAX_ROWS] = 0, None
        result = definition.run(
            batch_parameters={"dataframe": chunk},
            expectation_parameters=chunk_parameters,
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": [ROW_NUMBER],
                "partial_unexpected_count": SAMPLE_ROWS,
            },
        )
        rules = len(result.results)
        for index, item in enumerate(result.results):
            if item.success:
                continue
            failure = _failure_from_result(item, chunk, extract)
            if index in merged:
                previous = merged[index]
                previous.unexpected_count += failure.unexpected_count
                previous.sample_rows = (previous.sample_rows + failure.sample_rows)[:SAMPLE_ROWS]
                previous.description = f"{previous.unexpected_count:,} row(s) break the rule"
            else:
                merged[index] = failure
    failures = list(merged.values())
    if len(chunks) > 1:
        failures.extend(_whole_extract_checks(frame, extract, parameters))
    return rules, failures


def _whole_extract_checks(frame: pd.DataFrame, extract: Extract, parameters: dict) -> list[Failure]:
    """Rules that span chunks: the row count, and a key that does not include the period."""
    failures = []
    low, high = parameters[MIN_ROWS], parameters[MAX_ROWS]
    if not low <= len(frame) <= high:
        failures.append(
            Failure(None, "the number of rows is plausible", f"observed {len(frame):,}", 1)
        )
    if "period" not in extract.key:
        duplicated = frame.duplicated(list(extract.key), keep=False)
        if duplicated.any():
            rows = frame.loc[duplicated, [ROW_NUMBER, *extract.key]].head(SAMPLE_ROWS)
            failures.append(
                Failure(
                    ", ".join(extract.key),
                    f"each ({', '.join(extract.key)}) appears once",
                    f"{int(duplicated.sum()):,} row(s) share a key",
                    int(duplicated.sum()),
                    rows.to_dict("records"),
                )
            )
    return failures


# --- Manifest and publishing ------------------------------------------------------------


def read_manifest(paths: DataPaths) -> dict:
    """The manifest of published extracts (an empty one if nothing is published yet)."""
    try:
        return json.loads(paths.manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"extracts": {}}


def _atomic_write_bytes(target: Path, write: Callable[[Path], None]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        write(temporary_path)
        os.replace(temporary_path, target)
    finally:
        temporary_path.unlink(missing_ok=True)


def _publish(paths: DataPaths, raw: RawExtract, origin: str, validated_at: str) -> None:
    frame = raw.frame.drop(columns=[ROW_NUMBER])[list(raw.extract.column_names)]
    frame = frame.reset_index(drop=True)
    _atomic_write_bytes(
        paths.validated_file(raw.extract.name),
        lambda p: frame.to_parquet(p, index=False, compression="zstd"),
    )
    manifest = read_manifest(paths)
    manifest.setdefault("extracts", {})[raw.extract.name] = {
        "rows": len(frame),
        "source_file": raw.path.name,
        "source_sha256": raw.sha256,
        "suite": f"expectations/{raw.extract.name}.json",
        "validated_at": validated_at,
        "origin": origin,
    }
    manifest["updated_at"] = validated_at
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    _atomic_write_bytes(paths.manifest, lambda p: p.write_text(text, encoding="utf-8"))


def _origin(paths: DataPaths, raw: RawExtract) -> str:
    try:
        marker = json.loads(paths.demo_marker.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return "supplied"
    return "demo" if marker.get("files", {}).get(raw.path.name) == raw.sha256 else "supplied"


def _write_report(paths: DataPaths, outcome: ValidationOutcome, started: str, extra: dict) -> Path:
    paths.reports.mkdir(parents=True, exist_ok=True)
    stamp = started.replace(":", "").replace("-", "").replace("+0000", "Z")
    path = paths.reports / f"{outcome.extract}-{stamp}.json"
    report = {
        "extract": outcome.extract,
        "source_file": outcome.source_file,
        "started_at": started,
        "success": outcome.success,
        "published": outcome.published,
        "rows": outcome.rows,
        "rules_checked": outcome.rules_checked,
        "rules_failed": len(outcome.failures) + (1 if outcome.error else 0),
        "error": outcome.error,
        "failures": [f.as_dict() for f in outcome.failures],
        "notes": outcome.notes,
        **extra,
    }
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    _atomic_write_bytes(path, lambda p: p.write_text(text, encoding="utf-8"))
    return path


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")


def _known_establishments(paths: DataPaths, passed_this_run: pd.DataFrame | None) -> list[str]:
    if passed_this_run is not None:
        return sorted(passed_this_run["code"].astype(str).unique())
    published = paths.validated_file("establishments")
    if published.exists():
        return sorted(pd.read_parquet(published, columns=["code"])["code"].astype(str).unique())
    return []


def _without_echoes(suite_failures: list[Failure], type_failures: list[Failure]) -> list[Failure]:
    """Drop "never empty" failures that only repeat values already reported as unreadable.

    A value that cannot be read as its type is emptied by coercion, so the not-null rule
    would report the same rows a second time.
    """
    unreadable = {
        f.column: f.unexpected_count for f in type_failures if f.rule.startswith("values are")
    }
    kept = []
    for failure in suite_failures:
        echoes = failure.rule.endswith("is never empty") and failure.column in unreadable
        if echoes and failure.unexpected_count <= unreadable[failure.column]:
            continue
        kept.append(failure)
    return kept


def validate_extract(
    paths: DataPaths,
    extract_name: str,
    *,
    establishment_codes: list[str],
    progress: Progress | None = None,
) -> tuple[ValidationOutcome, RawExtract | None]:
    """Validate one extract's raw file and publish it if every rule holds."""
    extract = EXTRACTS[extract_name]
    started = _now()
    try:
        path = find_raw_file(paths.raw, extract_name)
        if path is None:
            raise UnreadableExtractError(
                f"{extract_name}: no raw file {paths.raw}/{extract_name}.csv, .xlsx or .parquet"
            )
        if progress:
            progress(f"{extract_name}: reading {path.name}")
        raw = read_raw_extract(path, extract)
    except UnreadableExtractError as error:
        outcome = ValidationOutcome(extract_name, False, False, None, None, error=str(error))
        outcome.report_path = _write_report(paths, outcome, started, {"source_sha256": None})
        return outcome, None

    outcome = ValidationOutcome(
        extract_name, False, False, raw.path.name, None, rows=len(raw.frame), notes=raw.notes
    )
    failures = list(raw.failures)
    missing_columns = any(f.rule == "required columns present" for f in failures)
    if not missing_columns:
        if progress:
            progress(f"{extract_name}: checking {len(raw.frame):,} rows against its suite")
        low, high = ROW_BOUNDS[extract_name]
        parameters = {
            ESTABLISHMENT_CODES: establishment_codes,
            MIN_ROWS: low,
            MAX_ROWS: high,
        }
        rules, suite_failures = _run_suite(raw.frame, extract, parameters)
        outcome.rules_checked = rules
        failures.extend(_without_echoes(suite_failures, raw.failures))
    outcome.failures = failures
    outcome.success = not failures
    if outcome.success:
        _publish(paths, raw, _origin(paths, raw), started)
        outcome.published = True
    outcome.report_path = _write_report(paths, outcome, started, {"source_sha256": raw.sha256})
    return outcome, raw


def validate_all(
    paths: DataPaths,
    names: Iterable[str] | None = None,
    *,
    progress: Progress | None = None,
) -> list[ValidationOutcome]:
    """Validate the named extracts (default: every extract with a raw file), in contract order.

    Reference checks use the establishments extract of this run if it passed, otherwise
    the published one.
    """
    if names:
        wanted = list(dict.fromkeys(names))
        unknown = [n for n in wanted if n not in EXTRACTS]
        if unknown:
            raise ValueError(f"unknown extract(s): {', '.join(unknown)}")
    else:
        wanted = [
            n
            for n in EXTRACT_ORDER
            if any((paths.raw / f"{n}{s}").exists() for s in (".csv", ".xlsx", ".parquet"))
        ]
    outcomes = []
    establishments_this_run: pd.DataFrame | None = None
    for name in [n for n in EXTRACT_ORDER if n in wanted]:
        codes = _known_establishments(paths, establishments_this_run)
        outcome, raw = validate_extract(paths, name, establishment_codes=codes, progress=progress)
        if name == "establishments" and outcome.success and raw is not None:
            establishments_this_run = raw.frame
        outcomes.append(outcome)
        if progress:
            progress(outcome.summary().splitlines()[0])
    return outcomes
