"""Objective 3: a workforce at all levels that reflects the society it serves."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from equality_core import analysis, findings
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
pack = objective.board_pack(choices, title="Objective 3: workforce representation", key="obj3")
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


def _representation_by_grade() -> None:
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
        source = benchmarks[
            (benchmarks["characteristic"] == characteristic) & (benchmarks["group"] == group)
        ]
        panels.show(
            panels.remembered(
                findings.representation,
                table,
                characteristic=characteristic,
                group=group,
                place=place,
                period=choices.focus_label,
                grades=STAFF_GRADES,
                benchmark_source=(
                    f"{source['source'].iloc[0]} ({int(source['year'].iloc[0])})"
                    if len(source)
                    else "no benchmark"
                ),
            ),
            key="representation",
        )


def _appraisal_markings() -> None:
    st.header("Appraisal markings")
    long, result, untested = _markings(checksum, choices.selection, characteristic, version)
    panels.show(
        panels.remembered(
            findings.distribution,
            long,
            result,
            key=f"appraisal-markings-{characteristic}",
            characteristic=characteristic,
            what="appraisal markings",
            category_title="Marking",
            categories=charts.MARKINGS,
            place=place,
            period=choices.focus_label,
            untested=untested,
            rule=panels.FLAG_RULE,
        ),
        key="appraisal",
    )
    st.caption(
        "The relative rate of the top marking (Exceeded) is the 'Top appraisal marking' measure "
        "under 'The staff journey'."
    )


objective.sections(
    [
        ("Representation by grade", _representation_by_grade),
        objective.analysis_section("The staff journey", EXTRACT, measures, choices, key="obj3"),
        ("Appraisal markings", _appraisal_markings),
        objective.declaration_section(EXTRACT, choices, key="obj3"),
    ],
    key="obj3",
    pack=pack,
)
panels.methodology_note(
    extra="- **Representation** compares each group's share of staff who declared with its share of the benchmark population; the 95% interval is Wilson's."
)
