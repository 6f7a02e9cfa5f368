"""Objective 1: embed the Public Sector Equality Duty and reduce disproportionate outcomes."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from equality_core import analysis, findings
from equality_core.analysis import Selection
from equality_core.measures import MEASURES, measures_for
from equality_ui import loading, objective, panels
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
pack = objective.board_pack(choices, title="Objective 1: disproportionate outcomes", key="obj1")
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


def _monitoring_tool() -> None:
    st.header("Equality Monitoring Tool")
    table = objective.matrix(selection, characteristic, choices.comparator)
    if table.empty:
        panels.nothing_to_show("records")
        return
    panels.show(
        panels.remembered(
            findings.matrix,
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


def _flags_over_time() -> None:
    st.header("Flags over time")
    checksums = tuple(loading.checksum(n) for n in analysis.MATRIX_EXTRACTS)
    panels.show(
        panels.remembered(
            findings.flags_over_time,
            _flags(checksums, characteristic, selection, panels.protection_version()),
            characteristic=characteristic,
            place=place,
            within=within,
        ),
        key="flags",
    )


def _policies_and_plan() -> None:
    col1, col2 = st.columns(2)
    with col1:
        st.header("Equality analysis of national policies")
        analyses = loading.extract("equality_analyses")
        if analyses is None or analyses.empty:
            panels.nothing_to_show("policies")
        else:
            panels.show(panels.remembered(findings.equality_analyses, analyses), key="analyses")
    with col2:
        st.header("Equality Delivery Plan")
        plan = loading.extract("delivery_plan")
        if plan is None or plan.empty:
            panels.nothing_to_show("actions")
            return
        theme = (
            st.segmented_control(
                "Theme",
                ["All", *sorted(plan["theme"].astype(str).unique())],
                default="All",
                key="theme",
                bind="query-params",
            )
            or "All"
        )
        tracker = panels.remembered(
            findings.delivery_plan, plan, today=pd.Timestamp(dt.date.today()), theme=theme
        )
        st.markdown(
            f"**{panels.escape_markdown(tracker.headline)}**; overdue actions are listed first."
        )
        panels.table_view(
            tracker.table,
            columns=list(tracker.columns),
            file_name=tracker.file_name,
            key="plan",
            title=tracker.headline,
            subtitles=(tracker.subtitle,),
            titles=dict(tracker.titles),
        )


objective.sections(
    [
        ("Equality Monitoring Tool", _monitoring_tool),
        ("Flags over time", _flags_over_time),
        objective.analysis_section("One outcome in detail", EXTRACT, measures, choices, key="obj1"),
        objective.declaration_section(EXTRACT, choices, key="obj1"),
        ("Policies and delivery plan", _policies_and_plan),
    ],
    key="obj1",
    pack=pack,
)
panels.methodology_note()
