"""Create audit_event: one row per sign-in, sign-out, page view, download or denial.

Revision ID: 0001
Revises:
Create Date: 2026-05-20

In SQLite, two triggers refuse every UPDATE and DELETE (pruning lifts the delete trigger
inside its own transaction). In PostgreSQL the table belongs to the role that runs this
migration (the owner); the app's role is granted INSERT only, as docs/audit.md shows.
The definitions are written out here, not imported, so this revision never changes.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table, its indexes and, in SQLite, the append-only triggers."""
    op.create_table(
        "audit_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(),
            primary_key=True,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("user_name", sa.Text(), nullable=False),
        sa.Column("session_id", sa.Text()),
        sa.Column("page", sa.Text()),
        sa.Column("filters", sa.Text()),
        sa.Column("detail", sa.Text()),
        sa.Column("file_name", sa.Text()),
        sa.Column("sha256", sa.String(64)),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_event_occurred_at", "audit_event", ["occurred_at"])
    op.create_index("ix_audit_event_user_name", "audit_event", ["user_name"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
            "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: "
            "an update was refused'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
            "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: "
            "a delete was refused (prune with python -m equality_core audit prune)'); END"
        )


def downgrade() -> None:
    """Drop the table (its triggers and indexes go with it)."""
    op.drop_table("audit_event")
