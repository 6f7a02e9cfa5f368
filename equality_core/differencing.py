"""Differencing attacks on the views the dashboard shows: the disclosure audit as code.

An independent audit of the previous release recovered hidden counts of 1 to 4 by
setting one view beside another and subtracting. This module replays the four families
of attack it used against the views :mod:`equality_core.analysis` produces, so that a
test and a benchmark can say how often each still succeeds:

``periods``
    A twelve-month figure minus the quarters the trend chart shows leaves the hidden
    quarter (an event measure, whose twelve-month count is the sum of its quarters, and a
    proportion measure of community orders ended, each counted once in its quarter).
``places``
    A group's national figure, or a region's, function's or estate's, minus the
    establishments the group's funnel plot shows leaves the hidden establishment;
    establishments recovered that way are used again against the other totals.
``groups``
    Everyone at an establishment (the funnel plot of everyone) minus the groups the
    establishment's page shows leaves the hidden group; all deaths of a group minus the
    classifications shown leaves the hidden classification.
``p-values``
    A visible group's Benjamini-Hochberg adjusted p-value that the visible raw p-values
    alone cannot explain betrays a hidden group's test: the attacker searches the hidden
    counts that reproduce it.

Each family is run against three versions of the same views, made by the same functions
from the same records:

- ``true``: ``protection=None``, the exact counts (what the attacker is after);
- ``cell key``: the data folder's real disclosure configuration;
- ``suppression only``: the same secret and threshold with a ptable that adds no noise,
  which is what the old method's primary rule gave (true counts of 1 to 4, and "all but 1
  to 4", hidden; everything else exact). For the p-value family this version also tests
  the hidden groups before hiding them, as the previous release did
  (:func:`previous_release_table`); the current code with no noise is reported beside it
  as ``suppression only, untested``.

The attacker takes the raw difference, rounds it, and guesses that value. A *case* is a
hidden true count from 1 to 4 (a numerator, a denominator, or for a proportion "all but
1 to 4") that the attack could reach: a difference that isolates its cell exists among
the views. A *recovery* is a case whose guess equals the true count. The *baseline* is an
attacker who uses no data at all and always guesses the most common true count among the
family's cases; the protection works when the attack does no better than that, within
a margin (the bar of issue 7 is 10 percentage points). Each result also gives the rate of
a slightly better informed attacker, who clamps its guess into 1 to 4
(:attr:`AttackResult.clamped_recovery_rate`): the baseline assumes that knowledge too.

The views are made with the dashboard's own functions from the same records its pages
select. Where a page is opened once per unit (an establishment's page, a unit's trend
chart), one call with ``by=[unit]`` makes every unit's table at once: each cell holds the
same records, so has the same key and shows the same count as on the page (the tests
check this against the pages themselves). The national demo is sampled (the latest
rolling periods; some establishments for the attacks that open one page each), and each
result says so in its ``note``.

Everything here is a pure function of the frames given (no Streamlit, no paths beyond
:func:`load_frames`, which reads through :mod:`equality_core.data`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from equality_core import analysis, cellkey, data, disclosure, stats
from equality_core.analysis import Selection
from equality_core.cellkey import DisclosureConfig
from equality_core.measures import MEASURES
from equality_core.paths import DataPaths
from equality_core.schema import CHARACTERISTICS, DEATH_CLASSIFICATIONS

#: The attack families, in the audit's order, with their names in words.
FAMILIES = {
    "periods": "Across periods (twelve months minus the quarters shown)",
    "places": "Across places (national and regional totals minus the establishments shown)",
    "groups": "Across groups and breakdowns (everyone minus the groups shown; deaths)",
    "p-values": "Through adjusted p-values (a hidden group's test betrayed by the others')",
}
TRUE = "true"
CELL_KEY = "cell key"
SUPPRESSION_ONLY = "suppression only"
#: The p-value family's extra run: the current pipeline with no noise (hidden rows untested).
SUPPRESSION_UNTESTED = "suppression only, untested"
#: The smallest and largest true count the attacks are after.
SMALL = (1, disclosure.SMALL_COUNT_MAX)
#: Issue 7's bar: the attack may beat guessing by at most this share of cases.
BAR = 0.10
#: Extracts the attacks read, and whether each needs its establishments' attributes.
_EXTRACTS = {
    "prisoner_periods": True,
    "deaths_in_custody": True,
    "community_terminations": False,
}
_SEP = "|"


# --- Configuration and plan ----------------------------------------------------------------


def suppression_only(config: DisclosureConfig) -> DisclosureConfig:
    """``config`` with a ptable that adds no noise: the old method's primary rule.

    The secret, threshold and survey minimum are kept, so exactly the same rows are
    hidden for small true counts; every other count is shown exactly. This is the
    "before" against which the cell key method is measured.
    """
    noise = np.zeros((cellkey.MAX_PCV + 1, cellkey.KEY_RANGE), dtype=np.int64)
    return replace(config, ptable=cellkey.Ptable("none", "0" * 64, noise))


@dataclass(frozen=True)
class AuditPlan:
    """Which views the attacks are run on, and how far to sample them.

    Parameters
    ----------
    characteristics
        Characteristics whose groups are attacked (small groups, such as religions, give
        the most hidden counts).
    period_attacks
        ``(extract, measure, unit)``: a measure whose twelve-month count is the sum of
        its quarters, and the unit whose pages are differenced (establishment, division).
    place_measures
        Prisoner proportion measures (funnel plots are drawn for proportions only).
    place_totals
        Place columns whose pages give totals over establishments, beside the national.
    group_measures
        Prisoner proportion measures for the everyone-minus-groups attack.
    deaths
        Whether to attack deaths by classification beside all deaths.
    p_value_measures
        Prisoner proportion measures counted over every prisoner held (so a hidden
        group's denominator can be read from another measure's row).
    ends
        How many of the latest rolling twelve-month periods to use; None: all.
    units
        How many establishments to sample for the deaths tables and the p-value attack,
        which open one page per establishment; None: all. The other attacks always
        cover every establishment and division.
    seed
        Seed of the sample of units.
    combine
        ``first``: the attacker uses the first difference that isolates a cell (the
        audit's attacker); ``mean``: it averages every such difference available at once
        (a stronger attacker, since each difference carries noise of its own).
    """

    characteristics: tuple[str, ...] = ("ethnic_group", "religion")
    period_attacks: tuple[tuple[str, str, str], ...] = (
        ("prisoner_periods", "adjudications_per_100", "establishment"),
        ("community_terminations", "order_completed", "division"),
    )
    place_measures: tuple[str, ...] = ("use_of_force", "segregated")
    place_totals: tuple[str, ...] = ("region", "function", "estate")
    group_measures: tuple[str, ...] = ("use_of_force", "segregated")
    deaths: bool = True
    p_value_measures: tuple[str, ...] = (
        "adjudication_proven",
        "segregated",
        "use_of_force",
        "incentive_basic",
        "incentive_enhanced",
        "negative_case_note",
        "complaint_made",
    )
    ends: int | None = None
    units: int | None = None
    seed: int = 20261125
    combine: str = "first"

    def __post_init__(self) -> None:
        if self.combine not in ("first", "mean"):
            raise ValueError(f"combine must be 'first' or 'mean', got {self.combine!r}")
        for name in (*self.place_measures, *self.group_measures, *self.p_value_measures):
            if name not in MEASURES or MEASURES[name].kind != "proportion":
                raise ValueError(f"measure {name!r} must be a proportion measure")
        for characteristic in self.characteristics:
            if characteristic not in CHARACTERISTICS:
                raise ValueError(f"characteristic {characteristic!r} is not in the contract")


def load_frames(paths: DataPaths) -> dict[str, pd.DataFrame]:
    """The validated extracts the attacks read, as the dashboard loads them.

    Prisoner records and deaths get their establishment's region, function and estate
    (the place filters); every record carries its ``record_key``.
    """
    establishments = data.load_validated(paths, "establishments")
    frames = {}
    for name, placed in _EXTRACTS.items():
        frame = data.load_validated(paths, name)
        if placed:
            frame = data.attach_establishment_attributes(frame, establishments)
        frames[name] = frame
    return frames


# --- Results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttackResult:
    """One attack family against one version of the views.

    ``cases`` has one row per case (a hidden true count from 1 to 4 the attack reached):
    ``cell`` (the view coordinates, joined by ``|``), ``quantity`` (``numerator``,
    ``denominator`` or ``complement``), ``true``, ``guess`` (NaN where the attack made
    none) and ``recovered``. ``hidden_small`` counts the hidden true counts from 1 to 4
    in the views whether the attack reached them or not; ``views`` the views made.
    """

    family: str
    protection: str
    cases: pd.DataFrame = field(repr=False)
    hidden_small: int
    views: int
    note: str = ""

    @property
    def n_cases(self) -> int:
        """How many hidden small counts the attack reached."""
        return len(self.cases)

    @property
    def recoveries(self) -> int:
        """How many of them it guessed exactly."""
        return int(self.cases["recovered"].sum()) if self.n_cases else 0

    @property
    def recovery_rate(self) -> float:
        """Exact recoveries over cases (NaN with no cases)."""
        return self.recoveries / self.n_cases if self.n_cases else float("nan")

    @property
    def clamped_recovery_rate(self) -> float:
        """The rate of an attacker who also knows the count is 1 to 4 and clamps its guess.

        Not the audit's attacker: a slightly better informed one (a hidden count is
        usually a small one, and the ptable, which bounds the noise, is published). The
        baseline assumes the same knowledge, so the two compare fairly.
        """
        if not self.n_cases:
            return float("nan")
        clamped = np.clip(self.cases["guess"].to_numpy(dtype=float), *SMALL)
        return float((clamped == self.cases["true"].to_numpy(dtype=float)).mean())

    @property
    def baseline_guess(self) -> int | None:
        """The most common true count among the cases (the smaller one on a tie)."""
        if not self.n_cases:
            return None
        counts = self.cases["true"].astype(int).value_counts()
        return int(counts[counts == counts.max()].index.min())

    @property
    def baseline_rate(self) -> float:
        """The share of cases an attacker always guessing :attr:`baseline_guess` gets right."""
        if not self.n_cases:
            return float("nan")
        return float((self.cases["true"] == self.baseline_guess).mean())


def summary(results: Mapping[str, Mapping[str, AttackResult]], *, bar: float = BAR) -> pd.DataFrame:
    """One row per family: cases, recovery before and after, the baseline, and the verdict.

    ``before`` is the suppression-only recovery rate, ``after`` the cell key rate and
    ``baseline`` the guess-only rate on the cell key cases; ``margin_points`` is
    ``after - baseline`` in percentage points and ``passed`` says whether it is at most
    ``bar`` (a family with no cases cannot pass). ``clamped`` and
    ``clamped_margin_points`` are the same for an attacker who clamps its guess into 1
    to 4 (:attr:`AttackResult.clamped_recovery_rate`).
    """
    rows = []
    for family, runs in results.items():
        after, before = runs[CELL_KEY], runs[SUPPRESSION_ONLY]
        margin = after.recovery_rate - after.baseline_rate
        rows.append(
            {
                "family": family,
                "cases": after.n_cases,
                "recoveries": after.recoveries,
                "before_cases": before.n_cases,
                "before": before.recovery_rate,
                "after": after.recovery_rate,
                "baseline": after.baseline_rate,
                "baseline_guess": after.baseline_guess,
                "margin_points": 100 * margin,
                "passed": bool(after.n_cases) and bool(margin <= bar),
                "clamped": after.clamped_recovery_rate,
                "clamped_margin_points": 100 * (after.clamped_recovery_rate - after.baseline_rate),
            }
        )
    return pd.DataFrame(rows)


# --- The attacker's arithmetic -------------------------------------------------------------


def _ids(*parts) -> pd.Series | str:
    """Cell identifiers: coordinates joined by ``|`` (scalars and Series alike)."""
    out = None
    for part in parts:
        text = part.astype(str) if isinstance(part, pd.Series) else str(part)
        out = text if out is None else out + _SEP + text
    return out


def _cells(table: pd.DataFrame, ids: pd.Series, *, kind: str | pd.Series) -> pd.DataFrame:
    """The counts a view shows, keyed by cell: NaN where the view hides them."""
    hidden = table["suppressed"].to_numpy(dtype=bool)
    return pd.DataFrame(
        {
            "cell": np.asarray(ids, dtype=object),
            "numerator": np.where(hidden, np.nan, table["numerator"].to_numpy(dtype=float)),
            "denominator": np.where(hidden, np.nan, table["denominator"].to_numpy(dtype=float)),
            "hidden": hidden,
            "kind": kind if isinstance(kind, str) else np.asarray(kind, dtype=object),
        }
    )


def solve_from_sums(
    values: pd.DataFrame, links: pd.DataFrame, quantities: Sequence[str], *, combine: str
) -> pd.DataFrame:
    """Solve hidden cells from totals, one cell at a time, as far as the views allow.

    ``values`` holds the shown counts by cell (NaN where hidden); ``links`` has one row
    per ``(whole, part)``: each whole is the sum of its parts. A whole that is shown with
    exactly one hidden part gives that part (the whole minus the parts shown); a hidden
    whole with every part known is their sum. Cells solved are used again in the next
    round, until no difference isolates another cell. Cells named in ``links`` but in no
    view hold no records: zero.

    Returns one row per solved cell: its estimates of each quantity and the round.
    """
    current = values[list(quantities)].copy()
    absent = pd.Index(links["whole"]).union(pd.Index(links["part"])).difference(current.index)
    if len(absent):
        current = pd.concat([current, pd.DataFrame(0.0, index=absent, columns=list(quantities))])
    known = current[quantities[0]].notna()
    solved = []
    for round_ in itertools.count(1):
        part_known = links["part"].map(known).to_numpy(dtype=bool)
        whole_known = links["whole"].map(known).to_numpy(dtype=bool)
        frame = links.assign(_part_known=part_known)
        whole_ids = links["whole"].to_numpy()
        per_whole = pd.DataFrame(
            {
                "unknown": pd.Series(~part_known).groupby(whole_ids).sum(),
                "whole_known": pd.Series(whole_known).groupby(whole_ids).first(),
            }
        )
        one_missing = per_whole.index[(per_whole["unknown"] == 1) & per_whole["whole_known"]]
        all_known = per_whole.index[(per_whole["unknown"] == 0) & ~per_whole["whole_known"]]
        if not len(one_missing) and not len(all_known):
            break
        sums = {
            q: pd.Series(
                np.where(part_known, links["part"].map(current[q]).to_numpy(dtype=float), 0.0)
            )
            .groupby(links["whole"].to_numpy())
            .sum()
            for q in quantities
        }
        targets = frame[frame["whole"].isin(one_missing) & ~frame["_part_known"]]
        pieces = []
        if len(targets):
            piece = pd.DataFrame({"cell": targets["part"].to_numpy()})
            for q in quantities:
                wholes = targets["whole"]
                piece[q] = wholes.map(current[q]).to_numpy(dtype=float) - wholes.map(
                    sums[q]
                ).to_numpy(dtype=float)
            pieces.append(piece)
        if len(all_known):
            piece = pd.DataFrame({"cell": np.asarray(all_known, dtype=object)})
            for q in quantities:
                piece[q] = sums[q].reindex(all_known).to_numpy(dtype=float)
            pieces.append(piece)
        estimates = pd.concat(pieces, ignore_index=True)
        grouped = estimates.groupby("cell", sort=False)
        combined = grouped.first() if combine == "first" else grouped.mean()
        combined["differences"] = grouped.size()
        combined["round"] = round_
        for q in quantities:
            current.loc[combined.index, q] = combined[q]
        known.loc[combined.index] = True
        solved.append(combined)
    if not solved:
        return pd.DataFrame(columns=[*quantities, "differences", "round"])
    return pd.concat(solved)


def _balanced(truth: pd.DataFrame, links: pd.DataFrame, quantities: Sequence[str]) -> pd.Index:
    """The wholes whose true count is exactly the sum of their parts' (valid equations)."""
    ok = pd.Series(True, index=pd.Index(links["whole"].unique()))
    for q in quantities:
        parts = links["part"].map(truth[q]).fillna(0.0).groupby(links["whole"].to_numpy()).sum()
        wholes = pd.Series(parts.index, index=parts.index).map(truth[q]).fillna(0.0)
        ok &= (wholes - parts).abs().reindex(ok.index).fillna(np.inf) < 0.5
    return ok.index[ok.to_numpy()]


