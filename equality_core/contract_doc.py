"""Render the data contract (``docs/data-contract.md``) and the glossary from the code.

The documents are generated so that they cannot drift from what the suites enforce and
what the dashboard shows; ``python -m equality_core docs`` rewrites them and a test fails
if a committed copy is stale. :func:`statistical_terms` is also what the data page shows.
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


def statistical_terms() -> list[tuple[str, str]]:
    """The statistical terms the pages use, each with its meaning in plain English.

    The one source of the glossary's "Statistical terms" (``docs/glossary.md``) and of the
    data page's. Figures (the tolerance band, significance level, minimum numbers, the
    largest hidden count) come from the flag rule and disclosure control themselves.
    """
    from equality_core.disclosure import NOT_APPLICABLE, SMALL_COUNT_MAX, SUPPRESSED
    from equality_core.stats import FlagRule

    rule = FlagRule()
    low, high = rule.tolerance
    alpha, least = f"{rule.alpha:g}", rule.min_denominator
    return [
        (
            "Relative rate",
            "A group's rate divided by the comparator group's rate. 1 means the same rate as "
            "the comparator, 2 twice its rate and 0.5 half of it. Charts draw relative rates on "
            "a log scale, so that 0.5 and 2 are the same distance from 1.",
        ),
        (
            "Comparator",
            "The group that every other group with the same characteristic is compared with. "
            "Unless a page says otherwise it is the largest group (for example, White for "
            "ethnic group). Groups that record no declaration (such as 'Not stated') and "
            "totals are never the comparator and are never compared.",
        ),
        (
            "Tolerance band",
            f"Relative rates from {low:g} to {high:g}. A difference this small is not flagged "
            "even when it is statistically significant: it shows 'within band'. Charts of "
            "relative rates shade the band.",
        ),
        (
            "Confidence interval (95%)",
            "The range that the true figure is likely to lie in, given how many people were "
            "counted: of many intervals worked out this way, 95 in 100 would hold the true "
            "figure. A wide interval means few people and an uncertain figure. Charts draw "
            "intervals as lines either side of a point or bar, or as a shaded band.",
        ),
        (
            "Adjusted p-value (Benjamini-Hochberg)",
            "A p-value says how likely a difference at least as large as the one seen would "
            "be if the group and the comparator really had the same rate. When many groups "
            "and measures are compared, some small p-values turn up by chance, so all the "
            "comparisons on a page are adjusted together by the Benjamini-Hochberg method; "
            "the page says how many there are. A difference is significant when its adjusted "
            f"p-value is below {alpha}: then, on average, at most {rule.alpha:.0%} of the "
            "differences flagged are due to chance alone.",
        ),
        (
            "Control limits",
            "The lines on a funnel plot, either side of the rate of all establishments (or "
            "other units) together, at 95% and 99.8%. They are wide for a small unit and "
            "narrow for a large one, since small numbers vary more by chance. A unit outside "
            "the 99.8% limits is unlikely to be there by chance alone.",
        ),
        (
            "Overdispersion",
            "Units differing from each other by more than chance alone would make them, which "
            "is usual: they hold different people in different conditions. Limits worked out "
            "for chance alone would then put many units outside them, so the funnel plot "
            "widens its limits to allow for it, and says when it does.",
        ),
        (
            "Higher (adverse), lower (favourable)",
            "A flag: the group's rate differs significantly from the comparator's (adjusted "
            f"p-value below {alpha}), its relative rate is below {low:g} or above {high:g}, "
            f"and both groups have at least {least} people (person-quarters for rates of "
            "events). 'Adverse' or 'favourable' says whether the difference is worse or "
            "better for the person: a higher rate of force used is adverse.",
        ),
        (
            "Within band",
            "A flag ('significant, within the tolerance band'): the difference is "
            "statistically significant, but the relative rate is inside the tolerance band, "
            "so it is not flagged as higher or lower.",
        ),
        (
            "No significant difference",
            f"A flag: the adjusted p-value is {alpha} or more, so the difference could well "
            "be chance. It does not show that the two rates are the same.",
        ),
        (
            "Too few",
            f"A flag ('too few to assess'): the group or the comparator has fewer than {least} "
            "people (person-quarters for rates of events), too few to judge a difference.",
        ),
        (
            "Cell key method",
            "How counts are protected, so that nobody can be identified from a figure or by "
            "subtracting one figure from another. Each count is changed by a small amount "
            "(a few either way, zero on average), fixed by the records the count holds, so "
            "the same count shows the same figure in every view, download and slide. Rates, "
            "intervals and flags are worked out from the counts shown. It is the method the "
            "Office for National Statistics uses for Census 2021 custom tables.",
        ),
        (
            SUPPRESSED,
            f"Hidden to protect confidentiality: the figure counts 1 to {SMALL_COUNT_MAX} "
            "people, or is too small once protected, or would let such a count be worked "
            "out. A hidden figure is never tested or compared.",
        ),
        (
            NOT_APPLICABLE,
            "Does not apply: for example, the comparator's relative rate with itself, or a "
            "group that is never compared (such as 'Not stated').",
        ),
    ]


def glossary_markdown() -> str:
    """The glossary: each measure's definition, numerator, denominator and source; terms."""
    from equality_core.measures import MEASURES

    lines = [
        "# Glossary of measures and statistical terms",
        "",
        "Generated from `equality_core/measures.py` and `equality_core/contract_doc.py` by",
        "`python -m equality_core docs`; do not edit.",
        "",
        "A *proportion* measure counts people with the outcome among the people in its",
        "denominator; an *event* measure counts events per 100 person-quarters of exposure.",
        "Each group's rate is compared with the comparator group's (see `methodology.md`",
        "and the statistical terms at the end).",
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
    lines += ["## Statistical terms", ""]
    for term, meaning in statistical_terms():
        lines += [f"### {term}", "", meaning, ""]
    return "\n".join(lines)


def write_glossary(path: Path = GLOSSARY_PATH) -> Path:
    """Write the glossary; returns its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(glossary_markdown(), encoding="utf-8")
    return path
