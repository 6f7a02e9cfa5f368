"""Publish validated extracts as whole generations, under a lock, crash-consistently.

A generation is a directory ``generations/<id>/`` holding every published Parquet file
and the generation's ``manifest.json``. The link ``validated`` names the current one.
Publishing a run's passing extracts:

1. builds ``generations/.tmp-<id>/``: the new Parquet files, the unchanged extracts of
   the current generation (hard links, or copies), and the manifest, each synced;
2. renames it to ``generations/<id>/`` (a complete generation, not yet current);
3. makes a new link ``.validated.tmp-<id>`` and renames it over ``validated``: one
   atomic switch.

A run killed at any point leaves ``validated`` naming one whole generation, the old or
the new; what it leaves behind (a temporary directory or link, or a complete generation
that never became current) is removed by the next run, before it does anything else.
The whole validate run holds ``fcntl.flock`` on the data folder's lock file, so two
runs never interleave and neither loses the other's update.

Tests kill or fail the publish at every step through :data:`FAULT_HOOK`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import multiprocessing
import os
import queue
import secrets
import shutil
import sys
import threading
import time
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from equality_core.paths import DataPaths

#: Environment variable: how many processes the publish step uses at once, to check
#: extracts (:mod:`equality_core.validation`) and to make their sums
#: (:mod:`equality_core.derived`): default :data:`DEFAULT_WORKERS`, never more than the
#: CPUs this process may use.
WORKERS_VARIABLE = "EQUALITY_MONITOR_PUBLISH_WORKERS"
#: Two: each process holds one whole extract (or one chunk of one, to check it), so
#: memory grows with them. Five times national, `validate` in two took 296 s and
#: 6.4 GiB at the peak, against 455 s and 4.2 GiB in one (benchmarks/README.md,
#: "Eleventh round"); the publish budget is 8 GiB.
DEFAULT_WORKERS = 2


def publish_workers() -> int:
    """How many processes the publish step uses at once: ``EQUALITY_MONITOR_PUBLISH_WORKERS``, else 2.

    Never more than the CPUs this process may run on.
    """
    text = os.environ.get(WORKERS_VARIABLE, "").strip()
    try:
        wanted = int(text) if text else DEFAULT_WORKERS
    except ValueError:
        raise ValueError(f"{WORKERS_VARIABLE} must be a whole number, not {text!r}") from None
    if wanted < 1:
        raise ValueError(f"{WORKERS_VARIABLE} must be at least 1, not {wanted}")
    return max(1, min(wanted, usable_cpus()))


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, where the system has one)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return cpus or 1


#: Spawned, not forked: the caller may hold threads (a lock's, a test runner's).
SPAWN = multiprocessing.get_context("spawn")


@contextlib.contextmanager
def process_pool(
    workers: int, *, messages: Any = None, **options: Any
) -> Iterator[ProcessPoolExecutor]:
    """A pool of ``workers`` spawned processes for the publish step (``options`` as the pool's).

    A spawned process first runs the parent's ``__main__`` again, as ``__mp_main__``,
    unless it is a package's ``__main__`` (the command line's). The workers need only
    this package's modules, and a script installed as ``__main__`` must not run in
    them: a Streamlit page (the dashboard's run, or a test's AppTest) fails there. So,
    while the pool is open, ``__main__`` is an empty module.

    With ``messages`` (a ``SPAWN.Queue()``), a worker's :func:`worker_progress` sends its
    progress lines there, for the parent to :func:`pass_on`.
    """
    if messages is not None:
        options.update(initializer=_messages_to, initargs=(messages,))
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=SPAWN, **options) as pool:
            yield pool
    finally:
        if main is not None:
            sys.modules["__main__"] = main


#: In a worker of a :func:`process_pool` given ``messages``: that queue.
_MESSAGES: list = []


def _messages_to(messages: Any) -> None:
    _MESSAGES[:] = [messages]


def worker_progress() -> Callable[[str], None] | None:
    """What sends a progress line to the parent, in a worker of a pool given ``messages``.

    None anywhere else (the parent, a pool without ``messages``).
    """
    return _MESSAGES[0].put if _MESSAGES else None


def wait_passing_on(
    futures: Iterable[Future], messages: Any, progress: Callable[[str], None] | None
) -> None:
    """Wait for every one of ``futures``, passing the workers' progress lines on meanwhile."""
    pending = set(futures)
    while pending:
        _done, pending = wait(pending, timeout=0.2)
        pass_on(messages, progress)


def pass_on(messages: Any, progress: Callable[[str], None] | None) -> None:
    """Every progress line the workers have sent to ``messages`` so far, to ``progress``."""
    while True:
        try:
            message = messages.get_nowait()
        except queue.Empty:
            return
        if progress:
            progress(message)


#: Called with the name of each publishing step just before it is taken; tests use it to
#: kill (raise a ``BaseException``) or fail (raise an ``OSError``) the publish there.
FAULT_HOOK: Callable[[str], None] | None = None

