"""Presentation mode for workshops: large type, no sidebar, one chart at a time."""

from __future__ import annotations

import streamlit as st

from equality_core import data, findings
from equality_core.analysis import Selection
from equality_core.measures import MEASURES
from equality_core.schema import CHARACTERISTICS
from equality_ui import charts, loading, objective, panels
from equality_ui.chrome import run_inside_app

run_inside_app()

# Our own fixed style (no extract text): larger type for a projector, sidebar hidden.
st.html(
    """<style>
    [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"] {display: none;}
    .stMainBlockContainer {max-width: 1200px;}
    p, li, label, .stMarkdown {font-size: 1.35rem !important;}
    h1 {font-size: 2.6rem !important;} h2 {font-size: 2.1rem !important;}
    </style>"""
)

SLIDES = [
    ("use_of_force", "ethnic_group"),
    ("incentive_enhanced", "ethnic_group"),
    ("adjudication_proven", "age_band"),
    ("segregated", "disability"),
    ("rotl_granted", "disability"),
    ("negative_case_note", "religion"),
    ("order_completed", "age_band"),
    ("sentence_above_proposal", "ethnic_group"),
    ("appraisal_top", "ethnic_group"),
    ("disciplinary_investigation", "ethnic_group"),
    ("leaver", "disability"),
]


def _slide_in_address() -> int:
    """The slide the address asks for (counting from 0); the first if it is not a number."""
    try:
        return int(str(st.query_params.get("slide", "1")).strip()) - 1
    except ValueError:
        return 0


if "slide" not in st.session_state:
    st.session_state["slide"] = _slide_in_address()
index = max(0, min(st.session_state["slide"], len(SLIDES) - 1))
measure_name, characteristic = SLIDES[index]
measure = MEASURES[measure_name]
frame = loading.require(measure.extract, "this slide")
periods = [str(p) for p in frame["period"].cat.categories]
if measure.extract == "staff_periods":
    selection = Selection("financial_year", periods[-1])
    words = f"Financial year {periods[-1]}"
else:
    end = data.period_choices(periods, "rolling")[0]
    selection = Selection("rolling", end)
    words = data.period_label("rolling", end)


table = objective.matrix(selection, characteristic, None)
if not table.empty:
    table = table[table["measure"] == measure_name]
finding = findings.relative_rates(
    table,
    None,
    findings.View(measure, characteristic, "England and Wales", words, "", panels.FLAG_RULE),
)
st.title(finding.headline)
chart = (
    charts.forest_plot(
        finding.drawn,
        title=f"{measure.label} by {CHARACTERISTICS[characteristic].label.lower()}: relative rate",
        subtitle=f"England and Wales, {words}. Shaded: the tolerance band {panels.FLAG_RULE.tolerance[0]} to {panels.FLAG_RULE.tolerance[1]}",
        tolerance=panels.FLAG_RULE.tolerance,
        step=64,
    )
    .configure_axis(labelFontSize=18, titleFontSize=18)
    .configure_title(fontSize=24, subtitleFontSize=16)
    .configure_legend(labelFontSize=16, titleFontSize=16)
)
panels.show_chart(chart, finding.description)
for note in finding.notes:
    st.caption(panels.escape_markdown(note))

left, middle, right = st.columns([1, 3, 1])
if left.button("◀ Previous", disabled=index == 0, width="stretch"):
    st.session_state["slide"] = index - 1
    st.query_params["slide"] = str(index)
    st.rerun()
middle.markdown(f"**Slide {index + 1} of {len(SLIDES)}**")
if right.button("Next ▶", disabled=index == len(SLIDES) - 1, width="stretch"):
    st.session_state["slide"] = index + 1
    st.query_params["slide"] = str(index + 2)
    st.rerun()
st.page_link("pages/00_overview.py", label="Leave presentation mode", icon=":material/close:")
