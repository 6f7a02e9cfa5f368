"""Overview for executives: one tile per strategic objective, declaration coverage, data status."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from equality_core import analysis, data, findings, summary_pdf
from equality_core.analysis import Selection
from equality_core.measures import MEASURES, measures_for
from equality_core.schema import CHARACTERISTICS
from equality_ui import filters, identity, loading, objective, panels, present
from equality_ui.chrome import run_inside_app

run_inside_app()

st.title("Equality Monitor")
st.markdown(
    "How equal are outcomes for prisoners, people on probation and staff? Each tile gives the "
    "headline for one strategic equality objective over the latest twelve months (staff: the "
    "latest financial year), its change since the year before, and a link to the detail."
)

BLACK = "Black, Black British, Black Welsh, Caribbean or African"
PRISONER_MEASURES = measures_for(extract="prisoner_periods")


@st.cache_data(show_spinner=False, max_entries=32)
def _flags(
    checksums: tuple[str, ...],
    version: str,
    end: str,
    places: tuple[tuple[str, str], ...] = (),
    *,
    national: bool = False,
) -> dict[str, dict[str, list[str]]]:
    """Flagged cells of a place's matrix, the twelve months to ``end`` and before.

    The same matrices objective 1 shows for the place (one family of comparisons per
    characteristic), so the tiles name the very flags the matrix shows. For each period:
    ``all`` (every flagged cell by ethnic group, objective 1's default view), ``black``
    (prisoner outcomes flagged for Black prisoners) and ``disabled`` (prisoner outcomes
    flagged for disabled prisoners).

    Kept per view, as words: each run took four matrices out of their cache (a copy
    each) and named their flagged cells again, half of a rerun of the overview with
    nothing changed. The four are worked out together (:func:`objective.matrices`), in
    about half the time of one at a time. ``checksums`` and ``version`` are the matrices'
    own cache keys for the user's scope (or England and Wales's): see :func:`_flags_for`.
    """
    out: dict[str, dict[str, list[str]]] = {}
    periods = {"now": end, "before": data.previous_period_end("rolling", end)}
    views = [
        (Selection("rolling", period_end, places), characteristic)
        for period_end in periods.values()
        for characteristic in ("ethnic_group", "disability")
    ]
    tables = iter(objective.matrices(views, national=national))
    for label in periods:
        ethnic, disability = next(tables), next(tables)
        if ethnic.empty:
            continue
        prisoners = ethnic[ethnic["extract"] == "prisoner_periods"]
        out[label] = {
            "all": findings.flagged_cells(ethnic, MEASURES),
            "black": findings.flagged_cells(prisoners[prisoners["group"] == BLACK], MEASURES),
            "disabled": [],
        }
        if not disability.empty:
            disabled = disability[disability["extract"] == "prisoner_periods"]
            out[label]["disabled"] = findings.flagged_cells(
                disabled[disabled["group"] == "Disabled"], MEASURES
            )
    return out


def _flags_for(
    end: str, places: tuple[tuple[str, str], ...] = (), *, national: bool = False
) -> dict[str, dict[str, list[str]]]:
    """:func:`_flags` for the signed-in user's scope (or for England and Wales).

    For a user who may see every place, England and Wales is their own view of no place:
    asked for as that, under the same key, so the first change of place does not make
    again the figures the first draw made.
    """
    if national and identity.current().scope.national:
        national = False
    checksum = loading.national_checksum if national else loading.checksum
    checksums = tuple(checksum(name) for name in analysis.MATRIX_EXTRACTS)
    return _flags(checksums, panels.protection_version(), end, places, national=national)


@st.cache_data(show_spinner=False, max_entries=8)
def _staff_share(checksum: str, version: str, places: tuple = ()) -> pd.DataFrame:
    """Staff from ethnic minorities (Asian, Black, Mixed, Other) among those who declared."""
    staff = loading.extract("staff_periods")
    mask = analysis.place_mask(staff, Selection("financial_year", "", places))
    return _minority_share(staff, rows=mask)


@st.cache_data(show_spinner=False, max_entries=4)
def _national_staff_share(checksum: str, version: str) -> pd.DataFrame:
    """The same share for England and Wales, from the national path (aggregates only)."""
    return loading.national().aggregate("staff_periods", _minority_share)


def _staff_share_nationally(version: str) -> pd.DataFrame:
    """The share for England and Wales: the user's own view of no place if they may see it."""
    if identity.current().scope.national:
        # Passed as the first draw passes it: Streamlit keys the cache on the arguments given.
        return _staff_share(loading.checksum("staff_periods"), version, ())
    return _national_staff_share(loading.national_checksum("staff_periods"), version)


