"""The analysis block every objective page shares: filters, forest plot, rates, trend,
funnel plot, declaration panel and methodology note for one measure at a time.

A page passes the measures it covers; this module reads the filters, asks
:mod:`equality_core.analysis` for the tables (protected there, by the cell key method) and
draws them. An establishment's figures are always shown beside the national figures for
the same filters.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from equality_core import analysis, data
from equality_core.analysis import Selection
from equality_core.measures import Measure
from equality_core.schema import CHARACTERISTICS, EXTRACTS
from equality_ui import charts, filters, loading, panels

#: The unit a funnel plot compares, by extract.
FUNNEL_UNIT = {
    "prisoner_periods": "establishment",
    "staff_periods": "establishment",
    "community_terminations": "division",
    "community_journey": "division",
}
NATIONAL = "England and Wales"
POPULATION_WORDS = {
    "prisoner_periods": "prisoners",
    "staff_periods": "staff",
    "community_terminations": "orders and licences ended",
    "community_journey": "people sentenced",
}
_TABLE_COLUMNS = ["series", *panels.RESULT_COLUMNS]


@st.cache_data(show_spinner="Counting…", max_entries=64)
def _disparities(
    extract: str,
    checksum: str,
    selection: Selection,
    measures: tuple[str, ...],
    characteristic: str,
    comparator: str | None,
    version: str,
) -> pd.DataFrame:
    frame = loading.extract(extract)
    records = analysis.select(frame, selection, extract)
    if records.empty:
        return pd.DataFrame()
    return analysis.disparities(
        records,
        measures=measures,
        characteristic=characteristic,
        protection=panels.protection(),
        comparator=comparator,
        rule=panels.FLAG_RULE,
    )


@st.cache_data(show_spinner="Drawing the trend…", max_entries=32)
def _trend(
    extract: str,
    checksum: str,
    selection: Selection,
    measure: str,
    characteristic: str,
    comparator: str | None,
    version: str,
) -> pd.DataFrame:
    frame = loading.extract(extract)
    return analysis.trend(
        frame,
        measure=measure,
        characteristic=characteristic,
        selection=selection,
        protection=panels.protection(),
        comparator=comparator,
        rule=panels.FLAG_RULE,
    )


@st.cache_data(show_spinner="Comparing establishments…", max_entries=32)
def _funnel(
    extract: str,
    checksum: str,
    selection: Selection,
    measure: str,
    characteristic: str,
    group: str | None,
    unit: str,
    version: str,
) -> pd.DataFrame:
    frame = loading.extract(extract)
    records = analysis.select(frame, selection, extract)
    return analysis.funnel(
        records,
        measure=measure,
        protection=panels.protection(),
        characteristic=characteristic,
        group=group,
        unit=unit,
    )


@st.cache_data(show_spinner="Checking declaration rates…", max_entries=32)
def _declaration(
    extract: str, checksum: str, selection: Selection, unit: str | None, version: str
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    frame = loading.extract(extract)
    records = analysis.select(frame, selection, extract)
    characteristics = analysis.characteristic_options(extract)
    protection = panels.protection()
    overall = analysis.declaration(records, characteristics=characteristics, protection=protection)
    by_unit = (
        analysis.declaration(
            records, characteristics=characteristics, protection=protection, by=[unit]
        )
        if unit
        else None
    )
    return overall, by_unit


def sidebar_filters(
    extract: str,
    measures: Sequence[Measure],
    *,
    default_characteristic: str = "ethnic_group",
    characteristics: Sequence[str] | None = None,
) -> filters.Choices:
    """Read every filter of an objective page from the sidebar (bound to the URL)."""
    frame = loading.require(extract, "this page's figures")
    establishments = loading.extract("establishments")
    options = list(characteristics or analysis.characteristic_options(extract))
    with st.sidebar:
        st.header("Filters")
        measure = filters.measure_filter(measures)
        periods = (
            frame["period"].cat.categories
            if hasattr(frame["period"], "cat")
            else frame["period"].unique()
        )
        periods = [str(p) for p in periods]
        kind, end = filters.period_filter(
            periods, financial_years_only=EXTRACTS[extract].period_type == "financial_year"
        )
        places = filters.place_filters(
            frame, establishments, columns=analysis.PLACE_COLUMNS[extract]
        )
        if len(options) == 1:
            characteristic = options[0]
            st.caption(
                f"Characteristic: {CHARACTERISTICS[characteristic].label.lower()}, "
                "the focus of this objective."
            )
        else:
            characteristic = filters.characteristic_filter(options, default=default_characteristic)
        comparator = filters.comparator_filter(characteristic)
        within = filters.within_filter(analysis.characteristic_options(extract), characteristic)
        filters.rule_caption()
    selection = Selection(kind, end, places, within)
    unit = FUNNEL_UNIT.get(extract)
    unit_value = dict(places).get(unit) if unit else None
    return filters.Choices(selection, characteristic, comparator, measure, unit, unit_value)


def _names() -> dict[str, str]:
    establishments = loading.extract("establishments")
    if establishments is None:
        return {}
    return dict(
        zip(establishments["code"].astype(str), establishments["name"].astype(str), strict=True)
    )


def place_words(selection: Selection) -> str:
    """Words for the place filters, e.g. 'HMP Caldwick' or 'England and Wales'."""
    place = selection.place
    names = _names()
    if "establishment" in place:
        return names.get(place["establishment"], place["establishment"])
    for column in ("division", "probation_region", "region", "function", "estate"):
        if column in place:
            return place[column]
    return "England and Wales"


def within_words(selection: Selection) -> str:
    if selection.within is None:
        return ""
    characteristic, group = selection.within
    return f", among {CHARACTERISTICS[characteristic].label.lower()}: {group}"


def analysis_block(
    extract: str, measures: Sequence[Measure], choices: filters.Choices, *, key: str
) -> pd.DataFrame | None:
    """Forest plot, rates, trend and funnel for the chosen measure; returns the shown table."""
    measure = choices.measure
    selection = choices.selection
    sum_ = loading.checksum(extract)
    version = panels.protection_version()
    table = _disparities(
        extract,
        sum_,
        selection,
        (measure.name,),
        choices.characteristic,
        choices.comparator,
        version,
    )
    if table.empty:
        panels.nothing_to_show(POPULATION_WORDS.get(extract, "records"))
        return None
    shown = table.assign(series=place_words(selection))
    both = shown
    if selection.places:
        # A place is always shown beside England and Wales, for the same other filters.
        national = _disparities(
            extract,
            sum_,
            selection.nationally(),
            (measure.name,),
            choices.characteristic,
            choices.comparator,
            version,
        ).assign(series=NATIONAL)
        both = pd.concat([shown, national], ignore_index=True)
    both["measure_label"] = measure.label

    char_label = CHARACTERISTICS[choices.characteristic].label
    period = data.period_label(selection.period_kind, selection.period_end)
    subtitle = f"{measure.label}: {place_words(selection)}, {period}{within_words(selection)}"
    finding = analysis.finding_sentence(
        panels.visible(shown),
        label=measure.label,
        characteristic=choices.characteristic,
        place=place_words(selection),
    )
    st.subheader(panels.escape_markdown(finding))
    st.caption(
        f"{measure.definition} Numerator: {measure.numerator_text}. Denominator: {measure.denominator_text}."
    )

    drawable = panels.visible(both)
    col1, col2 = st.columns(2)
    with col1:
        if drawable["relative_rate"].notna().any():
            chart = charts.forest_plot(
                drawable,
                title=finding,
                subtitle=f"Relative rate against the comparator. {subtitle}",
                tolerance=panels.FLAG_RULE.tolerance,
            )
            panels.chart_with_table(
                chart,
                both,
                description=analysis.describe_relative_rates(drawable),
                columns=_TABLE_COLUMNS,
                file_name=f"{measure.name}-relative-rates",
                key=f"{key}-forest",
            )
        else:
            panels.nothing_to_show("groups with enough people to compare")
    with col2:
        chart = charts.rates_chart(
            drawable,
            title=analysis.rates_sentence(
                panels.visible(shown),
                label=measure.label,
                characteristic=choices.characteristic,
                kind=measure.kind,
            ),
            subtitle=f"Rate by {char_label.lower()}. {subtitle}",
            kind=measure.kind,
        )
        panels.chart_with_table(
            chart,
            both,
            description=analysis.describe_rates(drawable, kind=measure.kind),
            columns=_TABLE_COLUMNS,
            file_name=f"{measure.name}-rates",
            key=f"{key}-rates",
        )
    panels.suppression_note(both)

    col3, col4 = st.columns(2)
    with col3:
        trend = panels.visible(
            _trend(
                extract,
                sum_,
                selection,
                measure.name,
                choices.characteristic,
                choices.comparator,
                version,
            )
        )
        trend = analysis.trend_groups(trend)
        if trend.empty:
            panels.nothing_to_show("periods")
        else:
            chart = charts.trend_chart(
                trend,
                title=analysis.trend_sentence(trend, label=measure.label),
                subtitle=f"{measure.label} by {char_label.lower()}: {place_words(selection)}{within_words(selection)}",
                kind=measure.kind,
            )
            panels.chart_with_table(
                chart,
                trend,
                description=analysis.describe_trend(trend, kind=measure.kind),
                columns=["period", *_TABLE_COLUMNS[1:]],
                file_name=f"{measure.name}-trend",
                key=f"{key}-trend",
            )
    with col4:
        if choices.unit and measure.kind == "proportion":
            groups = [
                filters.EVERYONE,
                *list(CHARACTERISTICS[choices.characteristic].groups),
            ]
            group = st.selectbox("Funnel plot for", groups, key=f"{key}-funnel-group")
            wider = selection.without_place(choices.unit)
            table_f = _funnel(
                extract,
                sum_,
                wider,
                measure.name,
                choices.characteristic,
                None if group == filters.EVERYONE else group,
                choices.unit,
                version,
            )
            if table_f.empty:
                panels.nothing_to_show("establishments")
            else:
                names = _names()
                table_f = table_f.assign(
                    name=table_f[choices.unit].astype(str).map(lambda c: names.get(c, c))
                )
                drawn = panels.visible(table_f)
                chart = charts.funnel_chart(
                    drawn,
                    title=analysis.funnel_sentence(
                        drawn, unit=choices.unit, highlight=choices.unit_value, names=names
                    ),
                    subtitle=f"{measure.label}, {group.lower() if group == filters.EVERYONE else group}: {period}. Lines: 95% (dashed) and 99.8% limits",
                    highlight=choices.unit_value,
                    unit=choices.unit,
                )
                panels.chart_with_table(
                    chart,
                    table_f,
                    description=analysis.describe_funnel(drawn, unit=choices.unit, names=names),
                    columns=[
                        choices.unit,
                        "name",
                        "numerator",
                        "denominator",
                        "rate",
                        "lower_95",
                        "upper_95",
                        "lower_998",
                        "upper_998",
                        "position",
                    ],
                    file_name=f"{measure.name}-funnel",
                    key=f"{key}-funnel",
                )
        elif choices.unit:
            st.caption(
                "Funnel plots compare proportions; choose a 'share of people' measure to see one."
            )
    return both


def declaration_block(extract: str, choices: filters.Choices, *, key: str) -> None:
    """The declaration-rate panel for the filtered population."""
    sum_ = loading.checksum(extract)
    overall, by_unit = _declaration(
        extract, sum_, choices.selection, choices.unit, panels.protection_version()
    )
    unit_label = {"establishment": "Establishment", "division": "Probation delivery unit"}.get(
        choices.unit or "", "Unit"
    )
    panels.declaration_panel(overall, by_unit, unit_label=unit_label, key=key, names=_names())
