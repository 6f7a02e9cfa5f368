"""The load test of issue 11 without a browser: concurrent sessions speaking Streamlit's protocol.

Usage::

    python benchmarks/protocol_load.py                                   # 20 sessions, 300 s, national
    python benchmarks/protocol_load.py --sessions 5 --duration 60 --no-baseline   # a quick try
    python benchmarks/protocol_load.py --sweep 1,5,10,20 --duration 60   # memory against sessions

The twin of ``load.py`` with Chromium taken out, so that the machine's cores go to the
server: every session is one websocket to ``ws://HOST:PORT/_stcore/stream`` (with the
``websockets`` client Streamlit itself depends on), all of them in this one asyncio process,
sending ``BackMsg`` and reading ``ForwardMsg`` protobufs with Streamlit's own classes, as
the browser does. The server is started as ``make run`` starts it, on a free loopback
port; before the sessions start, one untimed session opens the overview, so the server
has loaded its extracts. Session *i* opens page *i* mod 6 (overview and objectives 1 to
5) as a browser opening that address would: a first ``rerun_script`` naming the page by
its address (``page_name``) and no page hash. The sessions open spread over one
interval; once every page has run, the window of ``--duration`` seconds begins, in
which every session, every ``--interval`` seconds (staggered across the interval),
changes one sidebar filter, chosen at random, to a random option (one no session has
chosen before while there is one), and waits until the server has finished the run. A
change whose turn comes while the last one is still running waits for it, and is
counted as late.

What the client keeps between runs is what a browser tab keeps and sends back in every
``ClientState``: the page's script hash (from the server's ``navigation`` message), the
address's query string (a bound filter changed by the user is written into it, as the
browser does, and the server's ``page_info_changed`` replaces it), the hashes of the
messages in its cache, and the value of every widget drawn by the last run. The widgets
are read from the run's deltas: select boxes, radio buttons, segmented controls and
pills, select sliders, checkboxes and toggles, multiselects and stateful expanders, with
their ids, options and values; those under the sidebar's root container (delta paths
starting with ``RootContainer.SIDEBAR``) are the filters. Tabs that keep their state (an
objective page's sections, of which only the open one is computed) are read from their
container block and its tab blocks, and a session may click one instead of changing a
filter: each change chooses among the filters and the tabs alike. A value is the one the server
pushed (``set_value``), else the one the client last had, else the widget's default, and
goes back in the ``WidgetState`` field the widget's serde in Streamlit 1.67 reads (see
:data:`VALUE_FIELDS`). Large elements may come as a ``ref_hash`` to a message the client
said it holds: like the browser, the client keeps the messages marked cacheable, declares
their hashes in ``cached_message_hashes``, reads a reference from its own copy, and drops
a message once ``max_cached_message_age`` runs (from ``new_session``) have passed without
it, so the server sends what it would send to a browser.

Recorded: every redraw's time, from sending the ``rerun_script`` to the ``script_finished``
message of that run (status ``FINISHED_SUCCESSFULLY``), and the time to its first delta;
errors (an ``exception`` element, a script finished with an error status or a compilation
exception, a page the server did not find, a reference to a message the client does not
hold, a lost websocket, a run not finished in ``--timeout`` seconds, and tracebacks in the
server's log); the server's resident memory every second (its process tree, from /proc);
and the CPU time used over the window by the server, by this driver and by everything
else on the machine, as a share of its capacity (``load.CpuMeter``; with no Chromium, its
share reads 0).

This drives the server alone: no page is rendered, no script or style is fetched, no
chart is drawn. A redraw here is the server's run plus the protocol (serialising and
sending the messages, and this client reading them), not the browser's drawing, which
``load.py`` measures with Chromium beside the server.

Goals: no error, p95 redraw ≤ 3 s, server memory ≤ 2 GiB, flat in the number of sessions
(``--sweep`` runs one fresh server per number of sessions). ``--baseline`` (default
a5122be) runs everything again on the previous path; ``--no-baseline`` skips it. Written to
``benchmarks/out/protocol-load-<time>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import speed_common as common
from browser_common import PAGES, DrawError, NoOtherOptionError
from load import (
    Window,
    measure_points,
    measure_window,
    median_of,
    parsed_arguments,
    rows_for,
)
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Block_pb2 import Block
from streamlit.proto.ButtonGroup_pb2 import ButtonGroup
from streamlit.proto.Checkbox_pb2 import Checkbox
from streamlit.proto.Delta_pb2 import Delta
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.RootContainer_pb2 import RootContainer
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

STREAM = "/_stcore/stream"

#: The ``WidgetState`` field each kind of widget's value travels in: the ``value_type``
#: its serde registers in Streamlit 1.67 (``streamlit/elements/widgets/*.py``,
#: ``elements/layouts.py``). Strings are the options as shown (after ``format_func``),
#: never indices: a select box or radio sends its option's label; a segmented control or
#: pills a list of labels (one at most in single mode, none when deselected); a select
#: slider ``[label]``, or ``[low, high]`` for a range; a multiselect its labels in the order
#: chosen; a checkbox or toggle, and an expander with ``on_change``, a boolean; tabs that
#: keep their state (an objective page's sections), the open tab's label.
VALUE_FIELDS = {
    "selectbox": "string_value",
    "radio": "string_value",
    "segmented_control": "string_array_value",
    "pills": "string_array_value",
    "select_slider": "string_array_value",
    "multiselect": "string_array_value",
    "checkbox": "bool_value",
    "toggle": "bool_value",
    "expander": "bool_value",
    "tabs": "string_value",
}

#: A widget's value as this client holds it: an option's label (or None: no selection)
#: for a string value, a tuple of labels for a string array, a boolean.
Value = str | tuple[str, ...] | bool | None


@dataclass
class Widget:
    """A widget the last run drew, as the browser holds it: what it offers and its value.

    ``mode`` says what a change does: ``one`` chooses another option, ``many`` adds or
    removes one option, ``range`` moves one end of a select slider's range, ``flag``
    flips a checkbox or toggle; ``None`` for an expander, which is never changed.
    """

    id: str
    kind: str
    label: str
    key: str  # the query parameter it is bound to, else its user key, else its label
    bound: bool
    options: tuple[str, ...]
    default: Value
    value: Value
    pushed: bool  # the server set the value in this run (``set_value``)
    mode: str | None
    changeable: bool  # a filter a user can change: in the sidebar, enabled, rerunning


def widget_state(widget: Widget) -> WidgetState | None:
    """The ``WidgetState`` the browser sends for ``widget``; None while it holds no value."""
    state = WidgetState(id=widget.id)
    value_field = VALUE_FIELDS[widget.kind]
    if value_field == "string_value":
        if widget.value is None:
            return None
        state.string_value = widget.value
    elif value_field == "string_array_value":
        state.string_array_value.SetInParent()  # an empty list is a value too
        state.string_array_value.data.extend(widget.value)
    else:
        state.bool_value = widget.value
    return state


def _user_key(element_id: str) -> str | None:
    """The key a widget was given in the script: ids read ``$$ID-<hash>-<key>``."""
    key = element_id.split("-", 2)[-1]
    return None if key == "None" else key


def _widget(
    proto,
    kind: str,
    sidebar: bool,
    options: tuple[str, ...],
    default: Value,
    shown: Value,
    mode: str,
) -> Widget:
    """A :class:`Widget` from a widget proto (they share these fields).

    ``default`` is what the widget shows with no value held, ``shown`` the value the
    server pushes with ``set_value``.
    """
    bound = bool(proto.query_param_key)
    return Widget(
        id=proto.id,
        kind=kind,
        label=proto.label,
        key=proto.query_param_key if bound else _user_key(proto.id) or proto.label,
        bound=bound,
        options=options,
        default=default,
        value=shown if proto.set_value else default,
        pushed=proto.set_value,
        mode=mode,
        changeable=sidebar and not (proto.disabled or proto.ignore_rerun or proto.form_id),
    )


def read_widget(element: Element, sidebar: bool) -> Widget | None:
    """The widget ``element`` is, with its value as the element says; None if not one."""
    kind = element.WhichOneof("type")
    if kind in ("selectbox", "radio"):
        proto = getattr(element, kind)
        options = tuple(proto.options)
        has_default = proto.HasField("default") and proto.default < len(options)
        return _widget(
            proto,
            kind,
            sidebar,
            options=options,
            default=options[proto.default] if has_default else None,
            shown=proto.raw_value if proto.HasField("raw_value") else None,
            mode="one",
        )
    if kind in ("button_group", "multiselect"):
        proto = getattr(element, kind)
        if kind == "multiselect":
            options, name, many = tuple(proto.options), kind, True
        else:
            options = tuple(option.content for option in proto.options)
            name = "pills" if proto.style == ButtonGroup.PILLS else "segmented_control"
            many = proto.click_mode == ButtonGroup.MULTI_SELECT
        return _widget(
            proto,
            name,
            sidebar,
            options=options,
            default=tuple(options[i] for i in proto.default),
            shown=tuple(proto.raw_values),
            mode="many" if many else "one",
        )
    if kind == "slider" and element.slider.type == Slider.SELECT_SLIDER:
        proto = element.slider
        options = tuple(proto.options)
        default = tuple(options[int(i)] for i in proto.default)
        return _widget(
            proto,
            "select_slider",
            sidebar,
            options=options,
            default=default,
            shown=tuple(proto.raw_value),
            mode="range" if len(default) == 2 else "one",
        )
    if kind == "checkbox":
        proto = element.checkbox
        return _widget(
            proto,
            "toggle" if proto.type == Checkbox.TOGGLE else "checkbox",
            sidebar,
            options=(),
            default=proto.default,
            shown=proto.value,
            mode="flag",
        )
    return None


def read_expander(block: Block) -> Widget | None:
    """An expander with ``on_change`` is a widget: whether it is open is sent back."""
    if block.WhichOneof("type") != "expandable" or not block.expandable.HasField("id"):
        return None
    expander = block.expandable
    return Widget(
        id=expander.id,
        kind="expander",
        label=expander.label,
        key=expander.query_param_key or _user_key(expander.id) or expander.label,
        bound=expander.HasField("query_param_key"),
        options=(),
        default=expander.default_expanded,
        value=expander.expanded,  # the server's state of it, for this run
        pushed=True,
        mode=None,
        changeable=False,
    )


def read_tabs(block: Block, path: tuple[int, ...], blocks: dict) -> Widget | None:
    """Tabs that keep their state are a widget: the open tab's label is sent back.

    An objective page's sections are such tabs, and only the open one is computed, so a
    session clicks a tab as a user does: it is one of the controls a change may choose.
    The labels are the ``tab`` blocks inside the container, in order.
    """
    if block.WhichOneof("type") != "tab_container" or not block.tab_container.id:
        return None
    container = block.tab_container
    depth = len(path)
    labels = tuple(
        blocks[inner].tab.label
        for inner in sorted(blocks)
        if len(inner) == depth + 1
        and inner[:depth] == path
        and blocks[inner].WhichOneof("type") == "tab"
    )
    if not labels:
        return None
    bound = bool(container.query_param_key)
    return Widget(
        id=container.id,
        kind="tabs",
        label=" | ".join(labels),
        key=container.query_param_key if bound else _user_key(container.id) or labels[0],
        bound=bound,
        options=labels,
        default=labels[0],
        value=labels[min(container.default_tab_index, len(labels) - 1)],  # the open tab
        pushed=True,
        mode="one",
        changeable=True,
    )


def choices(widget: Widget) -> dict[str, Value]:
    """Each option a user could pick in ``widget`` now, with the value picking it gives."""
    if widget.mode == "flag":
        return {str(not widget.value): not widget.value}
    if widget.mode == "many":
        chosen = widget.value
        return {
            option: tuple(c for c in chosen if c != option)
            if option in chosen
            else (*chosen, option)
            for option in widget.options
        }
    if widget.mode == "range":
        low, high = widget.value
        index = widget.options.index
        moved = {}
        for option in widget.options:
            if option in (low, high):
                continue
            nearer_low = abs(index(option) - index(low)) <= abs(index(option) - index(high))
            ends = (option, high) if nearer_low else (low, option)
            moved[option] = tuple(sorted(ends, key=index))
        return moved
    if VALUE_FIELDS[widget.kind] == "string_value":
        return {option: option for option in widget.options if option != widget.value}
    return {option: (option,) for option in widget.options if (option,) != widget.value}


@dataclass
class CachedMessage:
    """A ForwardMsg marked cacheable, and how many runs had finished when last used."""

    message: ForwardMsg
    used: int


@dataclass
class Run:
    """One script run asked for by a ``rerun_script``, as its ForwardMsgs arrived."""

    sent: float  # perf_counter when the BackMsg went
    script_run_id: str = ""  # from the run's new_session: messages before it are older
    first_delta: float | None = None
    finished: float | None = None
    status: int | None = None
    messages: int = 0
    received_bytes: int = 0
    references: int = 0  # elements sent as a ref_hash to a cached message
    problems: list[str] = field(default_factory=list)
    elements: dict[tuple[int, ...], Element] = field(default_factory=dict)
    blocks: dict[tuple[int, ...], Block] = field(default_factory=dict)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def seconds(self) -> float:
        return self.finished - self.sent

    def clear(self, path: tuple[int, ...]) -> None:
        """Forget what was drawn at ``path`` and inside it (a new element or block is there)."""
        depth = len(path)
        for drawn in (self.elements, self.blocks):
            for inner in [p for p in drawn if p[:depth] == path]:
                del drawn[inner]

    def widgets(self) -> list[Widget]:
        """The run's widgets in the order of the page, as the elements describe them."""
        found = []
        for path in sorted({*self.elements, *self.blocks}):
            if path in self.elements:
                widget = read_widget(self.elements[path], path[0] == RootContainer.SIDEBAR)
            else:
                widget = read_expander(self.blocks[path]) or read_tabs(
                    self.blocks[path], path, self.blocks
                )
            if widget is not None:
                found.append(widget)
        return found


