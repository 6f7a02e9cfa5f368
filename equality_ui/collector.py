"""Keep Python's cyclic garbage collector off the long-lived objects of the process.

A dashboard process holds some 250,000 objects that live as long as it does: the
functions, classes and constants of pandas, SciPy, Altair, Streamlit and our modules. Each
full collection walked all of them: 110 to 140 ms, every second or third filter change at
national scale, in the middle of the page's run. After a page's first run (when its modules
are imported), what is alive is collected once and frozen (:func:`gc.freeze`): later full
collections walk only what was made since, a few milliseconds.

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

_settled: set[str] = set()
_lock = threading.Lock()


def enabled() -> bool:
    """False if ``EQUALITY_MONITOR_GC_FREEZE=0`` (for measuring without it)."""
    return os.environ.get("EQUALITY_MONITOR_GC_FREEZE", "1") != "0"


def settle_after_first_run(page: str) -> bool:
    """Collect and freeze what is alive, after the first run of ``page`` in this process.

    Returns True if it did so now.
    """
    if not enabled():
        return False
    with _lock:
        if page in _settled:
            return False
        _settled.add(page)
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    LOG.debug(
        "froze %d objects after the first run of %s in %.0f ms",
        gc.get_freeze_count(),
        page,
        (time.perf_counter() - started) * 1000,
    )
    return True
