"""Objective 3: a workforce at all levels that reflects the society it serves."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from equality_core import analysis
from equality_core.analysis import Selection
from equality_core.measures import measures_for
from equality_core.schema import CHARACTERISTICS, STAFF_GRADES
from equality_ui import charts, filters, loading, objective, panels
from equality_ui.chrome import run_inside_app

run_inside_app()

st.title("3. A workforce that reflects society")
st.markdown(
    "A workforce at all levels that reflects the society it serves: representation by grade "
    "against the population benchmark, and the staff journey (new starters, promotions, leavers, "
    "appraisal markings, investigations and grievances)."
)

EXTRACT = "staff_periods"
measures = [m for m in measures_for(extract=EXTRACT) if m.objective == 3]
choices = objective.sidebar_filters(EXTRACT, measures)
benchmarks = loading.extract("benchmarks")
characteristic = choices.characteristic
label = CHARACTERISTICS[characteristic].label
place = objective.place_words(choices.selection)


@st.cache_data(show_spinner=False, max_entries=32)
def _representation(
    checksum: str, selection: Selection, characteristic: str, version: str
) -> pd.DataFrame:
    """Each declared group's share of staff in each grade (and all grades) against its benchmark."""
    return analysis.representation_by_grade(
        analysis.select(loading.extract(EXTRACT), selection, EXTRACT),
        characteristic=characteristic,
        benchmarks=loading.extract("benchmarks"),
        protection=panels.protection(),
    )


@st.cache_data(show_spinner=False, max_entries=32)
def _markings(checksum: str, selection: Selection, characteristic: str, version: str):
    """Staff with each appraisal marking in each declared group, and the test between groups."""
    records = analysis.select(loading.extract(EXTRACT), selection, EXTRACT)
    return analysis.distribution_by_group(
        records,
        characteristic=characteristic,
        category="appraisal_marking",
        categories=charts.MARKINGS,
        protection=panels.protection(),
        rule=panels.FLAG_RULE,
    )


checksum = loading.checksum(EXTRACT)
version = panels.protection_version()

st.header("Representation by grade")
if benchmarks is None or characteristic not in set(benchmarks["characteristic"].astype(str)):
    st.info(
        f"There is no population benchmark for {label.lower()} in the benchmarks extract; "
        "representation is shown for ethnic group, sex and disability.",
        icon=":material/info:",
    )
else:
    table = _representation(checksum, choices.selection, characteristic, version)
    groups = list(CHARACTERISTICS[characteristic].groups)
    default = next((g for g in groups if g not in ("White", "Male", "Not disabled")), groups[0])
    group = filters.bound_select(
        "Group", [default, *[g for g in groups if g != default]], key="representation_group"
    )
    shown = panels.visible(table[table["group"] == group]).copy()
    order = ["All grades", *STAFF_GRADES]
    shown["grade"] = pd.Categorical(shown["grade"], categories=order, ordered=True)
    shown = shown.sort_values("grade")
    if shown.empty:
        panels.nothing_to_show("staff in this group, in numbers large enough to show,")
    else:
        under = shown[(shown["grade"] != "All grades") & shown["under_represented"].astype(bool)]
        benchmark = (
            float(shown["benchmark_share"].dropna().iloc[0])
            if shown["benchmark_share"].notna().any()
            else None
        )
        short = CHARACTERISTICS[characteristic].short_label(group)
        title = (
            f"{short} staff are under-represented in {len(under)} of {len(STAFF_GRADES)} grades"
            if len(under)
            else f"{short} staff are not significantly under-represented in any grade"
        )
        source = benchmarks[
            (benchmarks["characteristic"] == characteristic) & (benchmarks["group"] == group)
        ]
        source_words = (
            f"{source['source'].iloc[0]} ({int(source['year'].iloc[0])})"
            if len(source)
            else "no benchmark"
        )
        chart = charts.representation_chart(
            shown,
            title=title,
            subtitle=f"{place}, {choices.focus_label}. Dashed line: benchmark, {source_words}",
            group_label=short,
            benchmark=benchmark,
        )
        panels.chart_with_table(
            chart,
            table,
            description="Share by grade: "
            + "; ".join(f"{r.grade} {r.share:.1%}" for r in shown.itertuples(index=False))
            + (f". Benchmark {benchmark:.1%}." if benchmark is not None else "."),
            columns=[
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
            ],
            file_name=f"representation-{characteristic}",
            key="representation",
        )
        st.caption(
            "Shares are of staff who declared; under-represented means the whole 95% interval lies below the benchmark."
        )

st.header("The staff journey")
objective.analysis_block(EXTRACT, measures, choices, key="obj3")

st.header("Appraisal markings")
long, result, untested = _markings(checksum, choices.selection, characteristic, version)
if long.empty:
    panels.nothing_to_show("appraisal markings")
else:
    long = long.rename(columns={"category": "marking"})
    verdict = (
        "differ significantly"
        if result.p_value < panels.FLAG_RULE.alpha
        else "do not differ significantly"
    )
    title = f"Appraisal markings {verdict} by {label.lower()}"
    drawable = panels.visible(long).copy()
    drawable["label"] = [CHARACTERISTICS[characteristic].short_label(g) for g in drawable["group"]]
    chart = charts.distribution_chart(
        drawable,
        title=title,
        subtitle=f"{result.method}: statistic {result.statistic:.1f}, {result.dof} degrees of "
        f"freedom, p = {result.p_value:.3g}. {place}, {choices.focus_label}",
        categories=charts.MARKINGS,
        category="marking",
    )
    panels.chart_with_table(
        chart,
        long,
        description="; ".join(
            f"{r.group} {r.marking} {r.share:.0%}" for r in drawable.itertuples(index=False)
        ),
        columns=["group", "marking", "numerator", "denominator", "share"],
        file_name=f"appraisal-markings-{characteristic}",
        key="appraisal",
    )
    left_out = (
        f" Left out of the test (fewer than {panels.FLAG_RULE.min_denominator} marked, or a "
        f"hidden count): {', '.join(untested)}."
        if untested
        else ""
    )
    st.caption(
        "The test uses the counts shown. The relative rate of the top marking (Exceeded) is "
        "the 'Top appraisal marking' measure in the staff journey above." + left_out
    )

objective.declaration_block(EXTRACT, choices, key="obj3")
panels.methodology_note(
    extra="- **Representation** compares each group's share of staff who declared with its share of the benchmark population; the 95% interval is Wilson's."
)
