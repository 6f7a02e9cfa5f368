"""The audit trail: recorded, read, filtered, pruned and append-only, in SQLite and PostgreSQL.

SQLite always runs. PostgreSQL runs against ``EQUALITY_MONITOR_TEST_POSTGRES_URL`` (an
owner role that may create roles; ``.ci/run`` starts a throwaway cluster and sets it):
each test gets its own schema and its own insert-only app role, granted with the very SQL
that docs/audit.md gives. Without the variable the PostgreSQL cases are skipped, unless
``CI`` or ``EQUALITY_MONITOR_REQUIRE_POSTGRES=1`` is set, in which case they fail.
"""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from equality_core import audit
from equality_core.cli import main
from tests.conftest import REPOSITORY

POSTGRES_URL = os.environ.get("EQUALITY_MONITOR_TEST_POSTGRES_URL")
POSTGRES_REQUIRED = bool(os.environ.get("CI")) or (
    os.environ.get("EQUALITY_MONITOR_REQUIRE_POSTGRES") == "1"
)
DOCS = REPOSITORY / "docs" / "audit.md"
HASH = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"  # sha256("test")


@dataclass(frozen=True)
class Database:
    """One audit database for one test: the app's URL and the owner's."""

    backend: str
    app_url: str
    admin_url: str

    def owner_engine(self) -> sa.Engine:
        url = sa.make_url(self.admin_url)
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        return sa.create_engine(url)


def _postgres_base_url() -> sa.URL:
    if not POSTGRES_URL:
        if POSTGRES_REQUIRED:
            pytest.fail("EQUALITY_MONITOR_TEST_POSTGRES_URL is required (CI) but not set")
        pytest.skip("EQUALITY_MONITOR_TEST_POSTGRES_URL is not set (.ci/run sets it)")
    url = sa.make_url(POSTGRES_URL)
    return url.set(drivername="postgresql+psycopg") if url.drivername == "postgresql" else url


def _documented_grants(*, role: str, schema: str) -> list[str]:
    """The app role's grants exactly as docs/audit.md gives them, for this test's names."""
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"<!-- app-role-grants[^>]*-->\s*```sql\n(.*?)```", text, re.DOTALL)
    assert match, "docs/audit.md must keep the app role's grants in a marked sql block"
    statements = [s.strip() for s in match.group(1).split(";") if s.strip()]
    return [
        s.replace("equality_audit_app", role).replace("SCHEMA public", f"SCHEMA {schema}")
        for s in statements
    ]


@pytest.fixture(autouse=True)
def _no_audit_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test sets what it needs; trails it opened are closed and forgotten after it."""
    for name in (audit.URL_VARIABLE, audit.ADMIN_URL_VARIABLE, audit.RETENTION_VARIABLE):
        monkeypatch.delenv(name, raising=False)
    before = set(audit._TRAILS)
    yield
    for url in set(audit._TRAILS) - before:
        audit._TRAILS.pop(url).close()


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Database:
    url = f"sqlite:///{tmp_path / 'audit' / 'audit.sqlite3'}"
    audit.open_trail(url)  # creates and migrates it
    return Database("sqlite", url, url)


@pytest.fixture
def postgres_schema() -> Iterator[tuple[sa.URL, str]]:
    """A fresh schema in the test database, owned by the tests' admin role; dropped after."""
    base = _postgres_base_url()
    schema = f"audit_test_{secrets.token_hex(6)}"
    engine = sa.create_engine(base)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}), schema
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


@pytest.fixture
def postgres_database(postgres_schema: tuple[sa.URL, str]) -> Iterator[Database]:
    """Migrated by the owner; an app role granted only what docs/audit.md grants."""
    admin, schema = postgres_schema
    admin_url = admin.render_as_string(hide_password=False)
    audit.migrate(admin_url)
    role, password = f"audit_app_{secrets.token_hex(6)}", secrets.token_hex(16)
    engine = sa.create_engine(admin)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        for statement in _documented_grants(role=role, schema=schema):
            connection.exec_driver_sql(statement)
    app_url = admin.set(username=role, password=password).render_as_string(hide_password=False)
    try:
        yield Database("postgresql", app_url, admin_url)
    finally:
        for url in [u for u in audit._TRAILS if u == app_url]:
            audit._TRAILS.pop(url).close()
        with engine.begin() as connection:
            # The role's grants are on objects in the schema: they go when it is dropped.
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
            connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
            connection.exec_driver_sql(f"DROP ROLE {role}")
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> Database:
    return request.getfixturevalue(f"{request.param}_database")


