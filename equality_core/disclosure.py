"""Disclosure control: the one function every table, chart and download goes through.

Rules (DESIGN.md section 4): counts from 1 to ``threshold - 1`` are never shown, and
neither are the rates and ratios computed from them; the complement (denominator minus
numerator) is held to the same rule, since "all but 2 were segregated" identifies as
surely as "2 were"; a family of groups that hides anything hides at least two rows, and
more until the hidden rows' counts do not add up to a disclosive number, so nothing
hidden can be worked out from a published total; where a narrower population
is shown beside a wider one, the part left out must also meet the threshold; survey
groups with fewer than ``survey_minimum`` respondents are hidden. Suppressed values are
written ``[c]``, in downloads too. Text cells that begin with ``=``, ``+``, ``-`` or ``@``
are prefixed with an apostrophe in downloads so spreadsheets do not run them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

SUPPRESSED = "[c]"
FORMULA_STARTS = ("=", "+", "-", "@")

#: Columns derived from counts: hidden with them.
DERIVED_COLUMNS = (
    "rate",
    "rate_low",
    "rate_high",
    "comparator_rate",
    "relative_rate",
    "rr_low",
    "rr_high",
    "p_value",
    "p_adjusted",
    "share",
    "share_low",
    "share_high",
    "representation_ratio",
    "adjusted_relative_rate",
    "adj_low",
    "adj_high",
    "crude_relative_rate",
    "declaration_rate",
)
#: Columns of ratios against the comparator: hidden for a whole family if it is hidden.
_RATIO_COLUMNS = (
    "comparator_rate",
    "relative_rate",
    "rr_low",
    "rr_high",
    "p_value",
    "p_adjusted",
    "adjusted_relative_rate",
    "adj_low",
    "adj_high",
    "crude_relative_rate",
)


@dataclass(frozen=True)
class DisclosureRule:
    """The disclosure threshold (5 or 10) and the minimum survey group size."""

    threshold: int = 5
    survey_minimum: int = 10

    def __post_init__(self) -> None:
        if self.threshold not in (5, 10):
            raise ValueError(f"threshold must be 5 or 10, got {self.threshold!r}")
        if self.survey_minimum < 1:
            raise ValueError(f"survey_minimum must be at least 1, got {self.survey_minimum!r}")


def _small(values: pd.Series | np.ndarray, threshold: int) -> np.ndarray:
    array = pd.to_numeric(pd.Series(np.asarray(values)), errors="coerce").to_numpy(dtype=float)
    return (array >= 1) & (array < threshold)


def protect(
    table: pd.DataFrame,
    *,
    rule: DisclosureRule | None = None,
    count_columns: Sequence[str] = ("numerator", "denominator"),
    derived_columns: Sequence[str] | None = None,
    family: Sequence[str] = ("measure", "characteristic"),
    wider: pd.DataFrame | Sequence[pd.DataFrame] | None = None,
    key: Sequence[str] | None = None,
    complements: Sequence[tuple[str, str]] = (("numerator", "denominator"),),
) -> pd.DataFrame:
    """A copy of ``table`` with disclosive figures suppressed.

    Suppressed values become NaN (``for_display`` shows them as ``[c]``), the ``flag``
    of a suppressed row becomes ``[c]`` and a boolean ``suppressed`` column says which
    rows were hidden. ``family`` names the columns that group rows into one total (a
    family of groups adding up to a population); an empty ``family`` means rows are not
    parts of a common total, so no secondary suppression applies. ``wider`` is the same
    table for one or more wider populations (matched on ``key``; the same filters with one
    narrowing removed, such as England and Wales beside an establishment, or everyone
    beside 18 to 20 year olds): rows whose difference from any of them is disclosive are
    suppressed too. ``complements`` names ``(part, whole)`` pairs whose difference counts
    people too (those without the outcome, those who did not declare), in the table and
    in what a wider population leaves out.
    """
    rule = rule or DisclosureRule()
    out = table.copy()
    counts = [c for c in count_columns if c in out.columns]
    if derived_columns is None:
        derived = [c for c in DERIVED_COLUMNS if c in out.columns]
    else:
        derived = [c for c in derived_columns if c in out.columns]
    hide = np.zeros(len(out), dtype=bool)
    for column in counts:
        hide |= _small(out[column], rule.threshold)
    pairs = [(part, whole) for part, whole in complements if {part, whole} <= set(out.columns)]
    for part, whole in pairs:
        complement = out[whole].to_numpy(dtype=float) - out[part].to_numpy(dtype=float)
        hide |= _small(complement, rule.threshold)
    if "respondents" in out.columns:
        respondents = pd.to_numeric(out["respondents"], errors="coerce").to_numpy(dtype=float)
        hide |= respondents < rule.survey_minimum
        derived += [
            c
            for c in out.columns
            if c.startswith(("pct_", "engagement")) and c not in derived and c not in counts
        ]
        # A group under the survey minimum is hidden entirely, its size included.
        derived.append("respondents")
    widers = [] if wider is None else [wider] if isinstance(wider, pd.DataFrame) else wider
    match = list(key or [c for c in ("measure", "characteristic", "group") if c in out])
    for population in widers:
        if not len(out) or population is None or population.empty:
            continue
        columns = [c for c in counts if c in population.columns]
        merged = (
            out[match]
            .astype(str)
            .merge(
                population[[*match, *columns]]
                .astype(dict.fromkeys(match, str))
                .drop_duplicates(match),
                on=match,
                how="left",
            )
        )
        left_out = {
            c: merged[c].to_numpy(dtype=float) - out[c].to_numpy(dtype=float) for c in columns
        }
        for part, whole in pairs:
            if part in left_out and whole in left_out:
                left_out[f"{whole} - {part}"] = left_out[whole] - left_out[part]
        for values in left_out.values():
            hide |= _small(values, rule.threshold)

    present_family = [c for c in family if c in out.columns]
    if present_family and hide.any():
        hide = _secondary_suppression(out, hide, present_family, counts, pairs, rule.threshold)

    for column in [*counts, *derived]:
        if column in out.columns:
            out[column] = out[column].astype(float)
            out.loc[hide, column] = np.nan
    if "flag" in out.columns:
        flag = out["flag"].astype("string")
        flag[hide] = SUPPRESSED
        out["flag"] = flag

    if "comparator" in out.columns and "group" in out.columns and present_family:
        # A hidden comparator hides the comparisons that depend on it.
        keys = out[present_family].astype(str).agg("\0".join, axis=1)
        is_comparator = (out["group"].astype(str) == out["comparator"].astype(str)).to_numpy()
        hidden_comparators = set(keys[is_comparator & hide])
        if hidden_comparators:
            depends = keys.isin(hidden_comparators).to_numpy()
            for column in _RATIO_COLUMNS:
                if column in out.columns:
                    out.loc[depends, column] = np.nan
            if "flag" in out.columns:
                flag = out["flag"].astype("string")
                flag[depends & flag.notna().to_numpy()] = SUPPRESSED
                out["flag"] = flag
    out["suppressed"] = hide
    return out


def _secondary_suppression(
    table: pd.DataFrame,
    hide: np.ndarray,
    family: list[str],
    counts: list[str],
    pairs: list[tuple[str, str]],
    threshold: int,
) -> np.ndarray:
    """Hide more rows of a family until its hidden figures cannot be worked out.

    A family's rows add up to a total that may be published elsewhere, so what is hidden
    must not be recoverable from it: a family that hides anything hides at least two rows,
    and the hidden rows' counts (numerators, denominators and complements) must not add
    up to a disclosive number either (hiding 3 and 0 still reveals the 3). Rows are added
    smallest denominator first, rows with people before empty ones, one per family per
    round, until every family is safe or wholly hidden.
    """
    hide = hide.copy()
    codes = pd.MultiIndex.from_frame(table[family].astype(str)).factorize()[0]
    families = int(codes.max()) + 1 if len(codes) else 0
    columns = {c: pd.to_numeric(table[c], errors="coerce").to_numpy(dtype=float) for c in counts}
    for part, whole in pairs:
        if part in columns and whole in columns:
            columns[f"{whole} - {part}"] = columns[whole] - columns[part]
    values = np.nan_to_num(np.column_stack(list(columns.values()))) if columns else None
    size_column = "denominator" if "denominator" in columns else (counts[-1] if counts else None)
    size = np.nan_to_num(columns[size_column]) if size_column else np.zeros(len(table))
    rows_in_family = np.bincount(codes, minlength=families)
    # Candidates in order: rows with people first, then by size, then by position.
    preference = np.lexsort((np.arange(len(table)), size, size <= 0))
    for _ in range(int(rows_in_family.max(initial=0))):
        hidden = np.bincount(codes, weights=hide, minlength=families)
        unsafe = hidden == 1
        if values is not None:
            for j in range(values.shape[1]):
                total = np.bincount(codes, weights=values[:, j] * hide, minlength=families)
                unsafe |= (total >= 1) & (total < threshold)
        unsafe &= (hidden > 0) & (hidden < rows_in_family)
        if not unsafe.any():
            break
        candidates = preference[~hide[preference] & unsafe[codes[preference]]]
        _, first = np.unique(codes[candidates], return_index=True)
        hide[candidates[first]] = True
    return hide


def for_display(table: pd.DataFrame) -> pd.DataFrame:
    """Suppressed figures as ``[c]`` text; drops the ``suppressed`` column."""
    out = table.drop(columns=["suppressed"], errors="ignore").copy()
    if "suppressed" not in table.columns:
        return out
    hidden = table["suppressed"].to_numpy(dtype=bool)
    if not hidden.any():
        return out
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_numeric_dtype(values) and values[hidden].isna().any():
            text = values.astype(object)
            text[hidden & values.isna().to_numpy()] = SUPPRESSED
            out[column] = text
    return out


def escape_formula(value: object) -> object:
    """Prefix a text value that a spreadsheet would run as a formula with an apostrophe.

    Numbers are left alone, including negative ones.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_safe_csv(table: pd.DataFrame) -> bytes:
    """UTF-8 CSV of a protected table: ``[c]`` for suppressed values, formulas defused.

    Numbers stay numbers (a negative number is not text and is left alone).
    """
    shown = for_display(table)
    for column in shown.columns:
        if shown[column].dtype == object or pd.api.types.is_string_dtype(shown[column]):
            shown[column] = shown[column].map(escape_formula)
    return shown.to_csv(index=False, lineterminator="\n").encode("utf-8")
