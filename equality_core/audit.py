"""The audit trail: who saw what, when, and what they downloaded, in a real database.

Every sign-in and sign-out, expired session, page view (with its filters), download
(with the file's SHA-256) and denied request is one row of the table ``audit_event``.
No page shows the trail: it is read with ``python -m equality_core audit``.

The app can only append. :class:`AuditTrail` has one method, :meth:`AuditTrail.record`,
and no path to change or remove a row. Beyond that:

- In PostgreSQL (a real deployment, ``EQUALITY_MONITOR_AUDIT_URL=postgresql://...``) the
  app's role may only ``INSERT``; a separate owner role migrates and prunes
  (``EQUALITY_MONITOR_AUDIT_ADMIN_URL``). :func:`open_trail` refuses an app role that
  may read, update or delete the trail.
- In SQLite (the default, for a single server: ``DATA/audit/audit.sqlite3``) triggers
  refuse every ``UPDATE`` and ``DELETE``; :func:`prune`, run from the command line only,
  lifts the delete trigger inside its own transaction. This is weaker: anyone who can
  write the file can change it. ``docs/audit.md`` says so, and how to deploy either.

The schema is versioned with Alembic (``equality_core/audit_migrations``). SQLite is
migrated when opened; PostgreSQL only by ``python -m equality_core audit migrate`` with
the owner role, and :func:`open_trail` refuses a database that is not at the head.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from equality_core.paths import resolve_data_dir

#: Every kind of event the trail records.
KINDS = ("sign_in", "sign_out", "session_expired", "page_view", "download", "denied")

#: The app's database URL; in PostgreSQL, the insert-only role.
URL_VARIABLE = "EQUALITY_MONITOR_AUDIT_URL"
#: The owner role's URL, for ``audit migrate``, ``audit prune`` and reading the trail.
ADMIN_URL_VARIABLE = "EQUALITY_MONITOR_AUDIT_ADMIN_URL"
#: Days an event is kept before ``audit prune`` removes it.
RETENTION_VARIABLE = "EQUALITY_MONITOR_AUDIT_RETENTION_DAYS"
#: A year of events plus five weeks: a whole year can be looked back on at the annual
#: assurance review, however late in its month it falls (see docs/audit.md).
DEFAULT_RETENTION_DAYS = 400
#: The SQLite file inside the data folder when no URL is set.
SQLITE_FILE = Path("audit") / "audit.sqlite3"
TABLE_NAME = "audit_event"
#: Alembic's version table, named for the trail so it cannot clash with another's.
VERSION_TABLE = "audit_schema_version"
#: The newest shipped migration's revision, written out so that opening a SQLite trail
#: already at it needs no Alembic: importing it and running the migration environment
#: cost about 0.15 s of every new process (issue 11). A test holds it equal to
#: :func:`head_revision`, so a new migration that does not update it fails the tests.
HEAD_REVISION = "0001"
MIGRATIONS = Path(__file__).resolve().with_name("audit_migrations")
#: The SQLite triggers that keep the table append-only (created by the first migration).
SQLITE_NO_UPDATE_TRIGGER = "audit_event_no_update"
SQLITE_NO_DELETE_TRIGGER = "audit_event_no_delete"
#: Columns of :func:`read_events` and of the command line's output, in order.
FIELDS = (
    "id",
    "occurred_at",
    "kind",
    "user",
    "session",
    "page",
    "filters",
    "detail",
    "file_name",
    "sha256",
)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_PRIVILEGES_THE_APP_MUST_NOT_HAVE = ("SELECT", "UPDATE", "DELETE", "TRUNCATE")


class AuditError(RuntimeError):
    """The audit trail cannot be opened, written, read or pruned; the message says why."""


class _UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC time: ``timestamptz`` in PostgreSQL, UTC text in SQLite."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"audit times must be timezone-aware, got {value!r}")
        value = value.astimezone(UTC)
        # SQLite has no time zones: every stored time is UTC, so text order is time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData()
#: The one table of the trail. The migrations in ``audit_migrations`` create it.
audit_event = sa.Table(
    TABLE_NAME,
    metadata,
    sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(), primary_key=True
    ),
    sa.Column("occurred_at", _UTCDateTime(), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("user_name", sa.Text(), nullable=False),
    sa.Column("session_id", sa.Text()),
    sa.Column("page", sa.Text()),
    sa.Column("filters", sa.Text()),
    sa.Column("detail", sa.Text()),
    sa.Column("file_name", sa.Text()),
    sa.Column("sha256", sa.String(64)),
    sa.Index("ix_audit_event_occurred_at", "occurred_at"),
    sa.Index("ix_audit_event_user_name", "user_name"),
    # No RETURNING: in PostgreSQL it needs SELECT, which the app's role does not have.
    implicit_returning=False,
    sqlite_autoincrement=True,
)


# --------------------------------------------------------------------------- settings


def resolve_url(url: str | None = None, *, data_root: Path | None = None) -> str:
    """The app's audit database URL.

    ``url`` if given, else ``EQUALITY_MONITOR_AUDIT_URL``, else SQLite in the data folder:
    ``sqlite:///DATA/audit/audit.sqlite3``, where ``DATA`` is ``data_root`` or, without it,
    ``$EQUALITY_MONITOR_DATA`` or ``data/`` (made absolute, so the working directory does
    not matter once the URL is resolved).
    """
    if url:
        return url
    from_environment = os.environ.get(URL_VARIABLE)
    if from_environment:
        return from_environment
    root = Path(data_root) if data_root is not None else resolve_data_dir().root
    return f"sqlite:///{(root / SQLITE_FILE).absolute()}"


def resolve_admin_url(*, data_root: Path | None = None) -> str:
    """The owner role's URL: for migrating, pruning and reading the trail.

    ``EQUALITY_MONITOR_AUDIT_ADMIN_URL`` if set; otherwise, for SQLite, the app's URL (one
    file, no roles). A PostgreSQL trail without it raises :class:`AuditError`: the app's
    role may only insert.
    """
    from_environment = os.environ.get(ADMIN_URL_VARIABLE)
    if from_environment:
        return from_environment
    app_url = resolve_url(data_root=data_root)
    if _parse_url(app_url).get_backend_name() != "sqlite":
        raise AuditError(
            f"{URL_VARIABLE} names a PostgreSQL trail, whose app role may only insert: set "
            f"{ADMIN_URL_VARIABLE} to the owner role's URL to migrate, prune or read it"
        )
    return app_url


def retention_days() -> int:
    """Days to keep events: ``EQUALITY_MONITOR_AUDIT_RETENTION_DAYS``, else 400.

    Raises ``ValueError`` naming the variable when it is not a whole number of at least 1.
    """
    text = os.environ.get(RETENTION_VARIABLE, "").strip()
    if not text:
        return DEFAULT_RETENTION_DAYS
    return _days(text, name=RETENTION_VARIABLE)


def _days(text: str, *, name: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise ValueError(f"{name} must be a whole number of days, got {text!r}") from None
    if days < 1:
        raise ValueError(f"{name} must be at least 1 day, got {days}")
    return days


# --------------------------------------------------------------------------- engines


def _parse_url(url: str | URL) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        # Never echo the URL: it may carry a password.
        raise AuditError("the audit database URL cannot be read as a database URL") from None
    # psycopg (3) is the driver installed; plain postgresql:// would ask for psycopg2.
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise AuditError(
            f"the audit trail needs SQLite or PostgreSQL, not {parsed.get_backend_name()!r} "
            "(sqlite:///PATH or postgresql://USER@HOST/DATABASE)"
        )
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise AuditError("the SQLite audit trail needs a file: sqlite:///PATH/audit.sqlite3")
    return parsed


def _shown(url: str | URL) -> str:
    """The URL without its password, for messages."""
    try:
        return _parse_url(url).render_as_string(hide_password=True)
    except AuditError:
        return "(unreadable URL)"


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN (below), so DDL is transactional: prune lifts and restores
    # the delete trigger atomically, and a migration is all or nothing.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # WAL: page views are written while the command line reads.
        cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock at once: two writers queue (busy timeout) rather than
    # fail part-way. Readers ask for a deferred begin.
    mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    connection.exec_driver_sql(f"BEGIN {mode}")


def _engine(url: str | URL, *, create_folder: bool) -> Engine:
    parsed = _parse_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            path = Path(parsed.database or "")
            if create_folder:
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            elif not path.is_file():
                raise AuditError(f"no audit trail at {path}")
            engine = sa.create_engine(parsed, connect_args={"timeout": 15})
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
            return engine
        connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": 5}
        return sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    except (NoSuchModuleError, ImportError) as error:
        raise AuditError(f"no database driver for {_shown(parsed)} ({error})") from None
    except OSError as error:
        raise AuditError(
            f"the audit folder for {_shown(parsed)} cannot be made ({error})"
        ) from None


def _failure(doing: str, url: str | URL, error: SQLAlchemyError) -> AuditError:
    cause = getattr(error, "orig", None) or error
    first_line = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return AuditError(
        f"the audit trail at {_shown(url)} could not be {doing} "
        f"({type(cause).__name__}: {first_line})"
    )


# --------------------------------------------------------------------------- migrations


def _alembic_config(connection: Connection | None = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision of the trail's schema among the shipped migrations."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package ships its migrations
        raise AuditError(f"no audit migrations found in {MIGRATIONS}")
    return head


def _current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def _upgrade(connection: Connection, url: str | URL) -> None:
    from alembic import command
    from alembic.util.exc import CommandError

    try:
        command.upgrade(_alembic_config(connection), "head")
    except CommandError as error:
        # A revision this code does not know: a newer release migrated the trail, or the
        # table belongs to someone else. Refused, and the database is left as it is.
        raise AuditError(
            f"the audit trail at {_shown(url)} could not be migrated to revision "
            f"{HEAD_REVISION} ({error})"
        ) from None


def _sqlite_is_at_head(connection: Connection) -> bool:
    """Whether a SQLite trail's version table holds exactly :data:`HEAD_REVISION`.

    Read with plain SQL, without Alembic. Anything else (no version table, no row, an
    older revision, or one this code does not know) is left to Alembic to migrate or
    refuse, as it would be without this check.
    """
    has_version_table = connection.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (VERSION_TABLE,)
    ).first()
    if has_version_table is None:
        return False
    revisions = connection.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}")
    return revisions.scalars().all() == [HEAD_REVISION]


def migrate(url: str) -> None:
    """Bring the trail's schema to the newest revision (creating it if it is new).

    For PostgreSQL, run it with the owner role (``EQUALITY_MONITOR_AUDIT_ADMIN_URL``):
    the tables belong to whoever creates them. Then grant the app's role ``INSERT`` as
    ``docs/audit.md`` shows. Raises :class:`AuditError` if the database cannot be reached
    or the migration fails; a failed migration changes nothing (one transaction).
    """
    engine = _engine(url, create_folder=True)
    try:
        with engine.begin() as connection:
            _upgrade(connection, url)
    except SQLAlchemyError as error:
        raise _failure("migrated", url, error) from None
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- the trail


class AuditTrail:
    """An open audit trail that the app appends to. Get one from :func:`open_trail`.

    It has no way to change or remove what it has recorded.
    """

    __slots__ = ("_engine", "_insert", "where")

    def __init__(self, engine: Engine, where: str) -> None:
        self._engine = engine
        self._insert = audit_event.insert()
        #: The database URL without its password.
        self.where = where

    def __repr__(self) -> str:
        return f"AuditTrail({self.where!r})"

    def record(
        self,
        kind: str,
        *,
        user: str,
        session: str | None = None,
        page: str | None = None,
        filters: Mapping[str, Any] | None = None,
        detail: str | None = None,
        file_name: str | None = None,
        sha256: str | None = None,
    ) -> None:
        """Append one event, stamped with the current UTC time, in one short transaction.

        Parameters
        ----------
        kind
            One of :data:`KINDS`.
        user
            Who: the signed-in user's identifier (for a denied request before sign-in,
            whatever identifies the caller, e.g. ``"anonymous"``). Must not be empty.
        session
            The browser session, so one visit's events can be read together.
        page
            The page's address path or title.
        filters
            The page's filters (name to value); stored as JSON with sorted keys.
        detail
            Free text: why a request was denied, what kind of download, and so on.
        file_name, sha256
            A download's file name and the SHA-256 of its bytes (64 hexadecimal digits,
            required for ``download``).

        Raises
        ------
        ValueError
            An unknown ``kind``, an empty ``user``, or a download without a valid hash.
        AuditError
            The row could not be written (the database is unreachable or refused it).
        """
        row = _event_row(
            kind,
            user=user,
            session=session,
            page=page,
            filters=filters,
            detail=detail,
            file_name=file_name,
            sha256=sha256,
        )
        try:
            with self._engine.begin() as connection:
                connection.execute(self._insert, row)
        except SQLAlchemyError as error:
            raise _failure("written", self.where, error) from None

    def close(self) -> None:
        """Close the pooled connections (the trail reconnects if used again)."""
        self._engine.dispose()


def _event_row(
    kind: str,
    *,
    user: str,
    session: str | None,
    page: str | None,
    filters: Mapping[str, Any] | None,
    detail: str | None,
    file_name: str | None,
    sha256: str | None,
) -> dict[str, Any]:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    if not isinstance(user, str) or not user.strip():
        raise ValueError(f"user must name who acted (a non-empty string); got {user!r}")
    if sha256 is not None:
        sha256 = sha256.lower()
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"sha256 must be 64 hexadecimal digits; got {sha256!r}")
    if kind == "download" and sha256 is None:
        raise ValueError("a download must be recorded with the sha256 of the file's bytes")
    return {
        "occurred_at": datetime.now(UTC),
        "kind": kind,
        "user_name": user,
        "session_id": session,
        "page": page,
        "filters": _filters_json(filters),
        "detail": detail,
        "file_name": file_name,
        "sha256": sha256,
    }


def _filters_json(filters: Mapping[str, Any] | None) -> str | None:
    if filters is None:
        return None
    return json.dumps(
        {str(name): value for name, value in filters.items()},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )


_TRAILS: dict[str, AuditTrail] = {}
_TRAILS_LOCK = threading.Lock()


def open_trail(url: str | None = None, *, data_root: Path | None = None) -> AuditTrail:
    """The audit trail to append to, opened once per URL in this process.

    Parameters
    ----------
    url
        The database URL; without it ``EQUALITY_MONITOR_AUDIT_URL``, else SQLite at
        ``data_root/audit/audit.sqlite3`` (see :func:`resolve_url`).
    data_root
        The data folder, for the default SQLite file (its ``audit`` folder is created).

    Returns
    -------
    AuditTrail
        The same object for the same URL on every call: Streamlit calls this on every
        run, from several threads.

    Raises
    ------
    AuditError
        The database cannot be reached; or a SQLite trail has lost its append-only
        triggers; or a PostgreSQL trail is not at the newest revision (the message names
        the command to run) or its role may do more than insert.

    Notes
    -----
    A SQLite trail is migrated to the newest revision here (one server, one file); one
    already there is only checked, without Alembic. A PostgreSQL trail is never migrated
    here: the app's role cannot, and should not, change the schema.
    """
    resolved = resolve_url(url, data_root=data_root)
    with _TRAILS_LOCK:
        trail = _TRAILS.get(resolved)
        if trail is None:
            trail = _open(resolved)
            _TRAILS[resolved] = trail
        return trail


def _open(url: str) -> AuditTrail:
    engine = _engine(url, create_folder=True)
    try:
        if engine.dialect.name == "sqlite":
            with engine.begin() as connection:
                # Alembic costs a new process about 0.15 s: only when there is work.
                if not _sqlite_is_at_head(connection):
                    _upgrade(connection, url)
                _check_sqlite_triggers(connection, url)
        else:
            with engine.connect() as connection:
                _check_postgresql(connection, url)
    except SQLAlchemyError as error:
        engine.dispose()
        raise _failure("opened", url, error) from None
    except AuditError:
        engine.dispose()
        raise
    return AuditTrail(engine, _shown(url))


def _check_sqlite_triggers(connection: Connection, url: str) -> None:
    present = set(
        connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
            (TABLE_NAME,),
        ).scalars()
    )
    missing = {SQLITE_NO_UPDATE_TRIGGER, SQLITE_NO_DELETE_TRIGGER} - present
    if missing:
        raise AuditError(
            f"the audit trail at {_shown(url)} has lost its append-only trigger(s) "
            f"{', '.join(sorted(missing))}: someone with access to the file changed it; "
            "keep the file for investigation and start a new trail"
        )


def _check_postgresql(connection: Connection, url: str) -> None:
    current = _current_revision(connection)
    head = head_revision()
    if current != head:
        raise AuditError(
            f"the audit database at {_shown(url)} is at revision {current or 'none'}, this "
            f"version needs {head}: run `python -m equality_core audit migrate` with "
            f"{ADMIN_URL_VARIABLE} set to the owner role's URL"
        )
    allowed = {
        privilege: connection.execute(
            sa.text("SELECT has_table_privilege(:table, :privilege)"),
            {"table": TABLE_NAME, "privilege": privilege},
        ).scalar_one()
        for privilege in ("INSERT", *_PRIVILEGES_THE_APP_MUST_NOT_HAVE)
    }
    role = connection.execute(sa.text("SELECT current_user")).scalar_one()
    if not allowed["INSERT"]:
        raise AuditError(
            f"the role {role} may not insert into {TABLE_NAME}: grant it as docs/audit.md shows"
        )
    excess = [p for p in _PRIVILEGES_THE_APP_MUST_NOT_HAVE if allowed[p]]
    if excess:
        raise AuditError(
            f"the app's role {role} may {', '.join(excess)} on {TABLE_NAME}, but it must only "
            f"insert: use an insert-only role in {URL_VARIABLE} (docs/audit.md)"
        )


# --------------------------------------------------------------------------- reading, pruning


def read_events(
    url: str, *, since: date | None = None, user: str | None = None
) -> list[dict[str, Any]]:
    """The trail's events, oldest first, as one dictionary each (keys :data:`FIELDS`).

    ``since`` keeps events on or after that day (from midnight UTC); ``user`` keeps one
    user's. ``occurred_at`` is a timezone-aware UTC ``datetime``; ``filters`` a dictionary
    (or ``None``). In PostgreSQL, read with the owner role: the app's role cannot.
    """
    query = sa.select(audit_event).order_by(audit_event.c.occurred_at, audit_event.c.id)
    if since is not None:
        start = datetime(since.year, since.month, since.day, tzinfo=UTC)
        query = query.where(audit_event.c.occurred_at >= start)
    if user is not None:
        query = query.where(audit_event.c.user_name == user)
    engine = _engine(url, create_folder=False)
    try:
        with engine.connect().execution_options(sqlite_begin="DEFERRED") as connection:
            rows = connection.execute(query).mappings().all()
    except SQLAlchemyError as error:
        raise _failure("read", url, error) from None
    finally:
        engine.dispose()
    return [
        {
            "id": row["id"],
            "occurred_at": row["occurred_at"],
            "kind": row["kind"],
            "user": row["user_name"],
            "session": row["session_id"],
            "page": row["page"],
            "filters": json.loads(row["filters"]) if row["filters"] is not None else None,
            "detail": row["detail"],
            "file_name": row["file_name"],
            "sha256": row["sha256"],
        }
        for row in rows
    ]


def prune(url: str, *, older_than_days: int) -> int:
    """Delete events older than ``older_than_days`` days; return how many were deleted.

    Run it with the owner role (PostgreSQL) from the command line only. In SQLite the
    delete trigger is dropped, the old rows deleted and the trigger re-created from its
    own stored definition in one transaction, so no other connection ever sees the table
    without it. Raises ``ValueError`` if ``older_than_days`` is below 1, and
    :class:`AuditError` if the trail cannot be pruned (or its delete trigger is missing).
    """
    if isinstance(older_than_days, bool) or not isinstance(older_than_days, int):
        raise ValueError(f"older_than_days must be a whole number; got {older_than_days!r}")
    if older_than_days < 1:
        raise ValueError(f"older_than_days must be at least 1; got {older_than_days}")
    cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
    delete = audit_event.delete().where(audit_event.c.occurred_at < cutoff)
    engine = _engine(url, create_folder=False)
    try:
        with engine.begin() as connection:
            if engine.dialect.name != "sqlite":
                return connection.execute(delete).rowcount
            trigger = connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                (SQLITE_NO_DELETE_TRIGGER,),
            ).scalar()
            if trigger is None:
                raise AuditError(
                    f"the audit trail at {_shown(url)} has no {SQLITE_NO_DELETE_TRIGGER} "
                    "trigger: it has been altered outside the app; nothing was pruned"
                )
            connection.exec_driver_sql(f"DROP TRIGGER {SQLITE_NO_DELETE_TRIGGER}")
            removed = connection.execute(delete).rowcount
            connection.exec_driver_sql(trigger)
            return removed
    except SQLAlchemyError as error:
        raise _failure("pruned", url, error) from None
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- command line


def run_command(args: argparse.Namespace, *, out: TextIO, err: TextIO) -> int:
    """``python -m equality_core audit [show|prune|migrate]``; returns the exit code.

    ``show`` (the default) writes the events as a table or CSV; ``prune`` removes events
    older than ``--older-than-days`` (default: the retention setting); ``migrate`` brings
    the schema to the newest revision. Bad input or an unusable database: one line on
    ``err`` and exit code 2.
    """
    action = args.action or "show"
    try:
        _refuse_options_of_other_actions(args, action)
        data_root = resolve_data_dir(args.data).root
        url = resolve_admin_url(data_root=data_root)
        if action == "migrate":
            migrate(url)
            out.write(f"audit trail at {_shown(url)} is at revision {head_revision()}\n")
        elif action == "prune":
            days = (
                _days(args.older_than_days, name="--older-than-days")
                if args.older_than_days is not None
                else retention_days()
            )
            removed = prune(url, older_than_days=days)
            out.write(
                f"{removed} audit event(s) older than {days} days removed from {_shown(url)}\n"
            )
        else:
            since = _since(args.since) if args.since is not None else None
            events = read_events(url, since=since, user=args.user)
            out.write(events_as_csv(events) if args.format == "csv" else events_as_table(events))
    except (AuditError, ValueError) as error:
        err.write(f"error: {error}\n")
        return 2
    return 0


def _refuse_options_of_other_actions(args: argparse.Namespace, action: str) -> None:
    used = {
        "--since": args.since is not None,
        "--user": args.user is not None,
        "--format": args.format is not None,
        "--older-than-days": args.older_than_days is not None,
    }
    belongs = {
        "--since": "show",
        "--user": "show",
        "--format": "show",
        "--older-than-days": "prune",
    }
    wrong = [option for option, given in used.items() if given and belongs[option] != action]
    if wrong:
        raise ValueError(
            f"{', '.join(wrong)} do(es) not apply to `audit {action}` "
            f"({', '.join(f'{o} is for {belongs[o]}' for o in wrong)})"
        )


def _since(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--since must be a date as YYYY-MM-DD, got {text!r}") from None


def _cells(event: Mapping[str, Any]) -> list[str]:
    cells = []
    for field in FIELDS:
        value = event[field]
        if value is None:
            cells.append("")
        elif field == "occurred_at":
            cells.append(value.isoformat())
        elif field == "filters":
            cells.append(_filters_json(value) or "")
        else:
            cells.append(str(value))
    return cells


def events_as_csv(events: Iterable[Mapping[str, Any]]) -> str:
    """CSV of events with a header row; text a spreadsheet would run as a formula is defused.

    A cell starting with ``=``, ``+``, ``-`` or ``@`` gains a leading apostrophe, as in
    every download (:func:`equality_core.disclosure.escape_formula`).
    """
    from equality_core.disclosure import escape_formula

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FIELDS)
    for event_ in events:
        writer.writerow([escape_formula(cell) for cell in _cells(event_)])
    return buffer.getvalue()


def _printable(text: str) -> str:
    # A terminal must not run what a user put in a filter (escape sequences).
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def events_as_table(events: Iterable[Mapping[str, Any]]) -> str:
    """A plain-text table of events for reading in a terminal (control characters shown)."""
    columns = ("id", "occurred_at", "kind", "user", "page", "what")
    rows = []
    for event_ in events:
        what = []
        if event_["filters"]:
            what.append(_filters_json(event_["filters"]) or "")
        if event_["file_name"] or event_["sha256"]:
            what.append(f"{event_['file_name'] or ''} sha256={event_['sha256'] or ''}")
        if event_["detail"]:
            what.append(event_["detail"])
        rows.append(
            [
                str(event_["id"]),
                event_["occurred_at"].strftime("%Y-%m-%d %H:%M:%SZ"),
                event_["kind"],
                event_["user"],
                event_["page"] or "",
                "; ".join(what),
            ]
        )
    if not rows:
        return "no audit events\n"
    rows = [[_printable(cell) for cell in row] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    lines = [columns, *rows]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        + "\n"
        for line in lines
    )
