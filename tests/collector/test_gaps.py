"""Restart gaps (collector/gaps.py): found exactly when a socket rejoins in the same process,
recorded after a restart only when the broadcast was captured before, filled from the ended
broadcast's replay (VOD) in bounded steps, retried with backoff while no replay is published,
and left visible as 'no replay' in `collector status` when none ever is."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from collector import gaps, protocol, sessions, sink, status, vod
from collector.answers import LiveStatus
from collector.api import Api
from collector.client import RECENT_COUNT, ChatClient
from collector.sim.server import SimServer

T = "2026-03-01T12:00:00.{:03d}Z".format


@pytest.mark.unit
@pytest.mark.parametrize("known, oldest, count, expected", [
    (None, T(100), RECENT_COUNT, (None, T(100))),   # first join, full replay: maybe a gap (if captured before)
    (None, T(100), 12, None),                        # first join, the server had fewer lines: all of them
    (None, None, 0, None),
    (T(50), T(40), RECENT_COUNT, None),              # the replay reaches back past the last line: no gap
    (T(50), T(50), 30, None),                        # ... to the last line itself
    (T(50), T(50), RECENT_COUNT, (T(50), T(50))),    # full and only touching it: lines of that ms may be missing
    (T(50), T(51), RECENT_COUNT, (T(50), T(51))),    # newer than the last line: a gap
    (T(50), T(51), 3, (T(50), T(51))),               # even when not full (a server that lost its buffer)
    (T(50), None, 0, (T(50), T(900))),               # empty replay: up to the join
])
def test_replay_gap_is_found_from_the_newest_line_known_before_the_join(known, oldest, count, expected):
    assert gaps.replay_gap(known, oldest, count, T(900), RECENT_COUNT) == expected


@pytest.mark.unit
def test_video_answers_are_read_and_unusable_ones_give_nothing():
    listed = {"code": 200, "content": {"data": [{"videoNo": 7, "videoType": "REPLAY"}, {"videoNo": 8, "videoType": "UPLOAD"},
                                                {"videoNo": "x"}, "junk", {"videoNo": 9}]}}
    assert vod.read_video_list(listed) == [7, 9]
    assert vod.read_video_list({"code": 200, "content": None}) == vod.read_video_list("junk") == []
    video = vod.read_video({"code": 200, "content": {"liveOpenDate": "2026-03-01 21:00:00", "videoChatChannelId": "N1",
                                                     "videoChatEnabled": False}}, 7)
    assert video == vod.Video(7, "N1", datetime(2026, 3, 1, 12, tzinfo=UTC), False)
    assert vod.read_video({"code": 404, "content": None}, 7) is None
    assert vod.read_video({"code": 200, "content": {"liveOpenDate": "soon"}}, 7) == vod.Video(7, None, None, True)
    assert vod.time_base([{"messageTime": 5_000, "playerMessageTime": 1_500}]) == 3_500
    assert vod.time_base(["junk", {"messageTime": 5}]) is None


# ---------------------------------------------------------------- with PostgreSQL and the simulator
def live(cid: str) -> LiveStatus:
    return LiveStatus(status="OPEN", chat_channel_id=cid, reason=None, live_title="t", concurrent_user_count=1,
                      category_type="GAME", live_category="x", live_category_value="X", open_date=None,
                      close_date=None, adult=False)


def chat_records(items: list[dict], cid: str, channel_id: str) -> list[dict]:
    frame = {"svcid": "game", "ver": "1", "cmd": protocol.CHAT, "cid": cid, "tid": None, "bdy": items}
    return [dict(r, channel_id=channel_id) for r in protocol.parse_frame(frame) if r["kind"] == "chat"]


def stored(pg) -> list[str]:
    with pg.cursor() as cur:
        cur.execute("SELECT dedupe_key FROM stream_chat")
        keys = [r[0] for r in cur.fetchall()]
    pg.commit()
    return keys


def gap_rows(pg) -> list[dict]:
    with pg.cursor() as cur:
        cur.execute("SELECT * FROM capture_gap ORDER BY id")
        cols = [d[0] for d in cur.description]
        out = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    pg.commit()
    return out


def start_sim(**kw) -> SimServer:
    sim = SimServer(channels=1, seed=41, ping_seconds=0, stats_seconds=600, restart_pause=3600, **kw)
    sim.start_in_thread(0)
    return sim


def a_restart_gap(pg, sim: SimServer) -> tuple[list[dict], dict]:
    """The first 30 % of the lines aired so far captured live, then a restart whose full
    replay starts at the last 20 %: the gap recorded by a first join. Returns (aired, gap)."""
    ch = sim.channels[0]
    time.sleep(1.2)  # ~240 lines aired unheard
    video = next(v for v in sim.videos.videos(ch.channel_id) if v["chatChannelId"] == ch.chat_channel_id)
    aired = list(sim.videos._lines(sim.videos.find(video["videoNo"]))[1])
    before, after = aired[:len(aired) * 3 // 10], aired[len(aired) * 8 // 10:]
    sink.store(pg, chat_records(before + after, ch.chat_channel_id, ch.channel_id))
    now = datetime.now(UTC)
    replay_from = protocol.ms_to_iso(after[0]["msgTime"])
    with pg, pg.cursor() as cur:
        for op in (sessions.op_open_session(ch.channel_id, live(ch.chat_channel_id), now - timedelta(minutes=5)),
                   sessions.op_capture_open("k1", ch.channel_id, ch.chat_channel_id, now - timedelta(minutes=5), "h:1:a", 1),
                   sessions.op_capture_close("k1", "process died", now - timedelta(minutes=1)),
                   sessions.op_capture_open("k2", ch.channel_id, ch.chat_channel_id, now, "h:2:b", 1),
                   sessions.op_capture_gap("k2", ch.channel_id, ch.chat_channel_id, None, replay_from, now)):
            op(cur)
    (gap,) = gap_rows(pg)
    return aired, gap


def end_broadcast(pg, sim: SimServer) -> datetime:
    ch = sim.channels[0]
    requests.get(f"{sim.env()['CHZZK_API_BASE']}/_sim/restart", params={"channel": ch.channel_id},
                 timeout=5).raise_for_status()
    ended = datetime.now(UTC)
    with pg, pg.cursor() as cur:
        sessions.op_close_sessions(ch.channel_id, "broadcast closed", ended)(cur)
    return ended


@pytest.mark.e2e
def test_a_gap_waits_for_the_broadcast_end_then_is_filled_in_bounded_steps_once(pg_url, pg):
    sim = start_sim(rate=200.0)
    api = Api(sim.env()["CHZZK_API_BASE"])
    try:
        aired, gap = a_restart_gap(pg, sim)
        assert gap["gap_from"] is None and gap["status"] == "open"
        assert gaps.fill_due(pg, api).tried == 0, "the broadcast is still live: no replay yet"
        end_broadcast(pg, sim)
        first = gaps.fill_due(pg, api, max_pages=1)  # bounded: one replay page, the rest the next run
        (row,) = gap_rows(pg)
        assert (first.partial, row["status"], row["video_no"]) == (1, "open", sim.videos.videos()[-1]["videoNo"])
        assert row["resume_ms"] is not None and row["lines_filled"] < len(aired) // 2
        second = gaps.fill_due(pg, api)
        (row,) = gap_rows(pg)
        assert (second.filled, row["status"], row["resume_ms"], row["attempts"]) == (1, "filled", None, 2)
        assert gaps.fill_due(pg, api).tried == 0
        video = sim.videos.find(row["video_no"])
    finally:
        api.close()
        sim.stop()
    keys = stored(pg)
    aired_keys = [r["dedupe_key"] for r in chat_records(aired, sim.channels[0].chat_channel_id, "x")]
    assert set(aired_keys) <= set(keys), f"{len(set(aired_keys) - set(keys))} aired lines missing"
    assert len(keys) == len(set(keys))
    all_aired = {r["dedupe_key"] for r in chat_records(video.items, video.cid, "x")}
    assert set(keys) <= all_aired
    assert row["lines_filled"] == len(keys) - (len(aired) * 3 // 10 + len(aired) - len(aired) * 8 // 10)
    assert row["gap_from"] == datetime.fromisoformat(
        protocol.ms_to_iso(aired[len(aired) * 3 // 10 - 1]["msgTime"]))  # the last line stored before


@pytest.mark.e2e
def test_without_a_replay_the_gap_is_retried_with_backoff_and_stays_visible(pg_url, pg):
    sim = start_sim(rate=200.0, replays=False)  # the streamer disabled replays
    api = Api(sim.env()["CHZZK_API_BASE"])
    try:
        a_restart_gap(pg, sim)
        ended = end_broadcast(pg, sim)
        t = datetime.now(UTC)
        assert gaps.fill_due(pg, api, now=t).waiting == 1
        (row,) = gap_rows(pg)
        assert row["next_attempt_at"] == t + timedelta(seconds=gaps.RETRY_FIRST)
        assert "no replay video of the broadcast is published yet" in row["last_error"]
        assert gaps.fill_due(pg, api, now=t + timedelta(seconds=30)).tried == 0  # not due yet
        t2 = t + timedelta(seconds=61)
        assert gaps.fill_due(pg, api, now=t2).waiting == 1
        assert gap_rows(pg)[0]["next_attempt_at"] == t2 + timedelta(seconds=2 * gaps.RETRY_FIRST)  # doubled
        late = ended + timedelta(seconds=gaps.GIVE_UP_SECONDS + 1)
        assert gaps.fill_due(pg, api, now=late).no_replay == 1
        assert gaps.fill_due(pg, api, now=late + timedelta(days=30)).tried == 0
    finally:
        api.close()
        sim.stop()
    (row,) = gap_rows(pg)
    assert (row["status"], row["attempts"], row["lines_filled"], row["done_at"]) == ("no replay", 3, 0, late)
    (shown,) = status.collect(pg, include_disabled=True)
    assert (shown["gaps_open"], shown["gaps_filled"], shown["gaps_no_replay"]) == (0, 0, 1)
    assert "1 no replay" in status.format_table([shown])


@pytest.mark.e2e
def test_a_rejoin_in_the_same_process_records_exactly_the_lines_it_missed(pg_url, pg):
    """A dropped socket rejoins after the client's backoff (>= 0.75 s, ~110 lines at 150/s):
    the gap recorded is exactly the lines aired between the last one received and the
    replay's oldest; a first join (nothing captured before) records none."""
    sim = start_sim(rate=150.0)
    ch = sim.channels[0]
    records: list[dict] = []
    store = sessions.SessionStore(pg_url)
    api = Api(sim.env()["CHZZK_API_BASE"], sim.env()["CHZZK_COMM_API_BASE"])
    client = ChatClient(ch.channel_id, api, records.extend, ws_url=sim.env()["CHZZK_CHAT_WS"], captures=store)
    try:
        time.sleep(0.5)  # the first join's replay is full
        client.follow(ch.chat_channel_id)
        deadline = time.monotonic() + 15
        while len(records) < 100 and time.monotonic() < deadline:
            time.sleep(0.05)
        requests.get(f"{sim.env()['CHZZK_API_BASE']}/_sim/drop", timeout=5).raise_for_status()
        while client.stats.connects < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        client.stop()
        client.join(5)
        store.close()
        api.close()
        video = next(v for v in sim.videos.videos(ch.channel_id) if v["chatChannelId"] == ch.chat_channel_id)
        aired = list(sim.videos._lines(sim.videos.find(video["videoNo"]))[1])
        sim.stop()
    assert client.stats.connects == 2
    (gap,) = gap_rows(pg)
    assert gap["gap_from"] is not None and gap["gap_from"] < gap["gap_to"]
    got = {r["dedupe_key"] for r in records if r["kind"] == "chat"}
    first_ms, last_ms = (min(int(datetime.fromisoformat(r["chat_time"]).timestamp() * 1000) for r in records
                             if r["kind"] == "chat"), max(i["msgTime"] for i in aired if
                                                          chat_records([i], ch.chat_channel_id, "x")[0]["dedupe_key"] in got))
    lo, hi = (int(gap[k].timestamp() * 1000) for k in ("gap_from", "gap_to"))
    missed = {r["dedupe_key"] for r in chat_records([i for i in aired if first_ms <= i["msgTime"] <= last_ms],
                                                   ch.chat_channel_id, "x")} - got
    inside = {r["dedupe_key"] for r in chat_records([i for i in aired if lo < i["msgTime"] < hi],
                                                   ch.chat_channel_id, "x")}
    assert len(missed) > RECENT_COUNT // 2 and missed == inside


