"""The analysis block every objective page shares: filters, forest plot, rates, trend,
funnel plot, declaration panel and methodology note for one measure at a time.

A page passes the measures it covers; this module reads the filters, asks
:mod:`equality_core.analysis` for the tables (protected there, by the cell key method) and
draws them. An establishment's figures are always shown beside the national figures for
the same filters. A page's sections are tabs (:func:`sections`), of which only the open
one is computed; the board pack (:func:`board_pack`) is made by a run that draws them all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st

from equality_core import analysis, data, findings
from equality_core.analysis import Selection
from equality_core.measures import Measure
from equality_core.schema import CHARACTERISTICS, EXTRACTS
from equality_ui import filters, identity, loading, panels

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


@st.cache_data(show_spinner="Comparing every outcome…", max_entries=64)
def _matrix(
    checksums: tuple[str, ...],
    selection: Selection,
    characteristic: str,
    comparator: str | None,
    version: str,
) -> pd.DataFrame:
    return matrices([(selection, characteristic)], comparator=comparator)[0]


def matrix(selection: Selection, characteristic: str, comparator: str | None) -> pd.DataFrame:
    """Every comparison of a view, one Benjamini-Hochberg family (cached per process).

    Every page takes its comparisons from here, so a cell shows the same adjusted p-value
    and flag wherever it appears.
    """
    checksums = tuple(loading.checksum(name) for name in analysis.MATRIX_EXTRACTS)
    return _matrix(checksums, selection, characteristic, comparator, panels.protection_version())


@st.cache_data(show_spinner="Comparing every outcome in England and Wales…", max_entries=32)
def _national_matrix(
    checksums: tuple[str, ...],
    selection: Selection,
    characteristic: str,
    comparator: str | None,
    version: str,
) -> pd.DataFrame:
    return loading.national().matrix(
        selection,
        characteristic=characteristic,
        protection=panels.protection(),
        comparator=comparator,
        rule=panels.FLAG_RULE,
    )


def national_matrix(
    selection: Selection, characteristic: str, comparator: str | None
) -> pd.DataFrame:
    """England and Wales's comparisons for the same period and group: for every user.

    From the national path (aggregates only), shared by every user, so a user scoped to
    some places sees the national figures beside their own without seeing other places.
    """
    selection = selection.nationally()
    if identity.current().scope.national:
        return matrix(selection, characteristic, comparator)
    checksums = tuple(loading.national_checksum(name) for name in analysis.MATRIX_EXTRACTS)
    return _national_matrix(
        checksums, selection, characteristic, comparator, panels.protection_version()
    )


def matrices(
    views: Sequence[tuple[Selection, str]],
    *,
    comparator: str | None = None,
    national: bool = False,
) -> list[pd.DataFrame]:
    """:func:`matrix` (or :func:`national_matrix`) of each view, worked out together.

    Each table is the one :func:`matrix` gives (:func:`equality_core.analysis.emt_matrices`),
    not kept here: for a caller that keeps them, or what it makes of them.
    """
    protection, rule = panels.protection(), panels.FLAG_RULE
    if national:
        views = [(selection.nationally(), characteristic) for selection, characteristic in views]
        if not identity.current().scope.national:
            return loading.national().matrices(
                views, protection=protection, comparator=comparator, rule=rule
            )
    frames = {name: loading.extract(name) for name in analysis.MATRIX_EXTRACTS}
    return analysis.emt_matrices(
        frames, views=views, protection=protection, comparator=comparator, rule=rule
    )


def shows_national_beside(selection: Selection) -> bool:
    """True if the view is not England and Wales itself, so the national figures go beside it."""
    return bool(selection.places) or not identity.current().scope.national


def _disparities(
    selection: Selection,
    measure: str,
    characteristic: str,
    comparator: str | None,
    *,
    national: bool = False,
) -> pd.DataFrame:
    """The comparisons of one measure, as the view's matrix holds them."""
    table = (national_matrix if national else matrix)(selection, characteristic, comparator)
    if table.empty:
        return table
    return table[table["measure"] == measure].reset_index(drop=True)


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
    centre: float | None,
) -> pd.DataFrame:
    frame = loading.extract(extract)
    return analysis.funnel_in(
        frame,
        selection,
        extract,
        measure=measure,
        protection=panels.protection(),
        characteristic=characteristic,
        group=group,
        unit=unit,
        centre=centre,
    )


