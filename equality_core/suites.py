"""Great Expectations suites, generated from the schema and kept as JSON in ``expectations/``.

The schema module is the single source: :func:`suite_document` turns an extract's contract
into a suite, ``python -m equality_core suites`` writes the JSON files, and a test fails
if the committed files are out of date. Validation loads the JSON (never rebuilds the
suite at run time), so a reviewer can read exactly what is enforced.

Rules that depend on the data are suite parameters (``{"$PARAMETER": name}``) supplied
at run time: the establishment codes that exist, and the plausible row-count bounds.
This module builds plain dictionaries and does not import Great Expectations.
"""

from __future__ import annotations

import json
from pathlib import Path

from equality_core.schema import (
    ESTABLISHMENT_CODE_PATTERN,
    EXTRACTS,
    FINANCIAL_YEAR_PATTERN,
    QUARTER_PATTERN,
    Extract,
)

EXPECTATIONS_DIR = Path(__file__).resolve().parent.parent / "expectations"

#: Suite parameter names.
ESTABLISHMENT_CODES = "establishment_codes"
MIN_ROWS = "min_rows"
MAX_ROWS = "max_rows"

_GX_TYPES = {"int": "int64", "float": "float64", "bool": "bool"}


def _expectation(kind: str, **kwargs: object) -> dict:
    return {"type": kind, "kwargs": kwargs, "meta": {}, "severity": "critical"}


def suite_document(extract: Extract) -> dict:
    """The Great Expectations suite of ``extract`` as a JSON-ready dictionary."""
    expectations: list[dict] = [
        _expectation(
            "expect_table_columns_to_match_set",
            column_set=list(extract.column_names),
            exact_match=False,
        ),
        _expectation(
            "expect_table_row_count_to_be_between",
            min_value={"$PARAMETER": MIN_ROWS},
            max_value={"$PARAMETER": MAX_ROWS},
        ),
    ]
    for column in extract.columns:
        name = column.name
        if not column.nullable:
            expectations.append(_expectation("expect_column_values_to_not_be_null", column=name))
        if column.type in _GX_TYPES and not column.nullable:
            expectations.append(
                _expectation(
                    "expect_column_values_to_be_of_type", column=name, type_=_GX_TYPES[column.type]
                )
            )
        if column.allowed is not None:
            expectations.append(
                _expectation(
                    "expect_column_values_to_be_in_set", column=name, value_set=list(column.allowed)
                )
            )
        if column.pattern is not None:
            expectations.append(
                _expectation(
                    "expect_column_values_to_match_regex", column=name, regex=column.pattern
                )
            )
        if column.references == "establishments.code":
            expectations.append(
                _expectation(
                    "expect_column_values_to_be_in_set",
                    column=name,
                    value_set={"$PARAMETER": ESTABLISHMENT_CODES},
                )
            )
        if column.type in ("int", "float") and (
            column.minimum is not None or column.maximum is not None
        ):
            expectations.append(
                _expectation(
                    "expect_column_values_to_be_between",
                    column=name,
                    min_value=column.minimum,
                    max_value=column.maximum,
                )
            )
    for smaller, larger in extract.not_above:
        expectations.append(
            _expectation(
                "expect_column_pair_values_a_to_be_greater_than_b",
                column_A=larger,
                column_B=smaller,
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            )
        )
    if len(extract.key) == 1:
        expectations.append(
            _expectation("expect_column_values_to_be_unique", column=extract.key[0])
        )
    else:
        expectations.append(
            _expectation(
                "expect_compound_columns_to_be_unique",
                column_list=list(extract.key),
                ignore_row_if="never",
            )
        )
    return {
        "name": extract.name,
        "id": None,
        "expectations": expectations,
        "meta": {
            "generated_from": "equality_core/schema.py",
            "description": extract.description,
            "parameters": [ESTABLISHMENT_CODES, MIN_ROWS, MAX_ROWS],
        },
        "notes": None,
    }


def suite_json(extract: Extract) -> str:
    """The suite file's exact text (stable key order, trailing newline)."""
    return json.dumps(suite_document(extract), indent=2, ensure_ascii=False) + "\n"


def write_suites(directory: Path = EXPECTATIONS_DIR) -> list[Path]:
    """Write ``<extract>.json`` for every extract; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for extract in EXTRACTS.values():
        path = directory / f"{extract.name}.json"
        path.write_text(suite_json(extract), encoding="utf-8")
        written.append(path)
    return written


def load_suite_document(name: str, directory: Path = EXPECTATIONS_DIR) -> dict:
    """Read a committed suite file."""
    return json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))


#: Patterns of the contract in words an analyst reads without knowing regular expressions.
_PATTERN_WORDS = {
    QUARTER_PATTERN: "is a quarter written like 2024-Q1",
    FINANCIAL_YEAR_PATTERN: "is a financial year written like 2023-24",
    ESTABLISHMENT_CODE_PATTERN: "is a code of three capital letters",
}


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def _range_words(column: str, low: object, high: object) -> str:
    if high is None:
        return f"{column} is {_number(low)} or more"
    if low is None:
        return f"{column} is at most {_number(high)}"
    return f"{column} is between {_number(low)} and {_number(high)}"


def rule_in_words(expectation_type: str, kwargs: dict) -> str:
    """A plain-English statement of a rule, for reports and the data page."""
    column = kwargs.get("column")
    regex = kwargs.get("regex")
    words = {
        "expect_table_columns_to_match_set": "the required columns are present",
        "expect_table_row_count_to_be_between": "the number of rows is plausible",
        "expect_column_values_to_not_be_null": f"{column} is never empty",
        "expect_column_values_to_be_of_type": f"{column} holds {kwargs.get('type_')} values",
        "expect_column_values_to_match_regex": (
            f"{column} {_PATTERN_WORDS[regex]}"
            if regex in _PATTERN_WORDS
            else f"{column} matches the pattern {regex}"
        ),
        "expect_column_values_to_be_unique": f"{column} is unique",
        "expect_compound_columns_to_be_unique": (
            f"each ({', '.join(kwargs.get('column_list', []))}) appears once"
        ),
        "expect_column_pair_values_a_to_be_greater_than_b": (
            f"{kwargs.get('column_B')} is never above {kwargs.get('column_A')}"
        ),
        "expect_column_values_to_be_between": _range_words(
            column, kwargs.get("min_value"), kwargs.get("max_value")
        ),
    }
    if expectation_type == "expect_column_values_to_be_in_set":
        value_set = kwargs.get("value_set")
        if isinstance(value_set, dict):
            return f"{column} is a known establishment code"
        shown = ", ".join(map(str, (value_set or [])[:8]))
        more = "…" if value_set and len(value_set) > 8 else ""
        return f"{column} is one of the allowed values ({shown}{more})"
    return words.get(expectation_type, expectation_type.replace("_", " "))