def _small(values) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return (array >= SMALL[0]) & (array <= SMALL[1])


def _score(
    truth: pd.DataFrame,
    shown: pd.DataFrame,
    estimates: pd.DataFrame,
    quantities: Sequence[str],
) -> tuple[pd.DataFrame, int]:
    """The cases the estimates reach, with the attacker's rounded guesses.

    Returns the cases and the number of hidden small counts in the views (reached or
    not). For a proportion, "all but 1 to 4" (denominator minus numerator) is a count
    too, guessed as the rounded denominator minus the rounded numerator.
    """
    hidden = shown.index[shown["hidden"].to_numpy(dtype=bool)]
    truth = truth.reindex(hidden)
    proportion = (truth["kind"] == "proportion").to_numpy()
    targets = {q: truth[q].to_numpy(dtype=float) for q in quantities}
    if {"numerator", "denominator"} <= set(quantities):
        targets["complement"] = np.where(
            proportion, targets["denominator"] - targets["numerator"], np.nan
        )
    reached = estimates.reindex(hidden)
    guesses = {q: np.rint(reached[q].to_numpy(dtype=float)) for q in quantities}
    if "complement" in targets:
        guesses["complement"] = guesses["denominator"] - guesses["numerator"]
    cases, hidden_small = [], 0
    for q, true in targets.items():
        small = _small(true)
        hidden_small += int(small.sum())
        take = small & ~np.isnan(guesses[q])
        cases.append(
            pd.DataFrame(
                {
                    "cell": np.asarray(hidden[take], dtype=object),
                    "quantity": q,
                    "true": true[take].astype(int),
                    "guess": guesses[q][take],
                    "recovered": guesses[q][take] == true[take],
                }
            )
        )
    return pd.concat(cases, ignore_index=True), hidden_small


