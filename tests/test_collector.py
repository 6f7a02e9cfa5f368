"""The garbage collector is kept off long-lived objects without keeping any garbage."""

from __future__ import annotations

import gc
import weakref

import pytest

from equality_ui import collector


class _Node:
    pass


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(collector, "_settled", set())
    monkeypatch.delenv("EQUALITY_MONITOR_GC_FREEZE", raising=False)
    gc.unfreeze()
    yield
    gc.unfreeze()


def _settle(page: str) -> bool:
    """Settle now (no delay) and wait for it; True if this call settled the page."""
    timer = collector.settle_after_first_run(page, delay=0)
    if timer is None:
        return False
    timer.join(timeout=60)
    return True


def test_a_page_settles_once_and_freezes_what_lives(fresh) -> None:
    before = len(gc.get_objects())
    assert _settle("offenders")
    # What lived was frozen: a full collection no longer walks it.
    assert gc.get_freeze_count() > 0
    assert len(gc.get_objects()) < before / 10
    assert not _settle("offenders"), "once per page"
    assert _settle("workforce")


def test_garbage_in_a_cycle_is_collected_before_the_freeze(fresh) -> None:
    node = _Node()
    node.self = node  # a reference cycle: only the collector frees it
    dead = weakref.ref(node)
    del node
    assert dead() is not None
    _settle("overview")
    assert dead() is None, "garbage must be freed, not frozen"


def test_objects_made_after_the_freeze_are_still_collected(fresh) -> None:
    _settle("overview")
    node = _Node()
    node.self = node
    dead = weakref.ref(node)
    del node
    gc.collect()
    assert dead() is None


def test_turned_off_it_freezes_nothing(fresh, monkeypatch) -> None:
    monkeypatch.setenv("EQUALITY_MONITOR_GC_FREEZE", "0")
    assert not _settle("overview")
    assert gc.get_freeze_count() == 0
