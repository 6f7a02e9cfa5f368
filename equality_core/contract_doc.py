"""Render the data contract (``docs/data-contract.md``) from the schema.

The document is generated so that it cannot drift from what the suites enforce;
``python -m equality_core docs`` rewrites it and a test fails if the committed copy is stale.
"""

from __future__ import annotations

from pathlib import Path

from equality_core.schema import CHARACTERISTICS, EXTRACTS, NOT_DECLARED_VALUES, Column

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
        "or a workbook's only sheet) or `.parquet`. CSV must be UTF-8. Category labels are",
        "matched ignoring case and surrounding spaces. Booleans may be written true/false,",
        "yes/no or 1/0; dates as YYYY-MM-DD. Person identifiers must be pseudonymous.",
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