def _attack_sums(
    cells: Mapping[str, pd.DataFrame],
    links: pd.DataFrame,
    *,
    quantities: Sequence[str],
    combine: str,
) -> dict[str, tuple[pd.DataFrame, int, int]]:
    """Run the differencing attacker on every version of the views.

    ``cells`` maps each version (``true`` first) to its cells; ``links`` the sums the
    views obey. Equations that do not hold exactly in the true counts are dropped (an
    attacker using them would be guessing from a wrong sum). Returns, per protected
    version, its cases, its hidden small counts and the number of equations dropped.
    """
    truth = cells[TRUE].drop_duplicates("cell").set_index("cell")
    valid = _balanced(truth, links, quantities)
    dropped = links["whole"].nunique() - len(valid)
    links = links[links["whole"].isin(valid)]
    out = {}
    for label, frame in cells.items():
        if label == TRUE:
            continue
        shown = frame.drop_duplicates("cell").set_index("cell")
        estimates = solve_from_sums(shown, links, quantities, combine=combine)
        cases, hidden_small = _score(truth, shown, estimates, quantities)
        out[label] = (cases, hidden_small, dropped)
    return out


# --- Choosing periods and places -----------------------------------------------------------


def _runs(config: DisclosureConfig) -> dict[str, DisclosureConfig | None]:
    return {TRUE: None, CELL_KEY: config, SUPPRESSION_ONLY: suppression_only(config)}