def _minority_share(staff: pd.DataFrame, rows: np.ndarray | None = None) -> pd.DataFrame:
    declared = staff["ethnic_group"].isin(CHARACTERISTICS["ethnic_group"].groups).to_numpy()
    minority = (staff["ethnic_group"] != "White").to_numpy()
    return analysis.share_by(
        staff,
        part=minority,
        whole=declared,
        by=["period"],
        protection=panels.protection(),
        rows=rows,
    )


@st.cache_data(show_spinner=False, max_entries=8)
def _coverage(checksum: str, end: str, version: str, places: tuple = ()) -> pd.DataFrame:
    return analysis.declaration_in(
        loading.extract("prisoner_periods"),
        Selection("rolling", end, places),
        "prisoner_periods",
        characteristics=list(CHARACTERISTICS),
        protection=panels.protection(),
    )


@st.cache_data(show_spinner=False, max_entries=8)
def _engagement_gaps(checksum: str, minimum: int, places: tuple = ()) -> pd.Series:
    """Disabled minus non-disabled staff's mean engagement index, by year, in the place.

    Only years where both groups have at least ``minimum`` respondents; empty if none.
    Pooled once per place (it was pooled again on every run of the overview).
    """
    survey = loading.extract("staff_survey")
    in_place = analysis.place_mask(survey, Selection("financial_year", "", places))
    pooled = analysis.pooled_means(
        survey[in_place & (survey["characteristic"] == "disability").to_numpy()],
        by=["period"],
    )
    pooled = pooled[pooled["respondents"] >= minimum]
    wide = pooled.pivot(index="period", columns="group", values="mean").dropna()
    if not ({"Disabled", "Not disabled"} <= set(wide.columns) and len(wide)):
        return pd.Series(dtype=float)
    return (wide["Disabled"] - wide["Not disabled"]).sort_index()


def _change(now: float, before: float | None) -> float | None:
    return None if before is None else now - before


def _flag_tile(
    name: str, label: str, *, help: str, sentence: str, tile: str, out_of: int = 0
) -> None:
    """A count of flags for the latest twelve months, its change, the flags named in words.

    ``sentence`` is completed with the count (``{now}``) and the year before's words. The
    tile's words are kept, as text, for the one-page summary under its title ``tile``.
    """
    named = flags.get("now", {}).get(name)
    if named is None:
        st.markdown("No prisoner extract is published.")
        return
    now = len(named)
    before_named = flags.get("before", {}).get(name)
    before = None if before_named is None else len(before_named)
    change = _change(now, before)
    words = panels.direction_metric(
        label,
        f"{now} of {out_of}" if out_of else str(now),
        change=change,
        change_text=f"{change or 0:+d} on the year before",
        lower_is_better=True,
        help=help,
    )
    earlier = f", against {before} the year before" if before is not None else ""
    said = sentence.format(now=now, earlier=earlier)
    st.markdown(said + f" **{words}**")
    lines = [f"{said} {words}"]
    if national_flags is not None:
        nationally = len(national_flags.get("now", {}).get(name, []))
        st.markdown(f"England and Wales: {nationally}.")
        lines.append(f"England and Wales: {nationally}.")
    figure = f"{now} of {out_of}" if out_of else str(now)
    summary_tiles.append(summary_pdf.Tile(tile, f"{label}: {figure}", tuple(lines)))
    if named:
        st.markdown("\n".join(f"- {panels.escape_markdown(cell)}" for cell in named[:5]))
        if len(named) > 5:
            st.caption(f"and {len(named) - 5} more: objective 1 lists them all.")


