"""Guard every page so it always runs inside ``app.py``'s navigation.

Streamlit still treats a folder called ``pages/`` beside the entrypoint as an old-style
(v1) multipage app until the entrypoint first calls ``st.navigation`` in the process. A
browser that opens a page's address on a fresh server (or ``AppTest.switch_page``) would
then run the page file on its own: no demo banner, no data status, the wrong menu. Each
page calls :func:`run_inside_app` first; if it finds itself outside the navigation it
switches Streamlit to ``st.navigation`` mode and reruns, so ``app.py`` runs and shows
the same page properly.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def run_inside_app() -> None:
    """Rerun through ``app.py`` if this page was started on its own."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
