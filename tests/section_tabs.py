"""AppTest helper for pages drawn one section at a time (dashboard widgets.sections)."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest


def open_section(at: AppTest, key: str, label: str) -> AppTest:
    """Open the page's section tab `label` (widgets.sections keeps the open tab's label under
    `key`), as a click on the tab does, and check that only that section is drawn."""
    at.session_state[key] = label
    at.run(timeout=60)
    assert not at.exception, [e.value for e in at.exception]
    assert [tab.label for tab in at.tabs if tab.children] == [label], "only the open section is drawn"
    return at


def open_fold(at: AppTest, key: str) -> AppTest:
    """Open the expander drawn by dashboard widgets.folded under `key` (its content is drawn
    only while it is open), as a click on it does."""
    at.session_state[key] = True
    at.run(timeout=60)
    assert not at.exception, [e.value for e in at.exception]
    return at
