"""What every page does first: run inside ``app.py``'s navigation, and flag stale data.

Streamlit still treats a folder called ``pages/`` beside the entrypoint as an old-style
(v1) multipage app until the entrypoint first calls ``st.navigation`` in the process. A
browser that opens a page's address on a fresh server (or ``AppTest.switch_page``) would
then run the page file on its own: no demo banner, no data status, the wrong menu. Each
page calls :func:`run_inside_app` first; if it finds itself outside the navigation it
switches Streamlit to ``st.navigation`` mode and reruns, so ``app.py`` runs and shows
the same page properly. Inside the navigation it says, at the top of the page, when the
published data are older than the configured age.

It also holds what makes every page meet WCAG 2.2 AA where Streamlit's defaults do not:
:func:`apply_style` (our own fixed CSS, injected once per run by ``app.py``) and
:func:`sidebar_navigation` (the menu of pages as page links, in place of Streamlit's own,
whose list markup is invalid).
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from equality_core.schema import EXTRACTS
from equality_ui import loading

#: Secondary text (captions, a metric's words under its change): the Analysis Function's
#: dark grey, 10.9:1 on white. Streamlit draws captions in its text colour at 60% opacity,
#: which shows as #828180, 3.9:1: under the 4.5:1 WCAG 2.2 AA asks of normal-sized text.
SECONDARY_TEXT = "#3D3D3D"

#: A keyboard's place in the menu: Streamlit's page links show focus only by a faint tint.
#: The Analysis Function's dark blue, over 9:1 against the sidebar's grey.
FOCUS_OUTLINE = "#12436D"

#: Our own fixed style sheet: it holds no text from extracts or addresses, so it is safe to
#: send as HTML.
STYLE = f"""<style>
div[data-testid="stCaptionContainer"] {{opacity: 1; color: {SECONDARY_TEXT};}}
div[data-testid="stCaptionContainer"] p {{color: {SECONDARY_TEXT};}}
div.st-key-site_navigation [data-testid="stPageLink-NavLink"] span,
div.st-key-site_navigation [data-testid="stPageLink-NavLink"] p {{
    white-space: normal; overflow: visible; text-overflow: clip;
}}
div.st-key-site_navigation a:focus-visible {{outline: 3px solid {FOCUS_OUTLINE}; outline-offset: 1px;}}
</style>"""


def run_inside_app() -> None:
    """Rerun through ``app.py`` if this page was started on its own; else flag stale data."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
    stale_data_notice()


def apply_style() -> None:
    """Inject :data:`STYLE` (called once per run, by ``app.py``, before the page runs)."""
    st.html(STYLE)


def sidebar_navigation(sections: dict[str, list], *, current: object = None) -> None:
    """The menu of pages in the sidebar: each section's name, then a link to each page.

    ``sections`` is what ``app.py`` gives ``st.navigation`` (which it keeps hidden), so
    the menu has the same sections, titles, icons and addresses. Streamlit's own menu
    puts each section in a ``<div>`` inside its ``<ul>`` with the section's ``<li>``
    items in the ``<div>``: invalid list markup that assistive technology may misreport
    (axe-core's "list" and "listitem" rules, WCAG 1.3.1). Page links carry no list markup;
    :data:`STYLE` lets their titles wrap rather than end in an ellipsis.
    ``current``, the page being shown, has its link marked "(this page)" as well as in
    bold, since a page link does not say it is the current page to a screen reader.
    """
    shown = getattr(current, "url_path", None)
    with st.sidebar.container(key="site_navigation"):
        for section, pages in sections.items():
            if section:
                # Our own fixed section names, never text from extracts or addresses.
                st.markdown(f"**{section}**")
            for page in pages:
                label = page.title + (" (this page)" if page.url_path == shown else "")
                st.page_link(page, label=label, width="stretch")


def stale_data_notice() -> None:
    """A warning naming each published extract validated longer ago than the set age."""
    stale = loading.stale_extracts()
    if not stale:
        return
    named = "; ".join(
        f"{EXTRACTS[name].title.lower() if name in EXTRACTS else name} (validated {when}, "
        f"{age:,} days ago)"
        for name, when, age in stale[:6]
    )
    more = f" and {len(stale) - 6} more" if len(stale) > 6 else ""
    st.warning(
        f"**Published data are older than {loading.stale_after_days()} days:** {named}{more}. "
        "Figures may not describe the present; the data page shows each extract's status.",
        icon=":material/schedule:",
    )
