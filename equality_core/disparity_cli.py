"""``python -m equality_core disparity COUNTS.csv``: a disparity table from a counts file.

For analysts checking figures outside the browser. Input columns: ``measure,
characteristic, group, numerator, denominator`` and optionally ``period`` and
``establishment`` (each distinct combination is analysed separately). Output: one row
per input row with rates, intervals, relative rates, p-values and flags, after disclosure
control unless ``--no-suppress``. Bad input exits with code 2 and a message naming the
file, the line and the problem; never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from equality_core import disclosure, stats
from equality_core.measures import MEASURES

REQUIRED = ("measure", "characteristic", "group", "numerator", "denominator")
OPTIONAL_BY = ("period", "establishment")
OUTPUT = (
    "measure",
    "characteristic",
    "group",
    "period",
    "establishment",
    "numerator",
    "denominator",
    *stats.REPORTED_COLUMNS[:-1],
    "test",
    "flag",
)


class CountsError(ValueError):
    """The counts file cannot be analysed; the message says where and why."""


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
    parser.add_argument("--tolerance", default="0.8,1.25", metavar="LOW,HIGH")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--min-denominator", type=int, default=30)
    parser.add_argument("--threshold", type=int, default=5, help="disclosure threshold: 5 or 10")
    parser.add_argument("--no-suppress", action="store_true", help="skip disclosure control")
    parser.add_argument("--out", help="write the table here (default: standard output)")


def _line(index: int) -> int:
    return index + 2  # one header line; lines count from 1


def read_counts(path: Path) -> pd.DataFrame:
    """Read and check a counts file; :class:`CountsError` names the line and the problem."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise CountsError(f"{path}: no such file") from None
    except pd.errors.EmptyDataError:
        raise CountsError(f"{path}: the file is empty") from None
    except (UnicodeDecodeError, pd.errors.ParserError) as error:
        raise CountsError(f"{path}: cannot be read as UTF-8 CSV ({error})") from None
    frame.columns = [c.strip() for c in frame.columns]
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise CountsError(f"{path}: missing column(s) {', '.join(missing)}")
    if frame.empty:
        raise CountsError(f"{path}: no rows")
    problems = []
    for column in ("numerator", "denominator"):
        values = pd.to_numeric(frame[column].str.strip(), errors="coerce")
        bad = values.isna() | (values != np.floor(values))
        for index in frame.index[bad][:5]:
            problems.append(
                f"line {_line(index)}: {column} {frame.at[index, column]!r} is not a whole number"
            )
        negative = values < 0
        for index in frame.index[negative][:5]:
            problems.append(f"line {_line(index)}: {column} {frame.at[index, column]} is negative")
        frame[column] = values
    if not problems:
        above = frame["numerator"] > frame["denominator"]
        for index in frame.index[above][:5]:
            problems.append(
                f"line {_line(index)}: numerator {int(frame.at[index, 'numerator'])} is above "
                f"denominator {int(frame.at[index, 'denominator'])}"
            )
    for column in ("measure", "characteristic", "group"):
        empty = frame[column].str.strip() == ""
        for index in frame.index[empty][:5]:
            problems.append(f"line {_line(index)}: {column} is empty")
    if problems:
        raise CountsError(f"{path}: " + "; ".join(problems))
    frame["numerator"] = frame["numerator"].astype("int64")
    frame["denominator"] = frame["denominator"].astype("int64")
    return frame


def _comparators(values: list[str]) -> str | dict[str, str] | None:
    if not values:
        return None
    plain = [v for v in values if "=" not in v]
    keyed = dict(v.split("=", 1) for v in values if "=" in v)
    if plain and keyed:
        raise CountsError("give either --comparator GROUP or --comparator characteristic=GROUP")
    if len(plain) > 1:
        raise CountsError(
            "--comparator GROUP may be given once; use characteristic=GROUP to repeat"
        )
    return plain[0] if plain else keyed


def run(args: argparse.Namespace) -> int:
    """Run the ``disparity`` command; returns the exit code."""
    path = Path(args.counts)
    try:
        low, high = (float(v) for v in args.tolerance.split(","))
        rule = stats.FlagRule(
            alpha=args.alpha, tolerance=(low, high), min_denominator=args.min_denominator
        )
        disclosure_rule = disclosure.DisclosureRule(threshold=args.threshold)
        frame = read_counts(path)
        by = [c for c in OPTIONAL_BY if c in frame.columns]
        kinds = {m: MEASURES[m].kind if m in MEASURES else "proportion" for m in frame["measure"]}
        table = stats.disparity_table(
            frame, by=by, kind=kinds, comparator=_comparators(args.comparator), rule=rule
        )
    except (CountsError, ValueError) as error:
        message = str(error)
        if not message.startswith(str(path)):
            message = f"{path}: {message}"
        print(f"error: {message}", file=sys.stderr)
        return 2
    if not args.no_suppress:
        table = disclosure.protect(
            table, rule=disclosure_rule, family=("measure", "characteristic", *by)
        )
    else:
        table = table.assign(suppressed=False)
    columns = [c for c in OUTPUT if c in table.columns] + ["suppressed"]
    payload = disclosure.to_safe_csv(table[columns])
    if args.out:
        Path(args.out).write_bytes(payload)
        flagged = int(table["flag"].isin(["higher", "lower"]).sum())
        print(
            f"{len(table)} rows written to {args.out}; {flagged} group(s) flagged", file=sys.stderr
        )
    else:
        sys.stdout.write(payload.decode("utf-8"))
    return 0
