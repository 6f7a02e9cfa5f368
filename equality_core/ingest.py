"""Read a raw extract, normalise its category labels and coerce its types.

Raw files are opened read-only and never modified. Problems are collected, not raised
one at a time: the caller gets every failed rule with its offending rows in one report.
A file that cannot be read as a table at all raises :class:`UnreadableExtractError`,
whose message names the file and the real reason: a symbolic link or something that
is not a regular file, a file over the size limit, an encrypted workbook, a semicolon-
separated file, duplicate headers, text that is not UTF-8, more rows than the extract
can plausibly hold. Sizes and row counts are checked before everything is parsed.

Nothing is guessed: dates are ``YYYY-MM-DD`` or ``DD/MM/YYYY``, one format per column; a
whole number must be one the contract can hold exactly; invisible and control characters
are refused, and every value quoted in a message is shown as written, with such
characters made visible.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import re
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from equality_core.paths import RAW_SUFFIXES
from equality_core.schema import DATE_FORMATS, Column, Extract

#: Number of offending rows quoted in a report for each failed rule.
SAMPLE_ROWS = 5
#: Name of the column that carries each record's row number in its source file.
ROW_NUMBER = "source_row"
#: The largest whole number a count may hold: larger ones cannot be kept exactly.
LARGEST_WHOLE_NUMBER = 2**53

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

#: Characters no value may hold: controls (but tab and line breaks), zero-width and
#: direction-changing characters, and a byte-order mark inside the text.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]"
)
_NAMED_CHARACTERS = {"\x00": "NUL", "\t": "TAB", "\ufeff": "BOM", "\u00ad": "SOFT HYPHEN"}

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_PARQUET_MAGIC = b"PAR1"
_ENCRYPTION_STREAM = "EncryptionInfo".encode("utf-16-le")


class UnreadableExtractError(Exception):
    """A raw file that cannot be read as a table at all."""


def visible(text: str) -> str:
    """``text`` with invisible and control characters written out, e.g. ``Wh<U+200B>ite``."""
    return _INVISIBLE.sub(
        lambda m: f"<{_NAMED_CHARACTERS.get(m.group(), f'U+{ord(m.group()):04X}')}>", text
    )


@dataclass(frozen=True)
class ReadLimits:
    """Limits checked before a raw file is parsed in full.

    ``max_file_bytes`` bounds the file on disk and, for a workbook, what it expands to;
    ``max_rows`` is the extract's plausible number of rows (None: no limit);
    ``max_columns`` bounds the width of the table.
    """

    max_file_bytes: int = 2 * 1024**3
    max_rows: int | None = None
    max_columns: int = 500


@dataclass
class Failure:
    """One failed rule: which column, which rule in plain words, and sample offending rows."""

    column: str | None
    rule: str
    description: str
    unexpected_count: int
    sample_rows: list[dict] = field(default_factory=list)
    #: Which problem of reading this is (for merging what chunks of one file found).
    merge_key: str | None = field(default=None, compare=False, repr=False)

    def as_dict(self) -> dict:
        """A JSON-serialisable dictionary (text shown with invisible characters visible)."""
        return {
            "column": self.column,
            "rule": self.rule,
            "description": visible(self.description),
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
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, (int, float, bool)):
        return value
    return visible(str(value))


def _jsonable_row(row: dict) -> dict:
    return {visible(str(k)): _jsonable(v) for k, v in row.items()}


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
    with path.open("rb") as handle:
        return _sha256_of_handle(handle)


def _sha256_of_handle(handle: BinaryIO) -> str:
    digest = hashlib.sha256()
    handle.seek(0)
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    handle.seek(0)
    return digest.hexdigest()


def find_raw_file(raw_dir: Path, extract_name: str) -> Path | None:
    """The raw file of an extract in ``raw_dir``, or None if there is none.

    A symbolic link or other non-regular entry is returned too, so that reading it can
    refuse it with a clear message rather than skip it in silence.

    Raises
    ------
    UnreadableExtractError
        If more than one file claims the extract (for example ``x.csv`` and
        ``x.parquet``); the message names them all.
    """
    found = [raw_dir / f"{extract_name}{suffix}" for suffix in RAW_SUFFIXES]
    found = [p for p in found if os.path.lexists(p)]
    if len(found) > 1:
        names = " and ".join(str(p) for p in found)
        raise UnreadableExtractError(
            f"{extract_name}: two raw files for one extract ({names}); keep one and remove the other"
        )
    return found[0] if found else None


_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
}


def _open_raw(path: Path) -> BinaryIO:
    """Open a raw file for reading, refusing links and anything not a regular file.

    The check and the open are one step (``O_NOFOLLOW``, then ``fstat`` of what was
    opened), so a file swapped for a link in between is refused too.
    """
    try:
        info = os.lstat(path)
    except OSError as error:
        raise UnreadableExtractError(f"{path}: cannot be opened ({error.strerror})") from None
    if stat.S_ISLNK(info.st_mode):
        raise UnreadableExtractError(
            f"{path}: is a symbolic link; put the extract itself in the raw folder "
            "(links are not followed)"
        )
    if not stat.S_ISREG(info.st_mode):
        kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
        raise UnreadableExtractError(f"{path}: is {kind}, not a regular file")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise UnreadableExtractError(
            f"{path}: cannot be opened ({error.strerror or error}); check the file's permissions"
        ) from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise UnreadableExtractError(f"{path}: changed while being opened; not a regular file")
    return os.fdopen(descriptor, "rb")


def _megabytes(size: int) -> str:
    """A size in words: ``1.5 GB``, ``20.0 MB``, ``12.3 KB`` or ``900 bytes``."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:,.1f} {unit}"
    return f"{size:,} bytes"


# --- Reading each format --------------------------------------------------------------------


@dataclass
class _Table:
    """A table as read: header names as written, text or typed cells, and source lines."""

    header: list[object]
    frame: pd.DataFrame  # columns 0..n-1
    lines: np.ndarray
    notes: list[str] = field(default_factory=list)


