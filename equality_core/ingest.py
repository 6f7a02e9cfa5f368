"""Read a raw extract, normalise its category labels and coerce its types.

Raw files are opened read-only and never modified. Problems are collected, not raised
one at a time: the caller gets every failed rule with its offending rows in one report.
A file that cannot be read at all (empty, truncated, wrong encoding, a missing sheet)
raises :class:`UnreadableExtractError`, whose message names the file and the reason.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from equality_core.paths import RAW_SUFFIXES
from equality_core.schema import Column, Extract

#: Number of offending rows quoted in a report for each failed rule.
SAMPLE_ROWS = 5
#: Name of the column that carries each record's row number in its source file.
ROW_NUMBER = "source_row"

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}

#: Common ways of writing a non-declaration, mapped to the contract's explicit values.
_NOT_DECLARED_SYNONYMS = {
    "prefer not to say": "Refused",
    "declined": "Refused",
    "not known": "Unknown",
    "not recorded": "Unknown",
    "unrecorded": "Unknown",
    "missing": "Unknown",
    "not declared": "Not stated",
}


class UnreadableExtractError(Exception):
    """A raw file that cannot be read as a table at all."""


@dataclass
class Failure:
    """One failed rule: which column, which rule in plain words, and sample offending rows."""

    column: str | None
    rule: str
    description: str
    unexpected_count: int
    sample_rows: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        """A JSON-serialisable dictionary."""
        return {
            "column": self.column,
            "rule": self.rule,
            "description": self.description,
            "unexpected_count": int(self.unexpected_count),
            "sample_rows": [_jsonable_row(r) for r in self.sample_rows[:SAMPLE_ROWS]],
        }


def _jsonable(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return str(pd.Timestamp(value).date())
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _jsonable_row(row: dict) -> dict:
    return {str(k): _jsonable(v) for k, v in row.items()}


@dataclass
class RawExtract:
    """A raw extract after reading and coercion, with what went wrong on the way."""

    extract: Extract
    path: Path
    sha256: str
    frame: pd.DataFrame
    failures: list[Failure]
    notes: list[str]


def sha256_of(path: Path) -> str:
    """The SHA-256 checksum of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find_raw_file(raw_dir: Path, extract_name: str) -> Path | None:
    """The raw file of an extract in ``raw_dir``, or None if there is none.

    Raises
    ------
    UnreadableExtractError
        If more than one file claims the extract (for example ``x.csv`` and
        ``x.parquet``); the message names them all.
    """
    found = [raw_dir / f"{extract_name}{suffix}" for suffix in RAW_SUFFIXES]
    found = [p for p in found if p.is_file()]
    if len(found) > 1:
        names = " and ".join(str(p) for p in found)
        raise UnreadableExtractError(
            f"{extract_name}: two raw files for one extract ({names}); keep one and remove the other"
        )
    return found[0] if found else None


def _read_table(path: Path, extract: Extract) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise UnreadableExtractError(f"{path}: the file is empty")
    try:
        if suffix == ".csv":
            try:
                return pd.read_csv(
                    path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig"
                )
            except UnicodeDecodeError as error:
                raise UnreadableExtractError(
                    f"{path}: not UTF-8 text (byte {error.start} cannot be decoded); "
                    "save the file as CSV UTF-8"
                ) from None
            except pd.errors.EmptyDataError:
                raise UnreadableExtractError(f"{path}: the file has no header row") from None
            except pd.errors.ParserError as error:
                raise UnreadableExtractError(f"{path}: not a well-formed CSV ({error})") from None
        if suffix == ".xlsx":
            return _read_excel(path, extract)
        if suffix == ".parquet":
            import pyarrow.lib

            try:
                return pd.read_parquet(path)
            except (pyarrow.lib.ArrowException, OSError) as error:
                raise UnreadableExtractError(
                    f"{path}: not a readable Parquet file ({error})"
                ) from None
    except UnreadableExtractError:
        raise
    except Exception as error:  # any reader failure becomes one clear message
        raise UnreadableExtractError(
            f"{path}: cannot be read ({type(error).__name__}: {error})"
        ) from None
    raise UnreadableExtractError(f"{path}: unsupported file type {suffix!r}")


def _read_excel(path: Path, extract: Extract) -> pd.DataFrame:
    import zipfile

    try:
        sheets = pd.ExcelFile(path, engine="openpyxl")
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise UnreadableExtractError(f"{path}: not a readable .xlsx workbook ({error})") from None
    names = sheets.sheet_names
    if extract.name in names:
        sheet = extract.name
    elif len(names) == 1:
        sheet = names[0]
    else:
        raise UnreadableExtractError(
            f"{path}: no sheet named {extract.name!r} and more than one sheet "
            f"({', '.join(names)}); name the sheet after the extract"
        )
    return pd.read_excel(
        sheets, sheet_name=sheet, dtype=object, keep_default_na=False, na_values=[""]
    )