class ProtocolSession:
    """One Streamlit session over its own websocket, keeping what a browser tab keeps."""

    def __init__(self, url: str, page: str) -> None:
        self.url = url
        self.page = page
        self.socket: ClientConnection | None = None
        self.reader: asyncio.Task | None = None
        self.closed = False
        self.page_hash = ""
        self.query: dict[str, list[str]] = {}
        self.widgets: dict[str, Widget] = {}
        self.cache: dict[str, CachedMessage] = {}
        self.max_cache_age = 2  # runs; the server says in new_session
        self.runs_finished = 0
        self.cut_short = 0  # runs the server ended early for a rerun
        self.run: Run | None = None

    async def open(self, timeout: float) -> Run:
        """Connect and run the page as a browser opening ``URL/PAGE`` does."""
        address = urllib.parse.urlsplit(self.url)
        self.socket = await connect(
            f"ws://{address.netloc}{STREAM}",
            origin=self.url,
            subprotocols=["streamlit"],
            max_size=None,  # a page's elements may be several MiB, as in the browser
            ping_interval=None,  # a browser does not ping; the server's pings are answered
            proxy=None,
            open_timeout=timeout,
        )
        self.reader = asyncio.create_task(self._read())
        return await self._rerun(timeout, page_name=self.page)

    def filters(self) -> list[Widget]:
        """The widgets a user can change: the sidebar's filters and the page's tabs, in order."""
        return [w for w in self.widgets.values() if w.changeable]

    async def change(self, widget: Widget, value: Value, timeout: float) -> Run:
        """Set ``widget`` (as the last run drew it) to ``value``, and run the page with it."""
        widget = self.widgets[widget.id]
        widget.value = value
        if widget.bound:
            self._write_address(widget)
        return await self._rerun(timeout)

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
            await self.reader

    def _write_address(self, widget: Widget) -> None:
        """Put a bound widget's new value in the address, as the browser does on a change."""
        value = widget.value
        if value == widget.default:
            self.query.pop(widget.key, None)
        elif isinstance(value, bool):
            self.query[widget.key] = [str(value).lower()]
        elif isinstance(value, tuple):
            self.query[widget.key] = list(value) or [""]
        else:
            self.query[widget.key] = [value or ""]

    async def _rerun(self, timeout: float, page_name: str = "") -> Run:
        message = BackMsg()
        state = message.rerun_script
        state.query_string = urllib.parse.urlencode(self.query, doseq=True)
        state.page_script_hash = self.page_hash
        state.page_name = page_name
        state.widget_states.widgets.extend(
            s for s in map(widget_state, self.widgets.values()) if s is not None
        )
        state.cached_message_hashes.extend(self.cache)
        state.context_info.timezone = "UTC"
        state.context_info.locale = "en-GB"
        state.context_info.url = f"{self.url}/{self.page}"
        run = self.run = Run(sent=time.perf_counter())
        try:
            await self.socket.send(message.SerializeToString())
            await asyncio.wait_for(run.done.wait(), timeout)
        except TimeoutError:
            raise DrawError(f"no finished script run in {timeout:.0f} s") from None
        except ConnectionClosed:
            self.closed = True
        if self.closed:
            raise DrawError("the websocket closed (disconnected)")
        if run.status != ForwardMsg.FINISHED_SUCCESSFULLY:
            status = ForwardMsg.ScriptFinishedStatus.Name(run.status)
            raise DrawError(f"the script finished with {status}")
        if run.problems:
            raise DrawError(run.problems[0])
        return run

    async def _read(self) -> None:
        try:
            async for data in self.socket:
                if isinstance(data, bytes):
                    self._receive(data)
        except ConnectionClosed:
            pass
        finally:
            self.closed = True
            if self.run is not None:
                self.run.done.set()

    def _receive(self, data: bytes) -> None:
        message = ForwardMsg()
        message.ParseFromString(data)
        run = self.run
        run.messages += 1
        run.received_bytes += len(data)
        kind = message.WhichOneof("type")
        if kind == "delta":
            if message.metadata.cacheable:
                self.cache[message.hash] = CachedMessage(message, self.runs_finished)
            self._delta(run, message.metadata.delta_path, message.delta)
        elif kind == "ref_hash":
            run.references += 1
            cached = self.cache.get(message.ref_hash)
            if cached is None:
                run.problems.append(f"a reference to message {message.ref_hash}, not held")
                return
            cached.used = self.runs_finished
            # The reference's own metadata says where the element goes in this run.
            self._delta(run, message.metadata.delta_path, cached.message.delta)
        elif kind == "new_session":
            self._started(run, message)
        elif kind == "navigation":
            self.page_hash = message.navigation.page_script_hash
        elif kind == "page_info_changed":
            query = message.page_info_changed.query_string
            self.query = urllib.parse.parse_qs(query, keep_blank_values=True)
        elif kind == "page_not_found":
            run.problems.append(f"the server found no page {self.page!r}")
        elif kind == "session_event" and message.session_event.HasField(
            "script_compilation_exception"
        ):
            error = message.session_event.script_compilation_exception
            run.problems.append(f"the script did not compile: {error.type}: {error.message}")
        elif kind == "script_finished":
            self._finished(run, message)

    def _started(self, run: Run, message: ForwardMsg) -> None:
        session = message.new_session
        self.page_hash = session.page_script_hash  # the navigation message names the page
        if session.config.max_cached_message_age > 0:
            self.max_cache_age = session.config.max_cached_message_age
        # A run restarted (st.rerun) draws the page afresh.
        run.script_run_id = message.metadata.run.script_run_id
        run.elements.clear()
        run.blocks.clear()

    def _delta(self, run: Run, delta_path, delta: Delta) -> None:
        if not run.script_run_id:
            return  # the end of a run from before this one (after a timeout)
        if run.first_delta is None:
            run.first_delta = time.perf_counter()
        path = tuple(delta_path)
        kind = delta.WhichOneof("type")
        if kind == "new_element":
            run.clear(path)
            run.elements[path] = delta.new_element
            if delta.new_element.WhichOneof("type") == "exception":
                error = delta.new_element.exception
                run.problems.append(f"an exception on the page: {error.type}: {error.message}")
        elif kind == "add_block":
            run.clear(path)
            run.blocks[path] = delta.add_block

    def _finished(self, run: Run, message: ForwardMsg) -> None:
        status = message.script_finished
        if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            self.cut_short += 1
            return
        if status == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY or not run.script_run_id:
            return  # a fragment's run, or the end of a run from before this one
        run.status = status
        run.finished = time.perf_counter()
        if status == ForwardMsg.FINISHED_SUCCESSFULLY:
            self.runs_finished += 1
            self.cache = {
                h: c
                for h, c in self.cache.items()
                if self.runs_finished - c.used <= self.max_cache_age
            }
            self._settle(run)
        run.done.set()

    def _settle(self, run: Run) -> None:
        """Keep the widgets of the finished run, as the browser's widget manager does."""
        kept = {}
        for widget in run.widgets():
            known = self.widgets.get(widget.id)
            if known is not None and not widget.pushed:
                widget.value = known.value
            kept[widget.id] = widget
        self.widgets = kept