def rolling_ends(frame: pd.DataFrame, count: int | None) -> list[str]:
    """The ends of the latest ``count`` rolling twelve-month periods the frame covers."""
    quarters = [str(q) for q in pd.unique(frame["period"].astype(str))]
    held = set(quarters)
    ends = [
        e
        for e in data.period_choices(quarters, "rolling")
        if set(data.quarters_in_period("rolling", e)) <= held
    ]
    return ends if count is None else ends[:count]


def sample_units(frame: pd.DataFrame, unit: str, count: int | None, *, seed: int) -> list[str]:
    """``count`` of the frame's units, drawn without replacement (all of them for None)."""
    units = sorted(str(u) for u in pd.unique(frame[unit].astype(str)))
    if count is None or count >= len(units):
        return units
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(units, size=count, replace=False).tolist())


def _result(
    family: str,
    label: str,
    parts: Sequence[tuple[pd.DataFrame, int, int]],
    views: int,
    note: str = "",
) -> AttackResult:
    columns = ["cell", "quantity", "true", "guess", "recovered"]
    frames = [p[0] for p in parts if len(p[0])]
    cases = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    dropped = sum(p[2] for p in parts)
    if dropped:
        note = (note + " " if note else "") + f"{dropped} sums that do not hold exactly dropped."
    return AttackResult(family, label, cases, sum(p[1] for p in parts), views, note)


def _sample_note(plan: AuditPlan, *, units: bool) -> str:
    words = []
    if plan.ends is not None:
        words.append(f"the latest {plan.ends} rolling twelve-month periods")
    if units and plan.units is not None:
        words.append(f"a sample of {plan.units} establishments (seed {plan.seed})")
    return ("On " + " and ".join(words) + ".") if words else ""


def _links(wholes, parts) -> pd.DataFrame:
    """Equations: each whole (repeated once per part) beside each of its parts."""
    return pd.DataFrame(
        {"whole": np.asarray(wholes, dtype=object), "part": np.asarray(parts, dtype=object)}
    )


def _cross(left: pd.Series, right: Sequence[str]) -> np.ndarray:
    """Identifiers of every ``left`` value beside every ``right`` value (left varies slowest)."""
    pairs = pd.MultiIndex.from_product([pd.Index(left.astype(str)), pd.Index(list(right))])
    return _ids(
        pd.Series(pairs.get_level_values(0)), pd.Series(pairs.get_level_values(1))
    ).to_numpy()


def _versions(
    counts: pd.DataFrame,
    *,
    runs: Mapping[str, DisclosureConfig | None],
    by: Sequence[str],
    kind: Mapping[str, str],
    characteristic: str,
) -> dict[str, pd.DataFrame]:
    """Every version of the tables of ``counts`` (one table per ``by`` value), as shown.

    :func:`analysis.disparities` is :func:`data.group_counts` then
    :func:`analysis.protected_disparity_table`; counting once and protecting the counts
    of many views in one call gives each view exactly the table its page shows.
    """
    return {
        label: analysis.protected_disparity_table(
            counts, protection=protection, by=by, kind=dict(kind), characteristic=characteristic
        )
        for label, protection in runs.items()
    }


def _counts(records: pd.DataFrame, *, by: Sequence[str] = (), **kwargs) -> pd.DataFrame:
    """:func:`data.group_counts` with its ``by`` columns as text (to stack many views)."""
    counts = data.group_counts(records, by=by, **kwargs)
    for column in by:
        counts[column] = counts[column].astype(str)
    return counts


# --- Family 1: across periods --------------------------------------------------------------


def attack_across_periods(
    frames: Mapping[str, pd.DataFrame], *, config: DisclosureConfig, plan: AuditPlan
) -> dict[str, AttackResult]:
    """Twelve months minus the quarters shown leaves the hidden quarter.

    For each unit, characteristic and rolling period, the unit's page for the twelve
    months (:func:`analysis.disparities` on :func:`analysis.select`) is set beside the
    unit's trend chart (:func:`analysis.trend`, by quarter). The twelve-month count of an
    event measure, and of a proportion whose records each fall in one quarter, is the sum
    of the quarters'; where the twelve months are shown and one quarter is hidden, the
    difference is the attacker's guess of that quarter (of its numerator, its
    denominator and, for a proportion, of "all but").
    """
    runs = _runs(config)
    parts, views = [], 0
    for extract, measure, unit in plan.period_attacks:
        frame = frames[extract]
        kinds = analysis.kinds_of([measure])
        ends = rolling_ends(frame, plan.ends)
        quarters = sorted({q for e in ends for q in data.quarters_in_period("rolling", e)})
        for characteristic in plan.characteristics:
            if characteristic not in frame.columns:
                continue
            head = _ids("periods", extract, measure, characteristic)
            count = {"measures": [measure], "characteristic": characteristic}
            # Every unit's trend chart (analysis.trend is this, for one unit), in the
            # quarters the twelve-month periods cover ...
            trend = _counts(
                frame[frame["period"].isin(quarters).to_numpy()], by=[unit, "period"], **count
            )
            stacked = [trend[trend["period"].isin(quarters).to_numpy()]]
            links = []
            for end in ends:
                # ... and every unit's page for each twelve months.
                records = analysis.select(frame, Selection("rolling", end), extract)
                pages = _counts(records, by=[unit], **count).assign(period=f"12 months to {end}")
                stacked.append(pages)
                within = data.quarters_in_period("rolling", end)
                wholes = _ids(head, pages[unit], pages["group"], pages["period"])
                links.append(
                    _links(
                        np.repeat(wholes.to_numpy(), len(within)),
                        _cross(_ids(head, pages[unit], pages["group"]), within),
                    )
                )
            counts = pd.concat(stacked, ignore_index=True)
            tables = _versions(
                counts, runs=runs, by=[unit, "period"], kind=kinds, characteristic=characteristic
            )
            cells = {
                label: _cells(t, _ids(head, t[unit], t["group"], t["period"]), kind=kinds[measure])
                for label, t in tables.items()
            }
            views += counts[[unit, "period"]].drop_duplicates().shape[0]
            parts.append(
                _attack_sums(
                    cells,
                    pd.concat(links, ignore_index=True),
                    quantities=("numerator", "denominator"),
                    combine=plan.combine,
                )
            )
    note = _sample_note(plan, units=False)
    return {
        label: _result("periods", label, [p[label] for p in parts], views, note)
        for label in (CELL_KEY, SUPPRESSION_ONLY)
    }


