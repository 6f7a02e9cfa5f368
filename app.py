"""Equality Monitor: the entrypoint. Declares the pages and owns what every page shares.

Run with ``streamlit run app.py``. The data folder is ``EQUALITY_MONITOR_DATA`` if set,
else ``data/`` (the bundled, validated small demo).
"""

from __future__ import annotations

import logging

import streamlit as st

from equality_core import data
from equality_core.measures import MATRIX_EXTRACTS
from equality_ui import admission, chrome, collector, identity, loading

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

st.set_page_config(
    page_title="Equality Monitor",
    page_icon=":material/balance:",
    layout="wide",
    initial_sidebar_state="expanded",
)
chrome.apply_style()

OBJECTIVES = {
    1: ("pages/01_psed.py", "1. Public Sector Equality Duty and disproportionate outcomes"),
    2: ("pages/02_offenders.py", "2. Offenders' outcomes and access to services"),
    3: ("pages/03_workforce.py", "3. A workforce that reflects society"),
    4: ("pages/04_disabled_staff.py", "4. Engagement of disabled staff"),
    5: ("pages/05_disabled_offenders.py", "5. Needs of disabled prisoners and offenders"),
}

overview = st.Page(
    "pages/00_overview.py", title="Overview", icon=":material/dashboard:", default=True
)
objective_pages = [
    st.Page(path, title=title, url_path=path.split("/")[1][3:-3])
    for path, title in OBJECTIVES.values()
]
data_page = st.Page("pages/90_data.py", title="Data and glossary", icon=":material/database:")
presentation = st.Page(
    "pages/91_presentation.py", title="Presentation mode", icon=":material/slideshow:"
)
accessibility = st.Page(
    "pages/92_accessibility.py",
    title="Accessibility statement",
    icon=":material/accessibility:",
)
SECTIONS = {
    "": [overview],
    "Strategic equality objectives": objective_pages,
    "About the data": [data_page, presentation, accessibility],
}
# Streamlit's own menu is hidden: its list markup is invalid (WCAG 1.3.1). The sidebar shows
# the same sections, titles and addresses as page links instead, except in presentation
# mode, which is the whole screen for the slides.
navigation = st.navigation(SECTIONS, position="hidden")
if navigation.url_path != presentation.url_path:
    chrome.sidebar_navigation(SECTIONS, current=navigation)

manifest = loading.manifest()
if not manifest.get("extracts"):
    st.error(
        "No validated extracts are published in the data folder yet. Run "
        "`python -m equality_core validate` (or `python -m equality_core demo`) first.",
        icon=":material/error:",
    )
    st.stop()
demo = data.is_demo_data(manifest)
# Who is looking, and what they may see: sign-in, places, permissions (or a stop).
user = identity.gate(demo=demo)
# A new process: read the extracts most pages need first while the page's modules import.
loading.prefetch(MATRIX_EXTRACTS)
identity.set_page(navigation)
if user.exact:
    st.warning(
        f"**{identity.EXACT_MARKING}.** The figures on this page are not protected by "
        "disclosure control: they are for your work only, not for publication or sharing.",
        icon=":material/shield_lock:",
    )
if demo:
    st.warning(
        "**Synthetic demo data.** Every figure on this page is made up by the demo generator "
        "and describes no real prison, probation region or person.",
        icon=":material/science:",
    )
with st.sidebar:
    stamps = sorted(e["validated_at"] for e in manifest["extracts"].values())
    failed = [s.extract for s in loading.statuses() if s.latest_failed]
    st.caption(
        f"Data validated {stamps[-1][:16].replace('T', ' ')} UTC"
        + (" (synthetic demo)" if demo else "")
    )
    if failed:
        st.caption(
            f"Latest validation failed for {', '.join(failed)}: the last good version is shown."
        )

try:
    with admission.turn():
        navigation.run()
finally:
    # After the page: its filters are in the address by now.
    identity.record_page_view(user)
# Once per page and process, now its modules are loaded: keep the garbage collector off
# the objects that live as long as the process (equality_ui.collector).
collector.settle_after_first_run(navigation.url_path)
