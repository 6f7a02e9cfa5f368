"""The validation pipeline: suites accept the demo, reject corruptions, and lose nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from equality_core.cli import main
from equality_core.ingest import sha256_of
from equality_core.paths import DataPaths
from equality_core.schema import EXTRACTS
from equality_core.validation import read_manifest, validate_all

from .conftest import REPOSITORY


def test_every_suite_accepts_the_demo_data(small_demo: DataPaths) -> None:
    manifest = read_manifest(small_demo)["extracts"]
    assert set(manifest) == set(EXTRACTS)
    for name, entry in manifest.items():
        assert entry["origin"] == "demo", name
        assert entry["suite"] == f"expectations/{name}.json"
        published = pd.read_parquet(small_demo.validated_file(name))
        assert len(published) == entry["rows"]
        assert list(published.columns) == list(EXTRACTS[name].column_names)
        raw = next(small_demo.raw.glob(f"{name}.*"))
        assert entry["source_sha256"] == sha256_of(raw)


def test_every_run_writes_a_report(small_demo: DataPaths) -> None:
    reports = sorted(small_demo.reports.glob("*.json"))
    names = {p.stem.rsplit("-", 1)[0] for p in reports}
    assert names == set(EXTRACTS)
    report = json.loads(reports[0].read_text())
    assert report["success"] is True and report["rules_checked"] > 3


# --- A small raw folder to corrupt -------------------------------------------------------


@pytest.fixture
def mini(small_demo: DataPaths, tmp_path: Path) -> DataPaths:
    """A fresh data folder with short copies of some demo extracts in several formats."""
    paths = DataPaths(tmp_path / "data")
    paths.raw.mkdir(parents=True)

    def take(name: str, rows: int | None = None) -> pd.DataFrame:
        frame = pd.read_parquet(small_demo.validated_file(name))
        return frame if rows is None else frame.head(rows)

    take("establishments").to_csv(paths.raw / "establishments.csv", index=False)
    take("prisoner_periods", 300).to_csv(paths.raw / "prisoner_periods.csv", index=False)
    take("staff_periods", 200).to_parquet(paths.raw / "staff_periods.parquet", index=False)
    take("counts", 200).to_csv(paths.raw / "counts.csv", index=False)
    take("equality_analyses").to_csv(paths.raw / "equality_analyses.csv", index=False)
    return paths


def _edit_csv(paths: DataPaths, name: str, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    path = paths.raw / f"{name}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    edit(frame).to_csv(path, index=False)


def _set(column: str, value: str, row: int = 3) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[row, column] = value
        return frame

    return edit


def _grants_above_applications(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[4, "rotl_applications"] = "1"
    frame.loc[4, "rotl_grants"] = "3"
    return frame


def _numerator_above_denominator(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[2, "numerator"] = str(int(frame.loc[2, "denominator"]) + 1)
    return frame


CORRUPTIONS = {
    "missing column": (
        "prisoner_periods",
        lambda f: f.drop(columns=["use_of_force_incidents"]),
        "use_of_force_incidents",
        "required columns present",
    ),
    "not a number": (
        "prisoner_periods",
        _set("adjudications_charged", "three"),
        "adjudications_charged",
        "values are of type int",
    ),
    "label not allowed": (
        "prisoner_periods",
        _set("ethnic_group", "BAME"),
        "ethnic_group",
        "one of the allowed values",
    ),
    "negative count": (
        "prisoner_periods",
        _set("complaints", "-2"),
        "complaints",
        "complaints is between 0 and 300",
    ),
    "numerator above denominator": (
        "prisoner_periods",
        _grants_above_applications,
        "rotl_grants, rotl_applications",
        "rotl_grants is never above rotl_applications",
    ),
    "duplicate key": (
        "prisoner_periods",
        lambda f: pd.concat([f, f.iloc[[7]]], ignore_index=True),
        "person_id, period, establishment",
        "appears once",
    ),
    "invalid period": (
        "prisoner_periods",
        _set("period", "2024-Q5"),
        "period",
        "period is a quarter written like 2024-Q1",
    ),
    "unknown establishment": (
        "prisoner_periods",
        _set("establishment", "ZZZ"),
        "establishment",
        "known establishment code",
    ),
    "empty required value": ("prisoner_periods", _set("sex", ""), "sex", "never empty"),
    "no rows": ("prisoner_periods", lambda f: f.head(0), None, "number of rows is plausible"),
    "counts numerator above denominator": (
        "counts",
        _numerator_above_denominator,
        "numerator, denominator",
        "numerator is never above denominator",
    ),
    "not a date": ("equality_analyses", _set("date", "2024-13-45"), "date", "type date"),
    "two date formats": (
        "equality_analyses",
        _set("date", "02/06/2025"),
        "date",
        "one format per column",
    ),
}


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_each_corruption_is_rejected_with_column_rule_and_rows(mini: DataPaths, kind: str) -> None:
    name, edit, column, rule = CORRUPTIONS[kind]
    _edit_csv(mini, name, edit)
    outcome = {o.extract: o for o in validate_all(mini, ["establishments", name])}[name]
    assert not outcome.success and not outcome.published
    matching = [f for f in outcome.failures if rule in f.rule]
    assert matching, [f.rule for f in outcome.failures]
    failure = matching[0]
    if column is not None:
        assert failure.column == column
    if kind not in ("missing column", "no rows"):
        assert failure.unexpected_count >= 1
        assert failure.sample_rows, "a report must quote offending rows"
        assert all("source_row" in row for row in failure.sample_rows)
    report = json.loads(outcome.report_path.read_text())
    assert report["success"] is False and report["rules_failed"] >= 1
    assert any(rule in f["rule"] for f in report["failures"])
    assert not mini.validated_file(name).exists()


def test_sample_rows_point_at_the_csv_line(mini: DataPaths) -> None:
    _edit_csv(mini, "prisoner_periods", _set("ethnic_group", "BAME", row=10))
    outcome = validate_all(mini, ["establishments", "prisoner_periods"])[1]
    (failure,) = [f for f in outcome.failures if f.column == "ethnic_group"]
    # Row 10 of the frame is line 12 of the file: one header line, and lines count from 1.
    assert failure.sample_rows[0]["source_row"] == 12
    lines = (mini.raw / "prisoner_periods.csv").read_text().splitlines()
    assert "BAME" in lines[11]


def test_bool_column_rejects_words_it_cannot_read(mini: DataPaths) -> None:
    path = mini.raw / "staff_periods.parquet"
    frame = pd.read_parquet(path).astype({"leaver": "string"})
    frame.loc[5, "leaver"] = "maybe"
    frame.to_parquet(path, index=False)
    outcome = validate_all(mini, ["establishments", "staff_periods"])[1]
    assert [f.column for f in outcome.failures] == ["leaver"]
    assert outcome.failures[0].sample_rows[0]["leaver"] == "maybe"


def test_failed_validation_leaves_published_files_byte_for_byte(mini: DataPaths) -> None:
    first = validate_all(mini)
    assert all(o.success for o in first)
    published = mini.validated_file("prisoner_periods").read_bytes()
    manifest = mini.manifest.read_bytes()

    _edit_csv(mini, "prisoner_periods", _set("complaints", "-1"))
    raw_before = sha256_of(mini.raw / "prisoner_periods.csv")
    second = {o.extract: o for o in validate_all(mini)}
    assert not second["prisoner_periods"].success
    assert mini.validated_file("prisoner_periods").read_bytes() == published
    # The other extracts passed again and were republished on their own.
    assert second["counts"].success
    entry = json.loads(mini.manifest.read_text())["extracts"]["prisoner_periods"]
    assert entry == json.loads(manifest)["extracts"]["prisoner_periods"]
    assert sha256_of(mini.raw / "prisoner_periods.csv") == raw_before
    assert not list(mini.validated.glob(".*")), "no temporary files left behind"


def _run_as_written(paths: DataPaths) -> dict[str, object]:
    """What a run left: each report (without its times) and each published file's bytes."""
    reports = {}
    for path in sorted(paths.reports.glob("*.json")):
        report = json.loads(path.read_text())
        reports[report["extract"]] = {
            k: v for k, v in report.items() if not k.endswith("_at") and k != "generation"
        }
    published = {p.name: sha256_of(p) for p in sorted(paths.validated.glob("*.parquet"))}
    return {"reports": reports, "published": published}