prisoners = loading.extract("prisoner_periods")
version = panels.protection_version()
latest = None
flags: dict[str, dict[str, list[str]]] = {}
national_flags: dict[str, dict[str, list[str]]] | None = None
places: tuple[tuple[str, str], ...] = ()
beside_national = False
if prisoners is not None:
    with filters.noting() as notes, st.sidebar:
        st.header("Place")
        filters.reset_button()
        places = filters.place_filters(
            prisoners, loading.extract("establishments"), columns=("region", "establishment")
        )
    filters.show_address_problems(notes.address)
    latest = data.period_choices([str(p) for p in prisoners["period"].cat.categories], "rolling")[0]
    place = objective.place_words(Selection("rolling", latest, places))
    flags = _flags_for(latest, places)
    beside_national = objective.shows_national_beside(Selection("rolling", latest, places))
    if beside_national:
        # England and Wales, no place named: from the national path for a user scoped to
        # some places, as the first draw made it for one who may see every place.
        national_flags = _flags_for(latest, national=True)
    beside = ", beside England and Wales" if beside_national else ""
    st.caption(f"Twelve months to {latest}, {panels.escape_markdown(place)}{beside}.")
    # Filled once the tiles are drawn: the summary of this place, as a one-page PDF.
    summary_offer = st.container()

#: Each tile's words as text, for the one-page summary (PDF) of the place.
summary_tiles: list[summary_pdf.Tile] = []
tiles = st.columns(3) + st.columns(2)
with tiles[0].container(border=True):
    st.markdown("**1. Disproportionate outcomes (PSED)**")
    _flag_tile(
        "all",
        "Flags by ethnic group",
        help="Cells of the Equality Monitoring Tool (every measure of prisoners, people on "
        "probation and staff, by ethnic group, for the place shown; probation records have no "
        "prison, so a prison or region leaves them out) flagged higher or lower: the matrix "
        "objective 1 opens with for the same place.",
        sentence="{now} outcome(s) flagged by ethnic group in the Equality Monitoring Tool"
        "{earlier}.",
        tile="1. Disproportionate outcomes (PSED)",
    )
    st.page_link("pages/01_psed.py", label="Open objective 1", icon=":material/arrow_forward:")

with tiles[1].container(border=True):
    st.markdown("**2. Offenders' outcomes**")
    _flag_tile(
        "black",
        "Outcomes flagged for Black prisoners",
        help="Prisoner outcomes on which Black prisoners' rate differs significantly from the "
        "comparator's (White, the largest group).",
        sentence="{now} outcome(s) with disproportionate rates for Black prisoners{earlier}.",
        tile="2. Offenders' outcomes",
    )
    st.page_link("pages/02_offenders.py", label="Open objective 2", icon=":material/arrow_forward:")

with tiles[2].container(border=True):
    st.markdown("**3. Workforce representation**")
    staff = loading.extract("staff_periods")
    benchmarks = loading.extract("benchmarks")
    if staff is not None:
        shares = _staff_share(loading.checksum("staff_periods"), version, places)
        row = shares.iloc[-1]
        share, low, high = row["share"], row["share_low"], row["share_high"]
        previous = shares.iloc[-2]["share"] if len(shares) > 1 else None
        change = _change(share, previous)
        words = panels.direction_metric(
            f"Staff from ethnic minorities, {row['period']}",
            f"{share:.1%}",
            change=change,
            change_text=f"{(change or 0) * 100:+.1f} points",
            lower_is_better=False,
            smallest_shown=0.0005,
            help="Asian, Black, Mixed and Other ethnic groups among staff who declared an "
            "ethnic group; White minorities are not included.",
        )
        benchmark = None
        if benchmarks is not None:
            white = benchmarks[
                (benchmarks["characteristic"] == "ethnic_group") & (benchmarks["group"] == "White")
            ]
            benchmark = 1 - float(white["benchmark_share"].iloc[0]) if len(white) else None
        against = (
            f" against a benchmark of {benchmark:.1%} (Census 2021, aged 16 to 64)"
            if benchmark is not None
            else ""
        )
        if pd.isna(share):
            said = "Too few staff here to show ([c])."
            st.markdown(said)
        else:
            said = f"95% interval {float(low):.1%} to {float(high):.1%}{against}."
            st.markdown(f"{said} **{words}**")
        lines = [f"{said} {words}"]
        if beside_national:
            nationally = _staff_share_nationally(version).iloc[-1]
            st.markdown(f"England and Wales: {nationally['share']:.1%}.")
            lines.append(f"England and Wales: {nationally['share']:.1%}.")
        summary_tiles.append(
            summary_pdf.Tile(
                "3. Workforce representation",
                f"Staff from ethnic minorities, {row['period']}: "
                + ("[c]" if pd.isna(share) else f"{share:.1%}"),
                tuple(lines),
            )
        )
    st.page_link("pages/03_workforce.py", label="Open objective 3", icon=":material/arrow_forward:")

