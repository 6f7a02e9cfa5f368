"""Shared by ``browser_speed.py`` and ``load.py``: Chromium, and knowing when a page is drawn.

A draw is over when (1) the server has said the script run started by the action finished
(a ``script_finished`` message on the page's websocket, read with Streamlit's own protobuf
classes: a run cut short for a rerun does not count) and then (2) the page shows it: the
app is connected and not running, no element is stale (greyed out from the run before),
no skeleton or spinner is left, and every visible chart has its SVG or canvas. Times are
taken inside the browser (``performance.now()``): from the start of the navigation for a
page opened at an address, from the pointer going down on the option for a filter change,
to the first animation frame at which (2) holds, so Playwright's own round trips are not
counted.

Chromium shares the machine with the server here, as it would not in use: so every
Chromium thread is given the measuring process's own priority (Chromium raises its browser
and GPU processes to nice -8), and CSS animations are switched off.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

import speed_common as common
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
VIEWPORT = {"width": 1400, "height": 1000}
#: The dashboard's overview and objective pages, as addresses.
PAGES = ["", "psed", "offenders", "workforce", "disabled_staff", "disabled_offenders"]

#: Records when the pointer last went down (the start of a filter change), and switches
#: off CSS animations and transitions (the running indicator, skeletons), which would
#: otherwise have every waiting page drawing frames on the same two cores as the server.
INIT_SCRIPT = """
window.__eqmPointer = null;
document.addEventListener('pointerdown', () => { window.__eqmPointer = performance.now(); }, true);
document.addEventListener('DOMContentLoaded', () => {
  const style = document.createElement('style');
  style.textContent = '*, *::before, *::after { animation: none !important; ' +
    'transition: none !important; }';
  document.head.appendChild(style);
});
"""

#: True (as the time) once the page shows a finished run; false before.
DRAWN = """
() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app) return false;
  if (app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  const connection = app.getAttribute('data-test-connection-state');
  if (connection && connection !== 'CONNECTED') return false;
  if (document.querySelector('[data-stale="true"]')) return false;
  if (document.querySelector('[data-testid="stSkeleton"], [data-testid="stSpinner"]')) return false;
  for (const chart of document.querySelectorAll(
      '[data-testid="stVegaLiteChart"], [data-testid="stArrowVegaLiteChart"]')) {
    if (chart.getClientRects().length && !chart.querySelector('svg, canvas')) return false;
  }
  if (!document.querySelector('[data-testid="stMain"] [data-testid="stElementContainer"]')) {
    return false;
  }
  return performance.now();
}
"""

#: Keys of the select boxes in the sidebar (from each container's ``st-key-`` class).
SIDEBAR_SELECTS = """
() => [...document.querySelectorAll('[data-testid="stSidebar"] [class*="st-key-"]')]
  .filter(e => e.querySelector('[data-testid="stSelectbox"]'))
  .map(e => [...e.classList].find(c => c.startsWith('st-key-')).slice(7))
