"""Admission control: at most a few page runs compute at once in the process.

Streamlit runs each session's script in a thread of its own, all in one process. With
twenty people changing filters, twenty page runs interleaved on one interpreter lock,
each pushing the others' arrays out of the processor's caches while all their temporary
copies of millions of rows were held at once. On the national demo a run cost 0.24
CPU-seconds alone and 0.68 with twenty sessions, so the server fell behind and redraws
queued for up to half a minute (``benchmarks/protocol_load.py``). With one run computing
per core and the others waiting their turn, each run costs what it costs alone: the same
twenty sessions were all served as they asked, the slowest in 2 s (benchmarks/README.md).

The turn covers the page itself, after the sidebar's navigation and the data's status
are drawn. A run that has to wait shows a spinner after half a second (Streamlit's
transient element: it takes no place on the page). A filter changed while the run waits
takes effect when its turn comes: the run stops at the page's first element and starts
again, in a new turn.

``EQUALITY_MONITOR_RUN_SLOTS`` sets how many page runs compute at once: by default one per
processor the process may use; ``0`` for no limit (every run at once, as before).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import streamlit as st

#: The environment variable that sets how many page runs compute at once.
SLOTS_VARIABLE = "EQUALITY_MONITOR_RUN_SLOTS"
WAITING_TEXT = "Other people's pages are being worked out: yours is next."


def processors() -> int:
    """The processors this process may run on (its CPU affinity, where the system says)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def configured_slots(environ: Mapping[str, str] = os.environ) -> int:
    """Page runs that may compute at once: the variable, else :func:`processors` (0: any)."""
    value = environ.get(SLOTS_VARIABLE, "").strip()
    if not value:
        return processors()
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
        self.slots = slots
        self._semaphore = threading.BoundedSemaphore(slots) if slots else None

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Wait for a turn (with a spinner), compute in it, give it back however it ends."""
        if self._semaphore is None:
            yield
            return
        if not self._semaphore.acquire(blocking=False):
            with st.spinner(WAITING_TEXT, show_time=True):
                self._semaphore.acquire()
        try:
            yield
        finally:
            self._semaphore.release()


#: The process's turns, shared by every session.
RUNS = RunSlots(configured_slots())


def turn() -> Iterator[None]:
    """A turn of the process's :data:`RUNS` (a context manager)."""
    return RUNS.turn()
