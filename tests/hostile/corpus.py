"""Hostile and everyday-broken extracts, each with the verdict validation must reach.

Every case starts from a small good set of extracts taken from the bundled demo (and,
for cases about what a new extract replaces, with that good set already published),
breaks one thing, runs ``validate`` in-process and classifies what happened:

- ``refused``: nothing published or replaced, and the report says what is wrong in the
  words the case expects (file, column, rule, the value as written);
- ``normalised``: published, and what was published equals the good extract exactly;
- ``published wrongly``: published (or the published set changed) with anything else;
- ``refused unclearly`` / ``wrongly refused``: refused without the expected words, or
  refused when the input should have been normalised.

Add a case for every new way an extract can be broken. ``python -m tests.hostile.table``
reruns the corpus and prints the table kept in ``tests/hostile/README.md``.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from equality_core import ingest
from equality_core.paths import RAW_SUFFIXES, DataPaths
from equality_core.validation import ValidationOutcome, ValidationSettings, validate_all

REPOSITORY = Path(__file__).resolve().parent.parent.parent
FILES = Path(__file__).resolve().parent / "files"

#: The good set: extract, raw format, and how much of the bundled demo it takes.
GOOD_SET: dict[str, str] = {
    "establishments": "csv",
    "prisoner_periods": "csv",
    "deaths_in_custody": "parquet",
    "prisoner_survey": "parquet",
    "delivery_plan": "csv",
    "equality_analyses": "csv",
}
#: Extracts checked against establishment codes: validated with the establishments.
_PLACED = {"prisoner_periods", "deaths_in_custody", "prisoner_survey"}


def _sample(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    if name == "prisoner_periods":
        # A few rows for every quarter and establishment: every period and place covered.
        return frame.groupby(["period", "establishment"], observed=True).head(3)
    return frame


_BUILT: dict[str, Path] = {}


def build_good_set(root: Path) -> DataPaths:
    """The good set's raw files under ``root``, validated and published.

    Built once per process (validation is the slow part) and copied for later callers.
    """
    if "good" in _BUILT and _BUILT["good"].exists():
        shutil.copytree(_BUILT["good"], root, symlinks=True)
        return DataPaths(root)
    paths = _build_good_set(root)
    keep = Path(tempfile.mkdtemp(prefix="equality-good-set-")) / "good"
    shutil.copytree(root, keep, symlinks=True)
    atexit.register(shutil.rmtree, keep.parent, True)
    _BUILT["good"] = keep
    return paths


def _build_good_set(root: Path) -> DataPaths:
    source = DataPaths(REPOSITORY / "data").pinned()
    paths = DataPaths(root)
    paths.raw.mkdir(parents=True)
    for name, suffix in GOOD_SET.items():
        frame = _sample(name, pd.read_parquet(source.validated_file(name))).reset_index(drop=True)
        target = paths.raw / f"{name}.{suffix}"
        if suffix == "csv":
            frame.to_csv(target, index=False)
        else:
            frame.to_parquet(target, index=False)
    outcomes = validate_all(paths)
    failed = [o.summary() for o in outcomes if not o.success]
    assert not failed, failed
    return paths


class Workspace:
    """A case's data folder, with the good set's extracts at hand to break."""

    def __init__(self, paths: DataPaths, good: DataPaths) -> None:
        self.paths = paths
        self.good_paths = good.pinned()
        self.settings: dict[str, object] = {}
        self.expected_line: int | None = None

    def good(self, name: str) -> pd.DataFrame:
        """The good extract as published (a fresh copy)."""
        return pd.read_parquet(self.good_paths.validated_file(name))

    def _clear(self, name: str) -> None:
        for suffix in RAW_SUFFIXES:
            target = self.paths.raw / f"{name}{suffix}"
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif os.path.lexists(target):
                target.unlink()

    def raw(self, name: str, suffix: str) -> Path:
        """A fresh place for the raw file of ``name`` (other files of the extract removed)."""
        self._clear(name)
        return self.paths.raw / f"{name}.{suffix}"

    def csv(self, name: str, frame: pd.DataFrame, **options: object) -> Path:
        """Write ``frame`` as the extract's CSV."""
        target = self.raw(name, "csv")
        frame.to_csv(target, index=False, **options)
        return target

    def csv_text(self, name: str, frame: pd.DataFrame | None = None) -> str:
        """The good extract (or ``frame``) as CSV text, to edit as text."""
        frame = self.good(name) if frame is None else frame
        return frame.to_csv(index=False, lineterminator="\n")

    def text(self, name: str, content: str | bytes, suffix: str = "csv") -> Path:
        """Write raw text or bytes as the extract's file."""
        target = self.raw(name, suffix)
        if isinstance(content, str):
            target.write_text(content, encoding="utf-8", newline="")
        else:
            target.write_bytes(content)
        return target

    def parquet(self, name: str, frame: pd.DataFrame | pa.Table) -> Path:
        """Write the extract as Parquet."""
        target = self.raw(name, "parquet")
        if isinstance(frame, pa.Table):
            pq.write_table(frame, target)
        else:
            frame.to_parquet(target, index=False)
        return target

    def xlsx(self, name: str, frame: pd.DataFrame, sheet: str | None = None) -> Path:
        """Write the extract as a workbook with one sheet (named after it unless ``sheet``)."""
        target = self.raw(name, "xlsx")
        with pd.ExcelWriter(target, engine="openpyxl") as writer:
            frame.to_excel(writer, sheet_name=sheet or name, index=False)
        return target


