"""Objective 1: embed the Public Sector Equality Duty and reduce disproportionate outcomes."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from equality_core import analysis, findings, stats
from equality_core.analysis import Selection
from equality_core.measures import MEASURES, measures_for
from equality_ui import charts, loading, objective, panels
from equality_ui.chrome import run_inside_app

run_inside_app()

st.title("1. Public Sector Equality Duty and disproportionate outcomes")
st.markdown(
    "Embed the Public Sector Equality Duty and reduce inappropriately disproportionate outcomes: "
    "the Equality Monitoring Tool view of every outcome for every group, how the number of flags "
    "has moved, one outcome in detail, equality analysis of national policies, and the "
    "Equality Delivery Plan."
)

EXTRACT = "prisoner_periods"
measures = measures_for(extract=EXTRACT)
choices = objective.sidebar_filters(EXTRACT, measures)
selection = choices.selection
characteristic = choices.characteristic


@st.cache_data(show_spinner="Counting flags year by year…", max_entries=16)
def _flags(
    checksums: tuple[str, ...], characteristic: str, selection: Selection, version: str
) -> pd.DataFrame:
    return analysis.flags_over_time(
        {name: loading.extract(name) for name in analysis.MATRIX_EXTRACTS},
        characteristic=characteristic,
        selection=selection,
        protection=panels.protection(),
        rule=panels.FLAG_RULE,
    )


place = objective.place_words(selection)
within = objective.within_words(selection)

st.header("Equality Monitoring Tool")
table = objective.matrix(selection, characteristic, choices.comparator)
if table.empty:
    panels.nothing_to_show("records")
else:
    panels.show(
        findings.matrix(
            table,
            characteristic=characteristic,
            place=place,
            period=choices.focus_label,
            within=within,
            measures=MEASURES,
        ),
        key="matrix",
    )
    notes = []
    extracts = set(table["extract"])
    if "staff_periods" in extracts:
        notes.append(
            "Staff measures are for the financial year "
            + analysis.periods_of(selection, "staff_periods")[0]
            + " (staff records are yearly)."
        )
    if len(extracts) < len(analysis.MATRIX_EXTRACTS):
        notes.append(
            "Measures from records that do not carry this filter (community records have no "
            "establishment; some characteristics are not recorded in the community) are left out."
        )
    if notes:
        st.caption(" ".join(notes))

st.header("Flags over time")
checksums = tuple(loading.checksum(n) for n in analysis.MATRIX_EXTRACTS)
panels.show(
    findings.flags_over_time(
        _flags(checksums, characteristic, selection, panels.protection_version()),
        characteristic=characteristic,
        place=place,
        within=within,
    ),
    key="flags",
)

st.header("One outcome in detail")
objective.analysis_block(EXTRACT, measures, choices, key="obj1")
objective.declaration_block(EXTRACT, choices, key="obj1")

col1, col2 = st.columns(2)
with col1:
    st.header("Equality analysis of national policies")
    analyses = loading.extract("equality_analyses")
    if analyses is None or analyses.empty:
        panels.nothing_to_show("policies")
    else:
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
        panels.chart_with_table(
            charts.share_by_year_chart(
                by_year,
                title=f"{latest['share']:.0%} of the {int(latest['policies'])} policies issued "
                f"in {int(latest['year'])} had an equality analysis",
                subtitle="Share of national policies with a completed equality analysis, with "
                "95% intervals",
                y_title="Share with an equality analysis",
            ),
            by_year,
            description="Completion by year: "
            + "; ".join(
                f"{int(r.year)}: {r.share:.0%} of {r.policies}, {r.assured} quality-assured"
                for r in by_year.itertuples(index=False)
            )
            + ".",
            columns=["year", "policies", "completed", "assured", "share", "low", "high"],
            file_name="equality-analyses",
            key="analyses",
        )
with col2:
    st.header("Equality Delivery Plan")
    plan = loading.extract("delivery_plan")
    if plan is None or plan.empty:
        panels.nothing_to_show("actions")
    else:
        today = pd.Timestamp(dt.date.today())
        tracker = plan.copy()
        tracker["overdue"] = (pd.to_datetime(tracker["due_date"]) < today) & (
            tracker["status"] != "Complete"
        )
        tracker = tracker.sort_values(["overdue", "due_date"], ascending=[False, True])
        overdue = int(tracker["overdue"].sum())
        st.markdown(
            f"**{overdue} of {len(tracker)} actions are overdue**; overdue actions are listed first."
        )
        theme = (
            st.segmented_control(
                "Theme",
                ["All", *sorted(tracker["theme"].astype(str).unique())],
                default="All",
                key="theme",
                bind="query-params",
            )
            or "All"
        )
        if theme != "All":
            tracker = tracker[tracker["theme"] == theme]
        tracker["overdue"] = tracker["overdue"].map({True: "Overdue", False: ""})
        tracker["due_date"] = pd.to_datetime(tracker["due_date"]).dt.strftime("%d %b %Y")
        panels.table_view(
            tracker,
            columns=[
                "action_id",
                "theme",
                "objective",
                "aim",
                "owner",
                "due_date",
                "status",
                "overdue",
            ],
            file_name="equality-delivery-plan",
            key="plan",
            title=f"Equality Delivery Plan: {overdue} of {len(plan)} actions overdue",
            subtitles=(f"Theme: {theme}. Overdue actions first; dates as of {today:%d %B %Y}",),
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

panels.methodology_note()