@st.cache_data(show_spinner=False, max_entries=32)
def _national_centre(
    extract: str,
    checksum: str,
    selection: Selection,
    measure: str,
    characteristic: str,
    group: str | None,
    version: str,
) -> float | None:
    return loading.national().funnel_centre(
        selection,
        extract=extract,
        measure=measure,
        protection=panels.protection(),
        characteristic=characteristic,
        group=group,
    )


def funnel_centre(
    extract: str, selection: Selection, measure: str, characteristic: str, group: str | None
) -> float | None:
    """The centre line of a funnel plot: None (all units shown) for a national user;
    England and Wales's rate, from the national path, for a user who sees some units."""
    if identity.current().scope.national:
        return None
    return _national_centre(
        extract,
        loading.national_checksum(extract),
        selection.nationally(),
        measure,
        characteristic,
        group,
        panels.protection_version(),
    )


@st.cache_data(show_spinner="Checking declaration rates…", max_entries=32)
def _declaration(
    extract: str, checksum: str, selection: Selection, unit: str | None, version: str
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    frame = loading.extract(extract)
    characteristics = analysis.characteristic_options(extract)
    protection = panels.protection()

    def declaration(by_unit: bool) -> pd.DataFrame:
        return analysis.declaration_in(
            frame,
            selection,
            extract,
            characteristics=characteristics,
            protection=protection,
            by_unit=by_unit,
        )

    return declaration(False), (declaration(True) if unit else None)


def sidebar_filters(
    extract: str,
    measures: Sequence[Measure],
    *,
    default_characteristic: str = "ethnic_group",
    characteristics: Sequence[str] | None = None,
    setting: str | None = None,
) -> filters.Choices:
    """Read every filter of an objective page from the sidebar (bound to the URL).

    ``setting`` names the population when a page offers more than one (objective 2's
    custody and community): when it changes, filters the new one does not offer fall
    back and a caption says which. Under the page's title go a line summarising the
    filters chosen and one message naming any value of the address that was not used.
    """
    frame = loading.require(extract, "this page's figures")
    establishments = loading.extract("establishments")
    options = list(characteristics or analysis.characteristic_options(extract))
    changed = filters.setting_changed(setting)
    with filters.noting() as notes, st.sidebar:
        if changed:
            filters.clear_places_not_in(
                analysis.PLACE_COLUMNS[extract], filters.establishment_names(establishments)
            )
        st.header("Filters")
        filters.reset_button()
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
    choices = filters.Choices(selection, characteristic, comparator, measure, unit, unit_value)
    st.markdown(summary_line(choices))
    filters.show_address_problems(notes.address)
    if changed and setting is not None:
        filters.show_fallbacks(notes.fell_back, setting)
    return choices


#: The label of the button that makes a page's board pack.
MAKE_PACK = "Make a board pack (PowerPoint)"
#: Session State key (with the page's key) set when that button is pressed.
_PACK_WANTED = "_equality_monitor_pack_wanted_"


def board_pack(choices: filters.Choices, *, title: str, key: str) -> Callable[[], None] | None:
    """Offer, in the sidebar, this page's findings as a board pack (.pptx) for the view.

    A page computes only its open section (:func:`sections`), and a board pack holds
    every section, so the pack takes two steps: the button "Make a board pack" runs the
    page with every section drawn, and at the end of that run (never before its last
    section is drawn) the sidebar offers the pack's download, made when pressed, under a
    title slide naming the place and period. Returns, in that run only, the function that
    makes the offer: the page passes it to :func:`sections`.

    Users without the download permission see neither button.
    """
    from equality_ui import present

    selection = choices.selection
    with st.sidebar:
        if not identity.current().may("download"):
            identity.note_no_downloads()
            return None
        wanted = f"{_PACK_WANTED}{key}"
        st.button(
            MAKE_PACK,
            key=f"make-boardpack-{key}",
            icon=":material/slideshow:",
            on_click=st.session_state.__setitem__,
            args=(wanted, True),
        )
        # Set by the button's callback before this run; taken, so the next run is lazy again.
        if not st.session_state.pop(wanted, False):
            return None
        slot = st.empty()
        slot.caption("Drawing every section of this page for the board pack…")

    def offer() -> None:
        with slot.container():
            present.board_pack_offer(
                key=key,
                place=place_words(selection),
                period=data.period_label(selection.period_kind, selection.period_end),
                title=title,
                label="Download the board pack (PowerPoint)",
            )
            st.caption("The pack holds every section of this page, for these filters.")

    return offer


def sections(
    parts: Sequence[tuple[str, Callable[[], object]]],
    *,
    key: str,
    pack: Callable[[], None] | None = None,
) -> None:
    """Draw a page's sections as tabs, running only the open one's code.

    ``parts`` are (tab label, function that draws the section) in order; the first tab is
    open by default. The open tab is kept in the page address under ``<key>-section``
    (the label), so a shared link opens the same section. Switching tabs reruns the page,
    and only the open section is computed: a filter change costs what is on screen, not
    the whole page. With ``pack`` (from :func:`board_pack`, in the run that makes the
    board pack) every section is drawn, the hidden ones in their tabs, and then the pack
    is offered.
    """
    labels = [label for label, _ in parts]
    tabs = st.tabs(labels, key=f"{key}-section", bind="query-params")
    for (_, draw), tab in zip(parts, tabs, strict=True):
        with tab:
            # ``open`` is None only where tabs keep no state: then every tab is drawn.
            if pack is not None or tab.open is not False:
                draw()
    if pack is not None:
        pack()


def summary_line(choices: filters.Choices) -> str:
    """One line of Markdown naming what is chosen, from the page's own ``Choices``.

    For example 'Showing: Proven adjudication · Twelve months to 2025-Q4 · HMP Caldwick ·
    by ethnic group, comparator White'. Only chosen values are named: with no place
    chosen the figures are for England and Wales, and with no comparator chosen it is
    the largest group (which differs from place to place), never a group named for it.
    """
    selection = choices.selection
    names = _names()
    places = [
        names.get(value, value) if column == "establishment" else value
        for column, value in selection.places
    ] or [place_words(selection)]
    comparator = choices.comparator or "the largest group"
    parts = [
        choices.measure.label,
        data.period_label(selection.period_kind, selection.period_end),
        *places,
        f"by {CHARACTERISTICS[choices.characteristic].label.lower()}, comparator {comparator}",
    ]
    if selection.within is not None:
        second, group = selection.within
        parts.append(f"among {CHARACTERISTICS[second].label.lower()}: {group}")
    return "**Showing:** " + " · ".join(filters.escape(part) for part in parts)


@st.cache_resource(show_spinner=False, max_entries=4)
def _names_for(checksum: str, _establishments: pd.DataFrame) -> dict[str, str]:
    """Establishment names by code for one published establishments extract.

    Kept as one object (a page asks for the names eight times a run); callers get a copy.
    """
    return dict(
        zip(_establishments["code"].astype(str), _establishments["name"].astype(str), strict=True)
    )


def _names() -> dict[str, str]:
    establishments = loading.extract("establishments")
    if establishments is None:
        return {}
    return dict(_names_for(loading.checksum("establishments"), establishments))


def place_words(selection: Selection) -> str:
    """Words for the place filters, e.g. 'HMP Caldwick' or 'England and Wales'."""
    place = selection.place
    names = _names()
    if "establishment" in place:
        return names.get(place["establishment"], place["establishment"])
    for column in ("division", "probation_region", "region", "function", "estate"):
        if column in place:
            return place[column]
    scope = identity.current().scope
    if not scope.national:
        return f"your places ({scope.describe(names)})"
    return NATIONAL


def within_words(selection: Selection) -> str:
    if selection.within is None:
        return ""
    characteristic, group = selection.within
    return f", among {CHARACTERISTICS[characteristic].label.lower()}: {group}"


def view_of(choices: filters.Choices) -> findings.View:
    """The words and parameters a page's findings are about."""
    selection = choices.selection
    return findings.View(
        measure=choices.measure,
        characteristic=choices.characteristic,
        place=place_words(selection),
        period=data.period_label(selection.period_kind, selection.period_end),
        within=within_words(selection),
        rule=panels.FLAG_RULE,
    )


def analysis_block(
    extract: str, measures: Sequence[Measure], choices: filters.Choices, *, key: str
) -> pd.DataFrame | None:
    """Forest plot, rates, trend and funnel for the chosen measure; returns the shown table.

    The tables come from :mod:`equality_core.analysis` (protected there) and the words
    from :mod:`equality_core.findings`; this function only draws them.
    """
    measure = choices.measure
    selection = choices.selection
    sum_ = loading.checksum(extract)
    version = panels.protection_version()
    arguments = (choices.characteristic, choices.comparator)
    table = _disparities(selection, measure.name, *arguments)
    if table.empty:
        panels.nothing_to_show(POPULATION_WORDS.get(extract, "records"))
        return None
    national = None
    if shows_national_beside(selection):
        # A place is always shown beside England and Wales, for the same other filters:
        # from the national path, which every user may see.
        national = _disparities(selection, measure.name, *arguments, national=True)
    view = view_of(choices)
    forest = panels.remembered(findings.relative_rates, table, national, view)
    st.subheader(panels.escape_markdown(forest.headline))
    st.caption(
        f"{measure.definition} Numerator: {measure.numerator_text}. Denominator: {measure.denominator_text}."
    )
    col1, col2 = st.columns(2)
    with col1:
        panels.show(forest, key=f"{key}-forest")
    with col2:
        panels.show(panels.remembered(findings.rates, table, national, view), key=f"{key}-rates")

    col3, col4 = st.columns(2)
    with col3:
        trend = _trend(extract, sum_, selection, measure.name, *arguments, version)
        panels.show(panels.remembered(findings.trend, trend, view), key=f"{key}-trend")
    with col4:
        if choices.unit and measure.kind == "proportion":
            groups = [filters.EVERYONE, *list(CHARACTERISTICS[choices.characteristic].groups)]
            group = st.selectbox("Funnel plot for", groups, key=f"{key}-funnel-group")
            chosen_group = None if group == filters.EVERYONE else group
            around = selection.without_place(choices.unit)
            centre = funnel_centre(
                extract, around, measure.name, choices.characteristic, chosen_group
            )
            table_f = _funnel(
                extract,
                sum_,
                around,
                measure.name,
                choices.characteristic,
                chosen_group,
                choices.unit,
                version,
                centre,
            )
            if table_f.empty:
                panels.nothing_to_show("establishments")
            else:
                funnel = panels.remembered(
                    findings.funnel,
                    table_f,
                    view,
                    unit=choices.unit,
                    highlight=choices.unit_value,
                    names=_names(),
                    group_words=group.lower() if group == filters.EVERYONE else group,
                )
                panels.show(funnel, key=f"{key}-funnel")
                if centre is not None:
                    st.caption(
                        "Your units only, with the limits drawn around England and Wales's "
                        "rate for the same period and group."
                    )
        elif choices.unit:
            st.caption(
                "Funnel plots compare proportions; choose a 'share of people' measure to see one."
            )
    return forest.table


def analysis_section(
    label: str,
    extract: str,
    measures: Sequence[Measure],
    choices: filters.Choices,
    *,
    key: str,
    header: bool = True,
) -> tuple[str, Callable[[], None]]:
    """:func:`analysis_block` as one of a page's :func:`sections`: (label, drawing).

    With ``header`` the section opens with ``label`` as its heading.
    """

    def draw() -> None:
        if header:
            st.header(label)
        analysis_block(extract, measures, choices, key=key)

    return label, draw


#: The tab every objective page shows its declaration-rate panel in.
DECLARATION_TAB = "Declaration rates"


def declaration_section(
    extract: str, choices: filters.Choices, *, key: str
) -> tuple[str, Callable[[], None]]:
    """The declaration-rate panel as one of a page's :func:`sections`: (label, drawing)."""
    return DECLARATION_TAB, lambda: declaration_block(extract, choices, key=key)


def declaration_block(extract: str, choices: filters.Choices, *, key: str) -> None:
    """The declaration-rate panel for the filtered population."""
    sum_ = loading.checksum(extract)
    overall, by_unit = _declaration(
        extract, sum_, choices.selection, choices.unit, panels.protection_version()
    )
    unit_label = {"establishment": "Establishment", "division": "Probation delivery unit"}.get(
        choices.unit or "", "Unit"
    )
    panels.declaration_panel(
        panels.remembered(findings.declaration, overall, place=place_words(choices.selection)),
        by_unit,
        unit_label=unit_label,
        key=key,
        names=_names(),
    )