def _insert_at(database: Database, when: datetime, *, user: str, kind: str = "page_view") -> None:
    """A back-dated event, written by the owner (the app always stamps the time now)."""
    engine = database.owner_engine()
    try:
        with engine.begin() as connection:
            connection.execute(
                audit.audit_event.insert(), {"occurred_at": when, "kind": kind, "user_name": user}
            )
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- recording


def test_record_then_read_round_trip(database: Database) -> None:
    trail = audit.open_trail(database.app_url)
    before = datetime.now(UTC)
    trail.record("sign_in", user="alice", session="s-1")
    trail.record(
        "page_view",
        user="alice",
        session="s-1",
        page="offenders",
        filters={"region": "Wales", "characteristic": "Ethnic group", "period": "2025-26 Q4"},
    )
    trail.record(
        "download",
        user="alice",
        session="s-1",
        page="offenders",
        file_name="force-used.csv",
        sha256=HASH.upper(),
        detail="csv",
    )
    trail.record("denied", user="bob", page="psed", detail="outside the user's places")
    after = datetime.now(UTC)

    events = audit.read_events(database.admin_url)

    assert [e["kind"] for e in events] == ["sign_in", "page_view", "download", "denied"]
    assert [e["user"] for e in events] == ["alice", "alice", "alice", "bob"]
    assert all(before <= e["occurred_at"] <= after for e in events)
    assert all(e["occurred_at"].utcoffset() == timedelta(0) for e in events)
    view, download, denied = events[1], events[2], events[3]
    assert view["filters"] == {
        "characteristic": "Ethnic group",
        "period": "2025-26 Q4",
        "region": "Wales",
    }
    assert view["session"] == "s-1" and view["page"] == "offenders"
    assert (download["file_name"], download["sha256"], download["detail"]) == (
        "force-used.csv",
        HASH,
        "csv",
    )
    assert denied["detail"] == "outside the user's places" and denied["filters"] is None
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == 4
    # Stored as JSON text with sorted keys, so equal filters are equal text.
    engine = database.owner_engine()
    with engine.connect() as connection:
        stored = connection.execute(
            sa.select(audit.audit_event.c.filters).where(audit.audit_event.c.id == view["id"])
        ).scalar_one()
    engine.dispose()
    assert stored == '{"characteristic":"Ethnic group","period":"2025-26 Q4","region":"Wales"}'


def test_read_since_a_day_and_for_one_user(database: Database) -> None:
    _insert_at(database, datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC), user="alice")
    _insert_at(database, datetime(2026, 2, 1, 0, 0, 0, tzinfo=UTC), user="bob")
    # 00:30 on 1 February in Paris is 23:30 on 31 January in UTC: before the day.
    _insert_at(
        database, datetime(2026, 2, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))), user="carol"
    )
    _insert_at(database, datetime(2026, 2, 1, 23, 30, tzinfo=UTC), user="alice")
    audit.open_trail(database.app_url).record("page_view", user="alice", page="data")

    since_february = audit.read_events(database.admin_url, since=date(2026, 2, 1))
    alice = audit.read_events(database.admin_url, user="alice")
    alice_since = audit.read_events(database.admin_url, since=date(2026, 2, 1), user="alice")
    nobody = audit.read_events(database.admin_url, user="dave")

    assert [e["user"] for e in since_february] == ["bob", "alice", "alice"]
    assert since_february[0]["occurred_at"] == datetime(2026, 2, 1, tzinfo=UTC)
    assert len(alice) == 3
    carol = audit.read_events(database.admin_url, user="carol")
    assert carol[0]["occurred_at"] == datetime(2026, 1, 31, 23, 30, tzinfo=UTC)
    assert [e["occurred_at"].date() for e in alice_since][:1] == [date(2026, 2, 1)]
    assert len(alice_since) == 2
    assert nobody == []