# --- Family 2: across places ---------------------------------------------------------------


NATIONAL = "national|England and Wales"


def attack_across_places(
    frames: Mapping[str, pd.DataFrame], *, config: DisclosureConfig, plan: AuditPlan
) -> dict[str, AttackResult]:
    """National and regional totals minus the establishments shown leave the hidden ones.

    For each rolling period, measure, characteristic and group, the establishments'
    counts of the group (the group's funnel plot, :func:`analysis.funnel`, and each
    establishment's own page, which show the same cells) are set beside the group's row
    in the national table and in the table of every region, function and estate
    (``plan.place_totals``). A total shown with one establishment hidden gives that
    establishment; an establishment so recovered is subtracted from the other totals it
    sits in, which may isolate another; a hidden total whose establishments are all
    known is their sum.
    """
    runs = _runs(config)
    frame = frames["prisoner_periods"]
    extract, unit = "prisoner_periods", "establishment"
    totals = [c for c in plan.place_totals if c in frame.columns]
    measures = list(plan.place_measures)
    kinds = analysis.kinds_of(measures)
    parts, views = [], 0
    for end in rolling_ends(frame, plan.ends):
        national = analysis.select(frame, Selection("rolling", end), extract)
        membership = national[[unit, *totals]].astype(str).drop_duplicates(unit)
        for characteristic in plan.characteristics:
            head = _ids("places", end, characteristic)
            count = {"measures": measures, "characteristic": characteristic}
            stacked = [_counts(national, **count).assign(place=NATIONAL)]
            for column in (unit, *totals):
                by_place = _counts(national, by=[column], **count)
                stacked.append(by_place.assign(place=column + _SEP + by_place.pop(column)))
            counts = pd.concat(stacked, ignore_index=True)
            views += counts["place"].nunique()
            tables = _versions(
                counts, runs=runs, by=["place"], kind=kinds, characteristic=characteristic
            )
            cells = {
                label: _cells(
                    t, _ids(head, t["measure"], t["group"], t["place"]), kind="proportion"
                )
                for label, t in tables.items()
            }
            groups = list(CHARACTERISTICS[characteristic].allowed_values)
            keys = pd.MultiIndex.from_product(
                [measures, groups, membership[unit].tolist()], names=["m", "g", unit]
            ).to_frame(index=False)
            keys = keys.merge(membership, on=unit, how="left")
            inner = _ids(head, keys["m"], keys["g"])
            part_ids = _ids(inner, unit, keys[unit]).to_numpy()
            links = [_links(_ids(inner, NATIONAL).to_numpy(), part_ids)]
            links += [
                _links(_ids(inner, column, keys[column]).to_numpy(), part_ids) for column in totals
            ]
            parts.append(
                _attack_sums(
                    cells,
                    pd.concat(links, ignore_index=True),
                    quantities=("numerator", "denominator"),
                    combine=plan.combine,
                )
            )
    note = _sample_note(plan, units=False)
    return {
        label: _result("places", label, [p[label] for p in parts], views, note)
        for label in (CELL_KEY, SUPPRESSION_ONLY)
    }


# --- Family 3: across groups and breakdowns ------------------------------------------------


def attack_across_groups(
    frames: Mapping[str, pd.DataFrame], *, config: DisclosureConfig, plan: AuditPlan
) -> dict[str, AttackResult]:
    """Everyone minus the groups shown leaves the hidden group; likewise for deaths.

    For each rolling period, measure and characteristic, each establishment's page
    (every group of the characteristic, those who did not declare included) is set
    beside the establishment's row in the funnel plot of everyone
    (:func:`analysis.funnel` without a group). With ``plan.deaths``, each place's deaths
    table (:func:`analysis.deaths_disparities` for England and Wales, each region,
    function and estate, and a sample of ``plan.units`` establishments) gives each
    group's deaths in all and by classification: all deaths minus the classifications
    shown leaves the hidden one.
    """
    runs = _runs(config)
    frame = frames["prisoner_periods"]
    extract, unit = "prisoner_periods", "establishment"
    units = sample_units(frame, unit, plan.units, seed=plan.seed)
    measures = list(plan.group_measures)
    kinds = analysis.kinds_of(measures)
    parts, views = [], 0
    for end in rolling_ends(frame, plan.ends):
        national = analysis.select(frame, Selection("rolling", end), extract)
        everyone = {
            label: pd.concat(
                [
                    analysis.funnel(national, measure=m, protection=protection, unit=unit).assign(
                        measure=m
                    )
                    for m in measures
                ],
                ignore_index=True,
            )
            for label, protection in runs.items()
        }
        for characteristic in plan.characteristics:
            head = _ids("groups", end, characteristic)
            counts = _counts(national, measures=measures, characteristic=characteristic, by=[unit])
            tables = _versions(
                counts, runs=runs, by=[unit], kind=kinds, characteristic=characteristic
            )
            cells = {
                label: pd.concat(
                    [
                        _cells(t, _ids(head, t["measure"], t[unit], t["group"]), kind="proportion"),
                        _cells(
                            everyone[label],
                            _ids(
                                head, everyone[label]["measure"], everyone[label][unit], "Everyone"
                            ),
                            kind="proportion",
                        ),
                    ],
                    ignore_index=True,
                )
                for label, t in tables.items()
            }
            views += 1 + counts[unit].nunique()
            groups = list(CHARACTERISTICS[characteristic].allowed_values)
            places = everyone[TRUE][["measure", unit]].astype(str)
            inner = _ids(head, places["measure"], places[unit])
            parts.append(
                _attack_sums(
                    cells,
                    _links(
                        np.repeat((inner + _SEP + "Everyone").to_numpy(), len(groups)),
                        _cross(inner, groups),
                    ),
                    quantities=("numerator", "denominator"),
                    combine=plan.combine,
                )
            )
        if plan.deaths and "deaths_in_custody" in frames:
            for characteristic in plan.characteristics:
                if characteristic not in frames["deaths_in_custody"].columns:
                    continue
                solved, made = _deaths_attack(
                    frames["deaths_in_custody"],
                    national,
                    end=end,
                    characteristic=characteristic,
                    units=units,
                    totals=plan.place_totals,
                    runs=runs,
                    combine=plan.combine,
                )
                parts.append(solved)
                views += made
    note = _sample_note(plan, units=plan.deaths)
    return {
        label: _result("groups", label, [p[label] for p in parts], views, note)
        for label in (CELL_KEY, SUPPRESSION_ONLY)
    }