@dataclass
class Change:
    """One filter change and how long the server took over it, as this client saw it."""

    key: str
    option: str
    fresh: bool
    seconds: float  # from the rerun_script sent to the run's script_finished
    first_delta_seconds: float | None
    received_bytes: int
    messages: int
    references: int


async def change_filter(
    client: ProtocolSession, widget: Widget, used: set, rng: random.Random, timeout: float
) -> Change:
    """Choose an option of ``widget`` not chosen before (if any), and time the run."""
    offered = choices(widget)
    if not offered:
        raise NoOtherOptionError(widget.key)
    fresh = [option for option in offered if (widget.key, option) not in used]
    option = rng.choice(fresh or list(offered))
    used.add((widget.key, option))
    try:
        run = await client.change(widget, offered[option], timeout)
    except DrawError as error:
        error.option = option  # which option the server could not run
        raise
    first = run.first_delta - run.sent if run.first_delta is not None else None
    return Change(
        key=widget.key,
        option=option,
        fresh=bool(fresh),
        seconds=run.seconds,
        first_delta_seconds=first,
        received_bytes=run.received_bytes,
        messages=run.messages,
        references=run.references,
    )


async def turns(index: int, interval: float, window: Window, record: dict) -> AsyncIterator[None]:
    """Session ``index``'s turns in the window: i/N of the way into each interval.

    A change still running when its next turn comes makes that turn late (counted in
    ``record``): it is taken at once, and the next an interval after it.
    """
    due = window.start + interval * (index + 1) / window.sessions
    while due < window.stop_at:
        await asyncio.sleep(max(due - time.monotonic(), 0))
        yield
        due += interval
        if time.monotonic() > due:
            record["late"] += 1
            due = time.monotonic()