@pytest.mark.parametrize(
    ("kind", "arguments", "message"),
    [
        ("page_veiw", {"user": "alice"}, "kind must be one of"),
        ("", {"user": "alice"}, "kind must be one of"),
        ("page_view", {"user": ""}, "user must name who acted"),
        ("download", {"user": "alice", "file_name": "a.csv"}, "sha256"),
        ("download", {"user": "alice", "sha256": "abc"}, "64 hexadecimal digits"),
    ],
)
def test_bad_events_are_refused_and_nothing_is_written(
    sqlite_database: Database, kind: str, arguments: dict, message: str
) -> None:
    trail = audit.open_trail(sqlite_database.app_url)
    with pytest.raises(ValueError, match=message):
        trail.record(kind, **arguments)
    assert audit.read_events(sqlite_database.admin_url) == []


def test_kinds_are_the_issues_list() -> None:
    assert audit.KINDS == (
        "sign_in",
        "sign_out",
        "session_expired",
        "page_view",
        "download",
        "denied",
    )


def test_the_trail_has_no_update_or_delete_path() -> None:
    public = {name for name in dir(audit.AuditTrail) if not name.startswith("_")}
    assert public == {"record", "close", "where"}


def test_open_trail_is_one_object_per_url_and_safe_across_threads(
    sqlite_database: Database,
) -> None:
    opened: list[audit.AuditTrail] = []
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            trail = audit.open_trail(sqlite_database.app_url)
            opened.append(trail)
            for n in range(25):
                trail.record("page_view", user=f"user-{worker}", page=str(n))
        except BaseException as error:  # reported below, with the thread's own error
            errors.append(error)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len({id(t) for t in opened}) == 1
    events = audit.read_events(sqlite_database.admin_url)
    assert len(events) == 8 * 25
    assert len({e["id"] for e in events}) == 8 * 25


def test_default_trail_is_sqlite_in_the_data_folder_and_the_setting_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    audit.open_trail(data_root=data).record("sign_in", user="alice")
    expected = data / "audit" / "audit.sqlite3"
    assert expected.is_file()
    assert (expected.parent.stat().st_mode & 0o077) == 0, "only the owner may open the folder"

    elsewhere = tmp_path / "elsewhere.sqlite3"
    monkeypatch.setenv(audit.URL_VARIABLE, f"sqlite:///{elsewhere}")
    audit.open_trail(data_root=data).record("sign_in", user="bob")
    assert [e["user"] for e in audit.read_events(f"sqlite:///{expected}")] == ["alice"]
    assert [e["user"] for e in audit.read_events(f"sqlite:///{elsewhere}")] == ["bob"]


