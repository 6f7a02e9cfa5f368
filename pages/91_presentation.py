"""Presentation mode: a deck of the findings that hold for a place, one slide at a time.

The presenter picks the place, the period and the characteristics; the slides are the
outcomes flagged there, then declaration coverage, then the objectives' headline
figures (:func:`equality_ui.present.deck`). Any slide can be unticked. The address holds
the whole deck (place, period, characteristics, the slides left out and the slide shown),
so a link reopens it. Previous and Next, and the arrow keys and Page Up/Down, move
between slides; a move redraws only the slide (a fragment), from a deck computed once.
"""

from __future__ import annotations

import streamlit as st

from equality_core import analysis, data
from equality_core.analysis import Selection
from equality_core.schema import CHARACTERISTICS
from equality_ui import filters, loading, objective, panels, present
from equality_ui.chrome import run_inside_app

run_inside_app()

# Our own fixed style (no extract text): the sidebar hidden, the page's own padding
# reduced so that the controls and the slide's top fit a 1366 by 768 screen, large type.
st.html(
    """<style>
    [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
    [data-testid="stExpandSidebarButton"] {display: none;}
    .stMainBlockContainer {max-width: 1320px; padding-top: 4rem; padding-bottom: 2rem;}
    .st-key-deck_controls > [class*="st-key-period_"] {flex: 0.75 1 8rem;}
    .st-key-deck_controls > .st-key-period_kind {flex: 1.1 1 11rem;}
    .st-key-deck_controls > .st-key-characteristics {flex: 2.2 1 16rem;}
    .st-key-deck_slide p, .st-key-deck_slide li {font-size: 1.35rem;}
    .st-key-deck_slide [data-testid="stCaptionContainer"] p {font-size: 1.1rem;}
    .st-key-deck_slide h1 {font-size: 2.3rem; line-height: 1.2; padding-top: 0.2rem;}
    .st-key-deck_count p {font-size: 1.15rem; margin: 0;}
    .st-key-deck_keys, .st-key-deck_keys * {overflow: hidden !important;}
    </style>"""
)

DEFAULT_CHARACTERISTICS = ["ethnic_group", "disability"]
#: Session keys the page keeps for itself: the slide shown (its number from 0, and its
#: id) and the deck it is in.
SLIDE, SLIDE_ID, SHOWN_DECK = "deck_slide", "_deck_slide_id", "_deck_signature"


def _number_in_address(name: str) -> int | None:
    try:
        return int(str(st.query_params.get(name, "")).strip())
    except ValueError:
        return None


def _omitted_in_address() -> set[str]:
    return {part for part in str(st.query_params.get("omit", "")).split(",") if part}


prisoners = loading.require("prisoner_periods", "the slides")
quarters = [str(p) for p in prisoners["period"].cat.categories]
options = analysis.characteristic_options("prisoner_periods")

with (
    filters.noting() as notes,
    st.container(horizontal=True, key="deck_controls", vertical_alignment="bottom", gap="small"),
):
    places = filters.place_filters(
        prisoners, loading.extract("establishments"), columns=("region", "establishment")
    )
    kind, end = filters.period_filter(quarters)
    chosen = st.multiselect(
        "Characteristics",
        options,
        default=[c for c in DEFAULT_CHARACTERISTICS if c in options],
        format_func=lambda c: CHARACTERISTICS[c].label,
        key="characteristics",
        bind="query-params",
    )
    ticks = st.popover("Slides", icon=":material/checklist:")
filters.show_address_problems(notes.address)

selection = Selection(kind, end, places)
characteristics = [c for c in options if c in chosen]  # the contract's order
slides = present.deck(selection, characteristics) if characteristics else []

# The deck changed (place, period, characteristics): start at its first slide. On the
# first run the address decides, so that a link opens on the slide it names.
signature = (selection, tuple(characteristics))
if SHOWN_DECK not in st.session_state:
    st.session_state[SLIDE] = max((_number_in_address("slide") or 1) - 1, 0)
