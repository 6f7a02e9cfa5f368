"""Alembic environment of the audit trail, driven only by :mod:`equality_core.audit`.

There is no ``alembic.ini``: :func:`equality_core.audit.migrate` builds the configuration,
points ``script_location`` at this folder and passes an open connection (in a transaction
it commits), so the migrations run the same from any working directory.
"""

from alembic import context

from equality_core.audit import VERSION_TABLE, metadata

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError(
        "run the audit migrations with `python -m equality_core audit migrate`, "
        "not the alembic command"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    # SQLite alters a table by copying it: later revisions need batch mode there.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
