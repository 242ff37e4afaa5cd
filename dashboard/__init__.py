"""Streamlit dashboard over the Parquet warehouse (see streamlit_app.py)."""