def _read_table(handle: BinaryIO, path: Path, extract: Extract, limits: ReadLimits) -> _Table:
    suffix = path.suffix.lower()
    _check_size(handle, path, limits)
    magic = handle.read(8)
    handle.seek(0)
    try:
        if suffix == ".csv":
            if magic.startswith((_OLE_MAGIC, _ZIP_MAGIC, _PARQUET_MAGIC)):
                raise UnreadableExtractError(
                    f"{path}: is a workbook or Parquet file, not CSV text; export it as "
                    "CSV UTF-8 or give it its proper suffix"
                )
            return _read_csv(handle, path, limits)
        if suffix == ".xlsx":
            return _read_excel(handle, path, extract, limits)
        if suffix == ".parquet":
            return _read_parquet(handle, path, limits)
    except UnreadableExtractError:
        raise
    except MemoryError:
        raise UnreadableExtractError(f"{path}: too large to read into memory") from None
    except Exception as error:  # any other reader failure becomes one clear message
        raise UnreadableExtractError(
            f"{path}: cannot be read ({type(error).__name__}: {visible(str(error))[:300]})"
        ) from None
    raise UnreadableExtractError(f"{path}: unsupported file type {suffix!r}")


def _check_size(handle: BinaryIO, path: Path, limits: ReadLimits) -> None:
    size = os.fstat(handle.fileno()).st_size
    if size == 0:
        raise UnreadableExtractError(f"{path}: the file is empty")
    if size > limits.max_file_bytes:
        raise UnreadableExtractError(
            f"{path}: the file is {_megabytes(size)}, over the limit of "
            f"{_megabytes(limits.max_file_bytes)} (--max-file-size)"
        )


def _first_line(handle: BinaryIO) -> str:
    head = handle.read(1 << 16)
    handle.seek(0)
    text = head.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace")
    return text.rstrip("\r")


def _decoding_error_line(handle: BinaryIO) -> tuple[int, int, int]:
    """The line, column and byte value of the first byte that is not UTF-8."""
    handle.seek(0)
    data = handle.read()
    handle.seek(0)
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = data[: error.start]
        line = before.count(b"\n") + 1
        column = error.start - (before.rfind(b"\n") + 1) + 1
        return line, column, data[error.start]
    return 0, 0, 0


def _read_csv(handle: BinaryIO, path: Path, limits: ReadLimits) -> _Table:
    header_line = _first_line(handle)
    for name, mark in (("semicolons", ";"), ("tabs", "\t"), ("vertical bars", "|")):
        if header_line.count(mark) > max(header_line.count(","), 0) and header_line.count(mark):
            raise UnreadableExtractError(
                f"{path}: the header is separated by {name} ({mark!r}), not commas; "
                "save it as CSV (comma delimited) UTF-8"
            )
    max_records = None if limits.max_rows is None else limits.max_rows + 1
    try:
        frame = pd.read_csv(
            handle,
            dtype=str,
            header=None,
            keep_default_na=False,
            na_values=[""],
            encoding="utf-8-sig",
            nrows=None if max_records is None else max_records + 1,
        )
    except UnicodeDecodeError:
        line, column, byte = _decoding_error_line(handle)
        raise UnreadableExtractError(
            f"{path}: not UTF-8 text (line {line}, character {column}: byte 0x{byte:02x}); "
            "save the file as CSV UTF-8"
        ) from None
    except pd.errors.EmptyDataError:
        raise UnreadableExtractError(f"{path}: the file has no header row") from None
    except pd.errors.ParserError as error:
        handle.seek(0)
        raise UnreadableExtractError(_ragged_row_message(handle, path, error)) from None
    if max_records is not None and len(frame) > max_records:
        raise UnreadableExtractError(
            f"{path}: more than {limits.max_rows:,} rows, the most this extract can "
            "plausibly hold; reading stopped there"
        )
    if len(frame.columns) > limits.max_columns:
        raise UnreadableExtractError(
            f"{path}: {len(frame.columns):,} columns, more than the limit of {limits.max_columns}"
        )
    header = frame.iloc[0].tolist()
    body = frame.iloc[1:].reset_index(drop=True)
    body.columns = range(len(body.columns))
    handle.seek(0)
    lines = _csv_record_lines(handle, len(body))
    if lines is None:
        # Quoted line breaks or blank lines: read the records and their lines ourselves.
        handle.seek(0)
        header, body, lines = _read_csv_by_records(handle, path, max_records)
    return _Table(header, body, lines)


def _csv_record_lines(handle: BinaryIO, records: int) -> np.ndarray | None:
    """Each record's line when every line is one record (else None)."""
    newlines = 0
    last = b""
    for block in iter(lambda: handle.read(1 << 22), b""):
        newlines += block.count(b"\n")
        last = block[-1:]
    physical = newlines + (1 if last not in (b"\n", b"") else 0)
    if physical != records + 1:
        return None
    return np.arange(2, records + 2, dtype="int64")


def _text_reader(handle: BinaryIO):
    handle.seek(0)
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    return text, csv.reader(text)


def _read_csv_by_records(
    handle: BinaryIO, path: Path, max_records: int | None
) -> tuple[list[object], pd.DataFrame, np.ndarray]:
    text, reader = _text_reader(handle)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        while True:
            start = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                break
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # a blank line, as pandas skips it
            if header is None:
                header = record
                continue
            if len(record) > len(header):
                raise UnreadableExtractError(
                    f"{path}: line {start} has {len(record)} fields but the header has "
                    f"{len(header)}; a value holding a comma must be in double quotes"
                )
            rows.append(record + [""] * (len(header) - len(record)))
            lines.append(start)
            if max_records is not None and len(rows) > max_records:
                raise UnreadableExtractError(
                    f"{path}: more than {max_records - 1:,} rows, the most this extract can "
                    "plausibly hold; reading stopped there"
                )
    except csv.Error as error:
        raise UnreadableExtractError(f"{path}: line {reader.line_num}: {error}") from None
    finally:
        text.detach()
    if header is None:
        raise UnreadableExtractError(f"{path}: the file has no header row")
    frame = pd.DataFrame(rows, columns=range(len(header)), dtype=object)
    frame = frame.replace("", np.nan).astype(object)
    return list(header), frame, np.asarray(lines, dtype="int64")