async def session(
    index: int, url: str, args: argparse.Namespace, window: Window, used: set, out: dict
) -> None:
    """One session: open its page, then change a sidebar filter at each of its turns."""
    rng = random.Random(args.seed * 1000 + index)
    page = PAGES[index % len(PAGES)]
    record = {"session": index, "page": page, "redraws": [], "errors": [], "late": 0}
    out["sessions"].append(record)
    clients = [ProtocolSession(url, page)]
    try:
        # Opened spread over one interval; the window starts once every page has run.
        await asyncio.sleep(index * args.interval / window.sessions)
        try:
            started = time.perf_counter()
            record["open_seconds"] = (await clients[-1].open(args.timeout)).finished - started
        except Exception as error:
            record["errors"].append({"when": "opening", "error": str(error)[:300]})
            return
        finally:
            window.opened()
        await window.all_open.wait()
        async for _ in turns(index, args.interval, window, record):
            client = clients[-1]
            filters = client.filters()
            rng.shuffle(filters)
            for widget in filters:
                try:
                    change = await change_filter(client, widget, used, rng, args.timeout)
                except NoOtherOptionError:
                    continue
                except Exception as error:
                    record["errors"].append(
                        {
                            "when": round(time.monotonic() - window.start, 1),
                            "key": widget.key,
                            "option": getattr(error, "option", None),
                            "after": [(r["key"], r["option"]) for r in record["redraws"][-8:]],
                            "error": str(error)[:300],
                        }
                    )
                    if client.closed:  # disconnected: a new session opens the page again
                        clients.append(ProtocolSession(url, page))
                        try:
                            await clients[-1].open(args.timeout)
                        except Exception as again:
                            record["errors"].append(
                                {"when": "reopening", "error": str(again)[:300]}
                            )
                            return
                    break
                at = round(time.monotonic() - window.start, 2)
                record["redraws"].append({"at": at, **asdict(change)})
                break
    finally:
        record["runs_cut_short"] = sum(c.cut_short for c in clients)
        for client in clients:
            await client.close()