@dataclass(frozen=True)
class Case:
    """One broken extract: what is wrong, how to make it, and what validate must do."""

    id: str
    item: int  # the numbered item of issue 9 it belongs to (0: everyday breakage)
    extract: str
    what: str
    make: Callable[[Workspace], None]
    expect: str  # "refused" or "normalised"
    says: tuple[str, ...] = ()
    never_says: tuple[str, ...] = ()
    published_before: bool = False
    check: Callable[[ValidationOutcome, Workspace], bool] | None = None
    patch: Callable[[Workspace], contextlib.AbstractContextManager] | None = None


@dataclass
class Result:
    """What validation did with a case."""

    case: Case
    verdict: str
    text: str
    outcome: ValidationOutcome | None = None
    problems: list[str] = field(default_factory=list)


def _same(left: pd.DataFrame | None, right: pd.DataFrame | None) -> bool:
    if left is None or right is None:
        return left is None and right is None
    try:
        pd.testing.assert_frame_equal(
            left.reset_index(drop=True),
            right.reset_index(drop=True),
            check_dtype=False,
            check_categorical=False,
        )
    except AssertionError:
        return False
    return True


def _published(paths: DataPaths, name: str) -> pd.DataFrame | None:
    pinned = paths.pinned()
    if pinned.generation is None or not pinned.validated_file(name).exists():
        return None
    return pd.read_parquet(pinned.validated_file(name))


def _outcome_text(outcome: ValidationOutcome) -> str:
    parts = [outcome.summary()]
    if outcome.report_path and outcome.report_path.exists():
        parts.append(outcome.report_path.read_text(encoding="utf-8"))
    return "\n".join(parts)


def run_case(case: Case, good: DataPaths, directory: Path) -> Result:
    """Run one case in ``directory/<case id>`` and classify what validation did."""
    root = directory / case.id
    if case.published_before:
        shutil.copytree(good.root, root, symlinks=True)
    else:
        shutil.copytree(good.raw, root / "raw")
    paths = DataPaths(root)
    workspace = Workspace(paths, good)
    case.make(workspace)
    names = [case.extract]
    if case.extract in _PLACED:
        names.insert(0, "establishments")
    before = _published(paths, case.extract)
    patcher = case.patch(workspace) if case.patch else contextlib.nullcontext()
    with patcher:
        outcomes = validate_all(paths, names, settings=ValidationSettings(**workspace.settings))
    outcome = {o.extract: o for o in outcomes}[case.extract]
    text = _outcome_text(outcome)
    after = _published(paths, case.extract)
    good_frame = workspace.good(case.extract)
    problems = []
    if outcome.published:
        verdict = "normalised" if _same(after, good_frame) else "published wrongly"
        if case.expect == "refused":
            verdict = "published wrongly"
    elif not _same(after, before):
        verdict = "published wrongly"
        problems.append("refused, yet the published extract changed")
    elif case.expect == "normalised":
        verdict = "wrongly refused"
    else:
        missing = [s for s in case.says if s.casefold() not in text.casefold()]
        leaked = [s for s in case.never_says if s in text]
        file_named = outcome.source_file is not None or "no raw file" in text
        if outcome.error and outcome.source_file and outcome.source_file not in outcome.error:
            missing.append(f"file name {outcome.source_file} in the error")
        clear = not missing and not leaked and file_named
        if case.check is not None and not case.check(outcome, workspace):
            clear = False
            missing.append("the case's own check")
        verdict = "refused" if clear else "refused unclearly"
        problems += [f"missing {m!r}" for m in missing] + [f"leaked {s!r}" for s in leaked]
    return Result(case, verdict, text, outcome, problems)


# --- Helpers to break things ------------------------------------------------------------------


def _with(frame: pd.DataFrame, column: str, value: object, row: int = 3) -> pd.DataFrame:
    frame = frame.astype({column: object})
    frame.loc[row, column] = value
    return frame


def _dates(frame: pd.DataFrame, columns: tuple[str, ...], fmt: str) -> pd.DataFrame:
    for column in columns:
        frame[column] = frame[column].dt.strftime(fmt)
    return frame


def _mixed_dates(ws: Workspace) -> None:
    frame = ws.good("establishments")
    text = frame["opened"].dt.strftime("%Y-%m-%d")
    text[::2] = frame["opened"][::2].dt.strftime("%d/%m/%Y")
    frame["opened"] = text
    ws.csv("establishments", frame)


def _utc_from_local(ws: Workspace) -> None:
    frame = ws.good("equality_analyses")
    local = frame["date"].dt.tz_localize("Europe/London")
    frame["date"] = local.dt.tz_convert("UTC").dt.tz_localize(None)
    assert (frame["date"].dt.hour == 23).any(), "some dates fall in summer time"
    ws.parquet("equality_analyses", frame)


