"""Disclosure control: one protection step for every count shown (DESIGN.md section 4).

Counts are protected by consistent perturbation, the cell key method
(:mod:`equality_core.cellkey`), before any statistic is computed from them:

1. :func:`perturb_counts` takes a table of true counts that carries, beside each count,
   the sum of its records' keys (``<count>_key``) and the number of people it rests on
   (``<count>_people``, for event totals). It replaces each count with the count the
   ptable gives for it, caps a shown numerator at its shown denominator, and marks a row
   ``suppressed`` when a true count of people is 1 to 4, when "all but 1 to 4" had the
   outcome, when a shown count is below the threshold, or when a survey group had fewer
   than ``survey_minimum`` respondents. Hidden counts become NaN.
2. The statistics engine then runs on the shown counts exactly as on any counts (a hidden
   row, with NaN counts, is never tested and never enters a Benjamini-Hochberg family).
3. :func:`hide_derived` blanks every rate, interval, ratio and p-value of a hidden row and
   writes its flag as ``[c]``; a hidden comparator hides the comparisons made against it.

Since every figure shown is made from shown counts, and the same cell always shows the
same count, no view set beside another gives back a true count: differences are of noisy
figures. The table-by-table differencing checks and secondary suppression that this
replaces are gone.

Outputs write a hidden figure as ``[c]`` and a figure that does not apply as ``[x]``;
counts as whole numbers; text that a spreadsheet would run as a formula with a leading
apostrophe.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd

from equality_core.cellkey import DisclosureConfig, cell_keys
from equality_core.schema import NOT_DECLARED_VALUES

SUPPRESSED = "[c]"
NOT_APPLICABLE = "[x]"
FORMULA_STARTS = ("=", "+", "-", "@")
#: A column :func:`perturb_counts` adds on request: perturbed sizes, for choosing only.
SHOWN_SIZE = "_shown_size"
#: True counts of people from 1 to this always read [c], whatever the ptable makes of them.
SMALL_COUNT_MAX = 4

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
    "national_rate",
    "lower_95",
    "upper_95",
    "lower_998",
    "upper_998",
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
#: Columns that hold counts: written as whole numbers.
COUNT_COLUMNS = (
    "numerator",
    "denominator",
    "count",
    "total",
    "declared",
    "records",
    "respondents",
    "policies",
    "completed",
    "assured",
)


def _between(values: np.ndarray, low: int, high: int) -> np.ndarray:
    return (values >= low) & (values <= high)


def _with_columns(
    table: pd.DataFrame, columns: Mapping[str, object], *, drop: Collection[str] = ()
) -> pd.DataFrame:
    """``table`` without ``drop`` and with ``columns`` set, built in one step.

    A column it has is replaced where it stands, a new one added at the end, in order:
    the same as dropping and then assigning ``out[name] = values`` one by one, but built
    in one step: these tables are small and each assignment costs about as much as
    building the whole frame.
    """
    if not table.columns.is_unique:
        out = table.drop(columns=list(drop))
        for name, values in columns.items():
            out[name] = values
        return out
    data = {name: table[name] for name in table.columns if name not in drop}
    data.update(columns)
    return pd.DataFrame(data, index=table.index).__finalize__(table)


def _family_codes(table: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """One integer per row naming its combination of ``columns``.

    The groups of ``groupby(columns, dropna=False)`` (a missing value is a value like any
    other), without the cost of a groupby.
    """
    codes = np.zeros(len(table), dtype=np.int64)
    for column in columns:
        column_codes, uniques = pd.factorize(table[column], use_na_sentinel=False)
        codes = pd.factorize(codes * max(len(uniques), 1) + column_codes)[0]
    return codes


def perturb_counts(
    counts: pd.DataFrame,
    *,
    protection: DisclosureConfig | None,
    count_columns: Sequence[str] = ("numerator", "denominator"),
    complements: Sequence[tuple[str, str]] = (("numerator", "denominator"),),
    complement_rows: np.ndarray | None = None,
    keep_size: bool = False,
) -> pd.DataFrame:
    """The counts a user may see: perturbed, capped and, where disclosive, hidden.

    Parameters
    ----------
    counts
        True counts. Beside each count column ``c`` it carries ``c_key``, the sum of the
        record keys of the records counted (a cell key once taken modulo 256), and
        optionally ``c_people``, the number of people the count rests on (for an event
        total, the people with at least one event; by default, and where missing, the
        count itself).
    protection
        The disclosure configuration; None gives the exact counts (for a user with the
        exact-figures permission, or an analyst's own ``--no-suppress`` run), still with
        the ``suppressed`` column, all False.
    count_columns
        The counts to perturb.
    complements
        ``(part, whole)`` pairs whose difference counts people too (those without the
        outcome, those who did not declare): the shown part is capped at the shown whole,
        and "all but 1 to 4" is hidden like "1 to 4".
    complement_rows
        Which rows the complements apply to (for example proportion measures, not event
        rates, whose numerator may exceed the denominator); default every row.
    keep_size
        Also return :data:`SHOWN_SIZE`, the perturbed denominator of every row, hidden or
        not, for choosing a default comparator; the caller drops it before showing.

    Returns
    -------
    pandas.DataFrame
        ``counts`` without the key and people columns, the counts as floats (NaN where
        hidden) and a boolean ``suppressed`` column.
    """
    present = [c for c in count_columns if c in counts.columns]
    helper_columns = {f"{c}_{s}" for c in present for s in ("key", "people")}
    hide = np.zeros(len(counts), dtype=bool)
    columns: dict[str, object] = {}
    if protection is None:
        for column in present:
            columns[column] = counts[column].astype(float)
        if keep_size and "denominator" in counts.columns and "denominator" not in helper_columns:
            columns[SHOWN_SIZE] = columns.get("denominator", counts["denominator"])
        columns["suppressed"] = hide
        return _with_columns(counts, columns, drop=helper_columns)

    threshold = protection.threshold
    true: dict[str, np.ndarray] = {}
    shown: dict[str, np.ndarray] = {}
    for column in present:
        values = pd.to_numeric(counts[column], errors="coerce").to_numpy(dtype=float)
        true[column] = values
        key_column = f"{column}_key"
        if key_column not in counts.columns:
            raise ValueError(
                f"counts has no {key_column!r}: every count shown needs its cell key "
                "(see equality_core.cellkey)"
            )
        keys = cell_keys(counts[key_column].to_numpy(dtype=np.int64))
        people_column = f"{column}_people"
        people = values
        if people_column in counts.columns:
            # A row without a count of people rests on its count itself, as a table
            # without the column does: counts of several extracts put together (a
            # matrix), of which only some count people, leave it missing for the others.
            people = counts[people_column].to_numpy(dtype=float, na_value=np.nan)
            people = np.where(np.isnan(people), values, people)
        hide |= _between(people, 1, SMALL_COUNT_MAX)
        shown[column] = protection.ptable.perturb(values, keys)
        hide |= _between(shown[column], 1, threshold - 1)

    rows = np.ones(len(counts), dtype=bool) if complement_rows is None else complement_rows
    for part, whole in complements:
        if part not in shown or whole not in shown:
            continue
        capped = np.where(rows, np.minimum(shown[part], shown[whole]), shown[part])
        shown[part] = capped
        hide |= rows & _between(true[whole] - true[part], 1, SMALL_COUNT_MAX)
        hide |= rows & _between(shown[whole] - shown[part], 1, threshold - 1)

    respondents = None
    if "respondents" in counts.columns:
        respondents = pd.to_numeric(counts["respondents"], errors="coerce").to_numpy(dtype=float)
        hide |= respondents < protection.survey_minimum
        # The group's size is a count too: shown as its shown denominator.
        respondents = shown.get("respondents", shown.get("denominator", respondents))

    if keep_size and "denominator" in shown:
        # For choosing a default comparator only, never to be shown: the perturbed size.
        columns[SHOWN_SIZE] = shown["denominator"]
    for column in present:
        columns[column] = np.where(hide, np.nan, shown[column])
    if respondents is not None:
        columns["respondents"] = np.where(hide, np.nan, np.asarray(respondents, dtype=float))
    columns["suppressed"] = hide
    return _with_columns(counts, columns, drop=helper_columns)


def hide_derived(
    table: pd.DataFrame,
    *,
    family: Sequence[str] = ("measure", "characteristic"),
    derived_columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Blank every figure made from a hidden row's counts, and the ratios against it.

    ``table`` holds a ``suppressed`` column (from :func:`perturb_counts`) and figures
    computed from the shown counts. A hidden row's derived figures become NaN and its
    flag ``[c]``. Where the comparator of a family (the ``family`` columns) is hidden,
    every ratio, p-value and flag of the family is hidden too.
    """
    hide = table["suppressed"].to_numpy(dtype=bool)
    columns: dict[str, object] = {}

    def floats(column: str) -> np.ndarray:
        if column in columns:
            return columns[column]
        values = table[column]
        if values.dtype == np.float64:
            return values.to_numpy(dtype=float, copy=True)
        return np.array(values.astype(float), dtype=float)

    derived = [
        c for c in (DERIVED_COLUMNS if derived_columns is None else derived_columns) if c in table
    ]
    if "respondents" in table.columns:
        derived += [c for c in table.columns if c.startswith(("pct_", "engagement"))]
    for column in derived:
        values = floats(column)
        values[hide] = np.nan
        columns[column] = values
    flag = None
    if "flag" in table.columns:
        flag = np.array(table["flag"].astype("string"), dtype=object)
        flag[hide] = SUPPRESSED

    present_family = [c for c in family if c in table.columns]
    # Only a hidden row can be a hidden comparator.
    if "comparator" in table.columns and "group" in table.columns and present_family and hide.any():
        keys = _family_codes(table, present_family)
        is_comparator = (table["group"].astype(str) == table["comparator"].astype(str)).to_numpy()
        hidden_comparators = np.unique(keys[is_comparator & hide])
        if len(hidden_comparators):
            depends = np.isin(keys, hidden_comparators)
            for column in _RATIO_COLUMNS:
                if column in table.columns:
                    values = floats(column)
                    values[depends] = np.nan
                    columns[column] = values
            if flag is not None:
                compared = ~table["group"].astype(str).isin(NOT_DECLARED_VALUES).to_numpy()
                flag[depends & (compared | ~pd.isna(flag))] = SUPPRESSED
    if flag is not None:
        columns["flag"] = pd.array(flag, dtype="string")
    return _with_columns(table, columns)


def _whole(value: object) -> object:
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        return int(value)
    return value


def for_display(table: pd.DataFrame, *, every_column: bool = False) -> pd.DataFrame:
    """A protected table as shown: ``[c]`` where hidden, ``[x]`` where nothing applies.

    A missing figure in a hidden row is ``[c]``; a missing number elsewhere (a comparator's
    own ratio interval, a group that is never tested) is ``[x]``, and so is a missing
    ``flag``. With ``every_column``, a missing value in any text column says the same
    (the accessible-spreadsheet standard leaves no cell blank, a renamed flag column
    included). Counts are whole numbers. Drops the ``suppressed`` column.
    """
    hidden = (
        table["suppressed"].to_numpy(dtype=bool)
        if "suppressed" in table.columns
        else np.zeros(len(table), dtype=bool)
    )
    columns: dict[str, pd.Series] = {}
    for column in table.columns:
        if column == "suppressed":
            continue
        values = table[column]
        is_count = column in COUNT_COLUMNS
        is_text = not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
        if not (column == "flag" or (every_column and is_text)):
            if is_text:
                continue
            if not is_count and not values.hasnans:
                continue
        if values.dtype == np.float64:
            numbers = values.to_numpy()
            missing = np.isnan(numbers)
            text = numbers.astype(object)
        else:
            missing = values.isna().to_numpy()
            text = np.array(values.astype(object), dtype=object)
        if is_count and not (column == "flag" or (every_column and is_text)):
            text[:] = [_whole(v) for v in text]
        text[missing & hidden] = SUPPRESSED
        text[missing & ~hidden] = NOT_APPLICABLE
        columns[column] = pd.Series(text, index=table.index, dtype=object)
    return _with_columns(table, columns, drop={"suppressed"})


def escape_formula(value: object) -> object:
    """Prefix a text value that a spreadsheet would run as a formula with an apostrophe.

    Numbers are left alone, including negative ones.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_safe_csv(table: pd.DataFrame, *, preamble: Sequence[str] = ()) -> bytes:
    """UTF-8 CSV of a protected table: ``[c]`` and ``[x]``, whole counts, formulas defused.

    Numbers stay numbers (a negative number is not text and is left alone). ``preamble``
    lines (the source, the protection applied) are written first, each as a one-cell row
    beginning with ``#``.
    """
    shown = for_display(table)
    for column in shown.columns:
        if shown[column].dtype == object or pd.api.types.is_string_dtype(shown[column]):
            shown[column] = shown[column].map(escape_formula)
    shown.columns = [str(escape_formula(str(c))) for c in shown.columns]
    head = "".join(
        pd.DataFrame({"": [f"# {line}"]}).to_csv(index=False, header=False, lineterminator="\n")
        for line in preamble
    )
    return (head + shown.to_csv(index=False, lineterminator="\n")).encode("utf-8")
