"""What every page does first: run inside ``app.py``'s navigation, and flag stale data.

Streamlit still treats a folder called ``pages/`` beside the entrypoint as an old-style
(v1) multipage app until the entrypoint first calls ``st.navigation`` in the process. A
browser that opens a page's address on a fresh server (or ``AppTest.switch_page``) would
then run the page file on its own: no demo banner, no data status, the wrong menu. Each
page calls :func:`run_inside_app` first; if it finds itself outside the navigation it
switches Streamlit to ``st.navigation`` mode and reruns, so ``app.py`` runs and shows
the same page properly. Inside the navigation it says, at the top of the page, when the
published data are older than the configured age.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from equality_core.schema import EXTRACTS
from equality_ui import loading


def run_inside_app() -> None:
    """Rerun through ``app.py`` if this page was started on its own; else flag stale data."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
    stale_data_notice()


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