"""


class DrawError(RuntimeError):
    """The page showed an error, lost its connection or never finished drawing."""


class NoOtherOptionError(LookupError):
    """The filter offers no option other than the one shown."""


@dataclass
class Watch:
    """What the server told one page over its websocket."""

    finished: int = 0  # script runs finished (not cut short)
    early: int = 0  # runs cut short by a rerun
    started: int = 0  # runs started (``new_session`` is sent at the start of every run)
    closed: int = 0
    opened: int = 0
    received_bytes: int = 0
    finished_at: float = 0.0  # perf_counter when the last finished run was heard of
    events: list[tuple[float, str]] = field(default_factory=list)

    def attach(self, page) -> None:
        page.on("websocket", self._websocket)

    def _websocket(self, socket) -> None:
        if "_stcore/stream" not in socket.url:
            return
        self.opened += 1
        socket.on("framereceived", self._frame)
        socket.on("close", self._close)

    def _close(self, _socket) -> None:
        self.closed += 1
        self.events.append((time.perf_counter(), "closed"))

    def _frame(self, payload) -> None:
        if isinstance(payload, str):
            return
        self.received_bytes += len(payload)
        if len(payload) > 8192:
            return  # deltas with data; the messages counted here are small
        message = ForwardMsg()
        try:
            message.ParseFromString(payload)
        except Exception:
            return
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self.started += 1
        elif kind == "script_finished":
            if message.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                self.early += 1
            else:
                self.finished += 1
                self.finished_at = time.perf_counter()


async def launch(playwright, extra_args: list[str] | None = None):
    browser = await playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*LAUNCH_ARGS, *(extra_args or [])]
    )
    common.match_priority(common.chromium_pids())
    return browser


async def new_context(browser):
    """A browser context (a separate Streamlit session) set up for measuring."""
    context = await browser.new_context(viewport=VIEWPORT, reduced_motion="reduce")
    await context.add_init_script(INIT_SCRIPT)
    return context


async def new_page(context):
    page = await context.new_page()
    watch = Watch()
    watch.attach(page)
    common.match_priority(common.chromium_pids())  # a new renderer may have started
    return page, watch


async def errors_on(page) -> list[str]:
    found = await page.locator('[data-testid="stException"]').all_inner_texts()
    return [text[:300] for text in found]


async def wait_drawn(page, watch: Watch, finished_before: int, timeout: float) -> float:
    """Wait for a run after ``finished_before`` to finish and show; the browser's time then."""
    deadline = time.monotonic() + timeout
    closed = watch.closed
    while watch.finished <= finished_before:
        if watch.closed > closed:
            raise DrawError("the websocket closed (disconnected)")
        if time.monotonic() > deadline:
            raise DrawError(f"no finished script run in {timeout:.0f} s")
        await asyncio.sleep(0.005)
    remaining = max(deadline - time.monotonic(), 1)
    handle = await page.wait_for_function(DRAWN, polling="raf", timeout=remaining * 1000)
    drawn = await handle.json_value()
    problems = await errors_on(page)
    if problems:
        raise DrawError(f"error block on the page: {problems[0]}")
    return float(drawn)


async def open_page(page, watch: Watch, url: str, timeout: float) -> float:
    """Seconds from the start of the navigation to the page drawn."""
    before = watch.finished
    await page.goto(url, wait_until="commit", timeout=timeout * 1000)
    return await wait_drawn(page, watch, before, timeout) / 1000


async def sidebar_filters(page) -> list[str]:
    return await page.evaluate(SIDEBAR_SELECTS)


async def _open_options(page, key: str) -> list[str]:
    box = page.locator(f".st-key-{key}").get_by_role("combobox")
    options = page.get_by_role("listbox").get_by_role("option")
    for _ in range(5):  # a click landing while the widget redraws opens nothing: again
        await box.click()
        try:
            await options.first.wait_for(timeout=3_000)
            return await options.all_inner_texts()
        except Exception:
            await page.keyboard.press("Escape")
    raise DrawError(f"the {key} select box would not open")


@dataclass
class Change:
    """One filter change: the option chosen and how long the page took to show it.

    ``seconds`` is measured in the browser; ``server_seconds`` (from the click to the
    server's message that the run finished, as this driver heard it) and
    ``drawing_seconds`` (from that message to the page drawn) split it roughly.
    """

    key: str
    option: str
    fresh: bool
    seconds: float
    server_seconds: float
    drawing_seconds: float


async def change_filter(
    page, watch: Watch, key: str, used: set, rng: random.Random, timeout: float
) -> Change:
    """Choose an option of ``key`` not chosen before (if any), and time the redraw."""
    current = await page.locator(f".st-key-{key}").get_by_role("combobox").input_value()
    shown = await _open_options(page, key)
    candidates = [o for o in shown if o != current]
    if not candidates:
        await page.keyboard.press("Escape")
        raise NoOtherOptionError(key)
    fresh = [o for o in candidates if (key, o) not in used]
    choice = rng.choice(fresh or candidates)
    used.add((key, choice))
    before = watch.finished
    await page.evaluate("window.__eqmPointer = null")
    option = page.get_by_role("listbox").get_by_role("option", name=choice, exact=True).first
    await option.wait_for(timeout=10_000)
    clicked = time.perf_counter()
    await option.click()
    try:
        drawn = await wait_drawn(page, watch, before, timeout)
    except DrawError as error:
        error.option = choice  # which option the page could not draw
        raise
    shown = time.perf_counter()
    pressed = await page.evaluate("window.__eqmPointer")
    if pressed is None:
        raise DrawError("the click on the option was not seen")
    return Change(
        key=key,
        option=choice,
        fresh=bool(fresh),
        seconds=(drawn - float(pressed)) / 1000,
        server_seconds=watch.finished_at - clicked,
        drawing_seconds=shown - watch.finished_at,
    )
