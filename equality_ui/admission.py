"""Admission control, off by default: at most N page runs compute at once in the process.

Streamlit runs each session's script in a thread of its own, all in one process. With
twenty sessions changing filters over Streamlit's protocol (``benchmarks/protocol_load.py``,
national demo, no browser on the machine), the runs interleaved on one interpreter lock
and, once the server fell behind, a run cost 0.6 to 0.7 CPU-seconds instead of 0.4: redraws
queued for up to half a minute. With one or two runs computing at once and the others
waiting their turn, a run cost 0.46 or 0.55 CPU-seconds and the median redraw over five
minutes fell from 9.5 s to 1.1 or 2.9 s (benchmarks/README.md, "Third round").

It is off by default because the other load test, twenty Chromium tabs on the same two
cores (``benchmarks/load.py``), went the other way: 8.0 s to 18 s at the median, the
server getting 19% of the machine instead of 36%, with both turns computing and up to
seventeen runs waiting. A turn could be lost then (below), but once that was mended the
browsers' test went the same way (17 s at the median, the server at 22%; "Fourth round").
Until that is understood, switch it on only where the server has its processors to
itself, and measure.

The turn covers the page itself, after the sidebar's navigation and the data's status
are drawn. A run that has to wait shows a spinner after half a second (Streamlit's
transient element: it takes no place on the page). A filter changed while a run waits
starts a new run, which waits its turn too; the old one, when it gets its turn, stops as
its spinner is taken away (the rerun is raised there) and gives the turn back.

``EQUALITY_MONITOR_RUN_SLOTS`` sets how many page runs compute at once; unset or ``0``, no
limit (every run at once).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager

import streamlit as st

#: The environment variable that sets how many page runs compute at once.
SLOTS_VARIABLE = "EQUALITY_MONITOR_RUN_SLOTS"
WAITING_TEXT = "Other people's pages are being worked out: yours is next."


def configured_slots(environ: Mapping[str, str] = os.environ) -> int:
    """Page runs that may compute at once: the variable's whole number, 0 (no limit) unset."""
    value = environ.get(SLOTS_VARIABLE, "").strip()
    if not value:
        return 0
    try:
        slots = int(value)
    except ValueError:
        slots = -1
    if slots < 0:
        raise ValueError(
            f"{SLOTS_VARIABLE} must be a whole number of page runs, 0 for no limit; got {value!r}"
        )
    return slots


class RunSlots:
    """A fixed number of turns to compute a page; ``slots=0`` means no limit."""

    def __init__(self, slots: int) -> None:
        if slots < 0:
            raise ValueError(f"slots must be 0 (no limit) or more, got {slots}")
        self._semaphore = threading.BoundedSemaphore(slots) if slots else None

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Wait for a turn (with a spinner), compute in it, give it back however it ends."""
        if self._semaphore is None:
            yield
            return
        taken = self._semaphore.acquire(blocking=False)
        try:
            if not taken:
                # No running clock: every waiting tab would redraw it ten times a second.
                with st.spinner(WAITING_TEXT):
                    taken = self._semaphore.acquire()
                # Taking the spinner away is a Streamlit call, where a rerun or a stop
                # asked for while this run waited is raised: the turn, taken by then,
                # is given back below like any other.
            yield
        finally:
            if taken:
                self._semaphore.release()


#: The process's turns, shared by every session.
RUNS = RunSlots(configured_slots())


def turn() -> AbstractContextManager[None]:
    """A turn of the process's :data:`RUNS`: ``with admission.turn(): ...``."""
    return RUNS.turn()
