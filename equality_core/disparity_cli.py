"""``python -m equality_core disparity COUNTS.csv``: a disparity table from a counts file.

For analysts checking figures outside the browser. Input columns: ``measure,
characteristic, group, numerator, denominator``; optionally ``period`` and
``establishment`` (each distinct combination is analysed separately; an empty
establishment means national figures) and ``kind`` (``proportion`` or ``event`` per
measure; ``--kind`` sets it for every measure). Output: one row per input row with rates,
intervals, relative rates, p-values and flags.

The output is protected by default: the counts carry no record keys, so each count gets a
cell key from a keyed hash of its coordinates (:func:`equality_core.cellkey.coordinate_keys`,
a weaker protection that the methodology names), is perturbed with the data folder's
ptable, and every figure is computed from the counts shown; hidden figures read ``[c]``.
``--no-suppress`` gives exact figures for the analyst's own use.

A row whose group is a total ("Total", "All") is a check on its groups, never a group
or a comparator: a warning says when the groups do not add up to it. Groups that stand
for no declaration ("Not recorded", "Prefer not to say") are never tested. Bad input
exits with code 2 and one message naming the file, each rule broken, its column and a
few of the offending lines; never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd

from equality_core import cellkey, disclosure, stats
from equality_core.measures import MEASURES
from equality_core.paths import resolve_data_dir

REQUIRED = ("measure", "characteristic", "group", "numerator", "denominator")
OPTIONAL_BY = ("period", "establishment")
KIND_COLUMN = "kind"
#: The largest count accepted: the plausible maximum of the counts extract's numerator
#: and denominator (equality_core.schema); anything larger is a corrupt or shifted value.
MAX_COUNT = 50_000_000
#: Offending lines named per rule broken.
SHOWN = 5
OUTPUT = (
    "measure",
    "characteristic",
    "group",
    "period",
    "establishment",
    "kind",
    "numerator",
    "denominator",
    *stats.REPORTED_COLUMNS[:-1],
    "comparator_has_none",
    "test",
    "flag",
    "suppressed",  # read by disclosure.to_safe_csv to write hidden figures as [c]; not written
)


class CountsError(ValueError):
    """The counts file cannot be analysed; the message says where and why."""


class UsageError(ValueError):
    """The options cannot be used as given; the message says why and what to do."""


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``disparity`` arguments to ``parser``."""
    parser.add_argument(
        "counts", help="CSV of measure, characteristic, group, numerator, denominator"
    )
    parser.add_argument(
        "--comparator",
        action="append",
        default=[],
        metavar="[CHARACTERISTIC=]GROUP",
        help="comparator group; GROUP applies to every characteristic that has it; repeatable",
    )
    parser.add_argument(
        "--kind",
        choices=stats.KINDS,
        help="proportion (people with the outcome) or event (events over exposure, may exceed "
        "it) for every measure without a kind column value",
    )
    parser.add_argument("--tolerance", default="0.8,1.25", metavar="LOW,HIGH")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--min-denominator", type=int, default=30)
    parser.add_argument(
        "--data",
        help="data folder whose disclosure.toml protects the output "
        "(default: $EQUALITY_MONITOR_DATA or data/)",
    )
    parser.add_argument(
        "--threshold",
        type=int,
        choices=(5, 10),
        help="raise the configured disclosure threshold to 10 (it can only be raised)",
    )
    parser.add_argument(
        "--no-suppress",
        action="store_true",
        help="exact figures without disclosure control, for your own use; not for publication",
    )
    parser.add_argument("--out", help="write the table here (default: standard output)")


# --- Reading and checking ----------------------------------------------------------------