#: Previous generations kept besides the current one (older ones are removed).
KEEP_PREVIOUS_GENERATIONS = 3

_TMP_GENERATION = ".tmp-"
_TMP_LINK = ".validated.tmp-"
_MIGRATING = ".migrating"
_TEMPORARY_REPORT = ".tmp-"


class DataFolderBusyError(Exception):
    """Another validate run holds the data folder's lock."""


class PublishError(Exception):
    """Publishing failed part-way; the previous generation is still the current one."""


def _reach(step: str) -> None:
    if FAULT_HOOK is not None:
        FAULT_HOOK(step)


# --- The lock ------------------------------------------------------------------------------

_HELD = threading.local()


@contextlib.contextmanager
def data_folder_lock(
    paths: DataPaths,
    *,
    timeout: float = 600.0,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold ``fcntl.flock`` on the data folder's lock file for the duration of the block.

    Re-entrant within one thread (``demo`` holds it around the validation it runs).
    Waits up to ``timeout`` seconds for another run to finish, then raises
    :class:`DataFolderBusyError`. The kernel releases the lock if the process dies.
    """
    held: dict[str, int] = getattr(_HELD, "roots", None) or {}
    _HELD.roots = held
    key = os.path.realpath(paths.root)
    if held.get(key):
        held[key] += 1
        try:
            yield
        finally:
            held[key] -= 1
        return
    paths.root.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(paths.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() >= deadline:
                raise DataFolderBusyError(
                    f"another validate run holds the lock on {paths.root} "
                    f"({paths.lock_file}); waited {timeout:g} s"
                )
            if on_wait and not told:
                on_wait(f"waiting for another validate run to finish ({paths.lock_file})")
                told = True
            time.sleep(0.05)
        held[key] = 1
        try:
            yield
        finally:
            held.pop(key, None)
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


# --- Reading the current generation -----------------------------------------------------


def read_manifest_at(directory: Path | None) -> dict:
    """The manifest of a generation directory (an empty one if there is none)."""
    if directory is None:
        return {"extracts": {}}
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"extracts": {}}
    manifest.setdefault("extracts", {})
    return manifest


def current_generation(paths: DataPaths) -> Path | None:
    """The directory of the current generation, or None if nothing is published."""
    pinned = paths.pinned()
    return pinned.generation


def _new_generation_id() -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def _is_generation_name(name: str) -> bool:
    return not name.startswith(".") and len(name) > 16 and name[8] == "T"


# --- Recovery and clean-up (under the lock) ----------------------------------------------


@dataclass
class Housekeeping:
    """What the start of a run found and put right."""

    removed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _switch_link(paths: DataPaths, generation_id: str) -> None:
    """Point ``validated`` at ``generations/<id>`` with one atomic rename."""
    link = paths.root / f"{_TMP_LINK}{generation_id}"
    with contextlib.suppress(FileNotFoundError):
        link.unlink()
    _reach("link")
    os.symlink(Path(paths.generations.name) / generation_id, link)
    _reach("switch")
    os.replace(link, paths.pointer)
    _fsync_directory(paths.root)


def recover(paths: DataPaths) -> Housekeeping:
    """Put the data folder in order before a run: call only while holding the lock.

    Moves a ``validated`` folder of the older layout into a generation; restores the
    link if a killed run left none; removes temporary directories, links and report
    files, and complete generations that never became current.
    """
    done = Housekeeping()
    paths.generations.mkdir(parents=True, exist_ok=True)
    intent = paths.generations / _MIGRATING
    pointer = paths.pointer
    if pointer.is_dir() and not pointer.is_symlink():
        generation_id = _new_generation_id()
        intent.write_text(generation_id, encoding="utf-8")
        _fsync_directory(paths.generations)
        os.rename(pointer, paths.generations / generation_id)
        _switch_link(paths, generation_id)
        done.notes.append(f"moved the published folder into generation {generation_id}")
    if not os.path.lexists(pointer) or not pointer.exists():
        target = None
        if intent.exists():
            target = intent.read_text(encoding="utf-8").strip()
        complete = sorted(
            p.name
            for p in paths.generations.iterdir()
            if p.is_dir() and _is_generation_name(p.name) and (p / "manifest.json").exists()
        )
        if target not in complete:
            target = complete[-1] if complete else None
        if target is not None:
            _switch_link(paths, target)
            done.notes.append(f"restored the link to generation {target}")
    intent.unlink(missing_ok=True)
    current = current_generation(paths)
    current_name = current.name if current is not None else ""
    for entry in list(paths.generations.iterdir()):
        name = entry.name
        if name.startswith(_TMP_GENERATION):
            shutil.rmtree(entry, ignore_errors=True)
            done.removed.append(str(entry))
        elif current is not None and _is_generation_name(name) and name > current_name:
            # Complete but never switched to: a run was killed between its two renames.
            shutil.rmtree(entry, ignore_errors=True)
            done.removed.append(str(entry))
    for entry in paths.root.glob(f"{_TMP_LINK}*"):
        entry.unlink(missing_ok=True)
        done.removed.append(str(entry))
    if paths.reports.is_dir():
        for entry in paths.reports.glob(f"{_TEMPORARY_REPORT}*"):
            entry.unlink(missing_ok=True)
            done.removed.append(str(entry))
    return done


def prune_generations(paths: DataPaths, keep: int = KEEP_PREVIOUS_GENERATIONS) -> list[str]:
    """Remove generations older than the current one beyond the ``keep`` most recent."""
    current = current_generation(paths)
    if current is None or not paths.generations.is_dir():
        return []
    older = sorted(
        p.name
        for p in paths.generations.iterdir()
        if p.is_dir() and _is_generation_name(p.name) and p.name < current.name
    )
    removed = []
    for name in older[: max(0, len(older) - keep)]:
        shutil.rmtree(paths.generations / name, ignore_errors=True)
        removed.append(name)
    return removed


# --- Publishing ------------------------------------------------------------------------------


@dataclass
class Candidate:
    """An extract that passed every check, ready to publish: its rows and manifest entry.

    The rows are a ``frame``, or a Parquet file already written (``staged``, by a check
    that read the extract in chunks), which is moved into the generation: it must be
    inside ``generations/``, on the same file system.
    """

    extract: str
    frame: pd.DataFrame | None
    entry: dict
    staged: Path | None = None


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _carry(source: Path, target: Path) -> None:
    """Bring an unchanged published file into the new generation (a hard link if possible)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
        _fsync_file(target)


def publish_generation(
    paths: DataPaths,
    candidates: list[Candidate],
    *,
    published_at: str,
    annotations: Mapping[str, Any] | None = None,
) -> str:
    """Publish ``candidates`` with the unchanged rest as a new generation; returns its id.

    Call only while holding the lock. Unknown top-level keys of the current manifest are
    kept; ``annotations`` (for example the disclosure control the figures get) are set. On failure the partial generation is removed and :class:`PublishError` raised;
    the previous generation stays current either way.
    """
    current = current_generation(paths)
    old = read_manifest_at(current)
    generation_id = _new_generation_id()
    temporary = paths.generations / f"{_TMP_GENERATION}{generation_id}"
    final = paths.generations / generation_id
    try:
        _reach("begin")
        paths.generations.mkdir(parents=True, exist_ok=True)
        temporary.mkdir()
        entries = {}
        new = {c.extract: c for c in candidates}
        for candidate in candidates:
            _reach(f"write:{candidate.extract}")
            target = temporary / f"{candidate.extract}.parquet"
            if candidate.staged is not None:
                os.replace(candidate.staged, target)
            else:
                candidate.frame.to_parquet(target, index=False, compression="zstd")
            _fsync_file(target)
            entries[candidate.extract] = candidate.entry
        for name, entry in sorted(old.get("extracts", {}).items()):
            if name in new or current is None:
                continue
            _reach(f"carry:{name}")
            _carry(current / f"{name}.parquet", temporary / f"{name}.parquet")
            entries[name] = entry
        manifest = {
            **{k: v for k, v in old.items() if k not in ("extracts",)},
            "generation": generation_id,
            "previous_generation": current.name if current is not None else None,
            "published_at": published_at,
            "updated_at": published_at,
            **dict(annotations or {}),
            "extracts": dict(sorted(entries.items())),
        }
        _reach("manifest")
        text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        (temporary / "manifest.json").write_text(text, encoding="utf-8")
        _fsync_file(temporary / "manifest.json")
        _fsync_directory(temporary)
        _reach("rename")
        os.rename(temporary, final)
        _fsync_directory(paths.generations)
        _switch_link(paths, generation_id)
    except Exception as error:
        # A failure (not a kill): remove what this attempt made, unless it became current.
        now = current_generation(paths)
        if now is None or now.name != generation_id:
            shutil.rmtree(temporary, ignore_errors=True)
            shutil.rmtree(final, ignore_errors=True)
            (paths.root / f"{_TMP_LINK}{generation_id}").unlink(missing_ok=True)
            raise PublishError(
                f"publishing failed ({type(error).__name__}: {error}); "
                "the previous published set is unchanged"
            ) from error
    try:
        _reach("prune")
        prune_generations(paths)
    except Exception:  # the new generation is current; old ones go next time
        pass
    return generation_id


def atomic_write_text(target: Path, text: str) -> None:
    """Write a small text file atomically (temporary file in the same folder, then rename).

    The temporary file is named ``.tmp-…`` so that :func:`recover` removes one left by a
    killed run.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.parent / f"{_TEMPORARY_REPORT}{target.name}.{secrets.token_hex(4)}"
    try:
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except Exception:
        temporary.unlink(missing_ok=True)
        raise
