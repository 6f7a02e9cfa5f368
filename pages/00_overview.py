"""Overview for executives: one tile per strategic objective, declaration coverage, data status."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from equality_core import analysis, data, stats
from equality_core.analysis import Selection
from equality_core.schema import CHARACTERISTICS
from equality_ui import loading, panels
from equality_ui.chrome import run_inside_app

run_inside_app()

st.title("Equality Monitor")
st.markdown(
    "How equal are outcomes for prisoners, people on probation and staff? Each tile gives the "
    "headline for one strategic equality objective over the latest twelve months, its change "
    "since the year before, and links to the page with the detail."
)

BLACK = "Black, Black British, Black Welsh, Caribbean or African"
TILE_CHARACTERISTICS = ("ethnic_group", "age_band", "disability", "religion", "sex")


def _status(now: float, before: float | None, *, lower_is_better: bool) -> tuple[str, str]:
    """Words and a symbol for the direction of travel (never colour alone)."""
    if before is None or pd.isna(before):
        return "● No earlier period to compare", "off"
    if abs(now - before) < 1e-9:
        return "● No change", "off"
    better = (now < before) if lower_is_better else (now > before)
    return ("▲ Improving", "normal") if better else ("▼ Worsening", "inverse")


@st.cache_data(show_spinner="Summarising the latest figures…", max_entries=8)
def _prisoner_flags(checksum: str, end: str) -> dict:
    frame = loading.extract("prisoner_periods")
    out = {}
    for label, period_end in (("now", end), ("before", data.previous_period_end("rolling", end))):
        selection = Selection("rolling", period_end)
        records = analysis.select(frame, selection, "prisoner_periods")
        if records.empty:
            out[label] = None
            continue
        total = 0
        for characteristic in TILE_CHARACTERISTICS:
            table = analysis.disparities(
                records,
                measures=[
                    m
                    for m in analysis.MEASURES.values()
                    if m.extract == "prisoner_periods" and m.kind == "proportion"
                ],
                characteristic=characteristic,
                rule=panels.FLAG_RULE,
            )
            counts = analysis.flag_counts(table)
            total += counts["higher"] + counts["lower"]
            if characteristic == "ethnic_group":
                black = table[table["group"] == BLACK]
                out[f"{label}_black"] = int(
                    black["flag"].astype("string").isin(["higher", "lower"]).sum()
                )
            if characteristic == "disability":
                disabled = table[table["group"] == "Disabled"]
                out[f"{label}_disabled"] = int(
                    disabled["flag"].astype("string").isin(["higher", "lower"]).sum()
                )
                out["measures"] = len(disabled)
        out[label] = total
    return out


@st.cache_data(show_spinner=False, max_entries=8)
def _staff_share(checksum: str) -> pd.DataFrame:
    staff = loading.extract("staff_periods")
    declared = staff[staff["ethnic_group"].isin(CHARACTERISTICS["ethnic_group"].groups)]
    minority = declared["ethnic_group"] != "White"
    by_year = minority.groupby(declared["period"].astype(str)).agg(["sum", "size"]).reset_index()
    by_year.columns = ["period", "minority", "declared"]
    return by_year


prisoners = loading.extract("prisoner_periods")
latest = None
if prisoners is not None:
    latest = data.period_choices([str(p) for p in prisoners["period"].cat.categories], "rolling")[0]
    st.caption(f"Twelve months to {latest}, England and Wales.")

tiles = st.columns(3) + st.columns(2)

with tiles[0].container(border=True):
    st.markdown("**1. Disproportionate outcomes (PSED)**")
    if latest:
        flags = _prisoner_flags(
            loading.manifest()["extracts"]["prisoner_periods"]["source_sha256"], latest
        )
        words, colour = _status(flags["now"], flags.get("before"), lower_is_better=True)
        before = (
            f"down from {flags['before']}"
            if flags.get("before") is not None and flags["before"] > flags["now"]
            else (
                f"up from {flags['before']}"
                if flags.get("before") is not None and flags["before"] < flags["now"]
                else "unchanged"
            )
        )
        st.metric(
            "Prisoner outcomes flagged across five characteristics",
            flags["now"],
            delta=f"{flags['now'] - flags['before']:+d} on the year before"
            if flags.get("before") is not None
            else None,
            delta_color=colour,
        )
        st.markdown(f"{flags['now']} group-by-outcome flags, {before}. **{words}**")
    else:
        st.markdown("No prisoner extract published.")
    st.page_link("pages/01_psed.py", label="Open objective 1", icon=":material/arrow_forward:")

with tiles[1].container(border=True):
    st.markdown("**2. Offenders' outcomes**")
    if latest:
        now, before = flags["now_black"], flags.get("before_black")
        words, colour = _status(now, before, lower_is_better=True)
        st.metric(
            "Outcomes with disproportionate rates for Black prisoners",
            now,
            delta=f"{now - before:+d} on the year before" if before is not None else None,
            delta_color=colour,
        )
        st.markdown(
            f"{now} outcome(s) with disproportionate rates for Black prisoners"
            + (f", against {before} the year before" if before is not None else "")
            + f". **{words}**"
        )
    st.page_link("pages/02_offenders.py", label="Open objective 2", icon=":material/arrow_forward:")

with tiles[2].container(border=True):
    st.markdown("**3. Workforce representation**")
    staff = loading.extract("staff_periods")
    benchmarks = loading.extract("benchmarks")
    if staff is not None:
        shares = _staff_share(loading.manifest()["extracts"]["staff_periods"]["source_sha256"])
        row = shares.iloc[-1]
        share = row["minority"] / row["declared"]
        low, high = stats.wilson_interval(row["minority"], row["declared"])
        previous = (
            shares.iloc[-2]["minority"] / shares.iloc[-2]["declared"] if len(shares) > 1 else None
        )
        words, colour = _status(share, previous, lower_is_better=False)
        benchmark = None
        if benchmarks is not None:
            white = benchmarks[
                (benchmarks["characteristic"] == "ethnic_group") & (benchmarks["group"] == "White")
            ]
            benchmark = 1 - float(white["benchmark_share"].iloc[0]) if len(white) else None
        st.metric(
            f"Staff from ethnic minorities, {row['period']}",
            f"{share:.1%}",
            delta=f"{(share - previous) * 100:+.1f} points" if previous is not None else None,
            delta_color=colour,
        )
        st.markdown(
            f"95% interval {float(low):.1%} to {float(high):.1%}"
            + (
                f"; benchmark {benchmark:.1%} (Census 2021, aged 16 to 64)"
                if benchmark is not None
                else ""
            )
            + f". Ethnic minorities here are the Asian, Black, Mixed and Other groups, not White minorities. **{words}**"
        )
    st.page_link("pages/03_workforce.py", label="Open objective 3", icon=":material/arrow_forward:")

with tiles[3].container(border=True):
    st.markdown("**4. Engagement gap for disabled staff**")
    survey = loading.extract("staff_survey")
    if survey is not None:
        pooled = analysis.pooled_means(
            survey[survey["characteristic"] == "disability"], by=["period"]
        )
        wide = pooled.pivot(index="period", columns="group", values="mean").dropna()
        if {"Disabled", "Not disabled"} <= set(wide.columns) and len(wide):
            gaps = (wide["Disabled"] - wide["Not disabled"]).sort_index()
            now = float(gaps.iloc[-1])
            before = float(gaps.iloc[-2]) if len(gaps) > 1 else None
            words, colour = _status(
                abs(now), abs(before) if before is not None else None, lower_is_better=True
            )
            st.metric(
                f"Engagement gap, {gaps.index[-1]} (points)",
                f"{now:+.1f}",
                delta=f"{abs(now) - abs(before):+.1f} in size" if before is not None else None,
                delta_color="inverse"
                if colour == "normal"
                else ("normal" if colour == "inverse" else "off"),
            )
            st.markdown(f"Disabled minus non-disabled staff's engagement index. **{words}**")
    st.page_link(
        "pages/04_disabled_staff.py", label="Open objective 4", icon=":material/arrow_forward:"
    )

with tiles[4].container(border=True):
    st.markdown("**5. Disabled prisoners and offenders**")
    if latest:
        now, before = flags["now_disabled"], flags.get("before_disabled")
        words, colour = _status(now, before, lower_is_better=True)
        st.metric(
            "Outcomes with disproportionate rates for disabled prisoners",
            f"{now} of {flags['measures']}",
            delta=f"{now - before:+d} on the year before" if before is not None else None,
            delta_color=colour,
        )
        st.markdown(f"Before allowing for age and establishment. **{words}**")
    st.page_link(
        "pages/05_disabled_offenders.py", label="Open objective 5", icon=":material/arrow_forward:"
    )

st.header("Declaration coverage")
if prisoners is not None and latest:
    records = analysis.select(prisoners, Selection("rolling", latest), "prisoner_periods")
    coverage = analysis.declaration(records, characteristics=list(CHARACTERISTICS))
    panels.declaration_panel(coverage, None, unit_label="Establishment", key="overview")

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
