"""Alembic migrations of the audit trail; run them with ``python -m equality_core audit migrate``."""
