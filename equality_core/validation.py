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
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from equality_core import cellkey
from equality_core.ingest import (
    ROW_NUMBER,
    SAMPLE_ROWS,
    Failure,
    RawExtract,
    ReadLimits,
    UnreadableExtractError,
    find_raw_file,
    read_raw_extract,
    visible,
)
from equality_core.paths import RAW_SUFFIXES, DataPaths
from equality_core.publish import (
    Candidate,
    PublishError,
    atomic_write_text,
    data_folder_lock,
    publish_generation,
    read_manifest_at,
    recover,
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

SHRINK_RULE = "no shrink against the published extract"
REFERENCE_RULE = "codes in use stay in establishments"


@dataclass(frozen=True)
class ValidationSettings:
    """What a validate run may accept, and its limits.

    ``accept_shrink`` publishes an extract even if it shrinks against the one it replaces;
    ``shrink_tolerance`` is the fall in rows (a fraction) tolerated without it;
    ``max_file_bytes`` bounds a raw file and what a workbook expands to;
    ``report_retention_days`` is how long reports keep their sample rows (record-level
    data); ``lock_timeout`` is how long to wait for another run to finish.
    """

    accept_shrink: bool = False
    shrink_tolerance: float = 0.10
    max_file_bytes: int = 2 * 1024**3
    report_retention_days: int = 90
    lock_timeout: float = 600.0

    def __post_init__(self) -> None:
        if not 0 <= self.shrink_tolerance < 1:
            raise ValueError(
                f"shrink_tolerance must be at least 0 and below 1, got {self.shrink_tolerance!r}"
            )
        if self.max_file_bytes <= 0:
            raise ValueError(f"max_file_bytes must be positive, got {self.max_file_bytes!r}")
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


# --- The published set --------------------------------------------------------------------


def read_manifest(paths: DataPaths) -> dict:
    """The manifest of the current generation (an empty one if nothing is published yet)."""
    return read_manifest_at(paths.pinned().generation)


def _origin(paths: DataPaths, raw: RawExtract) -> str:
    try:
        marker = json.loads(paths.demo_marker.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return "supplied"
    return "demo" if marker.get("files", {}).get(raw.path.name) == raw.sha256 else "supplied"


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
) -> tuple[ValidationOutcome, RawExtract | None]:
    """Read one extract and check it against its suite; publishes nothing."""
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
        raw = read_raw_extract(path, extract, limits)
    except UnreadableExtractError as error:
        outcome.error = str(error)
        return outcome, None
    outcome.rows = len(raw.frame)
    outcome.notes = list(raw.notes)
    failures = list(raw.failures)
    missing_columns = any(f.rule == "required columns present" for f in failures)
    if not missing_columns:
        if progress:
            progress(f"{extract_name}: checking {len(raw.frame):,} rows against its suite")
        parameters = {ESTABLISHMENT_CODES: establishment_codes, MIN_ROWS: low, MAX_ROWS: high}
        rules, suite_failures = _run_suite(raw.frame, extract, parameters)
        outcome.rules_checked = rules
        failures.extend(_without_echoes(suite_failures, raw.failures))
    outcome.failures = failures
    outcome.success = not failures
    return outcome, raw


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


def _rows_by(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].astype(str).value_counts()


def shrink_failures(
    old: pd.DataFrame,
    new: pd.DataFrame,
    *,
    extract: Extract,
    tolerance: float,
    closed_codes: set[str] = frozenset(),
) -> list[Failure]:
    """How a new extract shrinks against the published one it would replace.

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
    before, after = len(old_overlap), len(new_overlap)
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
    """Rows per establishment code across an extract's reference columns."""
    counts = [frame[c].dropna().astype(str).value_counts() for c in _reference_columns(extract)]
    counts = [c for c in counts if len(c)]
    if not counts:
        return pd.Series(dtype="int64")
    return pd.concat(counts).groupby(level=0).sum()


def _fail(outcome: ValidationOutcome, failure: Failure) -> None:
    outcome.failures.append(failure)
    outcome.success = False


def _check_set(
    outcomes: dict[str, ValidationOutcome],
    raws: dict[str, RawExtract],
    generation: Path | None,
    published: dict,
    settings: ValidationSettings,
) -> None:
    """Shrink and cross-extract reference checks over the set that would be published."""
    published_extracts = published.get("extracts", {})
    own_rules_passed = {name: outcomes[name].success for name in raws}

    def passing(name: str) -> bool:
        return name in raws and outcomes[name].success

    # The establishments extract first: the others' coverage is judged against it.
    order = sorted(raws, key=lambda n: (n != "establishments", EXTRACT_ORDER.index(n)))
    for name in order:
        if not passing(name) or name not in published_extracts:
            continue
        extract = EXTRACTS[name]
        wanted = ["period", "code", "closed", *_reference_columns(extract)]
        old = _published_frame(generation, name, wanted)
        if old is None:
            continue
        closed: set[str] = set()
        establishments = _final_establishments(outcomes, raws, generation, passing)
        if establishments is not None and "closed" in establishments.columns:
            closed = set(establishments.loc[establishments["closed"].notna(), "code"].astype(str))
        found = shrink_failures(
            old,
            raws[name].frame,
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
        new_codes = set(raws["establishments"].frame["code"].astype(str))
    reported: set[str] = set()
    for _ in range(len(EXTRACTS) + 1):
        changed = False
        establishments = _final_establishments(outcomes, raws, generation, passing)
        known = set() if establishments is None else set(establishments["code"].astype(str))
        for name, extract in EXTRACTS.items():
            if not _reference_columns(extract) or name == "establishments":
                continue
            if passing(name):
                codes = _codes_in_use(raws[name].frame, extract)
                unknown = [c for c in codes.index if c not in known]
                if not unknown:
                    continue
                frame = raws[name].frame
                column = _reference_columns(extract)[0]
                rows = frame[frame[column].astype(str).isin(unknown)]
                _fail(
                    outcomes[name],
                    Failure(
                        column,
                        f"{column} is a known establishment code (in the establishments "
                        "that would be published)",
                        f"{len(rows):,} row(s) use code(s) not in establishments: "
                        f"{', '.join(unknown[:10])}",
                        len(rows),
                        rows[[ROW_NUMBER, column]].head(SAMPLE_ROWS).to_dict("records"),
                    ),
                )
                changed = True
            elif new_codes is not None and name in published_extracts and name not in reported:
                frame = _published_frame(generation, name, _reference_columns(extract))
                if frame is None:
                    continue
                codes = _codes_in_use(frame, extract)
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


def _final_establishments(outcomes, raws, generation, passing) -> pd.DataFrame | None:
    if passing("establishments"):
        return raws["establishments"].frame
    return _published_frame(generation, "establishments", ["code", "closed"])


# --- A whole run ------------------------------------------------------------------------------


def _raw_files_present(paths: DataPaths) -> list[str]:
    return [
        name
        for name in EXTRACT_ORDER
        if any(os.path.lexists(paths.raw / f"{name}{suffix}") for suffix in RAW_SUFFIXES)
    ]


def _publishable(raw: RawExtract, origin: str, validated_at: str) -> Candidate:
    frame = raw.frame.drop(columns=[ROW_NUMBER])[list(raw.extract.column_names)]
    entry = {
        "rows": len(frame),
        "source_file": raw.path.name,
        "source_sha256": raw.sha256,
        "suite": f"expectations/{raw.extract.name}.json",
        "validated_at": validated_at,
        "origin": origin,
    }
    return Candidate(raw.extract.name, frame.reset_index(drop=True), entry)


def _disclosure_config(paths: DataPaths) -> cellkey.DisclosureConfig | None:
    """The data folder's disclosure configuration, or None where it has none yet."""
    try:
        return cellkey.load_config(paths.root, demo=paths.demo_marker.exists())
    except cellkey.DisclosureConfigError:
        return None


def validate_all(
    paths: DataPaths,
    names: Iterable[str] | None = None,
    *,
    progress: Progress | None = None,
    settings: ValidationSettings | None = None,
) -> list[ValidationOutcome]:
    """Validate the named extracts (default: every extract with a raw file) and publish.

    Holds the data folder's lock for the whole run. Each extract is read and checked
    against its suite (references against this run's establishments if they pass, else
    the published ones), then the set that would be published is checked as a whole
    (shrink and references), and the extracts that pass are published together as one
    new generation. Every extract gets a report, whatever happens to the others.

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
        outcomes: dict[str, ValidationOutcome] = {}
        raws: dict[str, RawExtract] = {}
        started: dict[str, str] = {}
        establishments_this_run: pd.DataFrame | None = None
        for name in [n for n in EXTRACT_ORDER if n in wanted]:
            started[name] = _now()
            if establishments_this_run is not None:
                codes = sorted(establishments_this_run["code"].astype(str).unique())
            else:
                frame = _published_frame(generation, "establishments", ["code"])
                codes = [] if frame is None else sorted(frame["code"].astype(str).unique())
            try:
                outcome, raw = _check_extract(
                    paths, name, establishment_codes=codes, settings=settings, progress=progress
                )
            except Exception as error:  # never a traceback: the extract gets a report
                outcome = ValidationOutcome(
                    name,
                    False,
                    False,
                    None,
                    None,
                    error=f"{name}: could not be checked ({type(error).__name__}: {error})",
                )
                raw = None
            outcomes[name] = outcome
            if raw is not None:
                raws[name] = raw
                if name == "establishments" and outcome.success:
                    establishments_this_run = raw.frame
        try:
            _check_set(outcomes, raws, generation, published, settings)
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
            published_at = _now()
            candidates = [
                _publishable(raws[name], _origin(paths, raws[name]), started[name])
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
        for name, outcome in outcomes.items():
            sha = raws[name].sha256 if name in raws else None
            try:
                outcome.report_path = _write_report(
                    paths, outcome, started[name], {"source_sha256": sha}
                )
            except Exception as error:  # a report that cannot be written stops no other
                outcome.notes.append(f"the report could not be written: {error}")
            if progress:
                progress(outcome.summary().splitlines()[0])
    return list(outcomes.values())