with tiles[3].container(border=True):
    st.markdown("**4. Engagement gap for disabled staff**")
    if loading.extract("staff_survey") is not None:
        minimum = panels.configured_protection().survey_minimum
        gaps = _engagement_gaps(loading.checksum("staff_survey"), minimum, places)
        if len(gaps):
            now = float(gaps.iloc[-1])
            before = float(gaps.iloc[-2]) if len(gaps) > 1 else None
            change = None if before is None else abs(now) - abs(before)
            words = panels.direction_metric(
                f"Engagement gap, {gaps.index[-1]} (points)",
                f"{now:+.1f}",
                change=change,
                change_text=f"{(change or 0):+.1f} in size",
                lower_is_better=True,
                smallest_shown=0.05,
                help="Disabled minus non-disabled staff's mean engagement index (People Survey).",
            )
            st.markdown(f"Disabled minus non-disabled staff's engagement index. **{words}**")
            summary_tiles.append(
                summary_pdf.Tile(
                    "4. Engagement gap for disabled staff",
                    f"Engagement gap, {gaps.index[-1]}: {now:+.1f} points",
                    (f"Disabled minus non-disabled staff's engagement index. {words}",),
                )
            )
        else:
            too_few = f"Too few respondents here (fewer than {minimum} in a group) to show the gap."
            st.markdown(too_few)
            summary_tiles.append(summary_pdf.Tile("4. Engagement gap for disabled staff", too_few))
    st.page_link(
        "pages/04_disabled_staff.py", label="Open objective 4", icon=":material/arrow_forward:"
    )

with tiles[4].container(border=True):
    st.markdown("**5. Disabled prisoners and offenders**")
    _flag_tile(
        "disabled",
        "Outcomes flagged for disabled prisoners",
        help="Prisoner outcomes on which disabled prisoners' rate differs significantly from "
        "non-disabled prisoners', before allowing for age and establishment.",
        sentence="Before allowing for age and establishment{earlier}.",
        tile="5. Disabled prisoners and offenders",
        out_of=len(PRISONER_MEASURES),
    )
    st.page_link(
        "pages/05_disabled_offenders.py", label="Open objective 5", icon=":material/arrow_forward:"
    )

if latest:
    coverage = _coverage(loading.checksum("prisoner_periods"), latest, version, places)
    declared = panels.remembered(findings.declaration, coverage, place=place)
    panels.declaration_panel(declared, None, unit_label="Establishment", key="overview")
    st.caption(f"Prisoners held in the twelve months to {latest}, {panels.escape_markdown(place)}.")
    summary_tiles.append(
        summary_pdf.Tile(
            "Declaration coverage", f"Prisoners: {declared.headline}", (declared.description,)
        )
    )
    # The flagged findings: every cell flagged by ethnic group (objective 1's matrix), then
    # those flagged for disabled prisoners, each once, as the tiles name them.
    now_flags = flags.get("now", {})
    flagged = list(dict.fromkeys([*now_flags.get("all", []), *now_flags.get("disabled", [])]))
    with summary_offer:
        present.summary_pdf_offer(
            key="overview",
            place=place,
            period=f"Twelve months to {latest}",
            tiles=summary_tiles,
            flagged=flagged,
            notes=(
                "Staff figures are for the latest financial year; each tile's change is on "
                "the year before.",
            ),
            label="One-page summary of this place (PDF)",
        )

st.header("Data shown")
rows = []
for status in loading.statuses():
    entry = status.published or {}
    rows.append(
        {
            "Extract": status.extract,
            "Published": "Yes" if status.published else "No",
            "Validated at (UTC)": entry.get("validated_at", "")[:16].replace("T", " "),
            "Origin": entry.get("origin", ""),
            "Latest validation": (
                "✖ failed: last good version shown" if status.published else "✖ failed"
            )
            if status.latest_failed
            else ("✔ passed" if status.latest_report else "not run"),
        }
    )
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
st.page_link(
    "pages/90_data.py", label="Validation details and glossary", icon=":material/database:"
)