def test_unreachable_or_unusable_databases_raise_audit_error(tmp_path: Path) -> None:
    with pytest.raises(audit.AuditError, match=r"could not be opened"):
        audit.open_trail("postgresql://nobody:secret@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(audit.AuditError) as error:
        audit.open_trail("postgresql://nobody:secret@127.0.0.1:1/none?connect_timeout=2")
    assert "secret" not in str(error.value), "a message must never show the password"
    with pytest.raises(audit.AuditError, match="SQLite or PostgreSQL"):
        audit.open_trail("mysql://u@localhost/x")
    with pytest.raises(audit.AuditError, match="cannot be read as a database URL"):
        audit.open_trail("not a url")
    with pytest.raises(audit.AuditError, match="no audit trail at"):
        audit.read_events(f"sqlite:///{tmp_path / 'missing.sqlite3'}")


# --------------------------------------------------------------------------- append-only


def test_sqlite_refuses_updates_and_deletes_through_sqlalchemy(sqlite_database: Database) -> None:
    audit.open_trail(sqlite_database.app_url).record("sign_in", user="alice")
    engine = sqlite_database.owner_engine()
    table = audit.audit_event
    try:
        with (
            pytest.raises(sa.exc.DBAPIError, match="append-only: an update was refused"),
            engine.begin() as connection,
        ):
            connection.execute(table.update().values(user_name="mallory"))
        with (
            pytest.raises(sa.exc.DBAPIError, match="append-only: a delete was refused"),
            engine.begin() as connection,
        ):
            connection.execute(table.delete())
    finally:
        engine.dispose()
    assert [e["user"] for e in audit.read_events(sqlite_database.admin_url)] == ["alice"]


def test_postgres_app_role_may_insert_and_nothing_else(postgres_database: Database) -> None:
    trail = audit.open_trail(postgres_database.app_url)
    trail.record("sign_in", user="alice")

    app = sa.create_engine(
        postgres_database.app_url.replace("postgresql://", "postgresql+psycopg://")
    )
    try:
        for statement in (
            "SELECT * FROM audit_event",
            "UPDATE audit_event SET user_name = 'mallory'",
            "DELETE FROM audit_event",
            "TRUNCATE audit_event",
            "DROP TABLE audit_event",
            "UPDATE audit_schema_version SET version_num = 'x'",
        ):
            with (
                pytest.raises(sa.exc.ProgrammingError, match=r"permission denied|must be owner"),
                app.begin() as connection,
            ):
                connection.exec_driver_sql(statement)
        with pytest.raises(audit.AuditError, match="could not be read"):
            audit.read_events(postgres_database.app_url)
    finally:
        app.dispose()
    events = audit.read_events(postgres_database.admin_url)
    assert [(e["kind"], e["user"]) for e in events] == [("sign_in", "alice")]


def test_postgres_refuses_an_app_role_that_may_do_more_than_insert(
    postgres_database: Database,
) -> None:
    with pytest.raises(audit.AuditError, match="must only insert"):
        audit.open_trail(postgres_database.admin_url)


def test_postgres_is_not_migrated_by_the_app_and_says_what_to_run(
    postgres_schema: tuple[sa.URL, str],
) -> None:
    url = postgres_schema[0].render_as_string(hide_password=False)
    with pytest.raises(audit.AuditError, match=r"revision none.*audit migrate"):
        audit.open_trail(url)
    engine = sa.create_engine(postgres_schema[0])
    with engine.connect() as connection:
        assert not sa.inspect(connection).has_table(audit.TABLE_NAME)
    engine.dispose()


# --------------------------------------------------------------------------- pruning


def test_prune_removes_only_events_older_than_the_period(database: Database) -> None:
    now = datetime.now(UTC)
    _insert_at(database, now - timedelta(days=500), user="old")
    _insert_at(database, now - timedelta(days=400, minutes=5), user="just-old")
    _insert_at(database, now - timedelta(days=399, hours=23), user="just-kept")
    audit.open_trail(database.app_url).record("sign_in", user="today")

    removed = audit.prune(database.admin_url, older_than_days=400)

    assert removed == 2
    remaining = audit.read_events(database.admin_url)
    assert [e["user"] for e in remaining] == ["just-kept", "today"]
    assert audit.prune(database.admin_url, older_than_days=400) == 0
    # The app still appends afterwards.
    audit.open_trail(database.app_url).record("sign_out", user="today")
    assert len(audit.read_events(database.admin_url)) == 3


def test_sqlite_prune_restores_the_delete_trigger_exactly(sqlite_database: Database) -> None:
    path = sa.make_url(sqlite_database.admin_url).database
    query = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
    with sqlite3.connect(path) as connection:
        triggers_before = connection.execute(query).fetchall()
    _insert_at(sqlite_database, datetime.now(UTC) - timedelta(days=30), user="old")
    audit.open_trail(sqlite_database.app_url).record("sign_in", user="today")

    assert audit.prune(sqlite_database.admin_url, older_than_days=7) == 1

    with sqlite3.connect(path) as connection:
        assert connection.execute(query).fetchall() == triggers_before
        assert len(triggers_before) == 2
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            connection.execute("DELETE FROM audit_event")


def test_sqlite_trail_without_its_triggers_is_refused(sqlite_database: Database) -> None:
    audit.open_trail(sqlite_database.app_url).record("sign_in", user="alice")
    path = sa.make_url(sqlite_database.admin_url).database
    with sqlite3.connect(path) as connection:
        connection.execute(f"DROP TRIGGER {audit.SQLITE_NO_DELETE_TRIGGER}")
    audit._TRAILS.pop(sqlite_database.app_url).close()

    with pytest.raises(audit.AuditError, match="altered outside the app"):
        audit.prune(sqlite_database.admin_url, older_than_days=1)
    with pytest.raises(audit.AuditError, match="lost its append-only trigger"):
        audit.open_trail(sqlite_database.app_url)


@pytest.mark.parametrize("days", [0, -1, 1.5, True])
def test_prune_refuses_a_period_that_is_not_whole_days(
    sqlite_database: Database, days: object
) -> None:
    with pytest.raises(ValueError, match="older_than_days"):
        audit.prune(sqlite_database.admin_url, older_than_days=days)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- migrations


def test_migrations_are_at_head_and_match_the_table(database: Database) -> None:
    from alembic import command

    engine = database.owner_engine()
    try:
        with engine.connect() as connection:
            assert audit._current_revision(connection) == audit.head_revision()
            # Raises if the migrations and audit.audit_event disagree on any column or index.
            command.check(audit._alembic_config(connection))
    finally:
        engine.dispose()


def test_migrate_works_from_any_working_directory_and_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'fresh' / 'audit.sqlite3'}"
    audit.migrate(url)
    audit.migrate(url)
    with sqlite3.connect(tmp_path / "fresh" / "audit.sqlite3") as connection:
        version = connection.execute(f"SELECT version_num FROM {audit.VERSION_TABLE}").fetchall()
    assert version == [(audit.head_revision(),)]