def _spread(values: list[float]) -> tuple[float | None, float | None, float | None]:
    """Median, 95th percentile and worst of ``values`` (None each if there are none)."""
    if not values:
        return None, None, None
    return statistics.median(values), common.percentile(values, 95), max(values)


def summarise(out: dict, samples: list) -> dict:
    """The figures of one point, under the names ``load.rows_for`` reads, and the client's own.

    The redraw ends when the server's run has finished, so the "until the server's run
    finished" figure is the redraw itself and the browser's drawing has none.
    """
    sessions = out["sessions"]
    redraws = [r for s in sessions for r in s["redraws"]]
    errors = [e for s in sessions for e in s["errors"]]
    median, p95, worst = _spread([r["seconds"] for r in redraws])
    first_median, first_p95, _ = _spread(
        [r["first_delta_seconds"] for r in redraws if r["first_delta_seconds"] is not None]
    )
    open_median, _, open_max = _spread([s["open_seconds"] for s in sessions if "open_seconds" in s])
    received = median_of(out, "received_bytes")
    return {
        "redraws": len(redraws),
        "redraw_median": median,
        "redraw_p95": p95,
        "redraw_max": worst,
        "redraw_server_median": median,
        "redraw_drawing_median": None,
        "first_delta_median": first_median,
        "first_delta_p95": first_p95,
        "received_kb_median": round(received / 1e3) if received is not None else None,
        "references": sum(r["references"] for r in redraws),
        "open_median": open_median,
        "open_max": open_max,
        "opening_all_seconds": out["opening_all_seconds"],
        "errors": len(errors),
        "server_tracebacks": sum("Traceback" in line for line in out["server_log_errors"]),
        "disconnects": sum("websocket closed" in e["error"] for e in errors),
        "late": sum(s["late"] for s in sessions),
        "runs_cut_short": sum(s.get("runs_cut_short", 0) for s in sessions),
        "rss_peak_gib": max((gib for _, gib in samples), default=None),
        "rss_before_gib": out["rss_gib_before_sessions"],
        "rss_end_gib": out["rss_gib_at_end"],
        "cpu_share": out["cpu"]["share_of_capacity"],
    }


