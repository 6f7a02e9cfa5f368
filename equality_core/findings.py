"""Findings as data: each panel's protected table with the words that describe it.

A :class:`Finding` is what one panel of the dashboard shows: the table (after disclosure
control), the headline that states what the table shows, a subtitle saying what the
figures are, a text description for screen readers, notes, and the kind of chart that
draws it. The headline is computed here, from the table it sits on, so a test can hold
one against the other; pages, slides and board packs draw the same object and add no
words of their own about the figures.

The vocabulary of flags (DESIGN.md section 3) reads with the measure's direction:
"higher (adverse)", "lower (favourable)", "significant, within the tolerance band", "no
significant difference", "too few to assess".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from equality_core import disclosure, stats
from equality_core.measures import Measure
from equality_core.schema import CHARACTERISTICS

#: The kinds of chart a Finding may ask for; the dashboard has one drawing for each.
CHART_KINDS = (
    "forest",
    "rates",
    "trend",
    "funnel",
    "matrix",
    "flags",
    "declaration",
    "representation",
    "distribution",
    "grouped_bars",
    "difference",
    "adjusted_forest",
    "share_by_year",
    "table",
)

#: The flag values that mark a significant difference outside the tolerance band.
FLAGGED = ("higher", "lower")


@dataclass(frozen=True)
class Finding:
    """One panel's figures and words.

    Parameters
    ----------
    key
        A stable name, used for widget keys and file names.
    chart
        One of :data:`CHART_KINDS`.
    headline
        The finding in one sentence, stated from ``table`` (the chart's title).
    subtitle
        What the figures are: the measure, the place, the period.
    description
        The text alternative of the chart.
    table
        The protected table the table view and every download show.
    columns
        The columns of ``table`` that the table view and downloads show, in order.
    drawn
        The rows the chart draws (hidden rows left out), with any columns it needs.
    notes
        Sentences shown under the chart (what is hidden, which limits are drawn, which
        comparator a population is compared with).
    titles
        Column titles for the table view, where the default ones do not fit.
    options
        What the chart needs besides its data (the tolerance band, the kind of rate).
    empty
        When set, there is nothing to draw and this says why; ``headline`` then says so
        too, and no finding is stated.
    """

    key: str
    chart: str
    headline: str
    subtitle: str
    description: str
    table: pd.DataFrame = field(repr=False)
    columns: tuple[str, ...]
    drawn: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...] = ()
    titles: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    empty: str | None = None

    def __post_init__(self) -> None:
        if self.chart not in CHART_KINDS:
            raise ValueError(f"chart must be one of {CHART_KINDS}, got {self.chart!r}")
        missing = [c for c in self.columns if c not in self.table.columns]
        if missing and not self.table.empty:
            raise ValueError(f"columns {missing} are not in the finding's table")

    @property
    def file_name(self) -> str:
        """A file name for the finding's downloads."""
        return self.key.replace(":", "-").replace("_", "-")


def nothing_to_draw(
    *,
    key: str,
    chart: str,
    headline: str,
    subtitle: str,
    table: pd.DataFrame,
    why: str,
    options: Mapping[str, Any] | None = None,
) -> Finding:
    """A Finding with nothing to draw: its headline says so, and ``why`` says why."""
    return Finding(
        key=key,
        chart=chart,
        headline=headline,
        subtitle=subtitle,
        description="Nothing to show.",
        table=table,
        columns=(),
        drawn=table,
        options=dict(options or {}),
        empty=why,
    )


# --- The vocabulary ----------------------------------------------------------------------


def flag_words(flag: object, direction: str) -> str:
    """A flag in words, with the measure's direction: 'higher (adverse)'."""
    if flag is None or pd.isna(flag):
        return "not compared"
    flag = str(flag)
    if flag in FLAGGED:
        if direction == "neutral":
            return flag
        good = (flag == "higher") == (direction == "favourable")
        return f"{flag} ({'favourable' if good else 'adverse'})"
    return {
        "within band": "significant, within the tolerance band",
        "no difference": "no significant difference",
        "too few": "too few to assess",
        "comparator": "comparator",
        disclosure.SUPPRESSED: disclosure.SUPPRESSED,
    }.get(flag, flag)


def with_flag_words(table: pd.DataFrame, direction: str) -> pd.DataFrame:
    """``table`` with ``flag_words`` beside ``flag`` (for tooltips and descriptions)."""
    return table.assign(flag_words=[flag_words(f, direction) for f in table["flag"]])


def _short(characteristic: str, group: str) -> str:
    return CHARACTERISTICS[characteristic].short_label(str(group))


def _comparator_of(table: pd.DataFrame) -> str | None:
    comparators = table["comparator"].dropna().astype(str) if "comparator" in table else []
    return str(comparators.iloc[0]) if len(comparators) else None


def _declared(table: pd.DataFrame, characteristic: str) -> pd.DataFrame:
    return table[table["group"].astype(str).isin(CHARACTERISTICS[characteristic].groups)]


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    if "suppressed" not in table.columns:
        return table
    return table[~table["suppressed"].astype(bool)]


def interval_excludes_parity(table: pd.DataFrame) -> pd.Series:
    """Rows whose relative-rate interval lies wholly above or below 1."""
    low = pd.to_numeric(table.get("rr_low"), errors="coerce")
    high = pd.to_numeric(table.get("rr_high"), errors="coerce")
    return ((low > 1) | (high < 1)).fillna(False)


@dataclass(frozen=True)
class Outcome:
    """What is measured, in words: a catalogue measure, or a survey question or a death."""

    name: str
    label: str
    kind: str = "proportion"
    direction: str = "adverse"

    @classmethod
    def of(cls, measure: Measure) -> Outcome:
        """The outcome a catalogue measure counts."""
        return cls(measure.name, measure.label, measure.kind, measure.direction)


@dataclass(frozen=True)
class View:
    """What a panel's figures are about, in words and parameters.

    ``measure`` is what is counted (a :class:`Outcome`, or a catalogue measure);
    ``place`` names the population (an establishment, a region, England and Wales);
    ``period`` the period in words; ``within`` the 'look within' words (may be empty).
    """

    measure: Outcome | Measure
    characteristic: str
    place: str
    period: str
    within: str = ""
    rule: stats.FlagRule = field(default_factory=stats.FlagRule)

    def __post_init__(self) -> None:
        if isinstance(self.measure, Measure):
            object.__setattr__(self, "measure", Outcome.of(self.measure))

    @property
    def by_words(self) -> str:
        """The characteristic in words, for 'by ethnic group'."""
        return CHARACTERISTICS[self.characteristic].label.lower()

    @property
    def subtitle(self) -> str:
        """The measure, place and period, for a chart's subtitle."""
        return f"{self.measure.label}: {self.place}, {self.period}{self.within}"


# --- Relative rates ------------------------------------------------------------------------


def relative_rate_headline(table: pd.DataFrame, view: View) -> str:
    """What the place's relative rates show, in one sentence, from the table alone.

    Names the flagged group furthest from parity; else a significant difference inside
    the tolerance band; else says that differences seen are not significant once the
    groups compared are allowed for (when an interval excludes parity); else no
    significant difference; else too few. A place whose groups are all hidden or empty
    has no finding: the sentence says that it has too few records to show.
    """
    label = view.measure.label
    declared = _declared(table, view.characteristic)
    visible = _shown(declared)
    comparator = _comparator_of(visible)
    if visible.empty or not (visible["denominator"].fillna(0) > 0).any() or comparator is None:
        return f"{view.place} has too few records to show {label.lower()} by {view.by_words}"
    comparator_name = _short(view.characteristic, comparator)
    flags = visible["flag"].astype("string")
    flagged = visible[flags.isin(FLAGGED)]
    if not flagged.empty:
        # A group compared with a comparator that had none has no ratio: it is the
        # furthest from parity there is.
        distance = np.abs(np.log(flagged["relative_rate"].astype(float))).fillna(np.inf)
        top = flagged.loc[distance.idxmax()]
        others = len(flagged) - 1
        more = f" ({others} other group{'s' if others != 1 else ''} also flagged)" if others else ""
        group = _short(view.characteristic, top["group"])
        words = flag_words(top["flag"], view.measure.direction)
        if pd.isna(top["relative_rate"]):
            return (
                f"{label}: {group} {top['numerator']:,.0f} of {top['denominator']:,.0f}, "
                f"{comparator_name} none, {words}{more}"
            )
        return (
            f"{label}: {group} rate {top['relative_rate']:.2f} times {comparator_name}, "
            f"{words}{more}"
        )
    within = visible[flags == "within band"]
    if not within.empty:
        top = within.loc[np.abs(np.log(within["relative_rate"].astype(float))).idxmax()]
        return (
            f"{label}: {_short(view.characteristic, top['group'])} differs significantly from "
            f"{comparator_name} ({top['relative_rate']:.2f}), but within the tolerance band"
        )
    tested = flags.isin(["no difference"])
    if tested.any():
        if interval_excludes_parity(visible[tested]).any():
            return (
                f"{label}: differences from {comparator_name} in {view.place} are not "
                "significant once every comparison on the page is allowed for"
            )
        return f"{label}: no group differs significantly from {comparator_name} in {view.place}"
    return f"{label}: too few people in each group to compare by {view.by_words} in {view.place}"


def _row_words(row: pd.Series, direction: str) -> str:
    series = f" ({row['series']})" if "series" in row and pd.notna(row.get("series")) else ""
    if bool(row.get("comparator_has_none", False)):
        return (
            f"{row['group']}{series}: {row['numerator']:,.0f} of {row['denominator']:,.0f}; the "
            f"comparator, {row['comparator']}, had none, so there is no ratio; "
            f"{flag_words(row['flag'], direction)} by the exact test"
        )
    if pd.isna(row.get("relative_rate")):
        return f"{row['group']}{series}: {flag_words(row['flag'], direction)}"
    return (
        f"{row['group']}{series}: {row['relative_rate']:.2f} (95% interval "
        f"{row['rr_low']:.2f} to {row['rr_high']:.2f}), {flag_words(row['flag'], direction)}"
    )


def describe_relative_rates(table: pd.DataFrame, direction: str) -> str:
    """Text alternative for a forest plot: each group's ratio, interval and flag in words."""
    rows = table[table["flag"].astype("string") != "comparator"]
    rows = rows[rows["relative_rate"].notna() | rows.get("comparator_has_none", False)]
    if rows.empty:
        return "No relative rates to describe."
    parts = [_row_words(row, direction) for _, row in rows.iterrows()]
    comparators = sorted({str(c) for c in rows["comparator"].dropna()})
    return f"Relative rates against {' and '.join(comparators)}: " + "; ".join(parts) + "."


def comparator_note(table: pd.DataFrame) -> str | None:
    """Where populations on one chart have different comparators, a sentence naming each."""
    if "series" not in table.columns:
        return None
    pairs = (
        table.dropna(subset=["comparator"])
        .groupby("series", sort=False)["comparator"]
        .first()
        .astype(str)
    )
    if pairs.nunique() <= 1:
        return None
    return "Comparators differ: " + "; ".join(f"{s} against {c}" for s, c in pairs.items()) + "."


def no_comparator_events_note(table: pd.DataFrame, characteristic: str) -> str | None:
    """Words for comparisons whose comparator had no events: there is no ratio to draw."""
    if "comparator_has_none" not in table.columns:
        return None
    rows = table[table["comparator_has_none"].fillna(False).astype(bool)]
    if rows.empty:
        return None
    parts = [
        f"{_short(characteristic, r['group'])}: {r['numerator']:,.0f} of {r['denominator']:,.0f}"
        for _, r in rows.iterrows()
    ]
    comparator = _short(characteristic, str(rows["comparator"].iloc[0]))
    return (
        f"{comparator} had none, so no ratio is drawn for " + "; ".join(parts) + " (flagged, if "
        "at all, by the exact test alone)."
    )


def hidden_note(table: pd.DataFrame, *, what: str = "group") -> str | None:
    """How many rows read [c], and why, or None."""
    if "suppressed" not in table.columns or not table["suppressed"].any():
        return None
    hidden = int(table["suppressed"].sum())
    return (
        f"{hidden} {what}{'s' if hidden != 1 else ''} show [c]: fewer than "
        f"{disclosure.SMALL_COUNT_MAX + 1} people, or too few once perturbed. Counts are "
        "perturbed slightly (cell key method), so a total may differ a little from the sum "
        "of its parts."
    )


_RESULT_COLUMNS = ("group", "numerator", "denominator", *stats.REPORTED_COLUMNS)


def relative_rates(table: pd.DataFrame, national: pd.DataFrame | None, view: View) -> Finding:
    """The forest plot: each group's relative rate against the comparator, with intervals.

    ``table`` is the place's protected disparity table; ``national`` England and Wales'
    for the same filters (None when the place is England and Wales).
    """
    both = _with_series(table, national, view)
    drawn = with_flag_words(_shown(both), view.measure.direction)
    headline = relative_rate_headline(table, view)
    notes = [
        n
        for n in (
            comparator_note(_shown(both)),
            no_comparator_events_note(_shown(both), view.characteristic),
            hidden_note(both),
        )
        if n
    ]
    empty = None
    if not drawn["relative_rate"].notna().any():
        empty = "No group has enough people to compare with the comparator."
    return Finding(
        key=f"{view.measure.name}:relative-rates",
        chart="forest",
        headline=headline,
        subtitle=f"Relative rate against the comparator. {view.subtitle}",
        description=describe_relative_rates(drawn, view.measure.direction),
        table=both,
        columns=tuple(c for c in ("series", *_RESULT_COLUMNS) if c in both.columns),
        drawn=drawn,
        notes=tuple(notes),
        options={"tolerance": view.rule.tolerance},
        empty=empty,
    )


def _with_series(table: pd.DataFrame, national: pd.DataFrame | None, view: View) -> pd.DataFrame:
    out = table.assign(series=view.place)
    if national is not None:
        out = pd.concat([out, national.assign(series="England and Wales")], ignore_index=True)
    return out.assign(measure_label=view.measure.label)


# --- Rates ------------------------------------------------------------------------------


def _rate_text(rate: float, kind: str) -> str:
    return f"{rate:.1%}" if kind == "proportion" else f"{rate * 100:,.1f} per 100"


def rates_headline(table: pd.DataFrame, view: View) -> str:
    """The range of the place's declared groups' rates, or that it has too few to show."""
    label = view.measure.label
    declared = _shown(_declared(table, view.characteristic)).dropna(subset=["rate"])
    if declared.empty:
        return f"{view.place} has too few records to show {label.lower()} by {view.by_words}"
    low = declared.loc[declared["rate"].idxmin()]
    high = declared.loc[declared["rate"].idxmax()]
    kind = view.measure.kind
    if len(declared) == 1 or low["rate"] == high["rate"]:
        return f"{label}: {_rate_text(high['rate'], kind)} in every group shown"
    return (
        f"{label}: from {_rate_text(low['rate'], kind)} "
        f"({_short(view.characteristic, low['group'])}) to {_rate_text(high['rate'], kind)} "
        f"({_short(view.characteristic, high['group'])}) in {view.place}"
    )


def describe_rates(table: pd.DataFrame, *, kind: str) -> str:
    """Text alternative for a rates chart."""
    rows = table.dropna(subset=["rate"])
    if rows.empty:
        return "No rates to describe."
    parts = []
    for _, row in rows.iterrows():
        series = f" ({row['series']})" if "series" in rows.columns else ""
        parts.append(
            f"{row['group']}{series}: {_rate_text(row['rate'], kind)} "
            f"({_rate_text(row['rate_low'], kind)} to {_rate_text(row['rate_high'], kind)})"
        )
    return "Rates with 95% intervals: " + "; ".join(parts) + "."


def rates(table: pd.DataFrame, national: pd.DataFrame | None, view: View) -> Finding:
    """Rates by group, with intervals, for the place beside England and Wales."""
    both = _with_series(table, national, view)
    drawn = with_flag_words(_shown(both).dropna(subset=["rate"]), view.measure.direction)
    return Finding(
        key=f"{view.measure.name}:rates",
        chart="rates",
        headline=rates_headline(table, view),
        subtitle=f"Rate by {view.by_words}. {view.subtitle}",
        description=describe_rates(drawn, kind=view.measure.kind),
        table=both,
        columns=tuple(c for c in ("series", *_RESULT_COLUMNS) if c in both.columns),
        drawn=drawn,
        notes=tuple(n for n in (hidden_note(both),) if n),
        options={"kind": view.measure.kind},
        empty=None if len(drawn) else "No group has enough people to show a rate.",
    )


# --- Trend ------------------------------------------------------------------------------


def trend_groups(table: pd.DataFrame, *, characteristic: str, limit: int = 4) -> pd.DataFrame:
    """At most ``limit`` declared groups for a trend chart: the comparator, then the largest.

    Too many lines make a chart unreadable (the Analysis Function advises four at most);
    the table view keeps every group.
    """
    declared = _shown(_declared(table, characteristic))
    if declared.empty:
        return declared
    comparator = _comparator_of(declared)
    size = declared.groupby("group")["denominator"].sum().sort_values(ascending=False)
    order = list(size.index)
    if comparator in order:
        order = [comparator, *[g for g in order if g != comparator]]
    keep = order[:limit]
    out = declared[declared["group"].isin(keep)].copy()
    out["group"] = pd.Categorical(out["group"], categories=keep)
    out = out.sort_values(["group", "period"]).reset_index(drop=True)
    out["group"] = out["group"].astype(str)
    return out


def trend_headline(drawn: pd.DataFrame, view: View) -> str:
    """How the groups' rates moved from the first period shown to the latest."""
    label = view.measure.label
    if drawn.empty:
        return f"{view.place} has too few records to show {label.lower()} over time"
    periods = sorted(drawn["period"].unique())
    if len(periods) < 2:
        return f"{label}: one period only in {view.place}"
    first, last = periods[0], periods[-1]
    start = drawn[drawn["period"] == first]["rate"].mean()
    end = drawn[drawn["period"] == last]["rate"].mean()
    change = "risen" if end > start * 1.05 else ("fallen" if end < start * 0.95 else "held steady")
    return f"{label} in {view.place} has {change} since {first}, on average across the groups shown"


def describe_trend(table: pd.DataFrame, *, kind: str) -> str:
    """Text alternative for a trend chart: first and latest rate of each group."""
    if table.empty:
        return "No trend to describe."
    parts = []
    for group, rows in table.groupby("group", sort=False):
        rows = rows.sort_values("period")
        parts.append(
            f"{group}: {_rate_text(rows['rate'].iloc[0], kind)} in {rows['period'].iloc[0]}, "
            f"{_rate_text(rows['rate'].iloc[-1], kind)} in {rows['period'].iloc[-1]}"
        )
    return "Rates over time. " + "; ".join(parts) + "."


#: What a trend's table shows: rates only. Its comparisons would be adjusted per period
#: and measure, not as the page's family, so they are left to each period's own matrix.
_TREND_COLUMNS = ("period", "group", "numerator", "denominator", "rate", "rate_low", "rate_high")


def trend(table: pd.DataFrame, view: View) -> Finding:
    """Each of (at most four) groups' rate in every period, for the place."""
    drawn = trend_groups(table, characteristic=view.characteristic)
    return Finding(
        key=f"{view.measure.name}:trend",
        chart="trend",
        headline=trend_headline(drawn, view),
        subtitle=f"{view.measure.label} by {view.by_words}: {view.place}{view.within}",
        description=describe_trend(drawn, kind=view.measure.kind),
        table=table,
        columns=tuple(c for c in _TREND_COLUMNS if c in table.columns),
        drawn=drawn,
        notes=tuple(n for n in (hidden_note(table, what="row"),) if n),
        options={"kind": view.measure.kind},
        empty=None if len(drawn) else "No period has enough people to show a rate.",
    )


# --- Funnel plot ---------------------------------------------------------------------------


def funnel_headline(
    table: pd.DataFrame, *, view: View, highlight: str | None, unit: str, names: Mapping[str, str]
) -> str:
    """Where the chosen unit lies, or how many units lie outside the 99.8% limits."""
    shown = _shown(table)
    if shown.empty:
        return f"Too few records to compare units on {view.measure.label.lower()}"
    codes = table[unit].astype(str)
    if highlight is not None and highlight in set(codes):
        row = table[codes == highlight].iloc[0]
        name = names.get(highlight, highlight)
        if bool(row.get("suppressed", False)):
            return f"{name} has too few records to place on the funnel plot ([c])"
        return f"{name} is {row['position']}"
    position = shown["position"].astype(str)
    outside = int(position.str.contains("99.8").sum())
    return (
        f"{outside} of {len(shown)} lie outside the 99.8% control limits"
        if outside
        else f"All {len(shown)} lie within the 99.8% control limits"
    )


def limits_words(table: pd.DataFrame) -> str:
    """Which control limits a funnel plot draws, in words."""
    limits = table["limits"].dropna().astype(str) if "limits" in table.columns else []
    what = str(limits.iloc[0]) if len(limits) else "exact binomial"
    return f"Lines: 95% (dashed) and 99.8% limits, {what}"


def describe_funnel(
    table: pd.DataFrame, *, unit: str, names: Mapping[str, str] | None = None, limit: int = 6
) -> str:
    """Text alternative for a funnel plot: how many units lie outside each limit, and which.

    Names at most ``limit`` units (those furthest outside the 99.8% limits first); the
    table view lists them all.
    """
    names = names or {}
    shown = _shown(table)
    position = shown["position"].astype(str)
    above = int(position.str.startswith("above").sum())
    below = int(position.str.startswith("below").sum())
    if not above and not below:
        return f"All {len(shown)} lie within the 95% control limits."
    outside = shown[position.str.contains("99.8")].copy()
    words = (
        f"{above + below} of {len(shown)} lie outside the 95% control limits "
        f"({above} above, {below} below); {len(outside)} outside the 99.8% limits"
    )
    if outside.empty:
        return words + "."
    national = float(shown["national_rate"].iloc[0])
    outside["distance"] = (outside["rate"] - national).abs()
    listed = outside.sort_values("distance", ascending=False).head(limit)
    parts = [
        f"{names.get(str(row[unit]), row[unit])} {row['rate']:.1%} ({row['position']})"
        for _, row in listed.iterrows()
    ]
    more = f", and {len(outside) - len(listed)} more in the table" if len(outside) > limit else ""
    return f"{words}, furthest first: " + "; ".join(parts) + more + "."


def funnel(
    table: pd.DataFrame,
    view: View,
    *,
    unit: str,
    highlight: str | None,
    names: Mapping[str, str],
    group_words: str,
) -> Finding:
    """Each unit's rate against its size, with control limits around the overall rate."""
    table = table.assign(name=table[unit].astype(str).map(lambda c: names.get(c, c)))
    drawn = _shown(table)
    limits = limits_words(table)
    columns = (
        unit,
        "name",
        "numerator",
        "denominator",
        "rate",
        "lower_95",
        "upper_95",
        "lower_998",
        "upper_998",
        "position",
    )
    return Finding(
        key=f"{view.measure.name}:funnel",
        chart="funnel",
        headline=funnel_headline(table, view=view, highlight=highlight, unit=unit, names=names),
        subtitle=f"{view.measure.label}, {group_words}: {view.period}. {limits}",
        description=describe_funnel(table, unit=unit, names=names) + f" {limits}.",
        table=table,
        columns=tuple(c for c in columns if c in table.columns),
        drawn=drawn,
        notes=tuple(n for n in (hidden_note(table, what="unit"), limits + ".") if n),
        options={"unit": unit, "highlight": highlight},
        empty=None if len(drawn) else "No unit has enough records to show.",
    )


# --- Declaration -------------------------------------------------------------------------------


def declaration(coverage: pd.DataFrame, *, place: str, target: float = 0.8) -> Finding:
    """Declaration rate of each characteristic against the target."""
    drawn = _shown(coverage).dropna(subset=["declaration_rate"]).copy()
    drawn["label"] = drawn["characteristic"].map(lambda c: CHARACTERISTICS[c].label)
    drawn["status"] = np.where(
        drawn["meets_target"].astype(bool),
        f"Meets the {target:.0%} target",
        f"Below the {target:.0%} target",
    )
    below = drawn.loc[~drawn["meets_target"].astype(bool), "label"].tolist()
    if drawn.empty:
        headline = f"{place} has too few records to show declaration rates"
    elif not below:
        headline = f"Every characteristic shown is declared on at least {target:.0%} of records"
    else:
        headline = f"{len(below)} characteristic(s) below the {target:.0%} declaration target"
    description = "; ".join(
        f"{row.label} {row.declaration_rate:.0%}" for row in drawn.itertuples(index=False)
    )
    table = coverage.assign(
        label=coverage["characteristic"].map(lambda c: CHARACTERISTICS[c].label)
    )
    return Finding(
        key="declaration",
        chart="declaration",
        headline=headline,
        subtitle=f"Share of records declaring each characteristic: {place}",
        description=f"Declaration rates: {description}." if description else "Nothing to show.",
        table=table,
        columns=("label", "declared", "records", "declaration_rate", "rate_low", "rate_high"),
        drawn=drawn,
        notes=tuple(n for n in (hidden_note(coverage, what="characteristic"),) if n),
        options={"target": target},
        empty=None if len(drawn) else "Too few records to show declaration rates.",
    )


def matrix_headline(table: pd.DataFrame, *, characteristic: str) -> str:
    """How many cells of the matrix are flagged, higher and lower."""
    flags = _declared(table, characteristic)["flag"].astype("string")
    higher, lower = int((flags == "higher").sum()), int((flags == "lower").sum())
    by = CHARACTERISTICS[characteristic].label.lower()
    return f"{higher + lower} disproportionate outcome(s) by {by}: {higher} higher, {lower} lower"


def flagged_cells(table: pd.DataFrame, measures: Mapping[str, Measure]) -> list[str]:
    """Each flagged cell in words: 'Force used: Black prisoners 1.67 times White'."""
    rows = table[table["flag"].astype("string").isin(FLAGGED).to_numpy()]
    out = []
    # Column by column: a row at a time (``iterrows``) cost the overview a tenth of a
    # change of place, for the dozen lists of its tiles.
    columns = ("measure", "characteristic", "group", "comparator", "relative_rate")
    counts = ("numerator", "denominator", "flag")
    for name, characteristic, group, comparator, rate, numerator, denominator, flag in zip(
        *(rows[column].tolist() for column in (*columns, *counts)), strict=True
    ):
        measure = measures[name]
        characteristic = str(characteristic)
        group, comparator = _short(characteristic, group), _short(characteristic, comparator)
        ratio = (
            f"{rate:.2f} times {comparator}"
            if pd.notna(rate)
            else f"{numerator:,.0f} of {denominator:,.0f}, {comparator} none"
        )
        out.append(f"{measure.label}: {group} {ratio}, {flag_words(flag, measure.direction)}")
    return out


def sentence_list(items: Sequence[str], *, limit: int = 8) -> str:
    """Items joined with semicolons, the rest counted: for descriptions."""
    shown = list(items[:limit])
    more = len(items) - len(shown)
    return "; ".join(shown) + (f"; and {more} more in the table" if more > 0 else "")


# --- The Equality Monitoring Tool matrix and flags over time -------------------------------


def _meaning(flag: object, direction: str) -> str:
    """What a matrix cell's colour stands for: a flag's direction, or the flag itself."""
    if flag is None or pd.isna(flag):
        return "not declared"
    if str(flag) in FLAGGED:
        if direction == "neutral":
            return "neutral"
        good = (str(flag) == "higher") == (direction == "favourable")
        return "favourable" if good else "adverse"
    return str(flag)


def matrix(
    table: pd.DataFrame,
    *,
    characteristic: str,
    place: str,
    period: str,
    within: str,
    measures: Mapping[str, Measure],
) -> Finding:
    """The Equality Monitoring Tool: every measure by every declared group, with its flag.

    The headline counts the flags the table holds; the description names each flagged
    cell. The cells are one Benjamini-Hochberg family, and the note says so.
    """
    declared = _declared(table, characteristic).copy() if len(table) else table
    by = CHARACTERISTICS[characteristic].label.lower()
    if declared.empty:
        return nothing_to_draw(
            key=f"matrix:{characteristic}",
            chart="matrix",
            headline=f"{place} has too few records to compare outcomes by {by}",
            subtitle=f"{place}, {period}{within}",
            table=declared,
            why="No outcome has enough people to compare.",
        )
    directions = declared["measure"].map(lambda m: measures[m].direction)
    declared["flag_words"] = [
        flag_words(f, d) for f, d in zip(declared["flag"], directions, strict=True)
    ]
    declared["meaning"] = [
        _meaning(f, d) for f, d in zip(declared["flag"], directions, strict=True)
    ]
    cells = flagged_cells(declared, measures)
    judged = int(declared["p_value"].notna().sum())
    family = (
        f"The {judged} comparisons on this page are one family for the Benjamini-Hochberg "
        "adjustment: every measure by every group, for this characteristic, period and place."
    )
    return Finding(
        key=f"matrix:{characteristic}",
        chart="matrix",
        headline=matrix_headline(declared, characteristic=characteristic),
        subtitle=(
            f"{place}, {period}{within}. Cell: relative rate against the comparator; "
            "▲ higher, ▼ lower; orange adverse, dark blue favourable, grey neutral"
        ),
        description=(
            f"Equality Monitoring Tool by {by}, {place}, {period}{within}. Flagged cells: "
            + (sentence_list(cells) or "none")
            + "."
        ),
        table=declared,
        columns=tuple(c for c in ("measure_label", *_RESULT_COLUMNS) if c in declared.columns),
        drawn=declared,
        notes=tuple(n for n in (family, hidden_note(declared, what="cell")) if n),
    )


def flags_over_time(
    table: pd.DataFrame, *, characteristic: str, place: str, within: str
) -> Finding:
    """How many cells of each financial year's matrix are flagged."""
    by = CHARACTERISTICS[characteristic].label.lower()
    if table.empty:
        return nothing_to_draw(
            key=f"flags-by-year:{characteristic}",
            chart="flags",
            headline=f"No complete financial year to count flags by {by} in {place}",
            subtitle=f"{place}{within}",
            table=table,
            why="No complete financial year in the data.",
        )
    first, last = table.iloc[0], table.iloc[-1]
    total_first = int(first["higher"] + first["lower"])
    total_last = int(last["higher"] + last["lower"])
    since = (
        f", against {total_first} in {first['period']}"
        if len(table) > 1
        else "; no earlier complete financial year to compare"
    )
    return Finding(
        key=f"flags-by-year:{characteristic}",
        chart="flags",
        headline=f"{total_last} flag(s) by {by} in {last['period']}{since}",
        subtitle=(
            f"Cells of each financial year's Equality Monitoring Tool flagged higher and lower: "
            f"{place}{within}"
        ),
        description=(
            f"Flags by {by}, by financial year: "
            + "; ".join(
                f"{r.period}: {int(r.higher)} higher, {int(r.lower)} lower of {int(r.cells)} "
                "comparisons"
                for r in table.itertuples(index=False)
            )
            + "."
        ),
        table=table,
        columns=("period", "higher", "lower", "cells"),
        drawn=table,
        titles={"cells": "Comparisons judged"},
        notes=(
            "Each year's count is that financial year's matrix, with the same filters; the "
            "matrix above is for the period chosen, so its count may differ.",
        ),
    )


def compared_rates(
    table: pd.DataFrame,
    view: View,
    *,
    key: str,
    per: tuple[float, str] | None = None,
    titles: Mapping[str, str] | None = None,
    notes: Sequence[str] = (),
) -> Finding:
    """Rates by group for one population, titled by how the groups compare.

    For comparisons shown as rates rather than ratios (deaths per 1,000 prisoner-years,
    survey answers): the headline is :func:`relative_rate_headline` of the table itself.
    ``per`` scales event rates, for example ``(4000, "Deaths per 1,000 prisoner-years")``,
    and adds the scaled columns to the table (``rate_per``, ``rate_low_per``,
    ``rate_high_per``).
    """
    table = table.copy()
    columns = list(_RESULT_COLUMNS)
    if per is not None:
        for column in ("rate", "rate_low", "rate_high"):
            table[f"{column}_per"] = table[column] * per[0]
        columns = [
            "group",
            "numerator",
            "denominator",
            "rate_per",
            "rate_low_per",
            "rate_high_per",
            *stats.REPORTED_COLUMNS[3:],
        ]
    drawn = with_flag_words(_shown(table).dropna(subset=["rate"]), view.measure.direction)
    scale = per[0] if per else (1 if view.measure.kind == "proportion" else 100)
    unit = "%" if per is None and view.measure.kind == "proportion" else ""
    words = "; ".join(
        f"{r['group']} {r['rate'] * scale * (100 if unit else 1):,.2f}{unit} "
        f"({r['rate_low'] * scale * (100 if unit else 1):,.2f} to "
        f"{r['rate_high'] * scale * (100 if unit else 1):,.2f})"
        for _, r in drawn.iterrows()
    )
    what = per[1] if per else ("Share" if view.measure.kind == "proportion" else "Rate per 100")
    return Finding(
        key=key,
        chart="rates",
        headline=relative_rate_headline(table, view),
        subtitle=f"{what} by {view.by_words}: {view.place}, {view.period}{view.within}",
        description=f"{what}, with 95% intervals: {words}." if words else "Nothing to show.",
        table=table,
        columns=tuple(c for c in columns if c in table.columns),
        drawn=drawn,
        notes=tuple(n for n in (*notes, hidden_note(table)) if n),
        titles=dict(titles or {}),
        options={"kind": view.measure.kind, "per": per},
        empty=None if len(drawn) else "No group has enough people to show.",
    )


# --- Staff: representation and distributions -------------------------------------------


def representation(
    table: pd.DataFrame,
    *,
    characteristic: str,
    group: str,
    place: str,
    period: str,
    grades: Sequence[str],
    benchmark_source: str,
) -> Finding:
    """One group's share of staff in each grade against its benchmark; hidden grades as [c].

    The headline counts the grades whose whole interval lies below the benchmark, among
    the grades shown; hidden grades are named in a note and marked [c] on the chart.
    """
    short = CHARACTERISTICS[characteristic].short_label(group)
    order = ["All grades", *grades]
    rows = table[table["group"] == group].copy()
    rows["grade"] = pd.Categorical(rows["grade"].astype(str), categories=order, ordered=True)
    rows = rows.sort_values("grade")
    rows["grade"] = rows["grade"].astype(str)
    visible = _shown(rows)
    hidden = rows.loc[rows["suppressed"].astype(bool), "grade"].tolist() if len(rows) else []
    benchmark = (
        float(rows["benchmark_share"].dropna().iloc[0])
        if len(rows) and rows["benchmark_share"].notna().any()
        else None
    )
    graded = visible[visible["grade"] != "All grades"]
    under = graded[graded["under_represented"].astype(bool)]
    shown = f"{len(graded)} grade{'s' if len(graded) != 1 else ''} shown"
    if graded.empty:
        headline = f"{place} has too few {short} staff to show representation by grade"
    elif len(under):
        headline = f"{short} staff are under-represented in {len(under)} of the {shown} in {place}"
    else:
        headline = (
            f"{short} staff are not significantly under-represented in any of the {shown} in "
            f"{place}"
        )
    notes = [
        "Shares are of staff who declared; under-represented means the whole 95% interval lies "
        "below the benchmark."
    ]
    if hidden:
        notes.append(
            f"Not shown ([c]), too few staff: {', '.join(hidden)}. These grades are counted in "
            "'All grades'."
        )
    description = "Share by grade: " + "; ".join(
        f"{r.grade} {r.share:.1%}" if not r.suppressed else f"{r.grade} [c]"
        for r in rows.itertuples(index=False)
    )
    columns = (
        "grade",
        "group",
        "count",
        "total",
        "share",
        "share_low",
        "share_high",
        "benchmark_share",
        "representation_ratio",
        "under_represented",
    )
    return Finding(
        key=f"representation:{characteristic}",
        chart="representation",
        headline=headline,
        subtitle=f"{place}, {period}. Dashed line: benchmark, {benchmark_source}",
        description=description + (f". Benchmark {benchmark:.1%}." if benchmark else "."),
        table=table,
        columns=tuple(c for c in columns if c in table.columns),
        drawn=rows,
        notes=tuple(notes),
        options={"group_label": short, "benchmark": benchmark},
        empty=None if len(visible) else f"Too few {short} staff in {place} to show.",
    )


def distribution(
    table: pd.DataFrame,
    test: stats.DistributionTest,
    *,
    key: str,
    characteristic: str,
    what: str,
    category_title: str,
    categories: Sequence[str],
    place: str,
    period: str,
    untested: Sequence[str],
    rule: stats.FlagRule,
) -> Finding:
    """How each group's records spread over categories, with the chi-square test between them."""
    by = CHARACTERISTICS[characteristic].label.lower()
    drawn = _shown(table).copy()
    drawn["label"] = [CHARACTERISTICS[characteristic].short_label(str(g)) for g in drawn["group"]]
    verdict = "differ significantly" if test.p_value < rule.alpha else "do not differ significantly"
    if drawn.empty or test.dof == 0:
        headline = f"Too few records in {place} to compare {what} by {by}"
    else:
        headline = f"{what.capitalize()} {verdict} by {by} in {place}"
    notes = ["The test uses the counts shown."]
    if untested:
        notes.append(
            f"Left out of the test (fewer than {rule.min_denominator} records, or a hidden "
            f"count): {', '.join(untested)}."
        )
    hidden = hidden_note(table, what="cell")
    if hidden:
        notes.append(hidden)
    return Finding(
        key=key,
        chart="distribution",
        headline=headline,
        subtitle=(
            f"{test.method}: statistic {test.statistic:.1f}, {test.dof} degrees of freedom, "
            f"p = {test.p_value:.3g}. {place}, {period}"
        ),
        description="; ".join(
            f"{r.group} {r.category} {r.share:.0%}" for r in drawn.itertuples(index=False)
        )
        or "Nothing to show.",
        table=table,
        columns=("group", "category", "numerator", "denominator", "share"),
        drawn=drawn.rename(columns={"category": "category"}),
        titles={"category": category_title},
        notes=tuple(notes),
        options={"categories": list(categories), "category": "category"},
        empty=None if len(drawn) else f"No {what} to show.",
    )


# --- Disabled staff: the engagement gap and days to put adjustments in place -------------


def engagement_gap(gap: pd.DataFrame, *, year: str, place: str, rule: stats.FlagRule) -> Finding:
    """The gap in mean engagement (disabled minus non-disabled staff) by year, Welch intervals.

    ``gap`` has ``period``, ``difference``, ``low``, ``high``, ``p_value``. The headline
    speaks of ``year``: the gap's size and direction when significant (its interval
    excludes zero), and how it compares with the year before.
    """
    rows = gap[gap["period"] == year]
    if rows.empty:
        return nothing_to_draw(
            key="engagement-gap",
            chart="difference",
            headline=f"Too few survey respondents in {place} to compare engagement in {year}",
            subtitle=place,
            table=gap,
            why="No survey year with enough disabled and non-disabled respondents.",
            options={"y_title": "Gap in engagement index (points)"},
        )
    row = rows.iloc[0]
    earlier = gap[gap["period"] < year].tail(1)
    significant = bool(row["p_value"] < rule.alpha)
    direction = "lower" if row["difference"] < 0 else "higher"
    than = ""
    if not earlier.empty:
        change = abs(row["difference"]) - abs(earlier.iloc[0]["difference"])
        than = f", {'narrower' if change < 0 else 'wider'} than in {earlier.iloc[0]['period']}"
    headline = (
        f"Disabled staff's engagement is {abs(row['difference']):.1f} points {direction} than "
        f"non-disabled staff's in {place} in {year}{than}"
        if significant
        else f"No significant engagement gap between disabled and non-disabled staff in {place} "
        f"in {year}"
    )
    return Finding(
        key="engagement-gap",
        chart="difference",
        headline=headline,
        subtitle=(
            f"Disabled minus non-disabled staff's engagement index: {place}. Welch 95% "
            "intervals from respondents and reported spread"
        ),
        description="Engagement gap by year: "
        + "; ".join(
            f"{r.period}: {r.difference:+.1f} ({r.low:+.1f} to {r.high:+.1f})"
            for r in gap.itertuples(index=False)
        )
        + ".",
        table=gap,
        columns=("period", "difference", "low", "high", "p_value"),
        drawn=gap,
        options={"y_title": "Gap in engagement index (points)"},
    )


def adjustment_days(
    shares: pd.DataFrame,
    medians: stats.MedianComparison,
    *,
    place: str,
    year: str,
    rule: stats.FlagRule,
) -> Finding:
    """How long adjustments take for disabled and non-disabled staff, by band of days."""
    drawn = _shown(shares)
    significant = medians.p_value < rule.alpha
    verdict = (
        "take significantly longer"
        if significant and medians.median_a > medians.median_b
        else ("are put in place significantly sooner" if significant else "take about as long")
    )
    return Finding(
        key="adjustment-days",
        chart="grouped_bars",
        headline=(
            f"Disabled staff's adjustments {verdict} in {place} (median {medians.median_a:.0f} "
            f"days against {medians.median_b:.0f}; Mann-Whitney p = {medians.p_value:.3g})"
        ),
        subtitle=f"Share of adjustments put in place, by days taken: {place}, {year}",
        description="; ".join(
            f"{r.group}, {r.band} days: {r.share:.0%}" for r in drawn.itertuples(index=False)
        )
        or "Nothing to show.",
        table=shares,
        columns=("group", "band", "numerator", "denominator", "share"),
        drawn=drawn,
        titles={"band": "Days", "numerator": "Adjustments", "denominator": "All adjustments"},
        notes=tuple(n for n in (hidden_note(shares, what="cell"),) if n),
        options={"x": "band", "x_title": "Days to put the adjustment in place"},
        empty=None if len(drawn) else "Too few adjustments to show.",
    )


# --- Disabled prisoners: crude and adjusted -------------------------------------------------


_KEYS = ("measure", "group")
_ADJUSTED = (*_KEYS, "adjusted_relative_rate", "adj_low", "adj_high")


def _with_adjusted(crude: pd.DataFrame, adjusted: pd.DataFrame, group: str) -> pd.DataFrame:
    """One group's crude rows with its adjusted ratio and interval beside each measure.

    What a left merge on measure and group gives (the adjusted figures NaN where a
    measure has none, and where the crude row is hidden, so that nothing is shown
    beside a [c]), looked up by measure: cheaper than a merge, on every change of place.
    """
    if not set(_ADJUSTED) <= set(adjusted.columns):
        # No records to adjust (a view whose prisoners are all outside the group looked
        # within, say): the crude figures stand alone, with no adjusted interval.
        adjusted = pd.DataFrame(
            {c: pd.Series(dtype="str" if c in _KEYS else float) for c in _ADJUSTED}
        )
    mine = adjusted[(adjusted["group"] == group).to_numpy()]
    if mine["measure"].duplicated().any():
        table = crude.merge(adjusted[list(_ADJUSTED)], on=list(_KEYS), how="left")
        hidden = table["suppressed"].astype(bool)
        for column in _ADJUSTED[len(_KEYS) :]:
            table.loc[hidden, column] = np.nan
        return table
    found = pd.Index(mine["measure"]).get_indexer(crude["measure"])
    hidden = crude["suppressed"].to_numpy(dtype=bool)
    missing = (found < 0) | hidden
    table = crude.reset_index(drop=True)
    for column in _ADJUSTED[len(_KEYS) :]:
        values = mine[column].to_numpy(dtype=float, na_value=np.nan)
        table[column] = np.where(missing, np.nan, values[found] if len(values) else np.nan)
    return table


def crude_and_adjusted(
    crude: pd.DataFrame,
    adjusted: pd.DataFrame,
    *,
    group: str,
    place: str,
    period: str,
    within: str,
    measures: Mapping[str, Measure],
    rule: stats.FlagRule,
) -> Finding:
    """One group's crude relative rates (as the page's matrix has them) beside adjusted ones.

    The headline counts the outcomes flagged crude and, of those, the ones whose adjusted
    interval includes 1 (explained by age and establishment).
    """
    table = _with_adjusted(crude[crude["group"] == group], adjusted, group)
    table["measure_label"] = [measures[m].label for m in table["measure"]]
    drawable = _shown(table).dropna(subset=["relative_rate"])
    flagged = drawable[drawable["flag"].astype(str).isin(FLAGGED)]
    explained = flagged[(flagged["adj_low"] <= 1) & (flagged["adj_high"] >= 1)]
    headline = (
        f"{len(flagged)} of {len(drawable)} outcomes differ significantly for disabled "
        f"prisoners in {place}"
        + (
            f"; {len(explained)} no longer do once age and establishment are allowed for"
            if len(explained)
            else ""
        )
        if len(drawable)
        else f"{place} has too few records to compare disabled prisoners' outcomes"
    )
    # Each outcome twice, crude then adjusted, made in one step rather than two tables
    # put together: this runs on every change of place of objective 5.
    series = ("Crude", "Adjusted for age and establishment")
    long = pd.concat([drawable, drawable], ignore_index=True).assign(
        series=pd.array(np.repeat(series, len(drawable)), dtype="str"),
        **{
            name: np.concatenate([drawable[crude_column], drawable[adjusted_column]])
            for name, crude_column, adjusted_column in (
                ("ratio", "relative_rate", "adjusted_relative_rate"),
                ("low", "rr_low", "adj_low"),
                ("high", "rr_high", "adj_high"),
            )
        },
    )
    described = zip(
        drawable["measure_label"],
        drawable["relative_rate"],
        drawable["adjusted_relative_rate"],
        drawable["adj_low"],
        drawable["adj_high"],
        strict=True,
    )
    columns = (
        "measure_label",
        "numerator",
        "denominator",
        "rate",
        "comparator_rate",
        "relative_rate",
        "rr_low",
        "rr_high",
        "adjusted_relative_rate",
        "adj_low",
        "adj_high",
        "p_adjusted",
        "flag",
    )
    return Finding(
        key="disabled-prisoners-adjusted",
        chart="adjusted_forest",
        headline=headline,
        subtitle=(
            f"Disabled against non-disabled prisoners: {place}, {period}{within}. Adjusted: "
            "Mantel-Haenszel, stratified by age band and establishment"
        ),
        description="Relative rates, disabled against non-disabled prisoners: "
        + "; ".join(
            f"{label}: crude {crude_ratio:.2f}, adjusted {ratio:.2f} ({low:.2f} to {high:.2f})"
            for label, crude_ratio, ratio, low, high in described
        )
        + ".",
        table=table,
        columns=columns,
        drawn=long,
        notes=tuple(n for n in (hidden_note(table, what="outcome"),) if n),
        options={"tolerance": rule.tolerance},
        empty=None if len(drawable) else "Too few prisoners to compare.",
    )


# --- The whole system: equality analyses and the delivery plan ------------------------------


def equality_analyses(analyses: pd.DataFrame) -> Finding:
    """The share of national policies each year with a completed equality analysis.

    Policies are not people, so these counts are not perturbed.
    """
    by_year = (
        analyses.assign(year=pd.to_datetime(analyses["date"]).dt.year)
        .groupby("year")
        .agg(
            policies=("policy_id", "size"),
            completed=("analysis_completed", "sum"),
            assured=("quality_assured", "sum"),
        )
        .reset_index()
    )
    by_year["share"] = by_year["completed"] / by_year["policies"]
    by_year["low"], by_year["high"] = stats.wilson_interval(
        by_year["completed"], by_year["policies"]
    )
    latest = by_year.iloc[-1]
    return Finding(
        key="equality-analyses",
        chart="share_by_year",
        headline=(
            f"{latest['share']:.0%} of the {int(latest['policies'])} policies issued in "
            f"{int(latest['year'])} had an equality analysis"
        ),
        subtitle="Share of national policies with a completed equality analysis, with 95% intervals",
        description="Completion by year: "
        + "; ".join(
            f"{int(r.year)}: {r.share:.0%} of {r.policies}, {r.assured} quality-assured"
            for r in by_year.itertuples(index=False)
        )
        + ".",
        table=by_year,
        columns=("year", "policies", "completed", "assured", "share", "low", "high"),
        drawn=by_year,
        options={"y_title": "Share with an equality analysis"},
    )


def delivery_plan(plan: pd.DataFrame, *, today: pd.Timestamp, theme: str = "All") -> Finding:
    """The Equality Delivery Plan's actions, overdue ones first, with how many are overdue."""
    tracker = plan.copy()
    due = pd.to_datetime(tracker["due_date"])
    tracker["overdue"] = (due < today) & (tracker["status"].astype(str) != "Complete")
    tracker = tracker.assign(_due=due).sort_values(["overdue", "_due"], ascending=[False, True])
    overdue_all = int(tracker["overdue"].sum())
    if theme != "All":
        tracker = tracker[tracker["theme"].astype(str) == theme]
    overdue = int(tracker["overdue"].sum())
    tracker["overdue"] = tracker["overdue"].map({True: "Overdue", False: ""})
    tracker["due_date"] = tracker.pop("_due").dt.strftime("%d %b %Y")
    scope = "" if theme == "All" else f" in theme {theme}"
    return Finding(
        key="equality-delivery-plan",
        chart="table",
        headline=f"{overdue} of {len(tracker)} actions{scope} are overdue",
        subtitle=f"Theme: {theme}. Overdue actions first; dates as of {today:%d %B %Y}",
        description=f"{overdue_all} of {len(plan)} actions in the whole plan are overdue.",
        table=tracker,
        columns=(
            "action_id",
            "theme",
            "objective",
            "aim",
            "owner",
            "due_date",
            "status",
            "overdue",
        ),
        drawn=tracker,
        titles={
            "action_id": "Action",
            "theme": "Theme",
            "objective": "Objective",
            "aim": "What we want to achieve",
            "owner": "Owner",
            "due_date": "Due",
            "status": "Status",
            "overdue": "Overdue",
        },
    )