class _Problems:
    """Every rule a counts file breaks, with a few offending lines each, then one error."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rules: dict[str, list[str]] = {}

    def add(self, rule: str, detail: str) -> None:
        self.rules.setdefault(rule, []).append(detail)

    def raise_if_any(self) -> None:
        if not self.rules:
            return
        lines = []
        for rule, details in self.rules.items():
            shown = "; ".join(details[:SHOWN])
            if len(details) > SHOWN:
                shown += f"; and {len(details) - SHOWN} more"
            lines.append(f"  - {rule}: {shown}")
        count = len(self.rules)
        raise CountsError(
            f"{self.path}: {count} rule{'s' if count > 1 else ''} broken\n" + "\n".join(lines)
        )


@dataclass(frozen=True)
class Counts:
    """A checked counts file: one row per input row, its source line, and what to analyse.

    ``frame`` holds the coordinate columns as text, ``numerator`` and ``denominator`` as
    integers, ``kind`` and ``line`` (the row's line in the file). ``kinds`` maps each
    measure to its kind; ``warnings`` are things the analyst should know (totals whose
    groups do not add up to them).
    """

    frame: pd.DataFrame
    by: tuple[str, ...]
    kinds: dict[str, str]
    warnings: tuple[str, ...]


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and each non-blank row with the line it starts on."""
    if path.is_dir():
        raise CountsError(f"{path}: is a folder; give the counts CSV file inside it")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CountsError(f"{path}: no such file") from None
    except UnicodeDecodeError as error:
        raise CountsError(
            f"{path}: is not UTF-8 text (byte {error.start}); save it as 'CSV UTF-8'"
        ) from None
    except OSError as error:
        raise CountsError(f"{path}: cannot be read ({error.strerror or error})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    start = 1
    try:
        for fields in reader:
            line, start = start, reader.line_num + 1
            if not any(f.strip() for f in fields):
                continue
            if header is None:
                header = [f.strip() for f in fields]
            else:
                rows.append((line, fields))
    except csv.Error as error:
        raise CountsError(
            f"{path}: line {reader.line_num}: not readable as CSV ({error})"
        ) from None
    if header is None:
        raise CountsError(f"{path}: the file is empty")
    return header, rows


def _whole_number(text: str) -> tuple[int | None, str | None]:
    """The count a cell holds, or why it is not one."""
    value = text.strip()
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None, "is not a whole number"
    if not number.is_finite() or number != number.to_integral_value():
        return None, "is not a whole number"
    if number < 0:
        return None, "is negative"
    if number > MAX_COUNT:
        return None, f"is above the plausible maximum of {MAX_COUNT:,}"
    return int(number), None


def read_counts(path: Path, *, kind: str | None = None) -> Counts:
    """Read and check a counts file; :class:`CountsError` lists every rule broken.

    ``kind`` is the ``--kind`` option: the kind of every measure without a value in a
    ``kind`` column (default: the measure's kind in the glossary, else proportion).
    """
    header, rows = _read_rows(path)
    problems = _Problems(path)
    repeated_names = sorted({c for c in header if header.count(c) > 1})
    if repeated_names:
        problems.add("each column appears once in the header", ", ".join(repeated_names))
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        problems.add(
            f"missing column(s) {', '.join(missing)}", f"the header has {', '.join(header)}"
        )
    problems.raise_if_any()
    if not rows:
        raise CountsError(f"{path}: no rows below the header")
    for line, fields in rows:
        if len(fields) != len(header):
            problems.add(
                f"every row has the header's {len(header)} fields",
                f"line {line} has {len(fields)}",
            )
    problems.raise_if_any()

    by = tuple(c for c in OPTIONAL_BY if c in header)
    keep = [*REQUIRED, *by, *([KIND_COLUMN] if KIND_COLUMN in header else [])]
    position = {name: header.index(name) for name in keep}
    frame = pd.DataFrame(
        {name: [fields[i].strip() for _, fields in rows] for name, i in position.items()}
    )
    frame["line"] = [line for line, _ in rows]

    for column in ("measure", "characteristic", "group"):
        for line in frame.loc[frame[column] == "", "line"]:
            problems.add(f"column {column}: not empty", f"line {line}")
    for column in ("numerator", "denominator"):
        values = []
        for line, text in zip(frame["line"], frame[column], strict=True):
            number, why = _whole_number(text)
            if why:
                shown = repr(text) if why == "is not a whole number" else text
                problems.add(
                    f"column {column}: a whole number from 0 to {MAX_COUNT:,}",
                    f"line {line}: {column} {shown} {why}",
                )
            values.append(number)
        frame[column] = values

    kinds = _kinds(frame, kind, problems)
    frame["kind"] = frame["measure"].map(kinds)
    problems.raise_if_any()

    frame["numerator"] = frame["numerator"].astype("int64")
    frame["denominator"] = frame["denominator"].astype("int64")
    above = (frame["kind"] == "proportion") & (frame["numerator"] > frame["denominator"])
    for _, row in frame[above].iterrows():
        problems.add(
            "column numerator: not above the denominator for a proportion (for event "
            "counts give a kind column or --kind event)",
            f"line {row['line']}: numerator {row['numerator']} is above denominator "
            f"{row['denominator']}",
        )
    coordinates = ["measure", "characteristic", "group", *by]
    repeated = frame[frame.duplicated(coordinates, keep=False)]
    for key, rows_ in repeated.groupby(coordinates, sort=False):
        lines = " and ".join(str(v) for v in rows_["line"])
        problems.add(
            f"each {', '.join(coordinates)} appears once (a repeated row would be counted "
            "twice or pick one at random)",
            f"lines {lines} repeat {', '.join(key)}",
        )
    problems.raise_if_any()
    return Counts(frame, by, kinds, tuple(_check_totals(frame, by, path)))


def _kinds(frame: pd.DataFrame, option: str | None, problems: _Problems) -> dict[str, str]:
    """Each measure's kind: the ``kind`` column, else ``--kind``, else the glossary."""
    given = (
        frame[KIND_COLUMN].str.casefold()
        if KIND_COLUMN in frame.columns
        else pd.Series("", index=frame.index)
    )
    for line, value in zip(frame["line"], given, strict=True):
        if value and value not in stats.KINDS:
            problems.add(
                f"column {KIND_COLUMN}: proportion or event (or empty)",
                f"line {line}: {value!r}",
            )
        elif value and option and value != option:
            problems.add(
                f"column {KIND_COLUMN}: the same as --kind {option}",
                f"line {line}: {value}",
            )
    kinds: dict[str, str] = {}
    for measure, values in given.groupby(frame["measure"], sort=False):
        stated = {v for v in values if v in stats.KINDS}
        if len(stated) > 1:
            lines = ", ".join(str(v) for v in frame.loc[values.index, "line"][:SHOWN])
            problems.add(
                f"column {KIND_COLUMN}: one kind per measure",
                f"measure {measure} is both proportion and event (lines {lines})",
            )
        if stated:
            kinds[measure] = sorted(stated)[0]
        elif option:
            kinds[measure] = option
        else:
            kinds[measure] = MEASURES[measure].kind if measure in MEASURES else "proportion"
    return kinds


def _check_totals(frame: pd.DataFrame, by: Sequence[str], path: Path) -> list[str]:
    """Warnings for total rows whose groups do not add up to them."""
    total = stats.is_total(frame["group"])
    if not total.any():
        return []
    family = ["measure", "characteristic", *by]
    parts = frame[~total].groupby(family, sort=False)[["numerator", "denominator"]].sum()
    warnings = []
    for _, row in frame[total].iterrows():
        key = tuple(row[c] for c in family)
        where = ", ".join(f"{c} {row[c]}" for c in family if row[c] != "")
        sums = (
            parts.loc[key] if key in parts.index else pd.Series({"numerator": 0, "denominator": 0})
        )
        for column in ("numerator", "denominator"):
            difference = int(sums[column]) - int(row[column])
            if difference == 0:
                continue
            why = (
                f"{-difference} fewer: groups missing or suppressed in the source?"
                if difference < 0
                else f"{difference} more: groups overlap, or the total is wrong?"
            )
            warnings.append(
                f"{path}: line {row['line']}: the '{row['group']}' row of {where} has {column} "
                f"{int(row[column])} but its groups add up to {int(sums[column])} ({why}); "
                "it is used as a check only, never as a group or comparator"
            )
    return warnings


def _comparators(values: list[str]) -> str | dict[str, str] | None:
    if not values:
        return None
    plain = [v.strip() for v in values if "=" not in v]
    keyed = {k.strip(): v.strip() for k, v in (v.split("=", 1) for v in values if "=" in v)}
    if plain and keyed:
        raise UsageError("give either --comparator GROUP or --comparator characteristic=GROUP")
    if len(plain) > 1:
        raise UsageError("--comparator GROUP may be given once; use characteristic=GROUP to repeat")
    return plain[0] if plain else keyed


def _rule(args: argparse.Namespace) -> stats.FlagRule:
    try:
        low, high = (float(v) for v in args.tolerance.split(","))
    except ValueError:
        raise UsageError(
            f"--tolerance must be LOW,HIGH such as 0.8,1.25; got {args.tolerance!r}"
        ) from None
    try:
        return stats.FlagRule(
            alpha=args.alpha, tolerance=(low, high), min_denominator=args.min_denominator
        )
    except ValueError as error:
        raise UsageError(str(error)) from None


# --- Disclosure control --------------------------------------------------------------------


def _protection(args: argparse.Namespace) -> tuple[cellkey.DisclosureConfig | None, list[str]]:
    """The data folder's disclosure configuration, or None with ``--no-suppress``."""
    if args.no_suppress:
        if args.threshold is not None:
            raise UsageError("--threshold applies to disclosure control: not with --no-suppress")
        return None, []
    from equality_core import data

    paths = resolve_data_dir(args.data)
    try:
        config = data.disclosure_config(paths)
    except (cellkey.DisclosureConfigError, OSError, ValueError) as error:
        raise UsageError(
            f"no disclosure configuration to protect the output: {error}. Create "
            f"{paths.root / cellkey.CONFIG_FILE} with record_key_secret (at least 16 "
            "characters, kept out of git) and record_key_version, or point --data or "
            "EQUALITY_MONITOR_DATA at the folder that has one; or pass --no-suppress for "
            "exact figures for your own use"
        ) from None
    if args.threshold is not None:
        if args.threshold < config.threshold:
            raise UsageError(
                f"--threshold {args.threshold} is below the configured threshold "
                f"{config.threshold} ({config.source}); it can only be raised"
            )
        config = dataclasses.replace(config, threshold=args.threshold)
    warnings = []
    if config.secret == cellkey.DEMO_SECRET.encode("utf-8"):
        warnings.append(
            f"the data folder {paths.root} holds the synthetic demo, so the output is "
            "protected with the demo's published key, which protects nothing real: for real "
            "counts use --data with a folder that has its own disclosure.toml"
        )
    return config, warnings


def _with_cell_keys(counts: Counts, config: cellkey.DisclosureConfig) -> pd.DataFrame:
    """The counts with a cell key per count, from a keyed hash of the row's coordinates.

    The numerator and the denominator of one row hash different coordinates (the row's,
    plus which count it is), so they get different keys.
    """
    frame = counts.frame.copy()
    coordinates = ["measure", "characteristic", "group", *counts.by]
    for part in ("numerator", "denominator"):
        frame[f"{part}_key"] = cellkey.coordinate_keys(
            frame.assign(_count=part), [*coordinates, "_count"], secret=config.secret
        )
    return frame


def disparity_output(
    counts: Counts,
    *,
    protection: cellkey.DisclosureConfig | None,
    comparator: str | dict[str, str] | None,
    rule: stats.FlagRule,
) -> pd.DataFrame:
    """The disparity table of ``counts`` as the command writes it.

    With ``protection`` the counts are perturbed by their coordinate cell keys and
    checked (:func:`equality_core.disclosure.perturb_counts`), the statistics computed
    from the counts shown, and the figures of hidden rows blanked
    (:func:`equality_core.disclosure.hide_derived`). Without it, exact figures.
    """
    frame = counts.frame if protection is None else _with_cell_keys(counts, protection)
    proportion = (frame["kind"] == "proportion").to_numpy()
    shown = disclosure.perturb_counts(frame, protection=protection, complement_rows=proportion)
    table = stats.disparity_table(
        shown, by=list(counts.by), kind=counts.kinds, comparator=comparator, rule=rule
    )
    family = ("measure", "characteristic", *counts.by)
    table = disclosure.hide_derived(table, family=family)
    return table[[c for c in OUTPUT if c in table.columns]]


def _preamble(path: Path, protection: cellkey.DisclosureConfig | None, rule: stats.FlagRule):
    if protection is None:
        control = (
            "Exact figures (--no-suppress): no disclosure control. For the analyst's own use; "
            "not for publication"
        )
    else:
        control = (
            f"Disclosure control: {protection.describe()}. The counts came aggregated, without "
            "record keys, so cell keys come from each row's coordinates: weaker protection "
            "than record keys (docs/methodology.md)"
        )
    return [f"Disparity table from {path.name}", control, f"Flag rule: {rule.describe()}"]


def _write(payload: bytes, out: str | None, path: Path) -> None:
    if out is None:
        try:
            sys.stdout.write(payload.decode("utf-8"))
            sys.stdout.flush()
        except BrokenPipeError:
            # The reader stopped early (| head): not an error, and no traceback at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    target = Path(out)
    if target.is_dir():
        raise UsageError(f"--out {target} is a folder; give a file name inside it")
    if not target.parent.exists():
        raise UsageError(f"--out {target}: the folder {target.parent} does not exist")
    if target.exists() and target.resolve() == path.resolve():
        raise UsageError(f"--out {target} is the input file; give another name")
    try:
        target.write_bytes(payload)
    except OSError as error:
        raise UsageError(f"--out {target}: cannot write ({error.strerror or error})") from None


def run(args: argparse.Namespace) -> int:
    """Run the ``disparity`` command; returns the exit code (2 for any error)."""
    path = Path(args.counts)
    try:
        rule = _rule(args)
        comparator = _comparators(args.comparator)
        counts = read_counts(path, kind=args.kind)
        protection, notes = _protection(args)
        try:
            table = disparity_output(
                counts, protection=protection, comparator=comparator, rule=rule
            )
        except ValueError as error:
            raise CountsError(f"{path}: {error}") from None
        for warning in (*counts.warnings, *notes):
            print(f"warning: {warning}", file=sys.stderr)
        payload = disclosure.to_safe_csv(table, preamble=_preamble(path, protection, rule))
        _write(payload, args.out, path)
    except (CountsError, UsageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # the promise is: never a traceback
        print(
            f"error: {path}: could not be analysed ({type(error).__name__}: {error}); this is "
            "a fault in the disparity command, please report it with the file",
            file=sys.stderr,
        )
        return 2
    if args.out:
        flagged = int(table["flag"].isin(["higher", "lower"]).sum())
        print(
            f"{len(table)} rows written to {args.out}; {flagged} group(s) flagged higher or lower",
            file=sys.stderr,
        )
    return 0
