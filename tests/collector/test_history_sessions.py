"""The demo history's live-status side (collector/sim/history_sessions.py): a small history
loaded with sessions=True gets a live_session per broadcast, polls every TIMELINE_SECONDS with
viewers and categories, and follower days; synced, the warehouse's viewer and category
questions answer from them."""
from __future__ import annotations

import pytest

import warehouse
from collector.lifecycle import TIMELINE_SECONDS
from collector.sim.history import Shape
from collector.sim.history_load import load


@pytest.mark.integration
def test_history_with_sessions_gives_viewers_and_categories(pg, tmp_path):
    from warehouse.sync.export import sync
    info = load(pg, Shape(rows=2_000, channels=3, days=3, seed=4), workers=1, sessions=True)
    with pg.cursor() as cur:
        cur.execute("""SELECT count(*), count(DISTINCT s.chat_channel_id) = count(*),
                              bool_and(s.chat_channel_id IN (SELECT chat_channel_id FROM stream_chat))
                       FROM live_session s""")
        sessions, unique, chatted = cur.fetchone()
        cur.execute("""SELECT max(gap) FROM (SELECT extract(epoch FROM polled_at - lag(polled_at)
                                                  OVER (PARTITION BY session_fk ORDER BY polled_at)) AS gap
                                           FROM live_session_poll) g""")
        widest = cur.fetchone()[0]
        cur.execute("SELECT count(DISTINCT channel_fk), count(*) FROM channel_follower_day")
        follow_channels, follow_rows = cur.fetchone()
    assert sessions == info["broadcasts"] and unique and chatted
    assert widest <= TIMELINE_SECONDS  # a row at least every TIMELINE_SECONDS: no gaps
    assert follow_channels == 3 and follow_rows >= 3 * 3
    sync(pg, str(tmp_path))
    with warehouse.open(str(tmp_path)) as wh:
        per = warehouse.broadcast_viewers(wh)
        cats = warehouse.categories(wh)
    assert per.height == sessions and per["avg_viewers"].null_count() == 0
    assert per["viewer_coverage"].min() > 0.99  # polled throughout
    assert cats["category"].null_count() == 0 and cats["messages"].sum() == per["messages"].sum()