FIRST_JOIN_CASES = [  # (the earlier interval's end reason, its end in s after the replay's oldest line, recorded)
    ("stopped", 3.0, False),       # a clean stop read every line until it ended: the replay overlaps it
    ("stopped", 1.0, True),        # ... unless within CLOCK_MARGIN of the replay's oldest line
    ("lease lost", 10.0, False),
    ("process died", 10.0, True),  # kill -9: its end is a guess (last line stored, heartbeat)
    ("ping timeout", 10.0, True),  # a dead socket: lines before its end may not have arrived
    (None, None, True),            # still open (its process is being taken over)
]


@pytest.mark.integration
def test_a_first_join_records_a_gap_unless_a_clean_stop_overlaps_its_replay(pg):
    replay_oldest = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    join = replay_oldest + timedelta(seconds=20)
    oldest = protocol.ms_to_iso(int(replay_oldest.timestamp() * 1000))
    expected = []
    with pg, pg.cursor() as cur:
        for i, (reason, ended, recorded) in enumerate(FIRST_JOIN_CASES):
            ch, cid = f"{i:032x}", f"N2c{i}"
            sessions.op_capture_open(f"old{i}", ch, cid, replay_oldest - timedelta(minutes=30), "h:1:a", 1)(cur)
            if reason:
                sessions.op_capture_close(f"old{i}", reason, replay_oldest + timedelta(seconds=ended))(cur)
            sessions.op_capture_open(f"new{i}", ch, cid, join, "h:2:b", 1)(cur)
            sessions.op_capture_gap(f"new{i}", ch, cid, None, oldest, join)(cur)
            expected += [f"new{i}"] if recorded else []
        # a rejoin within a process knows its last line: recorded as found
        sessions.op_capture_gap("third", ch, cid, protocol.ms_to_iso(0), protocol.ms_to_iso(1), join)(cur)
    assert [g["key"] for g in gap_rows(pg)] == expected + ["third"]
