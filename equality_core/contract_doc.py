"""Render the data contract (``docs/data-contract.md``) from the schema.

The document is generated so that it cannot drift from what the suites enforce;
``python -m equality_core docs`` rewrites it and a test fails if the committed copy is stale.
"""

from __future__ import annotations

from pathlib import Path

from equality_core.schema import (
    CHARACTERISTICS,
    DATE_FORMATS,
    EXTRACTS,
    NOT_DECLARED_VALUES,
    Column,
)

CONTRACT_PATH = Path(__file__).resolve().parent.parent / "docs" / "data-contract.md"


def _rule(column: Column) -> str:
    parts = []
    if column.allowed is not None:
        parts.append("one of: " + "; ".join(f"`{v}`" for v in column.allowed))
    if column.pattern:
        parts.append(f"matches `{column.pattern}`")
    if column.minimum is not None or column.maximum is not None:
        low = "" if column.minimum is None else f"{column.minimum:g}"
        high = "" if column.maximum is None else f"{column.maximum:g}"
        parts.append(f"between {low or '-inf'} and {high or 'inf'}")
    if column.type == "date":
        parts.append("written " + " or ".join(DATE_FORMATS) + ", one format per column")
    if column.references:
        parts.append(f"exists in `{column.references}`")
    parts.append("may be empty" if column.nullable else "required")
    return "; ".join(parts)


def render_data_contract() -> str:
    """The data contract as Markdown."""
    lines = [
        "# Data contract",
        "",
        "Generated from `equality_core/schema.py` by `python -m equality_core docs`; do not edit",
        "by hand. The Great Expectations suites in `expectations/` are generated from the same",
        "schema, so this page is exactly what validation enforces.",
        "",
        "Raw extracts go in `DATA/raw/<extract>.csv`, `.xlsx` (sheet named after the extract,",
        "or a workbook's only sheet) or `.parquet`, as regular files (symbolic links are",
        "refused). CSV must be UTF-8 and comma-separated; a workbook must not be encrypted.",
        "Headers and category labels are matched ignoring case and surrounding spaces; two",
        "headers that are the same once spaces and case are ignored are refused. Booleans may",
        "be written true/false, yes/no or 1/0. Person identifiers must be pseudonymous. No",
        "value may hold control, zero-width or direction-changing characters.",
        "",
        "**Dates** are written "
        + " or ".join(f"`{f}`" for f in DATE_FORMATS)
        + ", one format per column, and never",
        "guessed: `DD/MM/YYYY` is day-first (`02/06/2025` is 2 June 2025). A column that mixes",
        "the two, or whose slash dates are month-first (a value such as `06/13/2025`), is",
        "refused whole. Date cells of a workbook and Parquet dates are read as dates; a",
        "timezone-aware timestamp as its local date; a time of day other than midnight is",
        "refused.",
        "",
        "**Counts** are whole numbers from 0 to a plausible maximum given for each below, so",
        "that an impossible figure is refused rather than published.",
        "",
        "**Sizes**: a raw file (and what a workbook expands to) may be at most 2 GB by default",
        "(`--max-file-size`); each extract has a plausible number of rows, checked before the",
        "whole file is read.",
        "",
        "**Against the published extract**: a new extract is refused if it shrinks against the",
        "one it would replace (unless `--accept-shrink`): its rows fall by more than 10%",
        "(`--shrink-tolerance`) over the periods both cover, a period of the published extract",
        "is missing from inside its range or after its end, or an establishment is no longer",
        "covered and not marked closed. Dropping the oldest periods (a roll forward) is not a",
        "shrink. Codes used by any extract that would be published must stay in",
        "`establishments`.",
        "",
        "## Protected characteristics",
        "",
        "Every characteristic has explicit values for a missing declaration rather than an",
        f"empty cell. Values counted as *not declared*: {', '.join(NOT_DECLARED_VALUES)}.",
        "",
        "| column | label | groups (ONS harmonised wording) | not declared |",
        "| --- | --- | --- | --- |",
    ]
    for c in CHARACTERISTICS.values():
        lines.append(
            f"| `{c.column}` | {c.label} | {'; '.join(c.groups)} | {'; '.join(c.not_declared)} |"
        )
    for extract in EXTRACTS.values():
        lines += [
            "",
            f"## `{extract.name}`: {extract.title}",
            "",
            f"{extract.description} Kind: {extract.kind}. Unique key: ({', '.join(extract.key)}).",
        ]
        if extract.not_above:
            pairs = ", ".join(f"`{a}` ≤ `{b}`" for a, b in extract.not_above)
            lines.append(f"Never above: {pairs}.")
        lines += ["", "| column | type | meaning | rule |", "| --- | --- | --- | --- |"]
        for column in extract.columns:
            lines.append(
                f"| `{column.name}` | {column.type} | {column.meaning} | {_rule(column)} |"
            )
    return "\n".join(lines) + "\n"


def write_data_contract(path: Path = CONTRACT_PATH) -> Path:
    """Write the data contract document; returns its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_data_contract(), encoding="utf-8")
    return path


GLOSSARY_PATH = CONTRACT_PATH.parent / "glossary.md"


def glossary_markdown() -> str:
    """The glossary of every measure: definition, numerator, denominator, source, caveats."""
    from equality_core.measures import MEASURES

    lines = [
        "# Glossary of measures",
        "",
        "Generated from `equality_core/measures.py` by `python -m equality_core docs`; do not edit.",
        "",
        "A *proportion* measure counts people with the outcome among the people in its",
        "denominator; an *event* measure counts events per 100 person-quarters of exposure.",
        "Each group's rate is compared with the comparator group's (see `methodology.md`).",
        "",
    ]
    for objective in sorted({m.objective for m in MEASURES.values()}):
        lines += [f"## Objective {objective}", ""]
        for m in MEASURES.values():
            if m.objective != objective:
                continue
            lines += [
                f"### {m.label} (`{m.name}`)",
                "",
                m.definition,
                "",
                f"- Kind: {m.kind}; a higher rate is {'worse' if m.adverse else 'better'} for the person.",
                f"- Numerator: {m.numerator_text}.",
                f"- Denominator: {m.denominator_text}.",
                f"- Source: the `{m.extract}` extract (see `data-contract.md`).",
            ]
            if m.caveats:
                lines.append(f"- Caveats: {m.caveats}")
            lines.append("")
    return "\n".join(lines)


def write_glossary(path: Path = GLOSSARY_PATH) -> Path:
    """Write the glossary; returns its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(glossary_markdown(), encoding="utf-8")
    return path
