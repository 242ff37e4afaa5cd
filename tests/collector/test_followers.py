"""Follower counts by day (collector/followers.py, migration 014): the collector's channel-info
refresh against the simulator over loopback records today's count per channel (the day's last
reading wins), the sync exports channel_follower_day, and follower_trend() reads it back."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import warehouse
from collector import channels, followers
from collector.api import Api
from collector.sim.population import make_channels
from collector.sim.server import SimServer

KST = ZoneInfo("Asia/Seoul")


def _refresh(conn, sims) -> int:
    server = SimServer(channels=sims, rate=1)
    host, port = server.start_in_thread(port=0)
    api = Api(f"http://{host}:{port}", f"http://{host}:{port}", max_attempts=1)
    try:
        return channels.refresh_info(conn, api, [c.channel_id for c in sims])
    finally:
        api.close()
        server.stop()


def _rows(conn) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute("""SELECT ch.channel_id, f.day, f.follower_count FROM channel_follower_day f
                       JOIN stream_channel ch ON ch.id = f.channel_fk ORDER BY 1, 2""")
        return cur.fetchall()


@pytest.mark.integration
def test_refresh_records_followers_daily_and_the_lake_shows_the_trend(pg, tmp_path):
    from warehouse.sync.export import sync
    sims = make_channels(2, seed=11)
    assert _refresh(pg, sims) == 2
    today = datetime.now(KST).date()
    assert _rows(pg) == sorted((c.channel_id, today, c.follower_count) for c in sims)
    # a later reading the same day replaces the day's count (one row per channel and day)
    grown = [dataclasses.replace(c, follower_count=c.follower_count + 7) for c in sims]
    assert _refresh(pg, grown) == 2
    assert _rows(pg) == sorted((c.channel_id, today, c.follower_count) for c in grown)
    with pg.cursor() as cur:  # yesterday's reading, as a collector running then left it
        cur.execute("""INSERT INTO channel_follower_day (channel_fk, day, follower_count)
                       SELECT id, %s, 100 FROM stream_channel WHERE channel_id = %s""",
                    (today - timedelta(days=1), sims[0].channel_id))
    pg.commit()
    report = sync(pg, str(tmp_path))
    assert report.tables["channel_follower_day"] == 3
    with warehouse.open(str(tmp_path)) as wh:
        trend = warehouse.follower_trend(wh, [sims[0].channel_id])
    assert trend.rows() == [(sims[0].channel_id, today - timedelta(days=1), 100, None),
                            (sims[0].channel_id, today, grown[0].follower_count, grown[0].follower_count - 100)]


@pytest.mark.integration
def test_record_skips_unknown_channels_and_missing_counts(pg):
    with pg.cursor() as cur:
        cur.execute("INSERT INTO stream_channel (channel_id) VALUES ('known')")
    assert followers.record(pg, [("known", 5), ("unknown", 9), ("known2", None)], tz="Asia/Seoul") == 1
    assert followers.record(pg, []) == 0
    pg.commit()
    assert [(cid, n) for cid, _, n in _rows(pg)] == [("known", 5)]
