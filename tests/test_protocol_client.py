"""The protocol client of ``benchmarks/protocol_load.py`` speaks to a real server as a browser.

Not timed. Each test opens a session over the websocket, changes sidebar filters the way
the load test does, and reads the server's answer: a run finished without an exception,
and text the page draws from the filter's value showing the option chosen. The server
resolves a widget's value from the ``WidgetState`` the client sends, so a wrong encoding
(an index for a label, the wrong field) would show the default instead and fail here.
"""

from __future__ import annotations

import asyncio
import random
import sys
from pathlib import Path

import pytest

from tests import test_serving
from tests.conftest import REPOSITORY

# benchmarks/ is not a package: its modules import each other by name, from its folder.
sys.path.insert(0, str(REPOSITORY / "benchmarks"))

import protocol_load as client
import speed_common as common

pytestmark = pytest.mark.xdist_group("protocol-client")

TIMEOUT = 60
#: The server as ``make run`` starts it, on the bundled demo (a fixture of this module too).
served = test_serving.served


def _main_text(run: client.Run) -> list[str]:
    """Markdown and text drawn in the main area by ``run``, backslash escapes removed."""
    found = []
    for path, element in sorted(run.elements.items()):
        kind = element.WhichOneof("type")
        if path[0] == 0 and kind in ("markdown", "text"):
            body = element.markdown.body if kind == "markdown" else element.text.body
            found.append(body.replace("\\", ""))
    return found


def _showing(run: client.Run) -> str:
    [line] = [t for t in _main_text(run) if t.startswith("**Showing:**")]
    return line


def test_a_filter_changed_over_the_protocol_reaches_the_page(served: tuple[str, int]) -> None:
    url, _ = served

    async def scenario() -> tuple[str, str, str]:
        session = client.ProtocolSession(url, "workforce")
        try:
            opened = await session.open(TIMEOUT)
            [measure] = [w for w in session.filters() if w.key == "measure"]
            assert measure.kind == "selectbox" and measure.value == measure.options[0]
            chosen = measure.options[-1]
            changed = await session.change(measure, chosen, TIMEOUT)
            assert changed.status == client.ForwardMsg.FINISHED_SUCCESSFULLY
            assert not changed.problems
            return chosen, _showing(opened), _showing(changed)
        finally:
            await session.close()

    chosen, before, after = asyncio.run(scenario())
    assert chosen not in before
    assert chosen in after, f"the page shows {after!r} after choosing {chosen!r}"


#: A page with one widget of every kind the client changes, each in the sidebar, each
#: drawing its value as ``key=repr(value)`` in the main area, and tabs in the main area
#: drawing the open one's label. The multiselect and the tabs are bound to the address,
#: as the dashboard's filters and sections are.
EVERY_KIND = """
import streamlit as st

OPTIONS = ["north", "south", "east", "west"]
with st.sidebar:
    values = {
        "selectbox": st.selectbox("Select box", OPTIONS, key="selectbox"),
        "radio": st.radio("Radio", OPTIONS, index=1, key="radio"),
        "segmented_control": st.segmented_control(
            "Segmented control", OPTIONS, default="east", key="segmented_control"
        ),
        "pills": st.pills("Pills", OPTIONS, selection_mode="multi", key="pills"),
        "select_slider": st.select_slider("Select slider", OPTIONS, key="select_slider"),
        "range": st.select_slider("Range", OPTIONS, value=("south", "east"), key="range"),
        "checkbox": st.checkbox("Checkbox", key="checkbox"),
        "toggle": st.toggle("Toggle", value=True, key="toggle"),
        "multiselect": st.multiselect(
            "Multiselect", OPTIONS, default=["west"], key="multiselect", bind="query-params"
        ),
    }
for key, value in values.items():
    st.text(f"{key}={value!r}")
# Tabs that keep their state, as an objective page's sections are.
LABELS = ["first", "second", "third"]
tabs = st.tabs(LABELS, key="tabs", bind="query-params")
st.text(f"tabs={next(label for label, tab in zip(LABELS, tabs) if tab.open)!r}")
"""


def _as_python(widget: client.Widget, value: client.Value) -> object:
    """What the script gets from ``widget`` for the client's ``value`` of it."""
    if widget.mode == "many":
        return list(value)
    if widget.mode == "one" and isinstance(value, tuple):  # a segmented control or slider
        return value[0]
    return value


def test_every_widget_kind_is_sent_as_its_serde_reads_it(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(EVERY_KIND, encoding="utf-8")
    side = common.Side("widgets", tmp_path, tmp_path, "a page of every widget kind")

    async def scenario(url: str) -> tuple[dict[str, object], list[str], dict[str, list[str]]]:
        session = client.ProtocolSession(url, "")
        try:
            opened = await session.open(TIMEOUT)
            filters = session.filters()
            # Each default as the client read it from the elements is what the page got.
            assert sorted(_main_text(opened)) == sorted(
                f"{w.key}={_as_python(w, w.value)!r}" for w in filters
            )
            kinds = {w.key: w.kind for w in filters}
            assert kinds == {
                "selectbox": "selectbox",
                "radio": "radio",
                "segmented_control": "segmented_control",
                "pills": "pills",
                "select_slider": "select_slider",
                "range": "select_slider",
                "checkbox": "checkbox",
                "toggle": "toggle",
                "multiselect": "multiselect",
                "tabs": "tabs",
            }
            rng = random.Random(0)
            expected = {}
            for widget in filters:
                offered = client.choices(widget)
                value = offered[rng.choice(list(offered))]
                run = await session.change(widget, value, TIMEOUT)
                assert run.status == client.ForwardMsg.FINISHED_SUCCESSFULLY
                assert not run.problems, run.problems
                expected[widget.key] = _as_python(widget, value)
                shown = _main_text(run)
                assert f"{widget.key}={expected[widget.key]!r}" in shown, (widget.key, shown)
            # Every later run was sent every earlier value too: none fell back.
            return expected, _main_text(session.run), session.query
        finally:
            await session.close()

    with common.Server(side, log=tmp_path / "server.log") as server:
        expected, shown, query = asyncio.run(scenario(server.url))
    assert sorted(shown) == sorted(f"{key}={value!r}" for key, value in expected.items())
    # The bound multiselect's labels are in the address, as the browser writes them.
    assert [label for label in query["multiselect"] if label] == expected["multiselect"]
    assert expected["tabs"] != "first"  # a tab other than the first was opened
