"""Keep Python's cyclic garbage collector off the long-lived objects of the process.

A dashboard process holds some 250,000 objects that live as long as it does: the
functions, classes and constants of pandas, SciPy, Altair, Streamlit and our modules. Each
full collection walked all of them: 110 to 140 ms, every second or third filter change at
national scale, in the middle of the page's run. After a page's first run (when its modules
are imported), what is alive is collected once and frozen (:func:`gc.freeze`), in the
background a moment later: later full collections walk only what was made since, a few
milliseconds.

Frozen objects are still freed when nothing refers to them; only a reference cycle among
them would never be collected. The freeze happens once per page and process, after a
collection, so at most what one run still holds is kept that way.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time

LOG = logging.getLogger(__name__)

#: How long after a page's first run the collection waits (the page is drawn by then).
SETTLE_DELAY_SECONDS = 2.0

_settled: set[str] = set()
_lock = threading.Lock()


def enabled() -> bool:
    """False if ``EQUALITY_MONITOR_GC_FREEZE=0`` (for measuring without it)."""
    return os.environ.get("EQUALITY_MONITOR_GC_FREEZE", "1") != "0"


def settle_after_first_run(
    page: str, *, delay: float = SETTLE_DELAY_SECONDS
) -> threading.Timer | None:
    """Collect and freeze what is alive, soon after the first run of ``page`` here.

    In a thread of its own, ``delay`` seconds later: the collection takes about a tenth
    of a second, which the first page view does not wait for. Returns the timer if this
    call started it (once per page and process).
    """
    if not enabled():
        return None
    with _lock:
        if page in _settled:
            return None
        _settled.add(page)
    timer = threading.Timer(delay, _settle, args=(page,))
    timer.daemon = True
    timer.name = "equality-monitor-collector"
    timer.start()
    return timer


def _settle(page: str) -> None:
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    LOG.debug(
        "froze %d objects after the first run of %s in %.0f ms",
        gc.get_freeze_count(),
        page,
        (time.perf_counter() - started) * 1000,
    )