def test_extracts_checked_in_several_processes_as_in_one(
    mini: DataPaths, tmp_path: Path, monkeypatch, submitted_to_processes
) -> None:
    """The same outcomes, reports and published files, a failing extract included.

    Small chunks, so the extracts read in chunks are staged by the worker processes.
    """
    from equality_core import validation

    _edit_csv(mini, "prisoner_periods", _set("ethnic_group", "BAME", row=10))
    twin = DataPaths(tmp_path / "twin")
    shutil.copytree(mini.root, twin.root)
    settings = validation.ValidationSettings(chunk_rows=60)
    one = validate_all(mini, settings=settings, workers=1)
    # The mini folder is far below the size that pays for processes: lower it here.
    monkeypatch.setattr(validation, "PARALLEL_FROM_BYTES", 0)
    submitted = submitted_to_processes
    said: list[str] = []
    two = validate_all(twin, settings=settings, workers=2, progress=said.append)
    assert sorted(submitted) == sorted(o.extract for o in two if o.extract != "establishments")
    assert [o.extract for o in two] == [o.extract for o in one]
    for mine, theirs in zip(one, two, strict=True):
        assert (mine.success, mine.published, mine.rows, mine.error) == (
            theirs.success,
            theirs.published,
            theirs.rows,
            theirs.error,
        )
        assert mine.failures == theirs.failures
    assert not two[[o.extract for o in two].index("prisoner_periods")].success
    assert _run_as_written(mini) == _run_as_written(twin)
    # The workers' progress reached the caller: every extract's reading, and the chunks.
    assert {f"{o.extract}: reading" for o in two} <= {
        line.split(" ")[0] + " reading" for line in said
    }
    assert any("chunk 2 of" in line for line in said)
    assert not list(twin.generations.glob(".tmp-*")), "the stage is removed"