async def one_point(side: common.Side, sessions: int, args: argparse.Namespace) -> dict:
    """A fresh server, ``sessions`` sessions changing filters for ``args.duration`` seconds."""
    out: dict = {"sessions_requested": sessions, "sessions": []}
    with common.Server(side, open_access=args.open_access) as server:
        # The server's first page view loads the extracts: not part of the test.
        first = ProtocolSession(server.url, PAGES[0])
        started = time.perf_counter()
        try:
            out["server_first_page_seconds"] = (await first.open(args.timeout)).finished - started
        finally:
            await first.close()
        samples = await measure_window(
            server,
            sessions,
            args.duration,
            out,
            lambda i, window, used: session(i, server.url, args, window, used, out),
        )
    out["summary"] = s = summarise(out, samples)
    print(
        f"  {side.name}, {sessions} sessions: {s['redraws']} redraws, median "
        f"{s['redraw_median'] or 0:.2f} s, p95 {s['redraw_p95'] or 0:.2f} s (first delta: "
        f"median {s['first_delta_median'] or 0:.2f} s), {s['errors']} errors, {s['late']} late, "
        f"server {s['rss_peak_gib'] or 0:.2f} GiB at peak, CPU "
        + ", ".join(f"{k} {v:.0%}" for k, v in s["cpu_share"].items()),
        flush=True,
    )
    return out


