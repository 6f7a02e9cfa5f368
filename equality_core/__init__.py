"""Equality Monitor core: data contract, validation, statistics and disclosure control.

Nothing in this package imports Streamlit; the dashboard in ``pages/`` and
``equality_ui/`` is a thin layer over it.
"""

__version__ = "0.1.0"