def test_raw_files_are_never_modified(small_demo: DataPaths, tmp_path: Path) -> None:
    paths = DataPaths(tmp_path / "d")
    shutil.copytree(small_demo.raw, paths.raw)
    before = {p.name: sha256_of(p) for p in paths.raw.iterdir()}
    validate_all(paths)
    assert {p.name: sha256_of(p) for p in paths.raw.iterdir()} == before


# --- Unreadable input ---------------------------------------------------------------------


def _only_outcome(paths: DataPaths, name: str):
    (outcome,) = validate_all(paths, [name])
    assert not outcome.success and outcome.error
    assert json.loads(outcome.report_path.read_text())["error"] == outcome.error
    return outcome


def test_empty_file(mini: DataPaths) -> None:
    (mini.raw / "counts.csv").write_bytes(b"")
    assert "empty" in _only_outcome(mini, "counts").error


def test_truncated_parquet(mini: DataPaths) -> None:
    path = mini.raw / "staff_periods.parquet"
    path.write_bytes(path.read_bytes()[:500])
    error = _only_outcome(mini, "staff_periods").error
    assert "staff_periods.parquet" in error and "Parquet" in error


def test_wrong_encoding(mini: DataPaths) -> None:
    path = mini.raw / "counts.csv"
    path.write_bytes(
        path.read_bytes().replace(
            b"Other ethnic group", "Other ethnic gr\u00f6up".encode("latin-1")
        )
    )
    error = _only_outcome(mini, "counts").error
    assert "UTF-8" in error and "counts.csv" in error


def test_workbook_without_the_sheet(mini: DataPaths) -> None:
    frame = pd.read_csv(mini.raw / "counts.csv")
    (mini.raw / "counts.csv").unlink()
    with pd.ExcelWriter(mini.raw / "counts.xlsx") as writer:
        frame.to_excel(writer, sheet_name="Sheet1", index=False)
        frame.to_excel(writer, sheet_name="Sheet2", index=False)
    assert "no sheet named 'counts'" in _only_outcome(mini, "counts").error


def test_workbook_sheet_named_after_the_extract_is_read(mini: DataPaths) -> None:
    frame = pd.read_csv(mini.raw / "counts.csv")
    (mini.raw / "counts.csv").unlink()
    with pd.ExcelWriter(mini.raw / "counts.xlsx") as writer:
        frame.head(2).to_excel(writer, sheet_name="Notes", index=False)
        frame.to_excel(writer, sheet_name="counts", index=False)
    (outcome,) = validate_all(mini, ["counts"])
    assert outcome.success, outcome.summary()
    assert outcome.rows == len(frame)


def test_two_raw_files_for_one_extract(mini: DataPaths) -> None:
    pd.read_csv(mini.raw / "counts.csv").to_parquet(mini.raw / "counts.parquet")
    error = _only_outcome(mini, "counts").error
    assert "counts.csv" in error and "counts.parquet" in error


def test_labels_are_normalised_not_rejected(mini: DataPaths) -> None:
    _edit_csv(mini, "prisoner_periods", _set("ethnic_group", "  white "))
    outcome = validate_all(mini, ["establishments", "prisoner_periods"])[1]
    assert outcome.success, outcome.summary()
    published = pd.read_parquet(mini.validated_file("prisoner_periods"))
    assert published.loc[3, "ethnic_group"] == "White"


