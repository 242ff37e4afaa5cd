"""A page's own picker (the Channel page's channel, the Broadcasts page's broadcast) kept
in the URL, so a copied link opens the same view. The URL is untrusted: a value is used
only when it is one of the options the page offers (already limited to what the viewer
may see); anything else is ignored."""
from __future__ import annotations

import streamlit as st


def seed(param: str, key: str, options: list[str]) -> None:
    """Before the widget `key` is drawn: start it at the URL's `param` when that is one of
    `options`, and forget a remembered choice that is no longer offered."""
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]
    if key not in st.session_state:
        wanted = st.query_params.get(param)
        if wanted in options:
            st.session_state[key] = wanted


def remember(param: str, value: str) -> None:
    """Put the current choice into the URL (only when it changed)."""
    if st.query_params.get(param) != value:
        st.query_params[param] = value
