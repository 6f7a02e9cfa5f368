"""Admission control: page runs compute a few at a time, and a turn is always given back."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from streamlit.testing.v1 import AppTest

from equality_ui import admission
from tests.conftest import REPOSITORY


def test_the_number_of_turns_comes_from_the_environment_and_is_unlimited_unset() -> None:
    assert admission.configured_slots({}) == 0
    assert admission.configured_slots({admission.SLOTS_VARIABLE: ""}) == 0
    assert admission.configured_slots({admission.SLOTS_VARIABLE: " 3 "}) == 3
    assert admission.configured_slots({admission.SLOTS_VARIABLE: "0"}) == 0
    for wrong in ("-1", "two", "1.5"):
        with pytest.raises(ValueError, match=admission.SLOTS_VARIABLE):
            admission.configured_slots({admission.SLOTS_VARIABLE: wrong})


def _hold(slots: admission.RunSlots, entered: threading.Event, leave: threading.Event):
    def run() -> None:
        with slots.turn():
            entered.set()
            leave.wait(timeout=30)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_run_waits_while_every_turn_is_taken_and_goes_when_one_is_given_back() -> None:
    slots = admission.RunSlots(2)
    leave = [threading.Event(), threading.Event(), threading.Event()]
    entered = [threading.Event(), threading.Event(), threading.Event()]
    threads = [_hold(slots, entered[i], leave[i]) for i in range(2)]
    assert all(e.wait(timeout=10) for e in entered[:2])
    threads.append(_hold(slots, entered[2], leave[2]))
    # Both turns are held: the third run must not start, however long it is given.
    assert not entered[2].wait(timeout=0.5)
    leave[0].set()
    assert entered[2].wait(timeout=10)
    for event in leave:
        event.set()
    for thread in threads:
        thread.join(timeout=10)
        assert not thread.is_alive()


def test_no_limit_lets_every_run_compute_at_once() -> None:
    slots = admission.RunSlots(0)
    together = threading.Barrier(4, timeout=10)
    failures = []

    def run() -> None:
        with slots.turn():
            try:
                together.wait()  # breaks (and fails) unless all four are inside at once
            except threading.BrokenBarrierError as error:
                failures.append(error)

    threads = [threading.Thread(target=run, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)
    assert not failures


def test_a_turn_is_given_back_when_the_page_raises() -> None:
    slots = admission.RunSlots(1)
    with pytest.raises(RuntimeError), slots.turn():
        raise RuntimeError("the page failed")
    entered, leave = threading.Event(), threading.Event()
    leave.set()
    thread = _hold(slots, entered, leave)
    assert entered.wait(timeout=10)
    thread.join(timeout=10)


def test_a_negative_number_of_turns_is_refused() -> None:
    with pytest.raises(ValueError, match="slots"):
        admission.RunSlots(-1)


def test_a_page_waits_for_its_turn_and_is_drawn_when_it_comes(monkeypatch) -> None:
    """With the only turn held by someone else's page, the app's page starts only once the
    turn is given back (the spinner path, in a real script run), then is drawn."""
    monkeypatch.setenv("EQUALITY_MONITOR_DATA", str(REPOSITORY / "data"))
    order: list[str] = []

    class Recorded(admission.RunSlots):
        @contextmanager
        def turn(self) -> Iterator[None]:
            with super().turn():
                order.append(threading.current_thread().name)
                yield

    slots = Recorded(1)
    monkeypatch.setattr(admission, "RUNS", slots)
    entered, leave = threading.Event(), threading.Event()

    def someone_else() -> None:
        with slots.turn():
            entered.set()
            leave.wait(timeout=30)
            order.append("given back")

    holder = threading.Thread(target=someone_else, name="someone else", daemon=True)
    holder.start()
    assert entered.wait(timeout=10)
    threading.Timer(1.0, leave.set).start()
    at = AppTest.from_file(str(REPOSITORY / "app.py"), default_timeout=120).run()
    holder.join(timeout=10)
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Equality Monitor"]
    # The page took its turn after it was given back, whoever got there first.
    assert order[:2] == ["someone else", "given back"] and len(order) == 3, order


#: The script runs of :func:`_waits_then_reruns`, by their context (one per run).
RUNS_SEEN: list = []


def _waits_then_reruns() -> None:
    """A page that records its run, then computes in a turn of ``admission.RUNS``."""
    import streamlit as st
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    from equality_ui import admission
    from tests import test_admission as here

    here.RUNS_SEEN.append(get_script_run_ctx())
    with admission.turn():
        st.write(f"computed in run {len(here.RUNS_SEEN)}")


def test_a_turn_taken_as_a_rerun_is_asked_for_is_given_back(monkeypatch) -> None:
    """A filter changed while a run waits its turn: the run ends as its spinner goes (the
    rerun is raised there), and the turn it has just taken must be given back, or every
    later run in the process waits for ever."""
    from streamlit.runtime.scriptrunner_utils.script_requests import RerunData

    slots = admission.RunSlots(1)
    monkeypatch.setattr(admission, "RUNS", slots)
    RUNS_SEEN.clear()
    entered, leave = threading.Event(), threading.Event()
    holder = _hold(slots, entered, leave)
    assert entered.wait(timeout=10)

    def change_a_filter_then_give_back() -> None:
        # The page's run has started and, the only turn being held, waits for it.
        for _ in range(100):
            if RUNS_SEEN:
                break
            threading.Event().wait(0.05)
        threading.Event().wait(0.3)
        RUNS_SEEN[0].script_requests.request_rerun(RerunData())
        leave.set()

    threading.Thread(target=change_a_filter_then_give_back, daemon=True).start()
    # A lost turn would make the rerun wait for ever (and the test with it): after 15 s,
    # note it and free the run, so the test fails instead.
    lost = threading.Event()

    def free_the_run() -> None:
        lost.set()
        slots._semaphore.release()

    rescue = threading.Timer(15, free_the_run)
    rescue.start()
    try:
        at = AppTest.from_function(_waits_then_reruns, default_timeout=30).run()
    finally:
        rescue.cancel()
    holder.join(timeout=10)
    assert not lost.is_set(), "the turn taken as the rerun was asked for was never given back"
    assert not at.exception, [e.value for e in at.exception]
    # The rerun asked for while waiting ran, and computed in a turn of its own.
    assert len(RUNS_SEEN) == 2
    assert [m.value for m in at.markdown] == ["computed in run 2"]
    # Every turn is free again.
    assert slots._semaphore.acquire(blocking=False)
    slots._semaphore.release()