def _tz_aware(ws: Workspace) -> None:
    frame = ws.good("equality_analyses")
    frame["date"] = frame["date"].dt.tz_localize("Europe/London")
    ws.parquet("equality_analyses", frame)


def _keep_periods(ws: Workspace, keep: Callable[[list[str]], list[str]]) -> None:
    frame = ws.good("prisoner_periods")
    periods = sorted(frame["period"].astype(str).unique())
    ws.csv("prisoner_periods", frame[frame["period"].astype(str).isin(keep(periods))])


def _roll_forward_and_drop_a_place(ws: Workspace) -> None:
    frame = ws.good("prisoner_periods")
    ws.csv("prisoner_periods", frame[frame["establishment"].astype(str) != "CAL"])


def _fifteen_percent_fewer(ws: Workspace) -> None:
    frame = ws.good("prisoner_periods")
    rng = np.random.default_rng(9)
    keep = frame.groupby(["period", "establishment"], observed=True).cumcount() == 0
    keep |= rng.random(len(frame)) > 0.25
    assert 0.8 < keep.mean() < 0.88, keep.mean()
    ws.csv("prisoner_periods", frame[keep])


def _duplicate_header(ws: Workspace, second: str, value: str = "London") -> None:
    text = ws.csv_text("establishments")
    lines = text.splitlines()
    lines[0] += f",{second}"
    lines[1:] = [line + f",{value}" for line in lines[1:]]
    ws.text("establishments", "\n".join(lines) + "\n")


def _duplicate_header_xlsx(ws: Workspace) -> None:
    frame = ws.good("establishments")
    frame.insert(3, "region_copy", "London")
    frame.columns = [*frame.columns[:3], "region", *frame.columns[4:]]
    ws.xlsx("establishments", frame)


def _duplicate_header_parquet(ws: Workspace) -> None:
    frame = ws.good("deaths_in_custody")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.append_column("ethnic_group", pa.array(["White"] * len(frame)))
    ws.parquet("deaths_in_custody", table)


def _without_code(code: str) -> Callable[[Workspace], None]:
    def make(ws: Workspace) -> None:
        frame = ws.good("establishments")
        ws.csv("establishments", frame[frame["code"] != code])

    return make


def _text_edit(
    name: str, old: str, new: str, count: int = 1, *, frame: pd.DataFrame | None = None
) -> Callable[[Workspace], None]:
    def make(ws: Workspace) -> None:
        text = ws.csv_text(name, frame)
        assert old in text, (name, old)
        ws.text(name, text.replace(old, new, count))

    return make


