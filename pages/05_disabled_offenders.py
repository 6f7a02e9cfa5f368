"""Objective 5: identify and meet the needs of disabled prisoners and offenders."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from equality_core import analysis, data
from equality_core.measures import MEASURES, measures_for
from equality_ui import charts, loading, objective, panels
from equality_ui.chrome import run_inside_app

run_inside_app()

st.title("5. Needs of disabled prisoners and offenders")
st.markdown(
    "Identify and meet the needs of disabled prisoners and offenders: their outcomes against "
    "non-disabled prisoners, before and after allowing for age and establishment, so that a "
    "difference explained by who is held where is told apart from one that is not."
)

EXTRACT = "prisoner_periods"
DISABLED, NOT_DISABLED = "Disabled", "Not disabled"
measures = [m for m in measures_for(extract=EXTRACT) if m.kind == "proportion"]
choices = objective.sidebar_filters(
    EXTRACT, measures, default_characteristic="disability", characteristics=["disability"]
)
place = objective.place_words(choices.selection)
period_words = data.period_label(choices.selection.period_kind, choices.selection.period_end)


@st.cache_data(show_spinner="Adjusting for age and establishment…", max_entries=16)
def _crude_and_adjusted(checksum: str, selection, version: str) -> pd.DataFrame:
    """Every group's crude figures, with the adjusted ratio on the disabled rows."""
    records = analysis.select(loading.extract(EXTRACT), selection, EXTRACT)
    if records.empty:
        return pd.DataFrame()
    return analysis.crude_and_adjusted(
        records,
        measures=measures,
        characteristic="disability",
        comparator=NOT_DISABLED,
        strata=["age_band", "establishment"],
        protection=panels.protection(),
        rule=panels.FLAG_RULE,
    )


st.header("Disabled prisoners' outcomes, crude and adjusted")
table = _crude_and_adjusted(
    loading.checksum(EXTRACT), choices.selection, panels.protection_version()
)
if table.empty:
    panels.nothing_to_show("prisoners")
else:
    table = table[table["group"] == DISABLED]
    drawable = panels.visible(table).dropna(subset=["relative_rate"])
    flagged = drawable[drawable["flag"].astype(str).isin(["higher", "lower"])]
    explained = flagged[(flagged["adj_low"] <= 1) & (flagged["adj_high"] >= 1)]
    title = (
        f"{len(flagged)} of {len(drawable)} outcomes differ significantly for disabled prisoners"
        + (
            f"; {len(explained)} no longer do once age and establishment are allowed for"
            if len(explained)
            else ""
        )
    )
    long = pd.concat(
        [
            drawable.assign(
                series="Crude",
                ratio=drawable["relative_rate"],
                low=drawable["rr_low"],
                high=drawable["rr_high"],
            ),
            drawable.assign(
                series="Adjusted for age and establishment",
                ratio=drawable["adjusted_relative_rate"],
                low=drawable["adj_low"],
                high=drawable["adj_high"],
            ),
        ],
        ignore_index=True,
    )
    panels.chart_with_table(
        charts.adjusted_forest_plot(
            long,
            title=title,
            subtitle=f"Disabled against non-disabled prisoners: {place}, {period_words}"
            f"{objective.within_words(choices.selection)}. Adjusted: Mantel-Haenszel, "
            "stratified by age band and establishment",
            tolerance=panels.FLAG_RULE.tolerance,
        ),
        table,
        description="Relative rates, disabled against non-disabled prisoners: "
        + "; ".join(
            f"{r.measure_label}: crude {r.relative_rate:.2f}, adjusted "
            f"{r.adjusted_relative_rate:.2f} ({r.adj_low:.2f} to {r.adj_high:.2f})"
            for r in drawable.itertuples(index=False)
        )
        + ".",
        columns=[
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
        ],
        file_name="disabled-prisoners-adjusted",
        key="adjusted",
    )
    panels.suppression_note(table)

st.header("One outcome in detail")
objective.analysis_block(EXTRACT, measures, choices, key="obj5")

st.header("In the community")


@st.cache_data(show_spinner="Comparing people on probation…", max_entries=16)
def _community(checksums: tuple[str, ...], selection, version: str) -> pd.DataFrame:
    parts = []
    for extract in COMMUNITY:
        frame = loading.extract(extract)
        if frame is None or not selection.applies_to(frame):
            continue
        records = analysis.select(frame, selection, extract)
        if records.empty:
            continue
        parts.append(
            analysis.disparities(
                records,
                measures=measures_for(extract=extract),
                characteristic="disability",
                protection=panels.protection(),
                comparator=NOT_DISABLED,
                rule=panels.FLAG_RULE,
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


COMMUNITY = ("community_terminations", "community_journey")
# Probation records have no prison: the prison place filters do not apply to them.
national = choices.selection
for column in ("establishment", "region", "function", "estate"):
    national = national.without_place(column)
checksums = tuple(loading.checksum(e) for e in COMMUNITY)
community = _community(checksums, national, panels.protection_version())
if not community.empty:
    table = community.copy()
    table["measure_label"] = table["measure"].map(lambda m: MEASURES[m].label)
    st.caption(
        f"England and Wales, {period_words}{objective.within_words(national)}: people on "
        "probation who are disabled against those who are not."
    )
    panels.table_view(
        table[table["group"].isin([DISABLED, NOT_DISABLED])],
        columns=["measure_label", *panels.RESULT_COLUMNS],
        file_name="disabled-people-on-probation",
        key="community",
        title="Disabled people on probation against those who are not",
        subtitles=(f"England and Wales, {period_words}{objective.within_words(national)}",),
    )
else:
    panels.nothing_to_show("community records")

objective.declaration_block(EXTRACT, choices, key="obj5")
panels.methodology_note(
    extra="- **Adjusted relative rate**: Mantel-Haenszel relative rate pooled over strata of age band and establishment, with the Greenland-Robins interval. A crude disparity that vanishes once adjusted is explained by where and at what age disabled prisoners are held; one that remains is not."
)
