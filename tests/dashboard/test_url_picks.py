"""A page's own pick (the Channel page's channel, the Broadcasts page's broadcast) is in the
URL, a URL opens it, and a pick outside the options is ignored."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import data
from tests.page_checks import (
    APP,
    busiest,
    ok,
)

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(("page", "param", "key"), [("channel", "channel", "channel_pick"),
                                                    ("broadcasts", "broadcast", "broadcast_pick")])
def test_the_pick_is_in_the_url_and_a_url_opens_it(pages_lake, monkeypatch, page, param, key):
    root, facts = pages_lake
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    data.clear_caches()
    # neither is what the page picks by default (the busiest channel, the newest broadcast)
    wanted = facts["adv_channel"] if page == "channel" else f"{facts['adv_channel']}:{facts['adv_broadcast']}"
    assert busiest(facts) != facts["adv_channel"]
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(f"app_pages/{page}.py")
    at.query_params[param] = wanted
    at.run(timeout=60)
    ok(at)
    assert at.selectbox(key=key).value == wanted
    b = facts["broadcasts"][10]  # channel 2's, on 2026-10-04
    other = facts["channel_ids"][2] if page == "channel" else f"{b['channel_id']}:{b['broadcast']}"
    at.selectbox(key=key).set_value(other).run(timeout=60)
    ok(at)
    assert at.selectbox(key=key).value == other
    assert at.query_params[param] in (other, [other])
    data.clear_caches()


@pytest.mark.parametrize("bad", ["<script>alert(1)</script>", "f" * 32, ""])
def test_a_url_pick_outside_the_options_is_ignored(pages_lake, monkeypatch, bad):
    root, facts = pages_lake
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    data.clear_caches()
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("app_pages/channel.py")
    at.query_params["channel"] = bad
    at.run(timeout=60)
    ok(at)
    assert at.selectbox(key="channel_pick").value == busiest(facts)
    data.clear_caches()