def _canonical_lookup(allowed: tuple[str, ...]) -> dict[str, str]:
    lookup = {_fold(v): v for v in allowed}
    for synonym, value in _NOT_DECLARED_SYNONYMS.items():
        if value in allowed:
            lookup.setdefault(synonym, value)
    return lookup


def _fold(value: str) -> str:
    return re.sub(r"\s+", " ", value.strip().casefold())


def _normalise_labels(series: pd.Series, column: Column) -> tuple[pd.Series, int]:
    """Trim spaces, match case-insensitively and map synonyms to the allowed labels."""
    text = series.astype("string")
    if column.allowed is None:
        return text.str.strip(), 0
    lookup = _canonical_lookup(column.allowed)
    categories = pd.Series(text.dropna().unique())
    mapping = {c: lookup.get(_fold(c), c) for c in categories}
    changed = sum(1 for k, v in mapping.items() if k != v)
    return text.map(mapping, na_action="ignore").astype("string"), changed


def _coerce(series: pd.Series, column: Column) -> tuple[pd.Series, pd.Series]:
    """Coerce to the column's type; returns the values and a mask of unconvertible cells."""
    present = series.notna()
    if column.type == "int" or column.type == "float":
        numbers = pd.to_numeric(series, errors="coerce")
        bad = present & numbers.isna()
        if column.type == "int":
            fractional = numbers.notna() & (numbers % 1 != 0)
            bad |= fractional
            numbers = numbers.where(~bad)
            if numbers.isna().any():
                return numbers.astype("Int64"), bad
            return numbers.astype("int64"), bad
        return numbers.astype("float64"), bad
    if column.type == "bool":
        if pd.api.types.is_bool_dtype(series) and not series.isna().any():
            return series.astype(bool), pd.Series(False, index=series.index)
        folded = series.astype("string").str.strip().str.casefold()
        values = pd.Series(pd.NA, index=series.index, dtype="boolean")
        values[folded.isin(_TRUE)] = True
        values[folded.isin(_FALSE)] = False
        bad = present & values.isna()
        if values.isna().any():
            return values, bad
        return values.astype(bool), bad
    if column.type == "date":
        if pd.api.types.is_datetime64_any_dtype(series):
            dates = series
        else:
            dates = pd.to_datetime(series.astype("string"), errors="coerce", format="mixed")
        bad = present & dates.isna()
        return dates.astype("datetime64[ns]"), bad
    return series.astype("string").str.strip().astype("str"), pd.Series(False, index=series.index)


def read_raw_extract(path: Path, extract: Extract) -> RawExtract:
    """Read one raw file and bring it to the contract's labels and types.

    Returns the coerced frame with a ``source_row`` column (the row's line in a CSV, or its
    position in other files) and the failures found so far: missing columns and values
    that cannot be converted to the column's type. Raises
    :class:`UnreadableExtractError` if the file cannot be read as a table.
    """
    checksum = sha256_of(path)
    table = _read_table(path, extract)
    table.columns = [str(c).strip() for c in table.columns]
    failures: list[Failure] = []
    notes: list[str] = []

    missing = [c for c in extract.column_names if c not in table.columns]
    if missing:
        failures.append(
            Failure(
                column=", ".join(missing),
                rule="required columns present",
                description=(
                    f"missing required column(s): {', '.join(missing)}; "
                    f"found: {', '.join(table.columns) or 'none'}"
                ),
                unexpected_count=len(missing),
            )
        )
    extra = [c for c in table.columns if c not in extract.column_names]
    if extra:
        notes.append(f"ignored columns not in the contract: {', '.join(extra)}")

    first_row = 2 if path.suffix.lower() in (".csv", ".xlsx") else 1
    coerced = pd.DataFrame(index=table.index)
    coerced[ROW_NUMBER] = np.arange(first_row, first_row + len(table), dtype="int64")
    for column in extract.columns:
        if column.name not in table.columns:
            continue
        raw = table[column.name]
        if column.type == "str":
            values, relabelled = _normalise_labels(raw, column)
            if relabelled:
                notes.append(f"{column.name}: {relabelled} label(s) normalised to contract wording")
            coerced[column.name] = values
            continue
        values, bad = _coerce(raw, column)
        coerced[column.name] = values
        if bad.any():
            offending = table.loc[bad, [column.name]].assign(
                **{ROW_NUMBER: coerced.loc[bad, ROW_NUMBER]}
            )
            failures.append(
                Failure(
                    column=column.name,
                    rule=f"values are of type {column.type}",
                    description=f"{int(bad.sum())} value(s) in {column.name} are not {_type_words(column)}",
                    unexpected_count=int(bad.sum()),
                    sample_rows=offending.head(SAMPLE_ROWS).to_dict("records"),
                )
            )
    return RawExtract(extract, path, checksum, coerced, failures, notes)


def _type_words(column: Column) -> str:
    return {
        "int": "whole numbers",
        "float": "numbers",
        "bool": "true/false values",
        "date": "dates (YYYY-MM-DD)",
        "str": "text",
    }[column.type]
