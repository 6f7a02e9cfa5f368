"""The statistics: rates, relative rates, significance, flags, funnel limits, adjusted rates.

Pure, vectorised functions over whole tables (numpy, scipy, pandas); nothing here knows
about files or Streamlit. Each follows DESIGN.md section 3 and is tested against an
independent reference (scipy, statsmodels or exact enumeration) in ``tests/test_stats.py``.
The methods and their references are in ``docs/methodology.md``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from equality_core import distributions as dist
from equality_core.schema import NOT_DECLARED_VALUES

FLAGS = ("higher", "lower", "within band", "no difference", "too few", "comparator")
KINDS = ("proportion", "event")

#: Group labels that stand for no declaration: the contract's own values and the wordings
#: of published and supplied aggregate tables. Matched without regard to case, spacing or
#: punctuation (see :func:`is_not_declared`).
NOT_DECLARED_LABELS: tuple[str, ...] = (
    *NOT_DECLARED_VALUES,
    "Not recorded",
    "Not known",
    "Prefer not to say",
    "Preferred not to say",
    "Not declared",
    "Not disclosed",
    "Not given",
    "Not provided",
    "Not specified",
    "Unspecified",
    "Not answered",
    "No response",
    "Did not answer",
    "Declined",
    "Declined to say",
    "Refused to say",
    "Information refused",
    "Withheld",
    "Missing",
    "Blank",
    "Unknown or not stated",
    "Not stated or unknown",
    "Unknown or not recorded",
)
#: Group labels that stand for everyone (a total row): a check on the groups, never a group.
TOTAL_LABELS: tuple[str, ...] = (
    "Total",
    "Totals",
    "Grand total",
    "All",
    "All groups",
    "All people",
    "All persons",
    "All prisoners",
    "All staff",
    "All offenders",
    "All ethnic groups",
    "All religions",
    "All ages",
    "Overall",
    "Everyone",
)


_SEPARATORS = re.compile(r"[^0-9a-z]+")


def _normalised_label(label: str) -> str:
    """A label as compared: case folded, every run of other characters one space."""
    return _SEPARATORS.sub(" ", label.casefold()).strip()


_NOT_DECLARED_KEYS = frozenset(_normalised_label(label) for label in NOT_DECLARED_LABELS)
_TOTAL_KEYS = frozenset(_normalised_label(label) for label in TOTAL_LABELS)


def _label_kinds(groups) -> tuple[np.ndarray, np.ndarray]:
    """Whether each label stands for no declaration, and whether it stands for everyone.

    A label is compared as text (a missing label as missing). A table repeats a few labels
    over many rows: each distinct label is normalised once, in plain Python (pandas'
    string methods cost more per call than these few labels take), and the answers
    spread back to the rows.
    """
    if isinstance(groups, pd.Series) and isinstance(groups.dtype, pd.StringDtype):
        text = groups
    else:
        text = pd.Series(groups, dtype="object").astype("string")
    codes, labels = pd.factorize(text, use_na_sentinel=False)
    not_declared = np.ones(len(labels), dtype=bool)
    total = np.zeros(len(labels), dtype=bool)
    for position, label in enumerate(labels):
        if pd.isna(label):
            continue
        key = _normalised_label(label)
        not_declared[position] = key == "" or key in _NOT_DECLARED_KEYS
        total[position] = key in _TOTAL_KEYS
    return not_declared[codes], total[codes]


def is_not_declared(groups) -> np.ndarray:
    """True for group labels that stand for no declaration ("Not recorded", "Refused", ...).

    A label matches one of :data:`NOT_DECLARED_LABELS` whatever its case, spacing and
    punctuation ("NOT KNOWN", "Prefer not to say."); a missing or empty label is no
    declaration either. Such groups keep their rate but are never tested and never the
    comparator.
    """
    return _label_kinds(groups)[0]


def is_total(groups) -> np.ndarray:
    """True for group labels that stand for everyone ("Total", "All", "All prisoners", ...).

    Matched like :func:`is_not_declared` against :data:`TOTAL_LABELS`. A total row is a
    check on the groups it adds up, never a group or a comparator.
    """
    return _label_kinds(groups)[1]


@dataclass(frozen=True)
class FlagRule:
    """When a group is flagged as disproportionate (DESIGN.md section 3).

    A group is flagged ``higher`` or ``lower`` only when its Benjamini-Hochberg adjusted
    p-value is below ``alpha``, its relative rate lies outside the open ``tolerance``
    band (a ratio exactly on a bound is not flagged), and both it and the comparator
    have at least ``min_denominator`` people (or person-periods for event rates). A
    significant difference whose ratio lies inside the band (or on a bound) is ``within
    band``; ``no difference`` means not significant; ``too few`` that either group is
    below the minimum numbers.
    """

    alpha: float = 0.05
    tolerance: tuple[float, float] = (0.8, 1.25)
    min_denominator: int = 30

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1, got {self.alpha!r}")
        low, high = self.tolerance
        if not 0 < low <= 1 <= high:
            raise ValueError(f"tolerance must satisfy 0 < low <= 1 <= high, got {self.tolerance!r}")
        if self.min_denominator < 1:
            raise ValueError(f"min_denominator must be at least 1, got {self.min_denominator!r}")

    def describe(self) -> str:
        """The rule in one plain-English sentence, shown on every page."""
        low, high = self.tolerance
        return (
            f"A group is flagged as having a disproportionately higher or lower rate than the "
            f"comparator group only when the difference is statistically significant (adjusted "
            f"p-value below {self.alpha:g}, Benjamini-Hochberg across the groups compared), the "
            f"relative rate is below {low:g} or above {high:g}, and both groups have at least "
            f"{self.min_denominator} people. A significant difference with a relative rate from "
            f"{low:g} to {high:g} shows 'within band'; a difference that is not significant shows "
            f"'no difference'; a group with fewer people shows 'too few'."
        )


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    return float(dist.norm_ppf(0.5 + confidence / 2))


def wilson_interval(
    numerator, denominator, *, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion ``numerator / denominator``.

    ``centre = (p + z^2/2n) / (1 + z^2/n)``, ``half-width = z sqrt(p(1-p)/n + z^2/4n^2) /
    (1 + z^2/n)`` (Wilson 1927; Newcombe 1998). Unlike the normal approximation it stays
    inside 0 to 1 and behaves with zero or small counts. A zero denominator gives NaN.
    """
    x = np.asarray(numerator, dtype=float)
    n = np.asarray(denominator, dtype=float)
    z = _z(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        denominator_ = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denominator_
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denominator_
    low = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
    high = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return low, high


def poisson_rate_interval(
    events, exposure, *, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval for a Poisson rate ``events / exposure``.

    ``low = chi2(alpha/2; 2k) / 2E``, ``high = chi2(1 - alpha/2; 2k + 2) / 2E`` (Garwood
    1936). With no events the lower limit is 0. A zero exposure gives NaN.
    """
    k = np.asarray(events, dtype=float)
    e = np.asarray(exposure, dtype=float)
    alpha = 1 - confidence
    _z(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(k > 0, dist.chi2_ppf(alpha / 2, 2 * k) / 2, 0.0) / e
        high = dist.chi2_ppf(1 - alpha / 2, 2 * k + 2) / 2 / e
    bad = ~(e > 0)
    return np.where(bad, np.nan, low), np.where(bad, np.nan, high)


def benjamini_hochberg(p_values, *, groups=None) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values, within each family given by ``groups``.

    ``p_adj(i) = min_{j >= i} (m p(j) / j)`` over the family's p-values sorted ascending,
    capped at 1 (Benjamini and Hochberg 1995). NaN p-values are left out of the family
    (they do not count towards ``m``) and stay NaN.
    """
    p = np.asarray(p_values, dtype=float)
    labels = np.zeros(len(p), dtype=int) if groups is None else pd.factorize(pd.Series(groups))[0]
    out = np.full(len(p), np.nan)
    position = np.flatnonzero(~np.isnan(p))
    if len(position) == 0:
        return out
    # Sorted by family, then p-value (a stable sort: ties keep their order).
    position = position[np.lexsort((p[position], labels[position]))]
    family = labels[position]
    starts = np.flatnonzero(np.r_[True, family[1:] != family[:-1]])
    ends = np.r_[starts[1:], len(position)]
    sizes = ends - starts
    rank = np.arange(len(position)) - np.repeat(starts, sizes) + 1
    scaled = p[position] * np.repeat(sizes, sizes) / rank
    adjusted = np.empty(len(position))
    for start, end in zip(starts, ends, strict=True):
        # Running minimum from the largest p-value down, within the family.
        adjusted[start:end] = np.minimum.accumulate(scaled[start:end][::-1])[::-1]
    out[position] = np.minimum(adjusted, 1.0)
    return out


# --- Two-sided tests, vectorised ----------------------------------------------------------


def _binary_search(target, low, high, increasing_pmf):
    """Vectorised form of scipy's search for the binomial test's other tail.

    Finds, per row, ``i`` in ``[low, high]`` with ``a(i) <= target < a(i + 1)`` for the
    increasing function ``a`` (the pmf, or minus the pmf on the falling side).
    """
    lo, hi = low.astype(np.int64).copy(), high.astype(np.int64).copy()
    found = np.full(lo.shape, -1, dtype=np.int64)
    for _ in range(80):
        active = (lo < hi) & (found < 0)
        if not active.any():
            break
        mid = lo + (hi - lo) // 2
        value = increasing_pmf(mid)
        less = active & (value < target)
        more = active & (value > target)
        equal = active & ~less & ~more
        lo = np.where(less, mid + 1, lo)
        hi = np.where(more, mid - 1, hi)
        found = np.where(equal, mid, found)
    at_lo = increasing_pmf(lo)
    result = np.where(at_lo <= target, lo, lo - 1)
    return np.where(found >= 0, found, result)


def binomial_two_sided(successes, trials, probability) -> np.ndarray:
    """Two-sided exact binomial test p-values, vectorised (scipy's ``binomtest`` rule).

    The p-value sums the probabilities of every outcome no more likely than the one
    observed (the "minimum likelihood" rule of ``scipy.stats.binomtest``).
    """
    k = np.asarray(successes, dtype=np.int64)
    n = np.asarray(trials, dtype=np.int64)
    p = np.asarray(probability, dtype=float)
    k, n, p = np.broadcast_arrays(k, n, p)
    out = np.full(k.shape, np.nan)
    valid = (n > 0) & (p > 0) & (p < 1)
    out[(n > 0) & ((p == 0) | (p == 1))] = 1.0
    if not valid.any():
        return out
    k, n, p = k[valid], n[valid], p[valid]
    d = dist.binom_pmf(k, n, p)
    rerr = 1 + 1e-7
    result = np.ones(k.shape)
    lower = k < p * n
    upper = k > p * n
    if lower.any():
        kk, nn, pp, dd = k[lower], n[lower], p[lower], d[lower]
        ix = _binary_search(
            -dd * rerr,
            np.ceil(pp * nn),
            nn.astype(float),
            lambda i: -dist.binom_pmf(i, nn, pp),
        )
        y = nn - ix + (dd * rerr == dist.binom_pmf(ix, nn, pp)).astype(np.int64)
        result[lower] = dist.binom_cdf(kk, nn, pp) + dist.binom_sf(nn - y, nn, pp)
    if upper.any():
        kk, nn, pp, dd = k[upper], n[upper], p[upper], d[upper]
        ix = _binary_search(
            dd * rerr,
            np.zeros(kk.shape),
            np.floor(pp * nn),
            lambda i: dist.binom_pmf(i, nn, pp),
        )
        y = ix + 1
        result[upper] = dist.binom_cdf(y - 1, nn, pp) + dist.binom_sf(kk - 1, nn, pp)
    out[valid] = np.minimum(1.0, result)
    return out


def _scipy_stats():
    """``scipy.stats``, imported when a rarer test first needs it.

    Importing it takes about 0.4 s, a tenth of the dashboard's cold start; the views'
    everyday quantiles, tails and tests come from :mod:`equality_core.distributions`.
    """
    from scipy import stats

    return stats


def _fisher_two_sided(a, b, c, d) -> np.ndarray:
    """Fisher's exact test for 2x2 tables ``[[a, b], [c, d]]``, vectorised.

    scipy's ``fisher_exact`` rule, row by row: with ``a`` hypergeometric given the
    margins, the p-value sums the probabilities of every table no more likely than the
    one observed (relative tolerance 1e-14), found on the other side of the mode with the
    same search as the binomial test's. A table with an empty row or column gives 1.
    """
    a, b, c, d = (np.asarray(v, dtype=float).astype(np.int64) for v in (a, b, c, d))
    out = np.ones(a.shape, dtype=float)
    rows1, rows2, drawn = a + b, c + d, a + c
    tested = (rows1 > 0) & (rows2 > 0) & (drawn > 0) & (b + d > 0)
    if not tested.any():
        return out
    a, good, drawn = a[tested], rows1[tested], drawn[tested]
    total = good + rows2[tested]

    def pmf(x, where=slice(None)):
        return dist.hypergeom_pmf(x, total[where], good[where], drawn[where])

    mode = ((drawn + 1) * (good + 1)) // (total + 2)
    exact, at_mode = pmf(a), pmf(mode)
    gamma = 1 + 1e-14
    result = np.ones(a.shape, dtype=float)
    alike = np.abs(exact - at_mode) / np.maximum(exact, at_mode) <= 1e-14
    lower, upper = ~alike & (a < mode), ~alike & (a >= mode)
    if lower.any():
        i = np.flatnonzero(lower)
        tail = dist.hypergeom_cdf(a[i], total[i], good[i], drawn[i])
        other = _binary_search(-exact[i] * gamma, mode[i], drawn[i], lambda x, i=i: -pmf(x, i))
        far = pmf(drawn[i], i) > exact[i] * gamma
        result[i] = np.where(
            far, tail, tail + dist.hypergeom_sf(other, total[i], good[i], drawn[i])
        )
    if upper.any():
        i = np.flatnonzero(upper)
        tail = dist.hypergeom_sf(a[i] - 1, total[i], good[i], drawn[i])
        other = _binary_search(
            exact[i] * gamma, np.zeros(len(i)), mode[i], lambda x, i=i: pmf(x, i)
        )
        far = pmf(np.zeros(len(i)), i) > exact[i] * gamma
        result[i] = np.where(
            far, tail, tail + dist.hypergeom_cdf(other, total[i], good[i], drawn[i])
        )
    out[tested] = np.minimum(result, 1.0)
    return out


def two_by_two_p_values(x1, n1, x0, n0) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided p-values for group (x1 of n1) against comparator (x0 of n0).

    Pearson's chi-square without continuity correction, or Fisher's exact test where
    any expected cell count is below 5. Returns the p-values and the test used per row.
    A table with an empty row or column carries no evidence: p = 1.
    """
    a = np.asarray(x1, dtype=float)
    b = np.asarray(n1, dtype=float) - a
    c = np.asarray(x0, dtype=float)
    d = np.asarray(n0, dtype=float) - c
    rows1, rows0 = a + b, c + d
    cols1, cols0 = a + c, b + d
    total = rows1 + rows0
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.stack(
            [rows1 * cols1, rows1 * cols0, rows0 * cols1, rows0 * cols0]
        ) / np.where(total > 0, total, np.nan)
        statistic = total * (a * d - b * c) ** 2 / (rows1 * rows0 * cols1 * cols0)
    degenerate = (rows1 == 0) | (rows0 == 0) | (cols1 == 0) | (cols0 == 0)
    small = (expected < 5).any(axis=0) & ~degenerate
    p = np.where(degenerate, 1.0, dist.chi2_sf(statistic, 1))
    test = np.where(small, "fisher", "chi-square").astype(object)
    if small.any():
        p[small] = _fisher_two_sided(a[small], b[small], c[small], d[small])
    return p, test


# --- Disparity table ----------------------------------------------------------------------

#: The columns of a disparity table that a report shows after each group's counts, in order
#: (the command line's output and the dashboard's tables and downloads).
REPORTED_COLUMNS = (
    "rate",
    "rate_low",
    "rate_high",
    "comparator",
    "relative_rate",
    "rr_low",
    "rr_high",
    "p_value",
    "p_adjusted",
    "flag",
)

_RESULT_COLUMNS = (
    "rate",
    "rate_low",
    "rate_high",
    "comparator",
    "comparator_rate",
    "relative_rate",
    "rr_low",
    "rr_high",
    "comparator_has_none",
    "p_value",
    "p_adjusted",
    "test",
    "flag",
)


def _describe_families(keys: pd.DataFrame, limit: int = 5) -> str:
    """Families as words, for error messages: ``measure m, period 2024-Q2``."""
    words = [
        ", ".join(f"{column} {value}" for column, value in row.items())
        for _, row in keys.head(limit).iterrows()
    ]
    more = len(keys) - limit
    return "; ".join(words) + (f"; and {more} more" if more > 0 else "")


#: An optional column of counts: the size by which the default comparator is chosen.
COMPARATOR_SIZE = "comparator_size"


class ComparatorAbsentError(ValueError):
    """A chosen comparator group has no counts to compare with in some analyses.

    Aggregated inputs (surveys) hold only the groups that were reported, so a group the
    user chose may be missing for some places and periods. The comparison is never made
    against another group instead: callers say so to the user.
    """


def _codes(
    table: Mapping[str, pd.Series] | pd.DataFrame,
    columns: Sequence[str],
    rows: int,
    *,
    sort: bool = False,
) -> np.ndarray:
    """One integer for each of the ``rows`` rows naming its combination of ``columns``.

    Numbered in order of first appearance, or with ``sort`` in the order a sorted
    group-by gives (categorical columns in their categories' order, others by value, the
    first column first); a missing value is a value like any other (as in a merge).
    Renumbered after each column, so the codes never outgrow the rows.
    """
    codes = np.zeros(rows, dtype=np.int64)
    for column in columns:
        column_codes, uniques = pd.factorize(table[column], sort=sort, use_na_sentinel=False)
        codes = pd.factorize(codes * max(len(uniques), 1) + column_codes, sort=sort)[0]
    return codes


def _comparator_rows(
    table: pd.DataFrame,
    family: list[str],
    family_codes: np.ndarray,
    assessable: np.ndarray,
    comparator: str | Mapping[str, str] | None,
) -> np.ndarray:
    """The row of each family's comparator group (-1 where it has none), by family code.

    By default the group with the largest ``comparator_size`` where the table has that
    column (for example sizes after disclosure control, hidden groups included), else
    the largest denominator; a family with a missing key has no default. A chosen
    comparator must be present in every family of each characteristic it applies to: a
    family without it is an error that names the family, never a silent fall back to
    another group. Worked on arrays (one sort of the candidates) because this runs on
    every filter change of a page, where pandas' cost per call outweighs the arithmetic.
    """
    size_column = COMPARATOR_SIZE if COMPARATOR_SIZE in table.columns else "denominator"
    size = table[size_column].to_numpy(dtype=float, na_value=np.nan)
    groups = table["group"].to_numpy(dtype=object)
    families = int(family_codes.max()) + 1 if len(family_codes) else 0
    rows = np.full(families, -1, dtype=np.int64)
    complete = np.ones(len(table), dtype=bool)
    for column in family:
        complete &= table[column].notna().to_numpy(dtype=bool)
    candidates = np.flatnonzero(assessable & (size > 0) & complete)
    if len(candidates):
        # Ties are broken by the group's name, so the answer never depends on row order.
        names = groups[candidates].astype(str)
        order = candidates[np.lexsort((names, -size[candidates], family_codes[candidates]))]
        ordered = family_codes[order]
        first = np.r_[True, ordered[1:] != ordered[:-1]]
        rows[ordered[first]] = order[first]
    if comparator is None:
        return rows
    characteristics = table["characteristic"].to_numpy(dtype=object)
    # The first row of each family, families in order of first appearance.
    first_rows = np.unique(family_codes, return_index=True)[1]
    if isinstance(comparator, str):
        if is_not_declared([comparator])[0] or is_total([comparator])[0]:
            raise ValueError(f"comparator {comparator!r} stands for no declaration or for everyone")
        having = pd.unique(characteristics[groups == comparator])
        if len(having) == 0:
            raise ComparatorAbsentError(
                f"comparator group {comparator!r} is not present in the counts"
            )
        wanted = dict.fromkeys(having, comparator)
    else:
        wanted = dict(comparator)
    for characteristic, group in wanted.items():
        if is_not_declared([group])[0] or is_total([group])[0]:
            raise ValueError(
                f"comparator {group!r} for {characteristic} stands for no declaration or for "
                "everyone"
            )
        of_characteristic = characteristics[first_rows] == characteristic
        if not of_characteristic.any():
            continue
        present = np.flatnonzero(
            (characteristics == characteristic) & (groups == group) & assessable
        )
        holds = np.zeros(families, dtype=bool)
        holds[family_codes[present]] = True
        absent = first_rows[of_characteristic & ~holds]
        if len(absent):
            raise ComparatorAbsentError(
                f"comparator group {group!r} for {characteristic} is absent from "
                f"{len(absent)} of {int(of_characteristic.sum())} analyses: "
                f"{_describe_families(table[family].iloc[absent].drop(columns='characteristic'))}"
            )
        rows[family_codes[present]] = present
    return rows


def _with_columns(table: pd.DataFrame, columns: Mapping[str, object]) -> pd.DataFrame:
    """``table`` with ``columns`` set, built in one step.

    A column it has is replaced where it stands, a new one added at the end, in order:
    the same as ``table[name] = values`` one by one, but each assignment costs about as
    much as building the whole (small) frame.
    """
    if not table.columns.is_unique:
        out = table.copy()
        for name, values in columns.items():
            out[name] = values
        return out
    if not any(name in table.columns for name in columns):
        added = pd.DataFrame(dict(columns), index=table.index)
        return pd.concat([table, added], axis=1).__finalize__(table)
    data = {name: table[name] for name in table.columns}
    data.update(columns)
    return pd.DataFrame(data, index=table.index).__finalize__(table)


def disparity_table(
    counts: pd.DataFrame,
    *,
    by: Sequence[str] = (),
    kind: str | Mapping[str, str] = "proportion",
    comparator: str | Mapping[str, str] | None = None,
    rule: FlagRule | None = None,
    family: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Rate, interval, relative rate, tests and flag of every group against its comparator.

    Parameters
    ----------
    counts
        ``measure, characteristic, group, numerator, denominator`` and the ``by``
        columns; one row per group of each (measure, characteristic, *by) analysis
        (a repeated group is an error). Each analysis has its own comparator. Missing
        counts (NaN, for example hidden by disclosure control) are never tested.
    by
        Columns that split the analyses (period, establishment).
    kind
        ``proportion`` or ``event``, or a mapping from measure to kind. For an event
        measure the numerator counts events and may exceed the denominator (exposure).
    comparator
        The comparator group: a group name for every characteristic that has it, or a
        mapping from characteristic to group; by default the group with the largest
        denominator. A chosen comparator absent from one of its characteristic's
        analyses (a period, say) is an error naming it.
    rule
        The flag rule (:class:`FlagRule`).
    family
        Columns whose combination forms one Benjamini-Hochberg family; by default
        ``measure, characteristic, *by`` (each analysis its own family). Pass fewer
        columns (for example ``characteristic`` and the period) to adjust across every
        measure of a matrix at once.

    Returns
    -------
    pandas.DataFrame
        ``counts`` with ``rate``, ``rate_low``, ``rate_high`` (Wilson for proportions,
        exact Poisson for events); ``comparator``, ``comparator_rate``;
        ``relative_rate``, ``rr_low``, ``rr_high``; ``comparator_has_none`` (True when
        the comparator had no events: there is then no ratio and no upper limit, NaN,
        while both counts are kept, so a page can say "White prisoners had none; 7 of
        120 Black prisoners"); ``p_value``, ``p_adjusted``, ``test``; and ``flag``, one
        of :data:`FLAGS` or missing (a group that stands for no declaration or for
        everyone, a group whose counts or whose comparator's counts are missing).

    Notes
    -----
    Relative rate: the group's rate over the comparator's (1: the same rate; 2: twice).
    Proportions: log (Katz) interval ``exp(ln RR +/- z sqrt(1/x1 - 1/n1 + 1/x0 - 1/n0))``.
    Only where a numerator is zero, which leaves that interval undefined, is 0.5 added
    to every cell (Haldane-Anscombe); a group whose count equals its denominator needs
    no correction. Events: the exact conditional interval and test (the group's share
    of all events is binomial given the total). When neither group had any event the
    ratio, its interval and ``comparator_has_none`` say so (no ratio; the test gives p
    = 1). When only the comparator had none the ratio is infinite: it is NaN, the lower
    limit is kept, and the group is flagged by its test alone, ``higher`` when
    significant (the tolerance band cannot apply). Never infinity.

    Proportions are tested with Pearson's chi-square, or Fisher's exact test where any
    expected cell is below 5; p-values are adjusted by Benjamini-Hochberg within each
    ``family``. Flags follow ``rule`` (:class:`FlagRule`). Groups that stand for no
    declaration (:func:`is_not_declared`) or for everyone (:func:`is_total`) keep their
    rate but are never the comparator and never tested (flag missing).
    """
    rule = rule or FlagRule()
    analysis = ["measure", "characteristic", *by]
    adjusted_family = analysis if family is None else list(family)
    required = {"measure", "characteristic", "group", "numerator", "denominator", *by}
    missing = (required | set(adjusted_family)) - set(counts.columns)
    if missing:
        raise ValueError(f"counts is missing column(s): {sorted(missing)}")
    # A shallow copy is enough: with copy-on-write nothing done to it reaches ``counts``.
    table = counts.copy(deep=False)
    for column in ("measure", "characteristic", "group"):
        table[column] = counts[column].astype(str)
    family_codes = _codes(table, analysis, len(table))
    group_codes = pd.factorize(table["group"], use_na_sentinel=False)[0]
    row_codes = pd.factorize(family_codes * (len(table) + 1) + group_codes)[0]
    repeated = np.bincount(row_codes, minlength=1)[row_codes] > 1
    if repeated.any():
        raise ValueError(
            f"counts has {int(repeated.sum())} rows that repeat a group of one analysis: "
            f"{_describe_families(table.loc[repeated, [*analysis, 'group']].drop_duplicates())}"
        )
    x = pd.to_numeric(table["numerator"], errors="coerce").to_numpy(dtype=float)
    n = pd.to_numeric(table["denominator"], errors="coerce").to_numpy(dtype=float)
    if isinstance(kind, str):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        kinds = np.full(len(table), kind, dtype=object)
    else:
        measure_codes, measures = pd.factorize(table["measure"], use_na_sentinel=False)
        measure_kinds = np.array([kind.get(m, "proportion") for m in measures], dtype=object)
        kinds = measure_kinds[measure_codes]
        unknown = sorted(set(kinds) - set(KINDS))
        if unknown:
            raise ValueError(f"kind must be one of {KINDS}, got {unknown!r}")
    event = kinds == "event"
    not_declared, total_row = _label_kinds(table["group"])
    assessable = ~not_declared & ~total_row

    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, x / n, np.nan)
    rate_low, rate_high = wilson_interval(x, n)
    if event.any():
        # The exact intervals only where they are used: scipy's quantiles cost per row.
        rate_low[event], rate_high[event] = poisson_rate_interval(x[event], n[event])
    rates = {"rate": rate, "rate_low": rate_low, "rate_high": rate_high}
    comparator_rows = (
        _comparator_rows(table, analysis, family_codes, assessable, comparator)
        if len(table)
        else np.empty(0, dtype=np.int64)
    )
    if not (comparator_rows >= 0).any():
        # No analysis has a comparator: rates only, nothing compared.
        nothing: dict[str, object] = dict.fromkeys(_RESULT_COLUMNS[3:], np.nan)
        nothing["comparator"] = pd.Series(pd.NA, index=table.index, dtype="string")
        nothing["comparator_has_none"] = False
        nothing["test"] = ""
        nothing["flag"] = pd.Series(pd.NA, index=table.index, dtype="string")
        out = _with_columns(table, rates)
        for column, value in nothing.items():
            out[column] = value
        return out

    reference = comparator_rows[family_codes]
    has_comparator = reference >= 0
    reference = np.where(has_comparator, reference, 0)
    groups = table["group"].to_numpy(dtype=object)
    comparator_names = np.where(has_comparator, groups[reference], None)
    x0 = np.where(has_comparator, x[reference], np.nan)
    n0 = np.where(has_comparator, n[reference], np.nan)
    has_reference = ~np.isnan(n0) & ~np.isnan(x0)
    is_comparator = has_comparator & (reference == np.arange(len(table)))
    known = ~np.isnan(x) & ~np.isnan(n)
    tested = has_reference & assessable & ~is_comparator & known & (n > 0) & (n0 > 0)
    comparator_none = has_reference & (n0 > 0) & (x0 == 0)
    only_comparator_none = tested & comparator_none & (x > 0)

    with np.errstate(invalid="ignore", divide="ignore"):
        comparator_rate = np.where(has_reference & (n0 > 0), x0 / n0, np.nan)
        # Proportions: Katz log interval. Only a zero numerator leaves it undefined, and
        # only then is 0.5 added to each cell (Haldane-Anscombe).
        zero = (x == 0) | (x0 == 0)
        a = np.where(zero, x + 0.5, x)
        n1c = np.where(zero, n + 1, n)
        c = np.where(zero, x0 + 0.5, x0)
        n0c = np.where(zero, n0 + 1, n0)
        rr_prop = (a / n1c) / (c / n0c)
        se = np.sqrt(1 / a - 1 / n1c + 1 / c - 1 / n0c)
        z = _z(0.95)
        prop_low, prop_high = rr_prop * np.exp(-z * se), rr_prop * np.exp(z * se)
        # Events: exact conditional interval from the Clopper-Pearson interval of the
        # group's share of all events, given the total.
        # Only event rows use it (scipy's quantiles cost per row); NaN elsewhere.
        share_low = np.full(len(table), np.nan)
        share_high = np.full(len(table), np.nan)
        if event.any():
            xe, total = x[event], (x + x0)[event]
            share_low[event] = np.where(xe > 0, dist.beta_ppf(0.025, xe, total - xe + 1), 0.0)
            share_high[event] = np.where(
                total - xe > 0, dist.beta_ppf(0.975, xe + 1, total - xe), np.nan
            )
        odds = n0 / n
        event_rr = (x / n) / (x0 / n0)
        event_low_rr = share_low / (1 - share_low) * odds
        event_high_rr = share_high / (1 - share_high) * odds

    ratio_defined = tested & ~comparator_none
    relative_rate = np.where(ratio_defined, np.where(event, event_rr, rr_prop), np.nan)
    rr_low = np.where(
        ratio_defined | only_comparator_none, np.where(event, event_low_rr, prop_low), np.nan
    )
    rr_high = np.where(ratio_defined, np.where(event, event_high_rr, prop_high), np.nan)
    relative_rate[is_comparator & has_reference] = 1.0

    p = np.full(len(table), np.nan)
    tests = np.full(len(table), "", dtype=object)
    proportion_rows = tested & ~event
    if proportion_rows.any():
        p_prop, test_prop = two_by_two_p_values(
            x[proportion_rows], n[proportion_rows], x0[proportion_rows], n0[proportion_rows]
        )
        p[proportion_rows] = p_prop
        tests[proportion_rows] = test_prop
    event_rows = tested & event
    if event_rows.any():
        trials = (x + x0)[event_rows]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = (n / (n + n0))[event_rows]
        p_event = binomial_two_sided(x[event_rows], trials, share)
        p[event_rows] = np.where(trials == 0, 1.0, p_event)
        tests[event_rows] = "exact poisson"
    # Families are compared as text, so that labels that read the same are one family.
    if not adjusted_family:
        # No columns name no family: the error pandas has always given here, kept as it was.
        raise ValueError("not enough values to unpack (expected 2, got 0)")
    as_text = {
        c: table[c] if c in ("measure", "characteristic", "group") else table[c].astype(str)
        for c in adjusted_family
    }
    family_labels = _codes(as_text, adjusted_family, len(table))
    p_adjusted = benjamini_hochberg(p, groups=family_labels)

    low_band, high_band = rule.tolerance
    # Rounded, so that a ratio on a bound up to floating-point error counts as on it.
    rr = np.round(relative_rate, 10)
    enough = (n >= rule.min_denominator) & (n0 >= rule.min_denominator)
    significant = p_adjusted < rule.alpha
    # With no events in the comparator the ratio is infinite: outside any band.
    outside = (rr < low_band) | (rr > high_band) | only_comparator_none
    up = (rr > 1) | only_comparator_none
    down = rr < 1
    flag = np.full(len(table), None, dtype=object)
    has_test = has_reference & assessable & ~is_comparator & known
    judged = has_test & enough
    flag[has_test] = "no difference"
    flag[judged & significant & ~outside] = "within band"
    flag[judged & significant & outside & up] = "higher"
    flag[judged & significant & outside & down] = "lower"
    flag[has_test & ~enough] = "too few"
    flag[is_comparator & has_reference] = "comparator"
    return _with_columns(
        table,
        {
            **rates,
            "comparator": pd.array(comparator_names, dtype="string"),
            "comparator_rate": comparator_rate,
            "relative_rate": relative_rate,
            "rr_low": rr_low,
            "rr_high": rr_high,
            "comparator_has_none": comparator_none,
            "p_value": p,
            "p_adjusted": p_adjusted,
            "test": tests,
            "flag": pd.array(flag, dtype="string"),
        },
    )


# --- Funnel plots -------------------------------------------------------------------------

#: Ways of widening funnel limits for overdispersion (Spiegelhalter 2005, QSHC 14:347).
OVERDISPERSION_METHODS = ("additive", "multiplicative")


def _level_name(level: float) -> str:
    if not 0 < level < 1:
        raise ValueError(f"levels must lie between 0 and 1, got {level!r}")
    return f"{level * 100:g}".replace(".", "")


def funnel_limits(
    *,
    national_rate: float,
    denominators,
    levels: Sequence[float] = (0.95, 0.998),
    overdispersion: str | None = None,
    dispersion: float = 1.0,
    tau_squared: float = 0.0,
) -> pd.DataFrame:
    """Control limits around ``national_rate`` for each denominator.

    Without ``overdispersion`` the limits are exact binomial: for coverage ``c``, the
    binomial quantiles at ``(1 - c)/2`` and ``(1 + c)/2`` with Spiegelhalter's
    interpolation between adjacent counts, so the lines are smooth (Spiegelhalter 2005,
    Statistics in Medicine 24:1185).

    Widened for overdispersion (Spiegelhalter 2005, "Handling over-dispersion of
    performance indicators", Quality and Safety in Health Care 14:347), with
    ``s^2 = national_rate (1 - national_rate) / n`` and ``z`` the normal quantile:

    - ``multiplicative``: ``national_rate +/- z sqrt(dispersion s^2)``;
    - ``additive`` (random effects): ``national_rate +/- z sqrt(s^2 + tau_squared)``.

    Limits are clipped to 0 to 1. Columns: ``denominator``, then ``lower_95``,
    ``upper_95``, ``lower_998``, ``upper_998`` (named after the level) as proportions; a
    zero denominator gives NaN.
    """
    if not 0 <= national_rate <= 1:
        raise ValueError(f"national_rate must be between 0 and 1, got {national_rate!r}")
    if overdispersion not in (None, *OVERDISPERSION_METHODS):
        raise ValueError(
            f"overdispersion must be None or one of {OVERDISPERSION_METHODS}, "
            f"got {overdispersion!r}"
        )
    if not dispersion > 0 or not tau_squared >= 0:
        raise ValueError(
            f"dispersion must be above 0 and tau_squared 0 or more, got {dispersion!r} and "
            f"{tau_squared!r}"
        )
    n = np.asarray(denominators, dtype=float)
    out = pd.DataFrame({"denominator": n})
    for level in levels:
        name = _level_name(level)
        for side, q in (("lower", (1 - level) / 2), ("upper", (1 + level) / 2)):
            with np.errstate(invalid="ignore", divide="ignore"):
                if overdispersion is None:
                    r = dist.binom_ppf(q, n, national_rate)
                    above = dist.binom_cdf(r, n, national_rate)
                    below = dist.binom_cdf(r - 1, n, national_rate)
                    step = np.where(above > below, (above - q) / (above - below), 0.0)
                    limit = (r - step) / n
                else:
                    variance = national_rate * (1 - national_rate) / n
                    if overdispersion == "multiplicative":
                        variance = dispersion * variance
                    else:
                        variance = variance + tau_squared
                    limit = national_rate + dist.norm_ppf(q) * np.sqrt(variance)
            out[f"{side}_{name}"] = np.where(n > 0, np.clip(limit, 0, 1), np.nan)
    return out


@dataclass(frozen=True)
class FunnelDispersion:
    """How much more the units of a funnel plot vary than chance alone would make them.

    ``phi`` is the dispersion ratio (1: as binomial chance; 6: six times the variance);
    ``tau_squared`` the between-unit variance of the additive random-effects model
    (0 when ``phi`` shows no overdispersion); ``units`` how many units they rest on;
    ``winsorise`` the share of z-scores pulled in at each tail.
    """

    phi: float
    tau_squared: float
    units: int
    winsorise: float

    @property
    def tau(self) -> float:
        """The between-unit standard deviation, on the rate's scale."""
        return float(np.sqrt(self.tau_squared))


def funnel_dispersion(
    numerator, denominator, *, centre: float, winsorise: float = 0.1
) -> FunnelDispersion:
    """The overdispersion of units' rates around ``centre`` (Spiegelhalter 2005).

    Each unit's z-score is ``z = (y - centre) / s`` with ``y = numerator / denominator``
    and ``s^2 = centre (1 - centre) / denominator``. The z-scores below their
    ``winsorise`` quantile are raised to it and those above the ``1 - winsorise``
    quantile lowered to it (quantiles interpolated linearly between order statistics,
    as R's default and NHS-R's FunnelPlotR), so that a few outlying units do not inflate
    the estimate. Then ``phi = sum(z^2) / I`` over the ``I`` units, and the
    DerSimonian-Laird style estimate of the between-unit variance is
    ``tau^2 = (I phi - (I - 1)) / (sum(w) - sum(w^2) / sum(w))`` with ``w = 1 / s^2``,
    or 0 when ``I phi <= I - 1`` (Spiegelhalter 2005, Quality and Safety in Health Care
    14:347). Units with a zero or missing denominator or a missing numerator are left
    out. With fewer than two units, or a centre of 0 or 1, nothing can be estimated:
    ``phi`` is NaN and ``tau_squared`` 0.
    """
    if not 0 <= winsorise < 0.5:
        raise ValueError(f"winsorise must be from 0 to below 0.5, got {winsorise!r}")
    x = np.asarray(numerator, dtype=float)
    n = np.asarray(denominator, dtype=float)
    keep = ~np.isnan(x) & (n > 0)
    x, n = x[keep], n[keep]
    units = len(n)
    if units < 2 or not 0 < centre < 1:
        return FunnelDispersion(np.nan, 0.0, units, winsorise)
    variance = centre * (1 - centre) / n
    z = (x / n - centre) / np.sqrt(variance)
    if winsorise > 0:
        low, high = np.quantile(z, [winsorise, 1 - winsorise])
        z = np.clip(z, low, high)
    phi = float(np.mean(z**2))
    weights = 1 / variance
    spread = weights.sum() - (weights**2).sum() / weights.sum()
    excess = units * phi - (units - 1)
    tau_squared = float(excess / spread) if excess > 0 and spread > 0 else 0.0
    return FunnelDispersion(phi, tau_squared, units, winsorise)


def funnel_table(
    counts: pd.DataFrame,
    *,
    unit: str = "establishment",
    levels: Sequence[float] = (0.95, 0.998),
    centre: float | None = None,
    overdispersion: str | None = "additive",
    winsorise: float = 0.1,
    min_units: int = 10,
) -> pd.DataFrame:
    """Each unit's rate with funnel limits around the rate of all units together.

    Parameters
    ----------
    counts
        One row per unit: ``unit``, ``numerator``, ``denominator``.
    unit
        The column naming the unit (establishment, probation division).
    levels
        Coverage of the limits drawn.
    centre
        Overrides the centre line (for example the rate of all units as shown after
        disclosure control, which need not equal the sum of the units shown).
    overdispersion
        ``additive`` (default, as NHS and UKHSA funnel plots), ``multiplicative``, or
        None for exact binomial limits always. The limits are widened only when the
        units vary more than chance would make them (``dispersion`` above 1) and there
        are at least ``min_units`` units to estimate that from; otherwise they are exact
        binomial. See :func:`funnel_dispersion` and :func:`funnel_limits`.
    winsorise
        Share of z-scores pulled in at each tail before estimating the dispersion.
    min_units
        Fewest units from which overdispersion is estimated.

    Returns
    -------
    pandas.DataFrame
        ``counts`` with ``rate``, ``national_rate``, the limits (``lower_95``,
        ``upper_95``, ``lower_998``, ``upper_998``) as drawn; ``position`` (above or
        below the 99.8% or 95% limit, or within limits, against the limits drawn);
        ``dispersion`` (the winsorised dispersion ratio phi; NaN when it cannot be
        estimated), ``tau`` (the between-unit standard deviation of the additive model,
        on the rate's scale) and ``limits``, which says in words which limits are
        drawn: "exact binomial", or "widened for overdispersion (additive random
        effects, tau = 0.041)" or "(multiplicative, phi = 3.9)", for the chart to
        state.
    """
    missing = {unit, "numerator", "denominator"} - set(counts.columns)
    if missing:
        raise ValueError(f"counts is missing column(s): {sorted(missing)}")
    if overdispersion not in (None, *OVERDISPERSION_METHODS):
        raise ValueError(
            f"overdispersion must be None or one of {OVERDISPERSION_METHODS}, "
            f"got {overdispersion!r}"
        )
    if min_units < 2:
        raise ValueError(f"min_units must be at least 2, got {min_units!r}")
    table = counts.copy()
    total = table["denominator"].sum()
    national = float(table["numerator"].sum() / total) if total > 0 else np.nan
    if centre is not None:
        if not 0 <= centre <= 1:
            raise ValueError(f"centre must be between 0 and 1, got {centre!r}")
        national = float(centre)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["rate"] = table["numerator"] / table["denominator"]
    table["national_rate"] = national
    table["dispersion"] = np.nan
    table["tau"] = np.nan
    table["limits"] = "exact binomial"
    if np.isnan(national):
        table["position"] = "within limits"
        return table
    spread = funnel_dispersion(
        table["numerator"], table["denominator"], centre=national, winsorise=winsorise
    )
    table["dispersion"] = spread.phi
    table["tau"] = spread.tau
    widen = (
        overdispersion is not None
        and spread.units >= min_units
        and spread.phi > 1
        and (overdispersion == "multiplicative" or spread.tau_squared > 0)
    )
    if widen and overdispersion == "additive":
        words = f"widened for overdispersion (additive random effects, tau = {spread.tau:.2g})"
    elif widen:
        words = f"widened for overdispersion (multiplicative, phi = {spread.phi:.2g})"
    elif overdispersion is not None and spread.units < min_units:
        words = f"exact binomial (overdispersion not estimated: fewer than {min_units} units)"
    else:
        words = "exact binomial"
    table["limits"] = words
    limits = funnel_limits(
        national_rate=national,
        denominators=table["denominator"],
        levels=levels,
        overdispersion=overdispersion if widen else None,
        dispersion=spread.phi if widen else 1.0,
        tau_squared=spread.tau_squared if widen else 0.0,
    )
    for column in limits.columns[1:]:
        table[column] = limits[column].to_numpy()
    rate = table["rate"].to_numpy(dtype=float)
    position = np.full(len(table), "within limits", dtype=object)
    if {"upper_95", "lower_95"} <= set(table.columns):
        position[rate > table["upper_95"].to_numpy()] = "above 95% limit"
        position[rate < table["lower_95"].to_numpy()] = "below 95% limit"
    if {"upper_998", "lower_998"} <= set(table.columns):
        position[rate > table["upper_998"].to_numpy()] = "above 99.8% limit"
        position[rate < table["lower_998"].to_numpy()] = "below 99.8% limit"
    table["position"] = position
    return table


# --- Representation against a benchmark ---------------------------------------------------


def representation(
    counts: pd.DataFrame, *, benchmarks: pd.DataFrame, by: Sequence[str] = ()
) -> pd.DataFrame:
    """Each group's share of the declared total against its benchmark share.

    ``share = count / total`` of declared groups within (characteristic, *by), with a
    Wilson interval; ``representation_ratio = share / benchmark_share`` (1: represented
    as in the benchmark population). A group is under-represented when its whole
    interval lies below the benchmark, over-represented when above it. A ``total``
    column, where given (a total counted, and protected, on its own), is used as it is;
    otherwise the total is the sum of the declared groups' counts.
    """
    keys = ["characteristic", *by]
    table = counts[~counts["group"].isin(NOT_DECLARED_VALUES)].copy()
    if "total" not in table.columns:
        table["total"] = table.groupby(keys, observed=True)["count"].transform("sum")
    with np.errstate(invalid="ignore", divide="ignore"):
        table["share"] = np.where(table["total"] > 0, table["count"] / table["total"], np.nan)
    table["share_low"], table["share_high"] = wilson_interval(table["count"], table["total"])
    reference = benchmarks[["characteristic", "group", "benchmark_share"]]
    table = table.merge(reference, on=["characteristic", "group"], how="left")
    with np.errstate(invalid="ignore", divide="ignore"):
        table["representation_ratio"] = table["share"] / table["benchmark_share"]
    table["under_represented"] = (table["share_high"] < table["benchmark_share"]).fillna(False)
    table["over_represented"] = (table["share_low"] > table["benchmark_share"]).fillna(False)
    return table


# --- Distributions, adjusted ratios, continuous measures ----------------------------------


@dataclass(frozen=True)
class DistributionTest:
    """Chi-square test of independence of groups (rows) and categories (columns)."""

    statistic: float
    dof: int
    p_value: float
    method: str


def distribution_test(table: pd.DataFrame) -> DistributionTest:
    """Pearson's chi-square test that the categories are distributed alike in every group.

    Rows or columns that are all zero are dropped first. When any expected count is
    below 5 the approximation is rough, and ``method`` says so.
    """
    values = np.asarray(table, dtype=float)
    values = values[values.sum(axis=1) > 0][:, values.sum(axis=0) > 0]
    if values.shape[0] < 2 or values.shape[1] < 2:
        return DistributionTest(0.0, 0, 1.0, "chi-square (nothing to compare)")
    # Pearson's statistic, sum (O - E)^2 / E with E from the margins, on (r-1)(c-1)
    # degrees of freedom: what scipy's chi2_contingency(correction=False) gives.
    expected = np.outer(values.sum(axis=1), values.sum(axis=0)) / values.sum()
    statistic = float(((values - expected) ** 2 / expected).sum())
    dof = (values.shape[0] - 1) * (values.shape[1] - 1)
    method = "Chi-square test of independence"
    if (expected < 5).any():
        method += " (some expected counts below 5: approximate)"
    return DistributionTest(statistic, dof, float(dist.chi2_sf(statistic, dof)), method)


def mantel_haenszel_relative_rate(
    strata_counts: pd.DataFrame,
    *,
    strata: Sequence[str],
    comparator: str | None = None,
    by: Sequence[str] = (),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Mantel-Haenszel relative rate of each group against the comparator, over strata.

    ``RR_MH = sum(a n0 / N) / sum(c n1 / N)`` over strata with both groups present, where
    the group has ``a`` of ``n1`` and the comparator ``c`` of ``n0``, ``N = n1 + n0``;
    its log has the Greenland-Robins variance
    ``sum((n1 n0 (a + c) - a c N) / N^2) / (sum(a n0 / N) sum(c n1 / N))`` (Greenland and
    Robins 1985). With one stratum it is the crude ratio with the Katz interval. The crude
    ratio (every stratum pooled, including strata where only one of the two groups is
    present) is returned beside it: a disparity that disappears once adjusted is
    explained by the strata (for example age mix). ``strata_used`` counts the strata
    that hold both groups, the only ones that inform the adjusted ratio.

    One row per ``by`` value, characteristic and group other than the comparator, in
    that order, for groups with at least one such stratum. Rows of one group in one
    stratum are added together first. With no ``comparator``, each ``by`` value's is the
    group with the most records (of the largest, the first in order of their text).

    Counted with numpy over codes: objective 5 pools a few hundred strata on every
    change, and the merges and group-bys of pandas took 60 ms for them (issue 11).
    """
    keys = [*by, "characteristic"]
    data = strata_counts[~strata_counts["group"].isin(NOT_DECLARED_VALUES)]
    groups = data["group"].astype(str)
    if comparator is not None and not (groups == comparator).any():
        raise ValueError(f"comparator group {comparator!r} is not present in the counts")
    key = _codes(data, keys, len(data), sort=True)
    key_rows = np.unique(key, return_index=True)[1]  # the first row of each
    group, group_names = pd.factorize(groups, sort=True)
    stratum = _codes(data, list(strata), len(data), sort=True)
    n_groups, n_strata = len(group_names), max(int(stratum.max(initial=-1)) + 1, 1)
    # Each (key, group, stratum) cell once, its rows added.
    cells, at = np.unique((key * n_groups + group) * n_strata + stratum, return_inverse=True)
    a = np.bincount(at, weights=data["numerator"].to_numpy(dtype=float))
    n = np.bincount(at, weights=data["denominator"].to_numpy(dtype=float))
    cell_key, rest = np.divmod(cells, n_groups * n_strata)
    cell_group, cell_stratum = np.divmod(rest, n_strata)
    chosen = _comparators(cell_key, cell_group, n, len(key_rows), group_names, comparator)
    reference = cell_group == chosen[cell_key]
    # The comparator's cell in the same key and stratum (cells are sorted, so are these).
    where = cell_key * n_strata + cell_stratum
    found, position = _positions(where[reference], where)
    c, n0 = np.zeros_like(a), np.zeros_like(n)
    c[found], n0[found] = a[reference][position[found]], n[reference][position[found]]
    used = found & ~reference & (n > 0) & (n0 > 0)
    # Each (key, group) pair other than the comparator, in order; rows for those used.
    pair = cell_key * n_groups + cell_group
    pairs, pair_of = np.unique(pair[used], return_inverse=True)
    big_n = n[used] + n0[used]
    au, cu, n1u, n0u = a[used], c[used], n[used], n0[used]
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.bincount(pair_of, weights=au * n0u / big_n, minlength=len(pairs))
        s = np.bincount(pair_of, weights=cu * n1u / big_n, minlength=len(pairs))
        v = np.bincount(
            pair_of,
            weights=(n1u * n0u * (au + cu) - au * cu * big_n) / big_n**2,
            minlength=len(pairs),
        )
    strata_used = np.bincount(pair_of, minlength=len(pairs)).astype("int64")
    # The crude ratio pools every stratum, also those where only one group is present.
    inside, every = _positions(pairs, pair)
    a_all = np.bincount(every[inside], weights=a[inside], minlength=len(pairs))
    n1_all = np.bincount(every[inside], weights=n[inside], minlength=len(pairs))
    pair_key, pair_group = np.divmod(pairs, n_groups)
    c_all = np.bincount(cell_key[reference], weights=a[reference], minlength=len(key_rows))
    n0_all = np.bincount(cell_key[reference], weights=n[reference], minlength=len(key_rows))
    z = _z(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        adjusted = r / s
        se = np.sqrt(v / (r * s))
        crude = (a_all / n1_all) / (c_all[pair_key] / n0_all[pair_key])
        low, high = adjusted * np.exp(-z * se), adjusted * np.exp(z * se)
    out = data[keys].iloc[key_rows[pair_key]].reset_index(drop=True)
    out["group"] = group_names[pair_group]
    out["comparator"] = group_names[chosen[pair_key]]
    finite = np.isfinite(se)
    out["crude_relative_rate"] = np.where(np.isfinite(crude), crude, np.nan)
    out["adjusted_relative_rate"] = np.where(np.isfinite(adjusted), adjusted, np.nan)
    out["adj_low"] = np.where(finite, low, np.nan)
    out["adj_high"] = np.where(finite, high, np.nan)
    out["strata_used"] = strata_used
    return out


def _comparators(
    cell_key: np.ndarray,
    cell_group: np.ndarray,
    records: np.ndarray,
    n_keys: int,
    group_names: pd.Index,
    comparator: str | None,
) -> np.ndarray:
    """Each key's comparator group (a code): ``comparator``, else its group with most records."""
    if comparator is not None:
        return np.full(n_keys, group_names.get_loc(comparator), dtype=np.int64)
    totals = np.zeros((n_keys, len(group_names)))
    np.add.at(totals, (cell_key, cell_group), records)
    present = np.zeros(totals.shape, dtype=bool)
    present[cell_key, cell_group] = True
    return np.where(present, totals, -np.inf).argmax(axis=1)


def _positions(values: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each query, whether it is in sorted, distinct ``values`` and where (0 if not)."""
    position = np.searchsorted(values, queries)
    found = position < len(values)
    found[found] = values[position[found]] == queries[found]
    return found, np.where(found, position, 0)


def mean_difference(
    *, mean_a, sd_a, n_a, mean_b, sd_b, n_b, confidence: float = 0.95
) -> pd.DataFrame:
    """Difference in means ``a - b`` with a Welch interval, from summary statistics.

    ``se = sqrt(sd_a^2/n_a + sd_b^2/n_b)``, Welch-Satterthwaite degrees of freedom; the
    two-sided p-value is Welch's t-test (Welch 1947). Groups with fewer than two
    respondents give NaN.
    """
    ma, sa, na = (np.asarray(v, dtype=float) for v in (mean_a, sd_a, n_a))
    mb, sb, nb = (np.asarray(v, dtype=float) for v in (mean_b, sd_b, n_b))
    with np.errstate(invalid="ignore", divide="ignore"):
        va, vb = sa**2 / na, sb**2 / nb
        se = np.sqrt(va + vb)
        dof = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
        difference = ma - mb
        t = difference / se
        p = 2 * dist.t_sf(np.abs(t), dof)
        q = dist.t_ppf(0.5 + confidence / 2, dof)
    bad = (na < 2) | (nb < 2)
    return pd.DataFrame(
        {
            "difference": np.where(bad, np.nan, difference),
            "low": np.where(bad, np.nan, difference - q * se),
            "high": np.where(bad, np.nan, difference + q * se),
            "p_value": np.where(bad, np.nan, p),
            "dof": np.where(bad, np.nan, dof),
        }
    )


@dataclass(frozen=True)
class MedianComparison:
    """Medians of two samples and the two-sided Mann-Whitney U test between them."""

    median_a: float
    median_b: float
    statistic: float
    p_value: float


def compare_medians(values_a, values_b) -> MedianComparison:
    """Medians of two samples compared with the two-sided Mann-Whitney U test."""
    a = np.asarray(values_a, dtype=float)
    b = np.asarray(values_b, dtype=float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) == 0 or len(b) == 0:
        return MedianComparison(np.nan, np.nan, np.nan, np.nan)
    medians = float(np.median(a)), float(np.median(b))
    n1, n2 = len(a), len(b)
    _, where, ties = np.unique(np.r_[a, b], return_inverse=True, return_counts=True)
    if min(n1, n2) <= 8 and not (ties > 1).any():
        # scipy's exact distribution of U (its choice for a small sample without ties).
        result = _scipy_stats().mannwhitneyu(a, b, alternative="two-sided")
        return MedianComparison(*medians, float(result.statistic), float(result.pvalue))
    # The normal approximation with the tie and continuity corrections, as scipy's
    # mannwhitneyu makes it for larger samples or any ties: ranks averaged over ties.
    ends = np.cumsum(ties)
    ranks = ((ends - ties + 1 + ends) / 2)[where]
    u1 = float(ranks[:n1].sum()) - n1 * (n1 + 1) / 2
    n = n1 + n2
    spread = np.sqrt(n1 * n2 / 12 * ((n + 1) - float((ties**3 - ties).sum()) / (n * (n - 1))))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (max(u1, n1 * n2 - u1) - n1 * n2 / 2 - 0.5) / spread
    p_value = float(np.clip(2 * dist.norm_sf(z), 0.0, 1.0))
    return MedianComparison(*medians, u1, p_value)


# --- Declaration ------------------------------------------------------------------------


def declaration_rates(
    frame: pd.DataFrame,
    *,
    characteristics: Sequence[str],
    by: Sequence[str] = (),
    target: float = 0.8,
    publish_threshold: float = 0.6,
) -> pd.DataFrame:
    """Share of records with a real declaration for each characteristic (by ``by``).

    A value is declared unless it is missing or one of "Not stated", "Refused",
    "Unknown", "Unrecorded". Wilson interval; ``meets_target`` against the 80% target;
    ``below_publication_threshold`` below 60%, the level under which HMPPS does not
    publish a staff characteristic.
    """
    parts = []
    for characteristic in characteristics:
        values = frame[characteristic]
        declared = values.notna() & ~values.astype("string").isin(NOT_DECLARED_VALUES)
        work = pd.DataFrame({"declared": declared.to_numpy(dtype="int64")}, index=frame.index)
        for column in by:
            work[column] = frame[column]
        if by:
            summed = work.groupby(list(by), observed=True)["declared"].agg(["sum", "size"])
            summed = summed.reset_index()
        else:
            summed = pd.DataFrame({"sum": [int(work["declared"].sum())], "size": [len(work)]})
        summed = summed.rename(columns={"sum": "declared", "size": "records"})
        summed.insert(len(by), "characteristic", characteristic)
        parts.append(summed)
    columns = [*by, "characteristic", "declared", "records"]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    return declaration_table(table, target=target, publish_threshold=publish_threshold)


def declaration_table(
    counts: pd.DataFrame, *, target: float = 0.8, publish_threshold: float = 0.6
) -> pd.DataFrame:
    """Declaration rate from counts of ``declared`` and ``records`` (any other columns kept).

    ``declaration_rate = declared / records`` with a Wilson interval; ``meets_target``
    against ``target``; ``below_publication_threshold`` below ``publish_threshold``.
    Missing counts (hidden by disclosure control) give NaN and neither flag.
    """
    table = counts.copy()
    declared = pd.to_numeric(table["declared"], errors="coerce").to_numpy(dtype=float)
    records = pd.to_numeric(table["records"], errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["declaration_rate"] = np.where(records > 0, declared / records, np.nan)
    table["rate_low"], table["rate_high"] = wilson_interval(declared, records)
    table["meets_target"] = table["declaration_rate"] >= target
    table["below_publication_threshold"] = table["declaration_rate"] < publish_threshold
    return table
