"""Streamlit glue for the dashboard: cached loading, shared widgets, charts and panels."""