def _dimension(ws: Workspace, reference: str, rows: int | None = None) -> None:
    """Write delivery_plan.xlsx whose sheet claims the dimension ``reference``."""
    frame = ws.good("delivery_plan")
    if rows:
        frame = pd.concat([frame] * (rows // len(frame) + 1), ignore_index=True).head(rows)
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="xlsxwriter") as writer:
        frame.to_excel(writer, sheet_name="delivery_plan", index=False)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = re.sub(
                    rb'<dimension ref="[^"]*"/>', f'<dimension ref="{reference}"/>'.encode(), data
                )
            target.writestr(item, data)
    ws.text("delivery_plan", out.getvalue(), suffix="xlsx")


def _expands(ws: Workspace) -> None:
    frame = ws.good("prisoner_periods")
    target = ws.xlsx("prisoner_periods", frame)
    # The workbook itself fits; what it expands to does not.
    ws.settings["max_file_bytes"] = target.stat().st_size + 1


def _oversize(ws: Workspace) -> None:
    ws.settings["max_file_bytes"] = 10_000


def _many_rows_csv(ws: Workspace) -> None:
    frame = ws.good("establishments")
    many = pd.concat([frame] * 80, ignore_index=True).head(1_001)
    many["code"] = [
        f"{a}{b}{c}" for a in "ABCDEFGHIJ" for b in "ABCDEFGHIJ" for c in "ABCDEFGHIJK"
    ][:1_001]
    ws.csv("establishments", many)


def _many_rows_parquet(ws: Workspace) -> None:
    frame = ws.good("delivery_plan")
    many = pd.concat([frame] * 600, ignore_index=True).head(10_001)
    many["action_id"] = [f"A{i}" for i in range(len(many))]
    ws.parquet("delivery_plan", many)


def _symlink_outside(ws: Workspace) -> None:
    secret = ws.paths.root / "elsewhere" / "os-release"
    secret.parent.mkdir()
    secret.write_text('PRETTY_NAME="TOP-SECRET system file"\nID=secret\n', encoding="utf-8")
    ws.raw("establishments", "csv").symlink_to(secret)


def _symlink_to_good(ws: Workspace) -> None:
    good = ws.paths.root / "elsewhere" / "establishments.csv"
    good.parent.mkdir()
    ws.good("establishments").to_csv(good, index=False)
    ws.raw("establishments", "csv").symlink_to(good)


def _dangling(ws: Workspace) -> None:
    ws.raw("establishments", "csv").symlink_to(ws.paths.root / "nowhere.csv")


def _folder(ws: Workspace) -> None:
    ws.raw("delivery_plan", "csv").mkdir()


def _fifo(ws: Workspace) -> None:
    os.mkfifo(ws.raw("delivery_plan", "csv"))


def _quoted_newline_then_bad_status(ws: Workspace) -> None:
    frame = ws.good("delivery_plan")
    frame["due_date"] = frame["due_date"].dt.strftime("%Y-%m-%d")
    frame.loc[1, "aim"] = "First line of the aim\nsecond line\nthird line"
    frame.loc[5, "status"] = "Abandoned"
    text = frame.to_csv(index=False, lineterminator="\n")
    ws.text("delivery_plan", text)
    ws.expected_line = next(
        number for number, line in enumerate(text.split("\n"), start=1) if "Abandoned" in line
    )


def _line_is_right(outcome: ValidationOutcome, ws: Workspace) -> bool:
    rows = [r for f in outcome.failures if f.column == "status" for r in f.sample_rows]
    return bool(rows) and rows[0]["source_row"] == ws.expected_line


def _latin1(ws: Workspace) -> None:
    text = ws.csv_text("establishments").replace("HMP Caldwick", "HMP Caldwïck")
    ws.text("establishments", text.encode("latin-1"))


def _unreadable(ws: Workspace) -> contextlib.AbstractContextManager:
    target = ws.paths.raw / "delivery_plan.csv"
    real_open = os.open

    def refusing(path, flags, *args, **kwargs):
        if Path(path) == target:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    return mock.patch.object(ingest.os, "open", refusing)


def _workbook_as_csv(ws: Workspace) -> None:
    buffer = io.BytesIO()
    ws.good("delivery_plan").to_excel(buffer, index=False, sheet_name="delivery_plan")
    ws.text("delivery_plan", buffer.getvalue())


def _old_xls(ws: Workspace) -> None:
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    ws.text("delivery_plan", header + "Workbook".encode("utf-16-le") + b"\x00" * 2048, "xlsx")


def _encrypted(ws: Workspace) -> None:
    ws.text("delivery_plan", (FILES / "delivery_plan-encrypted.xlsx").read_bytes(), "xlsx")


def _dictionary_parquet(ws: Workspace) -> None:
    frame = ws.good("deaths_in_custody")
    for column in ("period", "establishment", "ethnic_group", "classification"):
        frame[column] = frame[column].astype("category")
    ws.parquet("deaths_in_custody", frame)


def _respondents(value: object) -> Callable[[Workspace], None]:
    def make(ws: Workspace) -> None:
        frame = ws.good("prisoner_survey").astype({"respondents": type(value)})
        frame.loc[2, "respondents"] = value
        ws.parquet("prisoner_survey", frame)

    return make


def _refused_synonym(ws: Workspace) -> None:
    frame = ws.good("prisoner_periods")
    frame["religion"] = frame["religion"].astype(str).replace("Refused", "Prefer not to say")
    if "Prefer not to say" not in set(frame["religion"]):
        frame["religion"] = frame["religion"].replace("Not stated", "not declared")
    ws.csv("prisoner_periods", frame)


def _yes_no(ws: Workspace) -> None:
    frame = ws.good("equality_analyses")
    for column in ("analysis_completed", "quality_assured"):
        frame[column] = frame[column].map({True: "Yes", False: "No"})
    ws.csv("equality_analyses", frame)


def _whole_floats(ws: Workspace) -> None:
    frame = ws.good("prisoner_periods")
    frame["complaints"] = frame["complaints"].astype(float).map(lambda v: f"{v:.1f}")
    ws.csv("prisoner_periods", frame)


def _header_case(ws: Workspace) -> None:
    frame = ws.good("establishments")
    frame.columns = [c.upper() for c in frame.columns]
    ws.csv("establishments", frame)


def _header_spaces(ws: Workspace) -> None:
    frame = ws.good("establishments")
    frame.columns = [f"  {c} " for c in frame.columns]
    ws.csv("establishments", frame)


def _sheet1(ws: Workspace) -> None:
    ws.xlsx("delivery_plan", ws.good("delivery_plan"), sheet="Sheet1")


def _one_row(ws: Workspace) -> None:
    ws.csv("prisoner_periods", ws.good("prisoner_periods").head(1))


def _header_only(name: str) -> Callable[[Workspace], None]:
    def make(ws: Workspace) -> None:
        frame = ws.good(name).head(0)
        if GOOD_SET[name] == "csv":
            ws.csv(name, frame)
        else:
            ws.parquet(name, frame)

    return make


def _blank_lines(ws: Workspace) -> None:
    lines = ws.csv_text("delivery_plan").split("\n")
    lines[2:2] = ["", "   "]
    ws.text("delivery_plan", "\n".join(lines) + "\n\n")


def _frame_edit(
    name: str, edit: Callable[[pd.DataFrame], pd.DataFrame], suffix: str = "csv"
) -> Callable[[Workspace], None]:
    def make(ws: Workspace) -> None:
        frame = edit(ws.good(name))
        if suffix == "csv":
            ws.csv(name, frame)
        elif suffix == "xlsx":
            ws.xlsx(name, frame)
        else:
            ws.parquet(name, frame)

    return make


# --- The corpus ---------------------------------------------------------------------------------

CASES: list[Case] = [
    # 1. Dates: two written formats, one per column, never guessed.
    Case(
        "uk-dates-establishments",
        1,
        "establishments",
        "opened and closed written DD/MM/YYYY (01/11/1900 is 1 November)",
        _frame_edit("establishments", lambda f: _dates(f, ("opened", "closed"), "%d/%m/%Y")),
        "normalised",
    ),
    Case(
        "uk-dates-delivery-plan",
        1,
        "delivery_plan",
        "due_date written DD/MM/YYYY (02/06/2025 is 2 June)",
        _frame_edit("delivery_plan", lambda f: _dates(f, ("due_date",), "%d/%m/%Y")),
        "normalised",
    ),
    Case(
        "mixed-date-formats",
        1,
        "establishments",
        "opened mixes YYYY-MM-DD and DD/MM/YYYY",
        _mixed_dates,
        "refused",
        ("opened", "mixes", "one format per column"),
    ),
    Case(
        "month-first-dates",
        1,
        "delivery_plan",
        "due_date written MM/DD/YYYY (US)",
        _frame_edit("delivery_plan", lambda f: _dates(f, ("due_date",), "%m/%d/%Y")),
        "refused",
        ("due_date", "month-first"),
    ),
    Case(
        "two-digit-years",
        1,
        "delivery_plan",
        "due_date written DD/MM/YY",
        _frame_edit("delivery_plan", lambda f: _dates(f, ("due_date",), "%d/%m/%y")),
        "refused",
        ("due_date", "not dates written YYYY-MM-DD or DD/MM/YYYY"),
    ),
    Case(
        "dashed-day-first",
        1,
        "delivery_plan",
        "due_date written DD-MM-YYYY",
        _frame_edit("delivery_plan", lambda f: _dates(f, ("due_date",), "%d-%m-%Y")),
        "refused",
        ("due_date", "not dates written"),
    ),
    Case(
        "date-with-time",
        1,
        "equality_analyses",
        "date written with a time of day",
        _frame_edit("equality_analyses", lambda f: _dates(f, ("date",), "%Y-%m-%d 10:30:00")),
        "refused",
        ("date", "not dates written"),
    ),
    Case(
        "impossible-date",
        1,
        "equality_analyses",
        "a 30 February",
        _frame_edit(
            "equality_analyses",
            lambda f: _with(_dates(f, ("date",), "%Y-%m-%d"), "date", "2022-02-30"),
        ),
        "refused",
        ("date",),
    ),
    Case(
        "serial-number-dates",
        1,
        "delivery_plan",
        "due_date as spreadsheet serial numbers",
        _frame_edit(
            "delivery_plan",
            lambda f: f.assign(due_date=(f["due_date"] - pd.Timestamp("1899-12-30")).dt.days),
        ),
        "refused",
        ("due_date", "not dates written"),
    ),
    Case(
        "workbook-date-cells",
        1,
        "establishments",
        "a workbook with real date cells",
        _frame_edit("establishments", lambda f: f, "xlsx"),
        "normalised",
    ),
    Case(
        "workbook-text-uk-dates",
        1,
        "establishments",
        "a workbook with DD/MM/YYYY dates typed as text",
        _frame_edit(
            "establishments", lambda f: _dates(f, ("opened", "closed"), "%d/%m/%Y"), "xlsx"
        ),
        "normalised",
    ),
    Case(
        "timezone-aware-parquet",
        6,
        "equality_analyses",
        "Parquet timestamps with a time zone (Europe/London midnight)",
        _tz_aware,
        "normalised",
    ),
    Case(
        "utc-converted-local-dates",
        1,
        "equality_analyses",
        "local midnights saved as UTC (23:00 the day before in summer)",
        _utc_from_local,
        "refused",
        ("date", "time of day"),
    ),
    # 2. A new extract is compared with the one it would replace.
    Case(
        "one-row-prisoner-periods",
        2,
        "prisoner_periods",
        "a truncated extract of one row",
        _one_row,
        "refused",
        ("rows fall", "--accept-shrink"),
        published_before=True,
    ),
    Case(
        "header-only-deaths",
        2,
        "deaths_in_custody",
        "a header-only extract (0 rows over 25)",
        _header_only("deaths_in_custody"),
        "refused",
        ("rows fall from 25 to 0",),
        published_before=True,
    ),
    Case(
        "header-only-delivery-plan",
        2,
        "delivery_plan",
        "a header-only extract whose suite needs a row",
        _header_only("delivery_plan"),
        "refused",
        ("number of rows is plausible",),
        published_before=True,
    ),
    Case(
        "period-missing-inside",
        2,
        "prisoner_periods",
        "a quarter missing from inside the range",
        lambda ws: _keep_periods(ws, lambda p: p[:3] + p[4:]),
        "refused",
        ("inside the range",),
        published_before=True,
    ),
    Case(
        "newest-period-missing",
        2,
        "prisoner_periods",
        "the newest quarter missing",
        lambda ws: _keep_periods(ws, lambda p: p[:-1]),
        "refused",
        ("after the new last period",),
        published_before=True,
    ),
    Case(
        "establishment-not-covered",
        2,
        "prisoner_periods",
        "an open establishment's rows all missing",
        _roll_forward_and_drop_a_place,
        "refused",
        ("no longer covered", "CAL"),
        published_before=True,
    ),
    Case(
        "rows-fall-15-percent",
        2,
        "prisoner_periods",
        "15% fewer rows in the same periods",
        _fifteen_percent_fewer,
        "refused",
        ("rows fall", "more than the 10% tolerated"),
        published_before=True,
    ),
    Case(
        "establishment-disappears",
        2,
        "establishments",
        "an open establishment removed from the list",
        _without_code("HQU"),
        "refused",
        ("disappear without being marked closed", "HQU"),
        published_before=True,
    ),
    # 3. Duplicate headers.
    Case(
        "two-region-columns",
        3,
        "establishments",
        "two region columns, the second all London",
        lambda ws: _duplicate_header(ws, "region"),
        "refused",
        ("duplicate column headers", "region"),
    ),
    Case(
        "space-name-beside-name",
        3,
        "establishments",
        "' name' beside 'name'",
        lambda ws: _duplicate_header(ws, " name", "HMP Elsewhere"),
        "refused",
        ("duplicate column headers", "' name'"),
    ),
    Case(
        "region-and-Region",
        3,
        "establishments",
        "'Region' beside 'region'",
        lambda ws: _duplicate_header(ws, "Region"),
        "refused",
        ("duplicate column headers", "'Region'"),
    ),
    Case(
        "workbook-duplicate-headers",
        3,
        "establishments",
        "a workbook with two region columns",
        _duplicate_header_xlsx,
        "refused",
        ("duplicate column headers", "region"),
    ),
    Case(
        "parquet-duplicate-fields",
        3,
        "deaths_in_custody",
        "a Parquet file with two ethnic_group fields",
        _duplicate_header_parquet,
        "refused",
        ("duplicate column headers", "ethnic_group"),
    ),
    Case(
        "headers-in-capitals",
        3,
        "establishments",
        "every header in capitals",
        _header_case,
        "normalised",
    ),
    Case(
        "headers-padded",
        3,
        "establishments",
        "every header padded with spaces",
        _header_spaces,
        "normalised",
    ),
    # 4. References across the published set.
    Case(
        "establishments-without-COL",
        4,
        "establishments",
        "establishments drop COL, which published prisoner rows use",
        _without_code("COL"),
        "refused",
        ("COL", "prisoner_periods", "still uses"),
        published_before=True,
    ),
    Case(
        "unknown-establishment-code",
        4,
        "prisoner_periods",
        "prisoner rows using a code not in establishments",
        _frame_edit("prisoner_periods", lambda f: _with(f, "establishment", "ZZZ")),
        "refused",
        ("ZZZ", "known establishment code"),
        published_before=True,
    ),
    # 6. Unusable values are failures with a report, never a traceback.
    Case(
        "1e30-in-a-count",
        6,
        "prisoner_periods",
        "1e30 in an integer column of a CSV",
        _frame_edit("prisoner_periods", lambda f: _with(f, "complaints", "1e30")),
        "refused",
        ("complaints", "1e30", "too large"),
        never_says=("-9223372036854775808",),
    ),
    Case(
        "1e30-float-in-parquet",
        6,
        "prisoner_survey",
        "1e30 as a float in an integer column of Parquet",
        _respondents(1e30),
        "refused",
        ("respondents", "1e+30"),
        never_says=("-9223372036854775808",),
    ),
    Case(
        "int64-max-in-parquet",
        6,
        "prisoner_survey",
        "the largest 64-bit integer as a count",
        _respondents(np.int64(2**63 - 1)),
        "refused",
        ("respondents", "9223372036854775807"),
    ),
    Case(
        "int64-min-as-text",
        10,
        "prisoner_periods",
        "-9223372036854775808 written in a count",
        _frame_edit("prisoner_periods", lambda f: _with(f, "complaints", "-9223372036854775808")),
        "refused",
        ("complaints", "-9223372036854775808"),
    ),
    # 7. Sizes and row counts before parsing everything.
    Case(
        "file-over-the-limit",
        7,
        "prisoner_periods",
        "a CSV larger than --max-file-size",
        _oversize,
        "refused",
        ("over the limit",),
    ),
    Case(
        "workbook-expands",
        7,
        "prisoner_periods",
        "a workbook that expands past --max-file-size",
        _expands,
        "refused",
        ("expands to",),
    ),
    Case(
        "workbook-dimension-too-large",
        7,
        "delivery_plan",
        "a workbook whose sheet spans 200,000 rows",
        lambda ws: _dimension(ws, "A1:G200000"),
        "refused",
        ("spans 200,000 rows",),
    ),
    Case(
        "workbook-dimension-understated",
        7,
        "delivery_plan",
        "a workbook claiming 2 rows but holding 12,000",
        lambda ws: _dimension(ws, "A1:G2", rows=12_000),
        "refused",
        ("more than 10,000 rows", "reading stopped"),
    ),
    Case(
        "csv-too-many-rows",
        7,
        "establishments",
        "1,001 establishments",
        _many_rows_csv,
        "refused",
        ("more than 1,000 rows",),
    ),
    Case(
        "parquet-too-many-rows",
        7,
        "delivery_plan",
        "a Parquet file of 10,001 actions",
        _many_rows_parquet,
        "refused",
        ("10,001 rows",),
    ),
    # 8. Links and other files that are not regular files.
    Case(
        "symlink-to-system-file",
        8,
        "establishments",
        "a link to a file outside raw/",
        _symlink_outside,
        "refused",
        ("symbolic link",),
        never_says=("TOP-SECRET", "PRETTY_NAME"),
    ),
    Case(
        "symlink-to-good-file",
        8,
        "establishments",
        "a link to a good extract",
        _symlink_to_good,
        "refused",
        ("symbolic link",),
    ),
    Case(
        "dangling-symlink",
        8,
        "establishments",
        "a link to nothing",
        _dangling,
        "refused",
        ("symbolic link",),
    ),
    Case(
        "folder-as-extract",
        8,
        "delivery_plan",
        "a folder named delivery_plan.csv",
        _folder,
        "refused",
        ("is a folder",),
    ),
    Case(
        "named-pipe",
        8,
        "delivery_plan",
        "a named pipe named delivery_plan.csv",
        _fifo,
        "refused",
        ("named pipe",),
    ),
    # 9. Plausible maxima.
    Case(
        "10-to-the-15-adjudications",
        9,
        "prisoner_periods",
        "10^15 adjudications for one prisoner in a quarter",
        _frame_edit(
            "prisoner_periods",
            lambda f: _with(_with(f, "adjudications_charged", 10**15), "adjudications_proven", 0),
        ),
        "refused",
        ("adjudications_charged is between 0 and 200",),
    ),
    Case(
        "101-uses-of-force",
        9,
        "prisoner_periods",
        "101 use-of-force incidents in a quarter",
        _frame_edit("prisoner_periods", lambda f: _with(f, "use_of_force_incidents", 101)),
        "refused",
        ("use_of_force_incidents is between 0 and 100",),
    ),
    Case(
        "a-billion-respondents",
        9,
        "prisoner_survey",
        "a billion survey respondents in one group",
        _respondents(np.int64(10**9)),
        "refused",
        ("respondents is between 0 and 100000",),
    ),
    # 10. Messages name the real cause and the real value.
    Case(
        "encrypted-workbook",
        10,
        "delivery_plan",
        "a password-protected workbook",
        _encrypted,
        "refused",
        ("encrypted", "password"),
        never_says=("zip file",),
    ),
    Case(
        "old-xls-named-xlsx",
        10,
        "delivery_plan",
        "an Excel 97-2003 file named .xlsx",
        _old_xls,
        "refused",
        ("97-2003",),
    ),
    Case(
        "semicolon-delimited",
        10,
        "delivery_plan",
        "a semicolon-delimited export",
        lambda ws: ws.csv("delivery_plan", ws.good("delivery_plan"), sep=";"),
        "refused",
        ("semicolons",),
        never_says=("Expected 1 fields",),
    ),
    Case(
        "tab-delimited",
        10,
        "delivery_plan",
        "a tab-delimited export",
        lambda ws: ws.csv("delivery_plan", ws.good("delivery_plan"), sep="\t"),
        "refused",
        ("tabs",),
    ),
    Case(
        "quoted-newline-line-numbers",
        10,
        "delivery_plan",
        "a bad value after a value with line breaks in quotes",
        _quoted_newline_then_bad_status,
        "refused",
        ("status", "Abandoned"),
        check=_line_is_right,
    ),
    Case(
        "nul-in-a-name",
        10,
        "establishments",
        "a NUL character inside a name",
        _frame_edit("establishments", lambda f: _with(f, "name", "HMP Col\x00dwick", 0)),
        "refused",
        ("name", "<NUL>", "invisible or control characters"),
    ),
    Case(
        "zero-width-in-a-label",
        10,
        "prisoner_periods",
        "a zero-width space inside 'White'",
        _frame_edit("prisoner_periods", lambda f: _with(f, "ethnic_group", "Wh\u200bite")),
        "refused",
        ("ethnic_group", "Wh<U+200B>ite"),
    ),
    Case(
        "zero-width-in-an-identifier",
        10,
        "prisoner_periods",
        "a zero-width joiner inside a person_id",
        _frame_edit("prisoner_periods", lambda f: _with(f, "person_id", "P\u200d0001")),
        "refused",
        ("person_id", "<U+200D>"),
    ),
    Case(
        "right-to-left-override",
        10,
        "delivery_plan",
        "a right-to-left override inside an aim",
        _frame_edit("delivery_plan", lambda f: _with(f, "aim", "Fair \u202etreatment")),
        "refused",
        ("aim", "<U+202E>"),
    ),
    Case(
        "latin-1-text",
        10,
        "establishments",
        "a CSV saved as Latin-1",
        _latin1,
        "refused",
        ("not UTF-8", "line 3"),
    ),
    Case(
        "ragged-row",
        10,
        "delivery_plan",
        "an unquoted comma adding a field",
        _text_edit("delivery_plan", "\nA", "\nA,extra", 1),
        "refused",
        ("line 2 has", "fields but the header has"),
    ),
    Case(
        "unreadable-file",
        10,
        "delivery_plan",
        "a file that cannot be opened",
        lambda ws: None,
        "refused",
        ("cannot be opened", "delivery_plan.csv"),
        never_says=("no raw file",),
        patch=_unreadable,
    ),
    Case(
        "truncated-parquet",
        10,
        "deaths_in_custody",
        "a Parquet file cut short",
        lambda ws: ws.text(
            "deaths_in_custody",
            (ws.paths.raw / "deaths_in_custody.parquet").read_bytes()[:400],
            "parquet",
        ),
        "refused",
        ("not a readable Parquet",),
    ),
    Case(
        "empty-file",
        10,
        "delivery_plan",
        "an empty file",
        lambda ws: ws.text("delivery_plan", b""),
        "refused",
        ("the file is empty",),
    ),
    Case(
        "workbook-named-csv",
        10,
        "delivery_plan",
        "a workbook saved with a .csv name",
        _workbook_as_csv,
        "refused",
        ("workbook or Parquet file, not CSV",),
    ),
    Case(
        "csv-named-xlsx",
        10,
        "delivery_plan",
        "CSV text saved with a .xlsx name",
        lambda ws: ws.text("delivery_plan", ws.csv_text("delivery_plan"), "xlsx"),
        "refused",
        ("not an .xlsx workbook",),
    ),
    Case(
        "fraction-in-a-count",
        10,
        "prisoner_periods",
        "3.5 complaints",
        _frame_edit("prisoner_periods", lambda f: _with(f, "complaints", "3.5")),
        "refused",
        ("complaints", "3.5", "not whole numbers"),
    ),
    Case(
        "thousands-separator",
        10,
        "prisoner_periods",
        "a count written 1,000",
        _frame_edit("prisoner_periods", lambda f: _with(f, "complaints", "1,000")),
        "refused",
        ("complaints", "1,000"),
    ),
    # Everyday breakage that is safe to normalise.
    Case(
        "crlf-line-endings",
        0,
        "delivery_plan",
        "Windows line endings",
        lambda ws: ws.text("delivery_plan", ws.csv_text("delivery_plan").replace("\n", "\r\n")),
        "normalised",
    ),
    Case(
        "byte-order-mark",
        0,
        "delivery_plan",
        "a UTF-8 byte-order mark before the header",
        lambda ws: ws.text("delivery_plan", "\ufeff" + ws.csv_text("delivery_plan")),
        "normalised",
    ),
    Case(
        "blank-lines",
        0,
        "delivery_plan",
        "blank lines between and after rows",
        _blank_lines,
        "normalised",
    ),
    Case(
        "labels-with-spaces-and-case",
        0,
        "prisoner_periods",
        "' white ' and 'MALE' for White and Male",
        _frame_edit(
            "prisoner_periods",
            lambda f: f.assign(
                ethnic_group=f["ethnic_group"].astype(str).replace("White", " white "),
                sex=f["sex"].astype(str).str.upper(),
            ),
        ),
        "normalised",
    ),
    Case(
        "synonym-for-refused",
        0,
        "prisoner_periods",
        "'Prefer not to say' for Refused",
        _refused_synonym,
        "normalised",
    ),
    Case(
        "yes-no-booleans",
        0,
        "equality_analyses",
        "booleans written Yes/No",
        _yes_no,
        "normalised",
    ),
    Case(
        "whole-numbers-with-point-zero",
        0,
        "prisoner_periods",
        "counts written 2.0",
        _whole_floats,
        "normalised",
    ),
    Case(
        "extra-column",
        0,
        "delivery_plan",
        "a column the contract does not know",
        _frame_edit("delivery_plan", lambda f: f.assign(notes="internal")),
        "normalised",
    ),
    Case(
        "dictionary-parquet",
        0,
        "deaths_in_custody",
        "Parquet with dictionary (categorical) columns",
        _dictionary_parquet,
        "normalised",
    ),
    Case(
        "only-sheet-named-sheet1",
        0,
        "delivery_plan",
        "a workbook whose only sheet is Sheet1",
        _sheet1,
        "normalised",
    ),
]


@contextlib.contextmanager
def good_set(directory: Path) -> Iterator[DataPaths]:
    """A good set built once in ``directory`` (for the table script)."""
    yield build_good_set(directory / "good")


def summary(results: list[Result]) -> dict[str, int]:
    """Counts for the table: tried, refused with a clear message, normalised, published wrongly."""
    verdicts = [r.verdict for r in results]
    return {
        "tried": len(results),
        "refused with a clear message": verdicts.count("refused"),
        "normalised": verdicts.count("normalised"),
        "published wrongly": verdicts.count("published wrongly"),
        "other": len(results)
        - verdicts.count("refused")
        - verdicts.count("normalised")
        - verdicts.count("published wrongly"),
    }


def as_json(results: list[Result]) -> str:
    """The results as JSON lines (for debugging a failing case)."""
    return "\n".join(
        json.dumps({"id": r.case.id, "verdict": r.verdict, "problems": r.problems}) for r in results
    )