def _deaths_attack(
    deaths: pd.DataFrame,
    prisoners: pd.DataFrame,
    *,
    end: str,
    characteristic: str,
    units: Sequence[str],
    totals: Sequence[str],
    runs: Mapping[str, DisclosureConfig | None],
    combine: str,
) -> tuple[dict[str, tuple[pd.DataFrame, int, int]], int]:
    """All deaths minus the classifications shown, for every place's deaths table.

    ``prisoners`` are the prisoner records of the whole rolling period (one row per
    person and establishment); a place's are those at its establishments, the records
    its own page selects.
    """
    places: list[tuple[tuple[str, str], ...]] = [()]
    for column in totals:
        if column in prisoners.columns:
            values = sorted(pd.unique(prisoners[column].astype(str)))
            places += [((column, v),) for v in values]
    places += [(("establishment", u),) for u in units]
    counts = []
    for place in places:
        selection = Selection("rolling", end, place)
        held = prisoners[analysis.place_mask(prisoners, selection)]
        if held.empty:
            continue
        died = analysis.select(deaths, selection, "deaths_in_custody")
        where = _SEP.join(f"{c}={v}" for c, v in place) or "England and Wales"
        counts.append(
            analysis.deaths_counts(died, held, characteristic=characteristic).assign(place=where)
        )
    counts = pd.concat(counts, ignore_index=True)
    head = _ids("deaths", end, characteristic)
    cells = {}
    for label, protection in runs.items():
        # analysis.deaths_disparities is this table, for one place.
        table = analysis.protected_disparity_table(
            counts,
            protection=protection,
            by=["place"],
            kind="event",
            characteristic=characteristic,
        )
        ids = _ids(head, table["place"], table["group"], table["measure"])
        cells[label] = _cells(table, ids, kind="event")
    keys = _ids(head, counts["place"], counts["group"]).drop_duplicates()
    classes = list(DEATH_CLASSIFICATIONS)
    links = _links(
        np.repeat((keys + _SEP + analysis.ALL_DEATHS).to_numpy(), len(classes)),
        _cross(keys, classes),
    )
    solved = _attack_sums(cells, links, quantities=("numerator",), combine=combine)
    return solved, len(places)


# --- Family 4: through adjusted p-values ---------------------------------------------------