# --- Command line ---------------------------------------------------------------------------


def test_demo_refuses_to_overwrite_raw_files_it_did_not_make(tmp_path: Path, capsys) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "establishments.csv").write_text("precious analyst file\n")
    assert main(["demo", "--data", str(tmp_path)]) == 2
    assert "did not create" in capsys.readouterr().err
    assert (raw / "establishments.csv").read_text() == "precious analyst file\n"


def test_demo_refuses_to_overwrite_a_file_edited_since_it_wrote_it(
    small_demo: DataPaths, tmp_path: Path, capsys
) -> None:
    copy = tmp_path / "data"
    shutil.copytree(small_demo.raw, copy / "raw")
    edited = copy / "raw" / "benchmarks.csv"
    edited.write_text(edited.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    before = edited.read_bytes()
    assert main(["demo", "--data", str(copy)]) == 2
    assert "benchmarks.csv" in capsys.readouterr().err
    assert edited.read_bytes() == before


@pytest.mark.slow
def test_validate_command_exits_non_zero_and_names_the_problem(mini: DataPaths) -> None:
    _edit_csv(mini, "prisoner_periods", _set("ethnic_group", "BAME"))
    result = subprocess.run(
        [sys.executable, "-m", "equality_core", "validate", "--data", str(mini.root)],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1
    assert "prisoner_periods.csv" in result.stdout
    assert "column ethnic_group" in result.stdout and "BAME" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_environment_variable_chooses_the_data_folder(mini: DataPaths) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "equality_core", "validate", "establishments"],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        env={**os.environ, "EQUALITY_MONITOR_DATA": str(mini.root)},
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert mini.validated_file("establishments").exists()
    assert "establishments" in json.loads(mini.manifest.read_text())["extracts"]


# --- The set that would be published (issue 9) ---------------------------------------------


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> DataPaths:
    """A small good set (every quarter and establishment), published once."""
    from .hostile.corpus import build_good_set

    return build_good_set(tmp_path_factory.mktemp("good") / "data")


def _copy(good: DataPaths, target: Path) -> DataPaths:
    shutil.copytree(good.root, target, symlinks=True)
    return DataPaths(target)


def _prisoners(paths: DataPaths) -> pd.DataFrame:
    return pd.read_csv(paths.raw / "prisoner_periods.csv", dtype=str, keep_default_na=False)


def _next_quarter(label: str) -> str:
    year, quarter = int(label[:4]), int(label[-1])
    return f"{year + quarter // 4}-Q{quarter % 4 + 1}"


def test_rolling_forward_a_quarter_is_not_a_shrink(good: DataPaths, tmp_path: Path) -> None:
    paths = _copy(good, tmp_path / "data")
    frame = _prisoners(paths)
    periods = sorted(frame["period"].unique())
    newest = frame[frame["period"] == periods[-1]].assign(period=_next_quarter(periods[-1]))
    rolled = pd.concat([frame[frame["period"] != periods[0]], newest], ignore_index=True)
    rolled.to_csv(paths.raw / "prisoner_periods.csv", index=False)
    outcome = validate_all(paths, ["prisoner_periods"])[0]
    assert outcome.success and outcome.published, outcome.summary()
    published = pd.read_parquet(paths.validated_file("prisoner_periods"))
    assert periods[0] not in set(published["period"])


def test_accept_shrink_publishes_a_shrink_and_says_so(good: DataPaths, tmp_path: Path) -> None:
    from equality_core.validation import ValidationSettings

    paths = _copy(good, tmp_path / "data")
    frame = _prisoners(paths)
    frame[frame["period"] != sorted(frame["period"].unique())[-1]].to_csv(
        paths.raw / "prisoner_periods.csv", index=False
    )
    refused = validate_all(paths, ["prisoner_periods"])[0]
    assert not refused.published and not refused.unusable
    assert any("after the new last period" in f.description for f in refused.failures)
    accepted = validate_all(
        paths, ["prisoner_periods"], settings=ValidationSettings(accept_shrink=True)
    )[0]
    assert accepted.published
    assert any("shrink accepted" in note for note in accepted.notes)


@pytest.mark.parametrize(("tolerance", "published"), [(0.10, False), (0.25, True)])
def test_the_shrink_tolerance_is_a_setting(
    good: DataPaths, tmp_path: Path, tolerance: float, published: bool
) -> None:
    from equality_core.validation import ValidationSettings

    paths = _copy(good, tmp_path / "data")
    frame = _prisoners(paths)
    keep = frame.groupby(["period", "establishment"]).cumcount() < 2  # 2 rows of 3: a third
    frame[keep].to_csv(paths.raw / "prisoner_periods.csv", index=False)
    settings = ValidationSettings(shrink_tolerance=tolerance + 0.1)
    outcome = validate_all(paths, ["prisoner_periods"], settings=settings)[0]
    assert outcome.published is published, outcome.summary()


def test_an_establishment_marked_closed_may_disappear(good: DataPaths, tmp_path: Path) -> None:
    paths = _copy(good, tmp_path / "data")
    establishments = pd.read_csv(paths.raw / "establishments.csv", dtype=str)
    establishments.loc[establishments["code"] == "CAL", "closed"] = "2025-12-31"
    establishments.to_csv(paths.raw / "establishments.csv", index=False)
    frame = _prisoners(paths)
    frame[frame["establishment"] != "CAL"].to_csv(paths.raw / "prisoner_periods.csv", index=False)
    outcomes = {o.extract: o for o in validate_all(paths, ["establishments", "prisoner_periods"])}
    assert outcomes["prisoner_periods"].published, outcomes["prisoner_periods"].summary()


def test_dropping_a_code_from_every_extract_at_once_is_consistent(
    good: DataPaths, tmp_path: Path
) -> None:
    """Codes in use are checked against the set that would be published, not the old one."""
    paths = _copy(good, tmp_path / "data")
    establishments = pd.read_csv(paths.raw / "establishments.csv", dtype=str)
    establishments.loc[establishments["code"] == "COL", "closed"] = "2023-12-31"
    establishments.to_csv(paths.raw / "establishments.csv", index=False)
    outcomes = {o.extract: o for o in validate_all(paths)}
    assert all(o.published for o in outcomes.values())
    # Now the whole set says COL closed; a later establishments list may leave it out only
    # if nothing published still uses it, and the prisoner records do.
    establishments[establishments["code"] != "COL"].to_csv(
        paths.raw / "establishments.csv", index=False
    )
    refused = validate_all(paths, ["establishments"])[0]
    assert not refused.published
    assert any("still uses" in f.description and "COL" in f.description for f in refused.failures)


def test_a_new_extract_failing_its_rules_keeps_its_old_codes_in_play(
    good: DataPaths, tmp_path: Path
) -> None:
    """The old prisoner records stay published if the new ones fail: COL must stay too."""
    paths = _copy(good, tmp_path / "data")
    frame = _prisoners(paths)
    without = frame[frame["establishment"] != "COL"].copy()
    without.loc[without.index[0], "sex"] = "Neither"  # fails its own rules
    without.to_csv(paths.raw / "prisoner_periods.csv", index=False)
    establishments = pd.read_csv(paths.raw / "establishments.csv", dtype=str)
    establishments.loc[establishments["code"] == "COL", "closed"] = "2023-12-31"
    establishments[establishments["code"] != "COL"].to_csv(
        paths.raw / "establishments.csv", index=False
    )
    outcomes = {o.extract: o for o in validate_all(paths, ["establishments", "prisoner_periods"])}
    assert not outcomes["prisoner_periods"].published
    assert not outcomes["establishments"].published
    assert any(
        f.rule == "codes in use stay in establishments" for f in outcomes["establishments"].failures
    )
    published = pd.read_parquet(paths.validated_file("establishments"))
    assert "COL" in set(published["code"])


def test_every_extract_gets_its_report_when_one_is_unusable(
    good: DataPaths, tmp_path: Path, capsys
) -> None:
    paths = _copy(good, tmp_path / "data")
    text = (paths.raw / "establishments.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    lines[0] += ", name"
    lines[1:] = [line + ",x" for line in lines[1:]]
    (paths.raw / "establishments.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = paths.raw / "prisoner_survey.parquet"
    survey = pd.read_parquet(path).astype({"respondents": float})
    survey.loc[0, "respondents"] = 1e30
    survey.to_parquet(path, index=False)
    code = main(["validate", "--data", str(paths.root)])
    out = capsys.readouterr()
    assert code == 2, "unusable input: exit code 2, as the README promises"
    assert "Traceback" not in out.out + out.err
    assert "establishments.csv" in out.out and "duplicate column headers" in out.out
    assert "1e+30" in out.out
    stamps: dict[str, list[Path]] = {}
    for report in paths.reports.glob("*.json"):
        stamps.setdefault(report.name.rsplit("-", 1)[0], []).append(report)
    latest = {n: max(ps) for n, ps in stamps.items()}
    assert set(latest) >= {
        "establishments",
        "prisoner_periods",
        "deaths_in_custody",
        "prisoner_survey",
        "delivery_plan",
        "equality_analyses",
    }
    verdicts = {n: json.loads(p.read_text())["success"] for n, p in latest.items()}
    assert verdicts["establishments"] is False and verdicts["prisoner_survey"] is False
    assert verdicts["delivery_plan"] is True and verdicts["equality_analyses"] is True


def test_exit_code_1_when_rules_fail_but_every_input_is_usable(
    good: DataPaths, tmp_path: Path
) -> None:
    paths = _copy(good, tmp_path / "data")
    _edit_csv(paths, "delivery_plan", _set("status", "Abandoned", row=2))
    assert main(["validate", "--data", str(paths.root), "delivery_plan"]) == 1
    assert main(["validate", "--data", str(paths.root), "equality_analyses"]) == 0


def test_reports_keep_sample_rows_only_for_the_retention_period(
    good: DataPaths, tmp_path: Path
) -> None:
    import datetime as dt

    from equality_core.validation import prune_reports

    paths = _copy(good, tmp_path / "data")
    _edit_csv(paths, "delivery_plan", _set("status", "Abandoned", row=2))
    failed = validate_all(paths, ["delivery_plan"])[0]
    older = validate_all(paths, ["delivery_plan"])[0]
    assert json.loads(failed.report_path.read_text())["failures"][0]["sample_rows"]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=91)
    changed = prune_reports(paths, retention_days=90, now=later)
    assert changed
    assert not failed.report_path.exists(), "an older report of the same extract is deleted"
    kept = json.loads(older.report_path.read_text())
    assert kept["success"] is False, "the latest report keeps its verdict for the data page"
    assert all(not f["sample_rows"] for f in kept["failures"])
    assert kept["sample_rows_removed_at"]
    # Within the retention period nothing is touched.
    fresh = validate_all(paths, ["delivery_plan"])[0]
    assert not prune_reports(paths, retention_days=90)
    assert json.loads(fresh.report_path.read_text())["failures"][0]["sample_rows"]


def test_each_run_prunes_reports_past_the_retention_setting(
    good: DataPaths, tmp_path: Path
) -> None:
    from equality_core.validation import ValidationSettings

    paths = _copy(good, tmp_path / "data")
    document = {"success": False, "failures": [{"sample_rows": [{"person_id": "P1"}]}]}
    superseded = paths.reports / "delivery_plan-20200101T000000.000000Z.json"
    latest = paths.reports / "counts-20200101T000000.000000Z.json"
    for report in (superseded, latest):
        report.write_text(json.dumps(document), encoding="utf-8")
    validate_all(
        paths, ["equality_analyses"], settings=ValidationSettings(report_retention_days=90)
    )
    assert not superseded.exists()
    assert not json.loads(latest.read_text())["failures"][0]["sample_rows"]


def test_shrink_compares_quarters_and_financial_years_apart() -> None:
    from equality_core.schema import EXTRACTS
    from equality_core.validation import shrink_failures

    old = pd.DataFrame(
        {
            "period": ["2024-Q1", "2024-Q2", "2024-Q3", "2023-24", "2024-25"] * 2,
            "establishment": ["COL"] * 10,
        }
    )
    rolled = old.replace({"2024-Q1": "2024-Q4", "2023-24": "2025-26"})
    assert not shrink_failures(old, rolled, extract=EXTRACTS["counts"], tolerance=0.1)
    gap = old[old["period"] != "2024-Q2"]
    (failure,) = shrink_failures(old, gap, extract=EXTRACTS["counts"], tolerance=0.5)
    assert "2024-Q2 (inside the range)" in failure.description


def test_an_unexpected_error_stops_the_run_without_a_traceback(
    good: DataPaths, tmp_path: Path, capsys, monkeypatch
) -> None:
    from equality_core import validation

    paths = _copy(good, tmp_path / "data")

    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug in the set checks")

    monkeypatch.setattr(validation, "prune_reports", broken)
    assert main(["validate", "--data", str(paths.root)]) == 2
    err = capsys.readouterr().err
    assert "validation stopped (RuntimeError: simulated bug" in err
    assert "Traceback" not in err