elif st.session_state[SHOWN_DECK] != signature:
    st.session_state[SLIDE] = 0
    st.session_state.pop(SLIDE_ID, None)
st.session_state[SHOWN_DECK] = signature

with ticks:
    st.markdown("**Slides in the deck.** Untick a slide to leave it out.")
    left_out = _omitted_in_address()
    section = None
    for number, slide in enumerate(slides, start=1):
        if slide.section != section:
            section = slide.section
            st.caption(section)
        st.checkbox(
            f"{number}. {panels.escape_markdown(slide.finding.headline)}",
            value=slide.id not in left_out,
            key=f"tick_{slide.id}",
        )
omitted = [s.id for s in slides if not st.session_state.get(f"tick_{s.id}", True)]
if omitted:
    st.query_params["omit"] = ",".join(omitted)
elif "omit" in st.query_params:
    del st.query_params["omit"]
shown = [s for s in slides if s.id not in omitted]
# A slide left out or put back before the one on screen: the same slide stays on screen.
ids = [s.id for s in shown]
if st.session_state.get(SLIDE_ID) in ids:
    st.session_state[SLIDE] = ids.index(st.session_state[SLIDE_ID])

place = objective.place_words(selection)
period = data.period_label(kind, end)


def _move(step: int, ids: list[str]) -> None:
    index = min(max(st.session_state.get(SLIDE, 0) + step, 0), max(len(ids) - 1, 0))
    st.session_state[SLIDE] = index
    if ids:
        st.session_state[SLIDE_ID] = ids[index]
    st.query_params["slide"] = str(index + 1)


@st.fragment
def show_slides(deck: list[present.Slide], place: str, period: str) -> None:
    """Previous, Next and the slide: a move reruns only this, from the deck it was given."""
    count = len(deck)
    ids = [s.id for s in deck]
    index = min(max(st.session_state.get(SLIDE, 0), 0), max(count - 1, 0))
    st.session_state[SLIDE] = index
    if count:
        st.query_params["slide"] = str(index + 1)
    with st.container(horizontal=True, key="deck_nav", vertical_alignment="center", gap="small"):
        st.button(
            "Previous",
            key="deck_previous",
            icon=":material/arrow_back:",
            disabled=index == 0,
            on_click=_move,
            args=(-1, ids),
            help="Left arrow or Page Up",
        )
        with st.container(key="deck_count", width="content"):
            st.markdown(f"**Slide {index + 1 if count else 0} of {count}**")
        st.button(
            "Next",
            key="deck_next",
            icon=":material/arrow_forward:",
            disabled=index >= count - 1,
            on_click=_move,
            args=(1, ids),
            help="Right arrow or Page Down",
        )
        if count:
            present.board_pack_offer(
                key="deck",
                place=place,
                period=period,
                chosen=[s.finding for s in deck],
                label="Board pack of these slides (PowerPoint)",
            )
        st.page_link(
            "pages/00_overview.py", label="Leave presentation mode", icon=":material/close:"
        )
    if not count:
        st.info(
            "No slides: choose at least one characteristic, or tick a slide under Slides.",
            icon=":material/filter_alt_off:",
        )
        present.keyboard(slide=0, announce="No slides")
        return
    slide = deck[index]
    st.session_state[SLIDE_ID] = slide.id
    finding = slide.finding
    with st.container(key="deck_slide"):
        st.caption(f"{slide.section} · {panels.escape_markdown(place)}")
        st.markdown(f"# {panels.escape_markdown(finding.headline)}")
        st.markdown(panels.escape_markdown(finding.subtitle))
        panels.show_chart(present.slide_chart(finding), finding.description)
        for note in finding.notes:
            st.caption(panels.escape_markdown(note))
    present.keyboard(slide=index + 1, announce=f"Slide {index + 1} of {count}: {finding.headline}")


show_slides(shown, place, period)