def previous_release_table(
    counts: pd.DataFrame,
    *,
    suppression: DisclosureConfig,
    kind: str | Mapping[str, str] = "proportion",
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """A disparity table as the previous release made it: tested first, then hidden.

    Every group is tested on its true counts and its p-value enters the
    Benjamini-Hochberg family; the rows the primary rule hides (``suppression``, a
    configuration without noise, see :func:`suppression_only`) are then blanked. The
    adjusted p-values of the groups left visible still carry the hidden groups' tests,
    which is what the p-value attack exploits.
    """
    kinds = kind if isinstance(kind, str) else dict(kind)
    if isinstance(kinds, str):
        proportion = np.full(len(counts), kinds == "proportion")
    else:
        proportion = (counts["measure"].astype(str).map(kinds) == "proportion").to_numpy()
    plain = counts[[c for c in counts.columns if not c.endswith(("_key", "_people"))]]
    exact = stats.disparity_table(plain, by=by, kind=kinds)
    hidden = disclosure.perturb_counts(counts, protection=suppression, complement_rows=proportion)[
        "suppressed"
    ].to_numpy(dtype=bool)
    exact["suppressed"] = hidden
    for column in ("numerator", "denominator"):
        exact[column] = np.where(hidden, np.nan, exact[column].to_numpy(dtype=float))
    return disclosure.hide_derived(exact, family=("measure", "characteristic", *by))


#: At most this many combinations of hidden counts are searched for one family.
MAX_COMBINATIONS = 1 << 16


def _adjusted_rows(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values of each row of a matrix, one family a row.

    The arithmetic of :func:`equality_core.stats.benjamini_hochberg` (``p * m / rank``,
    running minimum from the largest down, capped at 1), so that a combination that
    reproduces the published figures does so to the last bit.
    """
    m = p_values.shape[1]
    order = np.argsort(p_values, axis=1, kind="stable")
    scaled = np.take_along_axis(p_values, order, axis=1) * m / np.arange(1, m + 1)
    adjusted = np.minimum(np.minimum.accumulate(scaled[:, ::-1], axis=1)[:, ::-1], 1.0)
    out = np.empty_like(adjusted)
    np.put_along_axis(out, order, adjusted, axis=1)
    return out


@dataclass(frozen=True)
class _Family:
    """What an attacker reads from one family of a table: tests shown, and the hidden."""

    raw: np.ndarray  # visible raw p-values
    adjusted: np.ndarray  # their adjusted p-values as shown
    targets: list[str]  # hidden declared groups other than the comparator
    known: np.ndarray  # their denominators where another row shows them, else NaN
    x0: float
    n0: float
    consistent: bool


def _read_family(table: pd.DataFrame, characteristic: str) -> _Family | None:
    groups = table["group"].astype(str).to_numpy()
    hidden = table["suppressed"].to_numpy(dtype=bool)
    comparators = table["comparator"].dropna().astype(str).unique()
    if not len(comparators):
        return None
    comparator = comparators[0]
    raw = table["p_value"].to_numpy(dtype=float)
    visible = ~hidden & ~np.isnan(raw)
    targets = (
        hidden & np.isin(groups, CHARACTERISTICS[characteristic].groups) & (groups != comparator)
    )
    reference = (groups == comparator) & ~hidden
    if not visible.any() or not targets.any() or not reference.any():
        return None
    adjusted = table["p_adjusted"].to_numpy(dtype=float)[visible]
    alone = _adjusted_rows(raw[visible][None, :])[0]
    known = (
        table["denominator_known"].to_numpy(dtype=float)[targets]
        if "denominator_known" in table.columns
        else np.full(int(targets.sum()), np.nan)
    )
    return _Family(
        raw=raw[visible],
        adjusted=adjusted,
        targets=groups[targets].tolist(),
        known=known,
        x0=float(table["numerator"].to_numpy(dtype=float)[reference][0]),
        n0=float(table["denominator"].to_numpy(dtype=float)[reference][0]),
        consistent=bool(np.allclose(alone, adjusted, rtol=1e-9, atol=1e-12)),
    )


def _options(known: float) -> np.ndarray:
    """The ``(numerator, denominator)`` pairs a hidden group may have, as the attacker sees it.

    With its denominator shown elsewhere: a numerator of 1 to 4 or "all but 1 to 4".
    Without: a denominator of 1 to 4 and any numerator up to it.
    """
    low, high = SMALL
    if np.isfinite(known) and known > high:
        n = int(known)
        xs = sorted({*range(low, high + 1), *range(n - high, n - low + 1)})
        return np.array([(x, n) for x in xs if 0 <= x <= n], dtype=float)
    return np.array([(x, d) for d in range(low, high + 1) for x in range(d + 1)], dtype=float)


def _search(family: _Family, options: list[np.ndarray], p_options: list[np.ndarray]):
    """The hidden counts whose tests best reproduce the adjusted p-values shown.

    Returns each target's guess (the smallest numerator from 1 to 4 the best
    combinations allow, else the smallest they allow) and how many numerators they
    allow; None when there are more than :data:`MAX_COMBINATIONS` combinations.
    """
    sizes = [len(o) for o in options]
    if int(np.prod(sizes)) > MAX_COMBINATIONS:
        return None
    index = np.stack(np.meshgrid(*[np.arange(k) for k in sizes], indexing="ij"), -1)
    index = index.reshape(-1, len(sizes))
    hidden_p = np.stack([p_options[i][index[:, i]] for i in range(len(sizes))], axis=1)
    shown = np.broadcast_to(family.raw, (len(index), len(family.raw)))
    adjusted = _adjusted_rows(np.hstack([shown, hidden_p]))[:, : len(family.raw)]
    error = np.abs(adjusted - family.adjusted[None, :]).max(axis=1)
    best = index[error <= error.min() + 1e-12]
    guesses, allowed = [], []
    for i in range(len(sizes)):
        values = np.unique(options[i][best[:, i], 0])
        small = values[_small(values)]
        guesses.append(float(small.min() if len(small) else values.min()))
        allowed.append(len(values))
    return guesses, allowed


def _guesses(families: Sequence[_Family | None]) -> list[pd.DataFrame | None]:
    """:func:`p_value_guesses` for many families, with every candidate tested in one call."""
    requests = []
    for number, family in enumerate(families):
        if family is None or family.consistent:
            continue
        for target, known in enumerate(family.known):
            pairs = _options(known)
            requests.append(
                pd.DataFrame(
                    {
                        "family": number,
                        "target": target,
                        "x": pairs[:, 0],
                        "n": pairs[:, 1],
                        "x0": family.x0,
                        "n0": family.n0,
                    }
                )
            )
    if requests:
        asked = pd.concat(requests, ignore_index=True)
        # Fisher's test runs once per distinct table across every family.
        asked["p"] = stats.two_by_two_p_values(asked["x"], asked["n"], asked["x0"], asked["n0"])[0]
        by_family = dict(tuple(asked.groupby("family", sort=False)))
    out: list[pd.DataFrame | None] = []
    for number, family in enumerate(families):
        if family is None:
            out.append(None)
            continue
        names = family.targets
        if family.consistent:
            out.append(
                pd.DataFrame({"group": names, "guess": np.nan, "consistent": True, "allowed": 0})
            )
            continue
        asked_here = by_family[number]
        options, p_options = [], []
        for target in range(len(names)):
            rows = asked_here[asked_here["target"].to_numpy() == target]
            options.append(rows[["x", "n"]].to_numpy(dtype=float))
            p_options.append(rows["p"].to_numpy(dtype=float))
        found = _search(family, options, p_options)
        guesses, allowed = found if found is not None else ([np.nan] * len(names), [0] * len(names))
        out.append(
            pd.DataFrame(
                {"group": names, "guess": guesses, "consistent": False, "allowed": allowed}
            )
        )
    return out


def p_value_guesses(table: pd.DataFrame, *, characteristic: str) -> pd.DataFrame:
    """The p-value attack on one family (one proportion measure) of a table as shown.

    If the visible adjusted p-values are exactly the Benjamini-Hochberg adjustment of the
    visible raw p-values alone, the hidden groups were not tested and the attack learns
    nothing (no guess). Otherwise a hidden group's test is in the family: the attacker
    tries every combination of counts the hidden groups could have (a numerator of 1
    to 4, or "all but 1 to 4", where the group's denominator is shown on another
    measure's row, ``denominator_known``; any numerator of a denominator of 1 to 4 where
    it is not), tests each against the shown comparator as
    :func:`equality_core.stats.two_by_two_p_values` does, adjusts the family, and keeps
    the combinations that come closest to the visible adjusted p-values (exactly, when
    the guess is right). Its guess for a hidden group is the smallest numerator from 1
    to 4 that those combinations allow (small counts are the commonest), else the
    smallest they allow.

    ``table`` holds one family's rows with ``group``, ``numerator``, ``denominator``,
    ``suppressed``, ``p_value``, ``p_adjusted``, ``comparator`` and optionally
    ``denominator_known``. Returns one row per hidden declared group other than the
    comparator: ``group``, ``guess`` (NaN where none is made), ``consistent`` (the
    visible p-values explain themselves) and ``allowed`` (how many numerators the best
    combinations allow: 1 when the attack pins the count down). Empty when the family
    shows no test or hides no group.
    """
    found = _guesses([_read_family(table, characteristic)])[0]
    if found is None:
        return pd.DataFrame(columns=["group", "guess", "consistent", "allowed"])
    return found


def attack_through_p_values(
    frames: Mapping[str, pd.DataFrame], *, config: DisclosureConfig, plan: AuditPlan
) -> dict[str, AttackResult]:
    """A hidden group's count read back from the visible groups' adjusted p-values.

    For England and Wales and each establishment (a sample of ``plan.units``), each
    rolling period and characteristic, the page's table of ``plan.p_value_measures``
    (all counted over every prisoner held, so a group hidden on one measure usually
    shows its denominator on another) is attacked family by family with
    :func:`p_value_guesses`. A case is a hidden declared group, other than the
    comparator, with a true numerator from 1 to 4, in a family that shows at least one
    test. The ``suppression only`` version tests hidden groups before hiding them, as
    the previous release did (:func:`previous_release_table`); ``suppression only,
    untested`` is the current code with a ptable that adds no noise. Each case carries
    ``allowed``: how many numerators the attack left possible (1: pinned down).
    """
    frame = frames["prisoner_periods"]
    extract, unit = "prisoner_periods", "establishment"
    units = set(sample_units(frame, unit, plan.units, seed=plan.seed))
    measures = list(plan.p_value_measures)
    kinds = analysis.kinds_of(measures)
    quiet = suppression_only(config)
    versions = (CELL_KEY, SUPPRESSION_ONLY, SUPPRESSION_UNTESTED)
    found: dict[str, list[pd.DataFrame]] = {label: [] for label in versions}
    hidden_small = dict.fromkeys(versions, 0)
    views = 0
    for end in rolling_ends(frame, plan.ends):
        national = analysis.select(frame, Selection("rolling", end), extract)
        pages = national[national[unit].astype(str).isin(units).to_numpy()]
        for characteristic in plan.characteristics:
            count = {"measures": measures, "characteristic": characteristic}
            # England and Wales, and every sampled establishment's page, at once.
            counts = pd.concat(
                [
                    _counts(national, **count).assign(place="England and Wales"),
                    _counts(pages, by=[unit], **count).rename(columns={unit: "place"}),
                ],
                ignore_index=True,
            )
            views += counts["place"].nunique()
            protect = {"by": ["place"], "kind": kinds, "characteristic": characteristic}
            tables = {
                CELL_KEY: analysis.protected_disparity_table(counts, protection=config, **protect),
                SUPPRESSION_ONLY: previous_release_table(
                    counts, suppression=quiet, kind=kinds, by=["place"]
                ),
                SUPPRESSION_UNTESTED: analysis.protected_disparity_table(
                    counts, protection=quiet, **protect
                ),
            }
            true_x = pd.Series(
                counts["numerator"].to_numpy(dtype=float),
                index=_ids(counts["place"], counts["measure"], counts["group"]).to_numpy(),
            )
            for label, table in tables.items():
                table = table.assign(place=table["place"].astype(str))
                shown = table[~table["suppressed"].to_numpy(dtype=bool)]
                known = shown.groupby([shown["place"], shown["group"].astype(str)])[
                    "denominator"
                ].first()
                pairs = pd.MultiIndex.from_arrays([table["place"], table["group"].astype(str)])
                table["denominator_known"] = known.reindex(pairs).to_numpy()
                truth = _ids(table["place"], table["measure"], table["group"]).map(true_x)
                groups = table["group"].astype(str)
                hidden_small[label] += int(
                    (
                        table["suppressed"].to_numpy(dtype=bool)
                        & _small(truth)
                        & groups.isin(CHARACTERISTICS[characteristic].groups).to_numpy()
                        & (groups != table["comparator"].astype(str)).to_numpy()
                    ).sum()
                )
                keys, families = [], []
                for key, rows in table.groupby(["place", "measure"], sort=False):
                    keys.append(key)
                    families.append(_read_family(rows, characteristic))
                for (place, measure), guesses in zip(keys, _guesses(families), strict=True):
                    if guesses is None:
                        continue
                    true = _ids(place, measure, guesses["group"]).map(true_x).to_numpy(dtype=float)
                    take = _small(true)
                    if not take.any():
                        continue
                    guess = guesses["guess"].to_numpy(dtype=float)
                    cell = _ids("p-values", end, place, characteristic, measure, guesses["group"])
                    found[label].append(
                        pd.DataFrame(
                            {
                                "cell": cell[take].to_numpy(),
                                "quantity": "numerator",
                                "true": true[take].astype(int),
                                "guess": guess[take],
                                "recovered": guess[take] == true[take],
                                "allowed": guesses["allowed"].to_numpy()[take],
                            }
                        )
                    )
    note = _sample_note(plan, units=True)
    out = {}
    for label in versions:
        result = _result("p-values", label, [(c, 0, 0) for c in found[label]], views, note)
        out[label] = replace(result, hidden_small=hidden_small[label])
    return out


# --- Everything ----------------------------------------------------------------------------


ATTACKS = {
    "periods": attack_across_periods,
    "places": attack_across_places,
    "groups": attack_across_groups,
    "p-values": attack_through_p_values,
}


def audit(
    frames: Mapping[str, pd.DataFrame],
    *,
    config: DisclosureConfig,
    plan: AuditPlan | None = None,
    families: Sequence[str] = tuple(FAMILIES),
) -> dict[str, dict[str, AttackResult]]:
    """Run the attack ``families`` against the views of ``frames``.

    Returns, per family, an :class:`AttackResult` for the cell key method (``config``)
    and for suppression only (see :func:`suppression_only`; the p-value family adds
    ``suppression only, untested``); :func:`summary` turns it into one row per family.
    """
    plan = plan or AuditPlan()
    unknown = [f for f in families if f not in ATTACKS]
    if unknown:
        raise ValueError(f"families must be among {list(ATTACKS)}, got {unknown!r}")
    return {f: ATTACKS[f](frames, config=config, plan=plan) for f in families}