def _ragged_row_message(handle: BinaryIO, path: Path, error: Exception) -> str:
    text, reader = _text_reader(handle)
    try:
        header = None
        while True:
            start = reader.line_num + 1
            record = next(reader, None)
            if record is None:
                break
            if not record:
                continue
            if header is None:
                header = record
            elif len(record) != len(header):
                return (
                    f"{path}: line {start} has {len(record)} fields but the header has "
                    f"{len(header)}; a value holding a comma must be in double quotes"
                )
    except (csv.Error, UnicodeDecodeError):
        pass
    finally:
        text.detach()
    return f"{path}: not a well-formed CSV ({visible(str(error)).strip()})"


def _ole_message(handle: BinaryIO, path: Path) -> str:
    handle.seek(0)
    encrypted = False
    tail = b""
    for block in iter(lambda: handle.read(1 << 22), b""):
        if _ENCRYPTION_STREAM in tail + block:
            encrypted = True
            break
        tail = block[-len(_ENCRYPTION_STREAM) :]
    handle.seek(0)
    if encrypted:
        return (
            f"{path}: the workbook is encrypted (protected with a password); remove the "
            "password in Excel (File > Info > Protect Workbook) and save it again as .xlsx"
        )
    return (
        f"{path}: is an Excel 97-2003 workbook (.xls) or another Office file, not .xlsx; "
        "open it in Excel and save it as an Excel Workbook (.xlsx)"
    )


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _read_excel(handle: BinaryIO, path: Path, extract: Extract, limits: ReadLimits) -> _Table:
    import openpyxl

    magic = handle.read(8)
    handle.seek(0)
    if magic.startswith(_OLE_MAGIC):
        raise UnreadableExtractError(_ole_message(handle, path))
    if not magic.startswith(_ZIP_MAGIC):
        raise UnreadableExtractError(
            f"{path}: is not an .xlsx workbook (it does not start like one); "
            "save it from Excel as an Excel Workbook (.xlsx)"
        )
    try:
        archive = zipfile.ZipFile(handle)
        expanded = sum(item.file_size for item in archive.infolist())
    except (zipfile.BadZipFile, OSError) as error:
        raise UnreadableExtractError(
            f"{path}: not a readable .xlsx workbook (damaged: {error})"
        ) from None
    if expanded > limits.max_file_bytes:
        raise UnreadableExtractError(
            f"{path}: the workbook expands to {_megabytes(expanded)} when unpacked, over the "
            f"limit of {_megabytes(limits.max_file_bytes)} (--max-file-size)"
        )
    handle.seek(0)
    try:
        book = openpyxl.load_workbook(handle, read_only=True, data_only=True, keep_links=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise UnreadableExtractError(
            f"{path}: not a readable .xlsx workbook ({type(error).__name__}: {error})"
        ) from None
    try:
        names = book.sheetnames
        if extract.name in names:
            sheet_name = extract.name
        elif len(names) == 1:
            sheet_name = names[0]
        else:
            raise UnreadableExtractError(
                f"{path}: no sheet named {extract.name!r} and more than one sheet "
                f"({', '.join(names)}); name the sheet after the extract"
            )
        sheet = book[sheet_name]
        max_records = None if limits.max_rows is None else limits.max_rows + 1
        declared_rows, declared_columns = sheet.max_row, sheet.max_column
        if max_records is not None and declared_rows and declared_rows > max_records + 1:
            raise UnreadableExtractError(
                f"{path}: sheet {sheet_name!r} spans {declared_rows:,} rows, more than the "
                f"{limits.max_rows:,} this extract can plausibly hold; not read"
            )
        if declared_columns and declared_columns > limits.max_columns:
            raise UnreadableExtractError(
                f"{path}: sheet {sheet_name!r} spans {declared_columns:,} columns, more than "
                f"the limit of {limits.max_columns}; not read"
            )
        # The declared dimension can understate the sheet (then openpyxl would stop short
        # and rows would be lost in silence): forget it and read every row, within limits.
        sheet.reset_dimensions()
        header: list[object] | None = None
        rows: list[tuple] = []
        lines: list[int] = []
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            if len(row) > limits.max_columns:
                raise UnreadableExtractError(
                    f"{path}: sheet {sheet_name!r} row {number} has {len(row):,} cells, more "
                    f"than the limit of {limits.max_columns}"
                )
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
                continue
            if header is None:
                header = list(row)
                continue
            rows.append(row)
            lines.append(number)
            if max_records is not None and len(rows) > max_records:
                raise UnreadableExtractError(
                    f"{path}: sheet {sheet_name!r} has more than {limits.max_rows:,} rows, "
                    "the most this extract can plausibly hold; reading stopped there"
                )
    finally:
        book.close()
    if header is None:
        raise UnreadableExtractError(f"{path}: sheet {sheet_name!r} is empty")
    width = max([len(header), *(len(r) for r in rows)])
    header = header + [None] * (width - len(header))
    frame = pd.DataFrame.from_records(
        [tuple(r) + (None,) * (width - len(r)) for r in rows], columns=range(width)
    ).astype(object)
    frame = frame.where(frame.map(lambda v: not (isinstance(v, str) and v == "")), None)
    notes = (
        [] if sheet_name == extract.name else [f"read the workbook's only sheet, {sheet_name!r}"]
    )
    return _Table(header, frame, np.asarray(lines, dtype="int64"), notes)


def _open_parquet(handle: BinaryIO, path: Path, limits: ReadLimits):
    """A ``pyarrow.parquet.ParquetFile`` on ``handle``, its size and header checked."""
    import pyarrow.lib
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(handle)
    except (pyarrow.lib.ArrowException, OSError) as error:
        raise UnreadableExtractError(f"{path}: not a readable Parquet file ({error})") from None
    rows = parquet.metadata.num_rows
    names = list(parquet.schema_arrow.names)
    if limits.max_rows is not None and rows > limits.max_rows:
        raise UnreadableExtractError(
            f"{path}: {rows:,} rows, more than the {limits.max_rows:,} this extract can "
            "plausibly hold; not read"
        )
    if len(names) > limits.max_columns:
        raise UnreadableExtractError(
            f"{path}: {len(names):,} columns, more than the limit of {limits.max_columns}"
        )
    _refuse_duplicate_headers(names, path)
    return parquet


def _arrow_to_pandas(table) -> pd.DataFrame:
    """An Arrow table as pandas; dictionary columns stay categoricals (see _coerce_columns)."""
    return table.to_pandas()


def _read_parquet(handle: BinaryIO, path: Path, limits: ReadLimits) -> _Table:
    import pyarrow.lib

    parquet = _open_parquet(handle, path, limits)
    names = list(parquet.schema_arrow.names)
    try:
        table = parquet.read()
    except (pyarrow.lib.ArrowException, OSError) as error:
        raise UnreadableExtractError(f"{path}: not a readable Parquet file ({error})") from None
    frame = _arrow_to_pandas(table)
    frame.columns = range(len(names))
    return _Table(names, frame, np.arange(1, len(frame) + 1, dtype="int64"))


# --- Headers ---------------------------------------------------------------------------------


def _refuse_duplicate_headers(names: list[object], path: Path) -> None:
    seen: dict[str, list[int]] = {}
    for position, name in enumerate(names):
        if name is None or (isinstance(name, float) and np.isnan(name)):
            continue
        seen.setdefault(str(name).strip().casefold(), []).append(position)
    clashes = {key: places for key, places in seen.items() if len(places) > 1}
    if not clashes:
        return
    described = []
    for places in clashes.values():
        written = " and ".join(
            f"{visible(str(names[p]))!r} (column {_column_letter(p)})" for p in places
        )
        described.append(written)
    raise UnreadableExtractError(
        f"{path}: duplicate column headers, ignoring spaces and case: {'; '.join(described)}; "
        "keep one column of each name"
    )


def _header_names(table: _Table, path: Path, extract: Extract) -> tuple[list[str], list[str]]:
    """Header names matched to the contract (ignoring spaces and case); notes on renames."""
    _refuse_duplicate_headers(table.header, path)
    wanted = {name.casefold(): name for name in extract.column_names}
    names, renamed = [], []
    for position, raw in enumerate(table.header):
        if raw is None or (isinstance(raw, float) and np.isnan(raw)):
            names.append(f"(unnamed column {_column_letter(position)})")
            continue
        text = str(raw)
        if _INVISIBLE.search(text):
            raise UnreadableExtractError(
                f"{path}: the header of column {_column_letter(position)} holds invisible "
                f"or control characters: {visible(text)!r}"
            )
        name = wanted.get(text.strip().casefold(), text.strip())
        if name != text.strip():
            renamed.append(f"{text.strip()!r} → {name!r}")
        names.append(name)
    notes = [f"headers matched ignoring case: {', '.join(renamed)}"] if renamed else []
    return names, notes


# --- Values ----------------------------------------------------------------------------------


@dataclass
class _Problem:
    """Cells of one column that break one rule of reading."""

    mask: pd.Series
    rule: str
    description: str
    #: Which problem this is, so that the same problem found in chunks of a file merges.
    kind: str = ""


def _canonical_lookup(allowed: tuple[str, ...]) -> dict[str, str]:
    lookup = {_fold(v): v for v in allowed}
    for synonym, value in _NOT_DECLARED_SYNONYMS.items():
        if value in allowed:
            lookup.setdefault(synonym, value)
    return lookup


def _fold(value: str) -> str:
    return re.sub(r"\s+", " ", value.strip().casefold())


def _as_text(series: pd.Series) -> pd.Series:
    """Text of each present cell as written (numbers from a workbook without a trailing .0)."""

    def text(value: object) -> object:
        if value is None or value is pd.NA or value is pd.NaT:
            return pd.NA
        if isinstance(value, float):
            if np.isnan(value):
                return pd.NA
            return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
        return str(value)

    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(
        series.dtype
    ):
        return series.astype("string")
    return series.map(text).astype("string")


def _normalise_labels(text: pd.Series, column: Column) -> tuple[pd.Series, set[str]]:
    """Trim spaces, match case-insensitively and map synonyms to the allowed labels.

    Returns the values and the labels as written that were changed.
    """
    if column.allowed is None:
        return text.str.strip(), set()
    lookup = _canonical_lookup(column.allowed)
    categories = pd.Series(text.dropna().unique())
    mapping = {c: lookup.get(_fold(c), c) for c in categories}
    changed = {k for k, v in mapping.items() if k != v}
    return text.map(mapping, na_action="ignore").astype("string"), changed


def _invisible_characters(text: pd.Series, column: Column) -> _Problem | None:
    mask = text.str.contains(_INVISIBLE, na=False)
    if not mask.any():
        return None
    return _invisible_problem(mask.astype(bool), str(text[mask].iloc[0]), column)


def _invisible_problem(mask: pd.Series, example: str, column: Column) -> _Problem:
    example = visible(example)
    return _Problem(
        mask,
        "values hold no invisible or control characters",
        f"{int(mask.sum()):,} value(s) in {column.name} hold invisible or control characters "
        f"(NUL, zero-width or direction marks), e.g. {example!r}; remove them at source",
        "invisible",
    )


def _coerce_numbers(series: pd.Series, column: Column) -> tuple[pd.Series, list[_Problem]]:
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iu":
        # Typed whole numbers (Parquet): nothing to read, only the range to check.
        values = series.to_numpy()
        if len(values) == 0 or (
            values.max() <= LARGEST_WHOLE_NUMBER and values.min() >= -LARGEST_WHOLE_NUMBER
        ):
            return series.astype("int64" if column.type == "int" else "float64"), []
    present = series.notna()
    if pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype("Int64")
    numbers = pd.to_numeric(series, errors="coerce")
    if not pd.api.types.is_float_dtype(numbers.dtype):
        numbers = numbers.astype("float64")
    bad = present & numbers.isna()
    words = "whole numbers" if column.type == "int" else "numbers"
    problems = []
    if column.type == "int":
        finite = numbers.notna() & np.isfinite(numbers)
        fractional = finite & (numbers % 1 != 0)
        too_large = numbers.notna() & ~(numbers.abs() <= LARGEST_WHOLE_NUMBER)
        bad = bad | fractional | too_large
        if too_large.any():
            problems.append(
                _Problem(
                    too_large,
                    f"values are of type {column.type}",
                    f"{int(too_large.sum()):,} value(s) in {column.name} are too large to be a "
                    f"count (beyond plus or minus {LARGEST_WHOLE_NUMBER:,})",
                    "too large",
                )
            )
            bad = bad & ~too_large
    else:
        infinite = numbers.notna() & ~np.isfinite(numbers)
        bad = bad | infinite
    if bad.any():
        problems.insert(
            0,
            _Problem(
                bad,
                f"values are of type {column.type}",
                f"{int(bad.sum()):,} value(s) in {column.name} are not {words}",
                "not a number",
            ),
        )
    for problem in problems:
        numbers = numbers.where(~problem.mask)
    if column.type == "int":
        if numbers.isna().any():
            return numbers.astype("Int64"), problems
        return numbers.astype("int64"), problems
    return numbers.astype("float64"), problems


def _coerce_bools(series: pd.Series, column: Column) -> tuple[pd.Series, list[_Problem]]:
    present = series.notna()
    if pd.api.types.is_bool_dtype(series.dtype) and not series.isna().any():
        return series.astype(bool), []
    folded = _as_text(series).str.strip().str.casefold()
    values = pd.Series(pd.NA, index=series.index, dtype="boolean")
    values[folded.isin(_TRUE).fillna(False).astype(bool)] = True
    values[folded.isin(_FALSE).fillna(False).astype(bool)] = False
    bad = present & values.isna()
    problems = []
    if bad.any():
        problems.append(
            _Problem(
                bad,
                f"values are of type {column.type}",
                f"{int(bad.sum()):,} value(s) in {column.name} are not true/false values",
                "not true or false",
            )
        )
    if values.isna().any():
        return values, problems
    return values.astype(bool), problems


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UK_DATE = re.compile(r"^\d{2}/\d{2}/\d{4}$")
_DATE_WORDS = " or ".join(DATE_FORMATS)


def _timestamp(value: object) -> tuple[pd.Timestamp | None, bool]:
    """A typed date as a naive timestamp (None if out of range) and whether it had a zone."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, OverflowError, pd.errors.OutOfBoundsDatetime):
        return None, False
    zoned = stamp.tzinfo is not None
    if zoned:
        stamp = stamp.tz_localize(None)
    try:
        return stamp.as_unit("ns"), zoned
    except (ValueError, OverflowError, pd.errors.OutOfBoundsDatetime):
        return None, zoned


def _coerce_dates(series: pd.Series, column: Column) -> tuple[pd.Series, list[_Problem], list[str]]:
    """Dates as ``YYYY-MM-DD`` or ``DD/MM/YYYY`` text, one format per column, or typed dates.

    Typed dates (a workbook's date cells, Parquet dates) are taken as they are; a
    timezone-aware timestamp is read as its local date. A time of day other than midnight
    is refused, as is any text in another format, a column mixing the two formats, and
    a slash-written column that is month-first.
    """
    index = series.index
    notes: list[str] = []
    problems: list[_Problem] = []
    out = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        typed = series.notna()
        text = pd.Series(pd.NA, index=index, dtype="string")
    else:
        typed = series.map(lambda v: isinstance(v, (dt.date, np.datetime64))).astype(bool)
        text = _as_text(series.where(~typed)).str.strip()
        text = text.where(text != "")
    # Typed values: a date at midnight, within the years the published files can hold.
    if typed.any():
        converted = [_timestamp(v) for v in series[typed]]
        if any(zoned for _, zoned in converted):
            notes.append(f"{column.name}: timezone-aware timestamps read as their local dates")
        out[typed] = [stamp if stamp is not None else pd.NaT for stamp, _ in converted]
        out_of_range = typed & out.isna()
        timed = typed & out.notna() & (out != out.dt.normalize())
        if out_of_range.any():
            problems.append(
                _Problem(
                    out_of_range,
                    "values are of type date",
                    f"{int(out_of_range.sum()):,} date(s) in {column.name} are outside the years "
                    "1678 to 2261",
                )
            )
        if timed.any():
            problems.append(
                _Problem(
                    timed,
                    "values are of type date",
                    f"{int(timed.sum()):,} value(s) in {column.name} have a time of day; a date "
                    "column holds dates only (a timestamp saved in another time zone?)",
                )
            )
    present = text.notna()
    if present.any():
        iso = present & text.str.match(_ISO_DATE).fillna(False).astype(bool)
        uk = present & text.str.match(_UK_DATE).fillna(False).astype(bool)
        if iso.any() and uk.any():
            minority = iso if iso.sum() <= uk.sum() else uk
            problems.append(
                _Problem(
                    iso | uk,
                    "values are dates in one format per column",
                    f"{column.name} mixes YYYY-MM-DD ({int(iso.sum()):,} values, e.g. "
                    f"{text[iso].iloc[0]!r}) and DD/MM/YYYY ({int(uk.sum()):,} values, e.g. "
                    f"{text[uk].iloc[0]!r}); which is which cannot be told for sure, so none "
                    f"is read: write the whole column in one format ({int(minority.sum()):,} "
                    "value(s) differ from the rest)",
                )
            )
        elif uk.any():
            parts = text[uk].str.split("/", expand=True).astype(int)
            month_first = (parts[1] > 12) & (parts[0] <= 12)
            if month_first.any():
                problems.append(
                    _Problem(
                        uk,
                        "values are day-first dates (DD/MM/YYYY)",
                        f"{column.name} looks month-first: {int(month_first.sum()):,} value(s) "
                        f"such as {text[uk][month_first].iloc[0]!r} are not a day-first date; "
                        "every DD/MM/YYYY value in the column could be misread, so none is "
                        "read. Write dates as YYYY-MM-DD or DD/MM/YYYY",
                    )
                )
            else:
                parsed = pd.to_datetime(
                    text[uk], format=DATE_FORMATS["DD/MM/YYYY"], errors="coerce"
                )
                out[uk] = parsed.astype("datetime64[ns]")
        else:
            parsed = pd.to_datetime(text[iso], format=DATE_FORMATS["YYYY-MM-DD"], errors="coerce")
            out[iso] = parsed.astype("datetime64[ns]")
        flagged = pd.Series(False, index=index)
        for problem in problems:
            flagged |= problem.mask
        invalid = present & ~flagged & out.isna()
        if invalid.any():
            problems.insert(
                0,
                _Problem(
                    invalid,
                    "values are of type date",
                    f"{int(invalid.sum()):,} value(s) in {column.name} are not dates written "
                    f"{_DATE_WORDS} (e.g. {text[invalid].iloc[0]!r})",
                ),
            )
    for problem in problems:
        out = out.mask(problem.mask)
    return out.astype("datetime64[ns]"), problems, notes


def read_raw_extract(path: Path, extract: Extract, limits: ReadLimits | None = None) -> RawExtract:
    """Read one raw file and bring it to the contract's labels and types.

    Returns the coerced frame with a ``source_row`` column (the record's line in a CSV,
    its row in a workbook's sheet, or its position in a Parquet file) and the failures
    found so far: missing columns, invisible characters, and values that cannot be read
    as the column's type (shown as written). Raises :class:`UnreadableExtractError` if
    the file cannot be read as a table, naming the file and the reason.
    """
    limits = limits or ReadLimits()
    with _open_raw(path) as handle:
        checksum = _sha256_of_handle(handle)
        table = _read_table(handle, path, extract, limits)
    names, notes = _header_names(table, path, extract)
    notes = table.notes + notes
    raw_table = table.frame
    raw_table.columns = names
    failures, header_notes = _header_problems(names, extract)
    notes.extend(header_notes)
    coerced = _coerce_columns(raw_table, table.lines, extract)
    failures.extend(coerced.failures)
    notes.extend(notes_on_columns(extract, coerced.relabelled, coerced.column_notes))
    return RawExtract(extract, path, checksum, coerced.frame, failures, notes)


def _header_problems(names: list[str], extract: Extract) -> tuple[list[Failure], list[str]]:
    """The failure for missing required columns, and the note on columns ignored."""
    failures: list[Failure] = []
    notes: list[str] = []
    missing = [c for c in extract.column_names if c not in names]
    if missing:
        failures.append(
            Failure(
                column=", ".join(missing),
                rule="required columns present",
                description=(
                    f"missing required column(s): {', '.join(missing)}; "
                    f"found: {', '.join(visible(str(c)) for c in names) or 'none'}"
                ),
                unexpected_count=len(missing),
            )
        )
    extra = [c for c in names if c not in extract.column_names]
    if extra:
        notes.append(f"ignored columns not in the contract: {', '.join(map(str, extra))}")
    return failures, notes


@dataclass
class _Coerced:
    """Columns brought to the contract's types, with what went wrong on the way."""

    frame: pd.DataFrame
    failures: list[Failure]
    #: Labels as written that were changed to the contract's wording, by column.
    relabelled: dict[str, set[str]]
    #: Other notes on reading each column (dates read from timestamps).
    column_notes: dict[str, list[str]]


def _coerce_columns(raw_table: pd.DataFrame, lines: np.ndarray, extract: Extract) -> _Coerced:
    """Coerce every contract column present in ``raw_table`` (named as in the contract).

    Each column is coerced on its own, value by value (dates apart, whose format is a
    property of the whole column), so chunks of a file coerce as the whole file would.
    """
    coerced = pd.DataFrame(index=raw_table.index)
    coerced[ROW_NUMBER] = lines
    failures: list[Failure] = []
    relabelled: dict[str, set[str]] = {}
    column_notes: dict[str, list[str]] = {}
    for column in extract.columns:
        if column.name not in raw_table.columns:
            continue
        raw = raw_table[column.name]
        problems: list[_Problem] = []
        if isinstance(raw.dtype, pd.CategoricalDtype) and column.type != "str":
            raw = raw.astype(raw.cat.categories.dtype)
        if column.type == "str" and isinstance(raw.dtype, pd.CategoricalDtype):
            values, changed, invisible = _coerce_coded_text(raw, column)
            if changed:
                relabelled[column.name] = changed
            if invisible is not None:
                problems.append(invisible)
            coerced[column.name] = values
        elif column.type == "str":
            text = _as_text(raw)
            invisible = _invisible_characters(text, column)
            values, changed = _normalise_labels(text, column)
            if changed:
                relabelled[column.name] = changed
            if invisible is not None:
                problems.append(invisible)
            coerced[column.name] = values
        elif column.type in ("int", "float"):
            coerced[column.name], problems = _coerce_numbers(raw, column)
        elif column.type == "bool":
            coerced[column.name], problems = _coerce_bools(raw, column)
        else:
            values, problems, date_notes = _coerce_dates(raw, column)
            coerced[column.name] = values
            if date_notes:
                column_notes[column.name] = date_notes
        for problem in problems:
            written = raw[problem.mask]
            if isinstance(written.dtype, pd.CategoricalDtype):
                written = written.astype(written.cat.categories.dtype)
            offending = pd.DataFrame(
                {ROW_NUMBER: coerced.loc[problem.mask, ROW_NUMBER], column.name: _as_text(written)}
            )
            failures.append(
                Failure(
                    column=column.name,
                    rule=problem.rule,
                    description=problem.description,
                    unexpected_count=int(problem.mask.sum()),
                    sample_rows=offending.head(SAMPLE_ROWS).to_dict("records"),
                    merge_key=f"{column.name}|{problem.kind or problem.rule}",
                )
            )
    return _Coerced(coerced, failures, relabelled, column_notes)


def _coerce_coded_text(
    raw: pd.Series, column: Column
) -> tuple[pd.Series, set[str], _Problem | None]:
    """A text column read as a dictionary (a categorical), coerced a distinct value at a time.

    What :func:`_as_text`, :func:`_invisible_characters` and :func:`_normalise_labels`
    give on the whole column, value by value, without writing out every row's text
    first (which took longer than checking it): the distinct values are coerced, then
    laid out by each row's code.
    """
    import pyarrow as pa

    codes = raw.cat.codes.to_numpy()
    used = np.unique(codes[codes >= 0])
    distinct = raw.cat.categories[used]
    text = _as_text(pd.Series(distinct, dtype=distinct.dtype))
    values, changed = _normalise_labels(text, column)
    position = np.full(len(raw.cat.categories), -1, dtype="int64")
    position[used] = np.arange(len(used))
    row = np.where(codes >= 0, position[np.maximum(codes, 0)], -1)
    dictionary = pa.array(
        values.astype(object).where(values.notna(), None).tolist(), pa.large_string()
    )
    laid_out = dictionary.take(pa.array(row, mask=row < 0))
    out = pd.Series(pd.arrays.ArrowStringArray(laid_out), index=raw.index, name=raw.name)
    hidden = text.str.contains(_INVISIBLE, na=False).to_numpy(bool)
    mask = (row >= 0) & hidden[np.maximum(row, 0)] if len(hidden) else np.zeros(len(row), bool)
    problem = None
    if mask.any():
        example = str(text.iloc[row[mask][0]])
        problem = _invisible_problem(pd.Series(mask, index=raw.index), example, column)
    return out, changed, problem


def notes_on_columns(
    extract: Extract, relabelled: dict[str, set[str]], column_notes: dict[str, list[str]]
) -> list[str]:
    """Notes on reading each column, in the contract's order."""
    notes = []
    for column in extract.columns:
        if relabelled.get(column.name):
            count = len(relabelled[column.name])
            notes.append(f"{column.name}: {count} label(s) normalised to contract wording")
        notes.extend(column_notes.get(column.name, []))
    return notes


# --- Large Parquet files, in chunks of whole periods ----------------------------------------


@dataclass
class RawChunk:
    """Some rows of a raw extract after coercion, with what went wrong in them.

    ``frame`` holds the contract's columns that were read, and ``source_row`` (the row's
    position in the file, counted from 1).
    """

    frame: pd.DataFrame
    failures: list[Failure]
    relabelled: dict[str, set[str]]


class ParquetChunks:
    """A large raw Parquet file, read and coerced a chunk at a time, never whole.

    Opened like :func:`read_raw_extract` opens any raw file (links refused, the size,
    rows and header checked before anything else is read, the checksum of exactly the
    bytes read), then planned: the rows are grouped into chunks of whole periods of at
    most ``chunk_rows`` rows (a period larger than that is a chunk of its own), so that
    a rule over a key that includes the period holds across the file if it holds in
    every chunk. A file written a period at a time (the demo writes a row group per
    period) is read one row group after another; a file in any other order is read row
    group by row group, each chunk taking its rows from every row group that holds
    them. Rows keep their order in the file within a chunk, and chunks come in the
    order of their periods. An extract without a period is chunked by row groups.

    Use as a context manager: the file stays open (the bytes hashed are the bytes read).
    """

    def __init__(self, handle: BinaryIO, path: Path, extract: Extract, limits: ReadLimits):
        self.path = path
        self.extract = extract
        self._handle = handle
        self.sha256 = _sha256_of_handle(handle)
        _check_size(handle, path, limits)
        self._parquet = _open_parquet(handle, path, limits)
        self.rows = self._parquet.metadata.num_rows
        raw_names = list(self._parquet.schema_arrow.names)
        header = _Table(raw_names, pd.DataFrame(), np.empty(0, dtype="int64"))
        names, self.notes = _header_names(header, path, extract)
        self.failures, header_notes = _header_problems(names, extract)
        self.notes += header_notes
        #: Contract name -> name as written in the file, for the contract's columns present.
        self._raw_name = {
            name: raw
            for name, raw in zip(names, raw_names, strict=True)
            if name in extract.column_names
        }
        self._plan: list[list[tuple[int, np.ndarray | None]]] = []

    # A context manager, so the file is closed however the caller leaves.
    def __enter__(self) -> ParquetChunks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._handle.close()

    def _read(self, groups: list[int], columns: list[str]):
        import pyarrow.lib

        try:
            return self._parquet.read_row_groups(groups, columns=columns)
        except (pyarrow.lib.ArrowException, OSError) as error:
            raise UnreadableExtractError(
                f"{self.path}: not a readable Parquet file ({error})"
            ) from None

    def plan(self, chunk_rows: int) -> int:
        """Group the rows into chunks of whole periods; returns the number of chunks."""
        metadata = self._parquet.metadata
        group_rows = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
        self._starts = np.cumsum([0, *group_rows])
        self._plan = []
        if "period" not in self._raw_name:
            running = 0
            for group, rows in enumerate(group_rows):
                if not self._plan or (running and running + rows > chunk_rows):
                    self._plan.append([])
                    running = 0
                self._plan[-1].append((group, None))
                running += rows
            return len(self._plan)
        # Each row's period as coercion reads it, numbered from 1 (0: no period).
        labels: dict[str, int] = {}
        numbered: list[np.ndarray] = []
        column = self.extract.column("period")
        for group in range(len(group_rows)):
            values = _arrow_to_pandas_series(
                self._read([group], [self._raw_name["period"]]).column(0)
            )
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
            coerced = _coerce_values(pd.Series(uniques, dtype=values.dtype), column)
            numbers = np.array(
                [0 if pd.isna(v) else labels.setdefault(str(v), len(labels) + 1) for v in coerced]
                + [0],
                dtype="int32",
            )
            numbered.append(numbers[codes])  # code -1 (no value) takes the 0 at the end
        sizes = np.zeros(len(labels) + 1, dtype="int64")
        for numbers in numbered:
            sizes += np.bincount(numbers, minlength=len(labels) + 1)
        # Whole periods in the order of their labels, rows with no period last.
        chunk_of = np.full(len(labels) + 1, -1, dtype="int32")
        running, chunk = 0, -1
        for number in [labels[label] for label in sorted(labels)] + [0]:
            size = int(sizes[number])
            if not size:
                continue
            if chunk < 0 or (running and running + size > chunk_rows):
                chunk += 1
                running = 0
            chunk_of[number] = chunk
            running += size
        self._plan = [[] for _ in range(chunk + 1)]
        for group, numbers in enumerate(numbered):
            targets = chunk_of[numbers]
            present = np.unique(targets)
            for target in present:
                rows = None if present.size == 1 else np.flatnonzero(targets == target)
                self._plan[int(target)].append((group, rows))
        return len(self._plan)

    def chunks(self, columns: list[str] | None = None) -> Iterator[RawChunk]:
        """The planned chunks, coerced, with the contract ``columns`` (default: all present)."""
        import pyarrow as pa

        if not self._plan:
            raise RuntimeError("plan the chunks first (ParquetChunks.plan)")
        wanted = [c for c in self.extract.column_names if c in self._raw_name]
        if columns is not None:
            wanted = [c for c in wanted if c in columns]
        raw_columns = [self._raw_name[c] for c in wanted]
        if not raw_columns:
            return
        for parts in self._plan:
            tables, lines = [], []
            for group, rows in parts:
                table = self._read([group], raw_columns)
                if rows is None:
                    rows = np.arange(table.num_rows)
                else:
                    table = table.take(pa.array(rows))
                tables.append(table)
                lines.append(self._starts[group] + rows + 1)
            table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
            raw_table = _arrow_to_pandas(table)
            raw_table.columns = wanted
            coerced = _coerce_columns(
                raw_table, np.concatenate(lines).astype("int64"), self.extract
            )
            yield RawChunk(coerced.frame, coerced.failures, coerced.relabelled)


def _arrow_to_pandas_series(values) -> pd.Series:
    """One Arrow column as a pandas Series of its values (a dictionary column decoded)."""
    import pyarrow as pa

    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    return values.to_pandas()


def _coerce_values(values: pd.Series, column: Column) -> pd.Series:
    """The values of one column as coercion gives them (problems left to the full read)."""
    frame = pd.DataFrame({column.name: values.reset_index(drop=True)})
    extract = Extract("one column", "", "", "record", (column,), (column.name,))
    return _coerce_columns(frame, np.arange(len(frame)), extract).frame[column.name]


def open_parquet_chunks(
    path: Path, extract: Extract, limits: ReadLimits | None = None, *, chunk_rows: int
) -> ParquetChunks | None:
    """A large raw Parquet file to read in chunks, or None to read it whole.

    None when the file is not Parquet, holds at most ``chunk_rows`` rows, or the extract
    has a date column (one date format per column is a rule over the whole column).
    Raises :class:`UnreadableExtractError` as :func:`read_raw_extract` would.
    """
    limits = limits or ReadLimits()
    if path.suffix.lower() != ".parquet" or any(c.type == "date" for c in extract.columns):
        return None
    handle = _open_raw(path)
    try:
        chunks = ParquetChunks(handle, path, extract, limits)
    except UnreadableExtractError:
        handle.close()
        raise
    except Exception as error:  # any other reader failure becomes one clear message
        handle.close()
        raise UnreadableExtractError(
            f"{path}: cannot be read ({type(error).__name__}: {visible(str(error))[:300]})"
        ) from None
    if chunks.rows <= chunk_rows:
        chunks.close()
        return None
    return chunks


#: The order in which coercion reports a column's problems (see :func:`_coerce_columns`).
_PROBLEM_ORDER = ("invisible", "not a number", "too large", "not true or false")
_LEADING_COUNT = re.compile(r"^\d[\d,]*")


def merge_read_failures(failures: list[Failure], extract: Extract) -> list[Failure]:
    """The reading failures of a file's chunks as reading the whole file would give them.

    One failure per column and problem: its rows counted over every chunk, its first
    offending rows in the file, and its description (count and example) as the whole
    file's: the example is the first offending value, from the chunk that holds it.
    Failures without a ``merge_key`` (the header's) are kept as they are, first.
    """
    kept = [f for f in failures if f.merge_key is None]
    groups: dict[str, list[Failure]] = {}
    for failure in failures:
        if failure.merge_key is not None:
            groups.setdefault(failure.merge_key, []).append(failure)
    positions = {name: i for i, name in enumerate(extract.column_names)}

    def order(key: str) -> tuple[int, int]:
        column, kind = key.split("|", 1)
        rank = _PROBLEM_ORDER.index(kind) if kind in _PROBLEM_ORDER else len(_PROBLEM_ORDER)
        return positions.get(column, len(positions)), rank

    def first_row(failure: Failure) -> float:
        rows = [r.get(ROW_NUMBER) for r in failure.sample_rows if r.get(ROW_NUMBER) is not None]
        return min(rows) if rows else float("inf")

    merged = []
    for key in sorted(groups, key=order):
        parts = groups[key]
        total = sum(f.unexpected_count for f in parts)
        first = min(parts, key=first_row)
        samples = sorted(
            (row for f in parts for row in f.sample_rows), key=lambda r: r.get(ROW_NUMBER, 0)
        )
        merged.append(
            Failure(
                first.column,
                first.rule,
                _LEADING_COUNT.sub(f"{total:,}", first.description, count=1),
                total,
                samples[:SAMPLE_ROWS],
                merge_key=key,
            )
        )
    return kept + merged
