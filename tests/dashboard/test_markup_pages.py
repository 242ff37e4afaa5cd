"""Markup in channel names, nicknames and messages shows as typed on the Subscribers,
Donations and Data pages (every section tab), in tables and in charts."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from tests import vega_checks as vega
from tests.lakefixture import write_rows
from tests.lakefixture_rich import KST
from tests.page_checks import (
    open_page,
    specs_of,
    start_app,
)
from tests.section_tabs import open_section as _tab
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT_SCHEMA

EVIL_CHANNEL = "**굵게** <script>alert(1)</script>"


EVIL_NICK = "<script>alert(1)</script>"


EVIL_MESSAGE = "**bold** <img src=x onerror=alert(2)> [link](javascript:alert(3))"


@pytest.fixture(scope="module")
def evil(tmp_path_factory):
    """A one-channel lake whose channel name, donor nickname and messages are markup."""
    root = tmp_path_factory.mktemp("evil")
    cid = "e" * 32
    rows = []
    base = datetime(2026, 9, 5, 20, 0, tzinfo=KST)
    for i in range(6):
        row = {f.name: None for f in CHAT_SCHEMA}
        when = base + timedelta(minutes=3 * i)
        row.update(id=i + 1, channel_id=cid, channel_name=EVIL_CHANNEL, chat_channel_id="evilcc",
                   user_id=f"u{i % 2}", nickname=EVIL_NICK if i % 2 == 0 else "**nick**",
                   message=EVIL_MESSAGE, message_type="donation" if i < 4 else "chat",
                   msg_type_code=10 if i < 4 else 1, pay_amount=1000 * (i + 1) if i < 4 else None,
                   chat_time=when, created_at=when, subscription_tier=1 if i % 2 == 0 else None,
                   subscription_month=3 if i % 2 == 0 else None, raw="{}", dedupe_key=f"e{i}",
                   day=when.date())
        rows.append(row)
    write_rows(Lake(str(root)), rows, [cid], [EVIL_CHANNEL], [1])
    return root


def _no_markup_rendered(at: AppTest) -> None:
    rendered = [m.value for m in at.markdown] + [c.value for c in at.caption] + [s.value for s in at.subheader]
    rendered += [s.value for s in at.title] + [i.value for i in at.info] + [w.value for w in at.warning]
    for text in rendered:
        assert "<script" not in text and "굵게" not in text and "**bold**" not in text, text
    for spec in specs_of(at):  # names are in the charts as typed, where nothing renders markup
        vega.assert_no_html(spec)


@pytest.mark.e2e
@pytest.mark.parametrize("page", ["subscribers", "donations", "data_tables"])
def test_markup_in_names_and_messages_shows_as_typed(evil, monkeypatch, page):
    at = open_page(start_app(evil, monkeypatch), page, date(2026, 9, 5), date(2026, 9, 5))
    key = {"subscribers": "subs_section", "donations": "don_section", "data_tables": "data_section"}[page]
    names, shown, picks = set(), set(), []
    for label in [tab.label for tab in at.tabs]:  # every section tab in turn
        _tab(at, key, label)
        _no_markup_rendered(at)
        for d in at.dataframe:
            for col in ("channel_name", "donor", "nickname", "message"):
                if col in d.value.columns:
                    names |= set(d.value[col].dropna())
        shown |= {v for s in specs_of(at) for r in vega.rows(s) for v in r.values()}
        picks += [b.options for b in at.selectbox if b.key == "don_broadcast_pick"]
    if page == "donations":
        assert {EVIL_CHANNEL, EVIL_NICK, "**nick**"} <= names
        assert EVIL_CHANNEL in shown and "&lt;script&gt;alert(1)&lt;/script&gt;" not in shown  # drawn as typed
        assert picks and picks[0][0].startswith(EVIL_CHANNEL + " · ")
    elif page == "data_tables":
        assert {EVIL_CHANNEL, EVIL_NICK, EVIL_MESSAGE} <= names
    else:
        assert EVIL_CHANNEL in names