#: Figures of this client that ``load.rows_for`` has no row for: name, summary key, unit.
CLIENT_ROWS = [
    ("first delta after the change (median)", "first_delta_median", "s"),
    ("first delta after the change (p95)", "first_delta_p95", "s"),
    ("received per redraw, median (kB)", "received_kb_median", ""),
]


def table_rows(points: dict[str, dict[int, dict]]) -> list[common.Row]:
    """``load.py``'s rows, with this client's own figures after each point's redraw times."""
    rows = rows_for(points)
    before = points.get("baseline", {})
    for n, point in points["now"].items():
        label = f"{n} sessions:"
        was = before.get(n, {}).get("summary", {})
        at = next(i for i, row in enumerate(rows) if row.figure == f"{label} redraw worst") + 1
        rows[at:at] = [
            common.Row(f"{label} {name}", was.get(key), point["summary"][key], unit)
            for name, key, unit in CLIENT_ROWS
        ]
    return rows


async def measure_scale(
    spec: str, counts: list[int], args: argparse.Namespace, report: dict
) -> None:
    """Every number of sessions on both sides for one data folder; the table printed."""
    points = await measure_points(
        spec,
        counts,
        args,
        report,
        lambda side, n: one_point(side, n, args),
        "over Streamlit's protocol",
    )
    title = (
        f"{common.scale_name(spec)}: load test over Streamlit's protocol, no browser, "
        f"load average {common.loadavg()}"
    )
    print("\n" + common.table(table_rows(points), title=title) + "\n", flush=True)
    report["scales"][common.scale_name(spec)] = points


async def run(args: argparse.Namespace) -> None:
    counts = [int(n) for n in args.sweep.split(",")] if args.sweep else [args.sessions]
    report: dict = {"machine": common.machine(), "arguments": vars(args).copy(), "scales": {}}
    for spec in args.data:
        await measure_scale(spec, counts, args, report)
    report["loadavg_at_end"] = common.loadavg()
    print(f"written to {common.write_json('protocol-load', report)}")


def main() -> None:
    asyncio.run(run(parsed_arguments(__doc__)))


if __name__ == "__main__":
    main()