def test_head_revision_constant_is_the_newest_shipped_migration() -> None:
    assert audit.head_revision() == audit.HEAD_REVISION


def test_sqlite_trail_at_head_is_opened_without_running_alembic(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit.open_trail(sqlite_database.app_url).record("sign_in", user="alice")
    audit._TRAILS.pop(sqlite_database.app_url).close()

    def no_alembic(connection: sa.Connection, url: str) -> None:
        raise AssertionError("a trail already at the head revision must not be upgraded")

    monkeypatch.setattr(audit, "_upgrade", no_alembic)
    audit.open_trail(sqlite_database.app_url).record("page_view", user="alice", page="psed")

    events = audit.read_events(sqlite_database.admin_url)
    assert [(e["kind"], e["page"]) for e in events] == [("sign_in", None), ("page_view", "psed")]
    path = sa.make_url(sqlite_database.admin_url).database
    with sqlite3.connect(path) as connection:
        for statement in (
            "UPDATE audit_event SET user_name = 'mallory'",
            "DELETE FROM audit_event",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                connection.execute(statement)
        # The triggers are still checked on this path: a trail without one is refused.
        connection.execute(f"DROP TRIGGER {audit.SQLITE_NO_UPDATE_TRIGGER}")
    audit._TRAILS.pop(sqlite_database.app_url).close()
    with pytest.raises(audit.AuditError, match="lost its append-only trigger"):
        audit.open_trail(sqlite_database.app_url)


def test_new_sqlite_trail_is_migrated_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "new" / "audit.sqlite3"

    audit.open_trail(f"sqlite:///{path}").record("sign_in", user="alice")

    with sqlite3.connect(path) as connection:
        version = connection.execute(f"SELECT version_num FROM {audit.VERSION_TABLE}").fetchall()
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            connection.execute("UPDATE audit_event SET user_name = 'mallory'")
    assert version == [(audit.head_revision(),)]
    assert [e["user"] for e in audit.read_events(f"sqlite:///{path}")] == ["alice"]


def test_sqlite_trail_at_an_unknown_revision_is_refused_and_left_alone(
    sqlite_database: Database,
) -> None:
    path = sa.make_url(sqlite_database.admin_url).database
    with sqlite3.connect(path) as connection:
        connection.execute(f"UPDATE {audit.VERSION_TABLE} SET version_num = 'ffff'")
    audit._TRAILS.pop(sqlite_database.app_url).close()

    # Alembic refuses a revision it cannot find (newer than this code, or foreign): the
    # caller gets the trail's own error, naming the revision.
    with pytest.raises(audit.AuditError, match="Can't locate revision identified by 'ffff'"):
        audit.open_trail(sqlite_database.app_url)

    with sqlite3.connect(path) as connection:
        version = connection.execute(f"SELECT version_num FROM {audit.VERSION_TABLE}").fetchall()
    assert version == [("ffff",)]


# --------------------------------------------------------------------------- command line


def test_cli_writes_csv_with_formulas_defused(
    database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(audit.ADMIN_URL_VARIABLE, database.admin_url)
    trail = audit.open_trail(database.app_url)
    trail.record("page_view", user="=cmd|' /C calc'!A0", page="psed", filters={"a": "1"})
    trail.record("download", user="alice", file_name="-rates.csv", sha256=HASH, detail="@SUM(1)")
    _insert_at(database, datetime(2020, 1, 1, tzinfo=UTC), user="alice")

    code = main(["audit", "--since", "2021-01-01", "--format", "csv"])

    captured = capsys.readouterr()
    assert code == 0, captured.err
    rows = list(csv.DictReader(io.StringIO(captured.out)))
    assert list(rows[0]) == list(audit.FIELDS)
    assert [r["kind"] for r in rows] == ["page_view", "download"]
    assert rows[0]["user"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["filters"] == '{"a":"1"}'
    assert rows[1]["file_name"] == "'-rates.csv"
    assert rows[1]["detail"] == "'@SUM(1)"
    assert rows[1]["sha256"] == HASH
    assert datetime.fromisoformat(rows[1]["occurred_at"]).tzinfo is not None

    assert main(["audit", "--user", "alice", "--format", "csv"]) == 0
    assert len(list(csv.DictReader(io.StringIO(capsys.readouterr().out)))) == 2


def test_cli_table_escapes_control_characters(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(audit.URL_VARIABLE, sqlite_database.app_url)
    audit.open_trail(sqlite_database.app_url).record(
        "page_view", user="\x1b[2Jalice", page="psed\r", filters={"region": "\x1b[2JWales"}
    )

    assert main(["audit"]) == 0

    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out
    assert "\\x1b[2Jalice" in out and "psed\\x0d" in out
    assert out.splitlines()[0].split() == ["id", "occurred_at", "kind", "user", "page", "what"]


def test_cli_prune_uses_the_retention_setting(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(audit.URL_VARIABLE, sqlite_database.app_url)
    now = datetime.now(UTC)
    _insert_at(sqlite_database, now - timedelta(days=45), user="old")
    _insert_at(sqlite_database, now - timedelta(days=20), user="middling")

    monkeypatch.setenv(audit.RETENTION_VARIABLE, "30")
    assert main(["audit", "prune"]) == 0
    assert capsys.readouterr().out.startswith("1 audit event(s) older than 30 days removed")

    assert main(["audit", "prune", "--older-than-days", "10"]) == 0
    assert capsys.readouterr().out.startswith("1 audit event(s) older than 10 days removed")
    assert audit.read_events(sqlite_database.admin_url) == []


def test_cli_migrate_creates_the_default_trail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "migrate", "--data", str(tmp_path)]) == 0
    assert f"is at revision {audit.head_revision()}" in capsys.readouterr().out
    assert (tmp_path / "audit" / "audit.sqlite3").is_file()


@pytest.mark.parametrize(
    ("argv", "environment", "message"),
    [
        (["audit", "--since", "2026-13-01"], {}, "--since must be a date as YYYY-MM-DD"),
        (["audit", "--since", "yesterday"], {}, "--since must be a date as YYYY-MM-DD"),
        (["audit", "prune", "--older-than-days", "ten"], {}, "--older-than-days must be"),
        (["audit", "prune", "--older-than-days", "0"], {}, "at least 1 day"),
        (["audit", "prune"], {audit.RETENTION_VARIABLE: "forever"}, "RETENTION_DAYS must be"),
        (["audit", "--older-than-days", "3"], {}, "--older-than-days is for prune"),
        (["audit", "prune", "--since", "2026-01-01"], {}, "--since is for show"),
        (
            ["audit"],
            {audit.ADMIN_URL_VARIABLE: "postgresql://u:pw@127.0.0.1:1/x?connect_timeout=2"},
            "could not be read",
        ),
        (
            ["audit"],
            {audit.URL_VARIABLE: "postgresql://app@127.0.0.1:1/x"},
            "set EQUALITY_MONITOR_AUDIT_ADMIN_URL",
        ),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_code_2(
    sqlite_database: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    environment: dict[str, str],
    message: str,
) -> None:
    monkeypatch.setenv(audit.URL_VARIABLE, sqlite_database.app_url)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    code = main(argv)

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert message in lines[0]
    assert "pw@" not in lines[0]


def test_cli_on_a_data_folder_without_a_trail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "--data", str(tmp_path)]) == 2
    assert "no audit trail at" in capsys.readouterr().err
    assert not (tmp_path / "audit").exists(), "reading must not create an empty trail"
