"""Replay (VOD) chat: the simulator's endpoint, the same dedupe key as live, and
`python -m collector backfill-vod` filling a live capture's gap without duplicates."""
from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time

import pytest
import requests
import websocket

from collector import protocol, sink
from collector.api import Api
from collector.sim.generator import ChatStream, make_channels, to_recent
from collector.sim.server import SimServer
from collector.sim.vod import LIVE_KEEP_MIN, LIVE_KEEP_TOTAL, LIVE_OFFSET, PAGE_ITEMS, SimVideos, video_no
from collector.vod import VodError, backfill, item_records, next_time, normalize_item, read_page
from tests.compact_rows import json_columns
from tests.conftest import DATA

ROOT = DATA.parent.parent
SEED = 5


def live_keys(items: list[dict], cid: str) -> list[str]:
    frame = {"svcid": "game", "ver": "1", "cmd": protocol.CHAT, "cid": cid, "tid": None, "bdy": items}
    return [r["dedupe_key"] for r in protocol.parse_frame(frame) if r["kind"] == "chat"]


# ---------------------------------------------------------------- unit
@pytest.mark.unit
def test_a_vod_item_has_the_dedupe_key_of_the_same_line_captured_live():
    channel = make_channels(1, SEED)[0]
    stream = ChatStream(channel, SEED)
    items: list[dict] = []
    while len(items) < 50_000 and not {1, 10, 11, 12, 30} <= {i["msgTypeCode"] for i in items}:
        items += stream.next_items(1_800_000_000_000 + len(items) * 100, 2000, spread_ms=200_000)
    codes = {i["msgTypeCode"] for i in items}
    assert {1, 10, 11, 12, 30} <= codes, codes  # chat, donations, subscriptions, gift receivers, system lines
    assert any(i["uid"] == "anonymous" and i["msgTypeCode"] == 10 for i in items)
    expected = live_keys(items, channel.chat_channel_id)
    assert len(set(expected)) == len(items)  # the key tells every line apart

    open_ms = items[0]["msgTime"] - 5_000
    vod = [dict(to_recent(i), playerMessageTime=i["msgTime"] - open_ms) for i in items]
    as_vod = [r["dedupe_key"] for r in item_records(vod, channel.channel_id, None, 1)]
    assert as_vod == expected

    # variants: userIdHash for userId, chatChannelId for channelId, no channel id at all
    hashed = [{("userIdHash" if k == "userId" else "chatChannelId" if k == "channelId" else k): v
               for k, v in i.items()} for i in vod]
    assert [r["dedupe_key"] for r in item_records(hashed, channel.channel_id, None, 1)] == expected
    bare = [{k: v for k, v in i.items() if k != "channelId"} for i in vod]
    assert [r["dedupe_key"] for r in item_records(bare, channel.channel_id, channel.chat_channel_id, 1)] == expected
    records = item_records(vod, channel.channel_id, None, 1)
    assert all(r["channel_id"] == channel.channel_id for r in records)
    assert all(r["raw"]["playerMessageTime"] >= 5_000 for r in records)


@pytest.mark.unit
def test_answers_are_read_with_their_variants_and_failures_say_why():
    page = read_page({"code": 200, "message": None, "content": {
        "videoChats": [{"messageTime": 1}], "previousVideoChats": None}}, 7)
    assert page.next_ms is None and page.items == [{"messageTime": 1}] and page.previous == []
    page = read_page({"code": 200, "content": {"nextPlayerMessageTime": "1500", "videoChats": None,
                                               "chatChannelId": "N2abcd"}}, 7)
    assert (page.next_ms, page.items, page.chat_channel_id) == (1500, [], "N2abcd")
    with pytest.raises(VodError, match=r"video 7 not found .*404: 없는 영상"):
        read_page({"code": 404, "message": "없는 영상", "content": None}, 7)
    with pytest.raises(VodError, match="not found"):
        read_page({"code": 200, "message": None, "content": None}, 7)
    with pytest.raises(VodError, match="videoChats is a str"):
        read_page({"code": 200, "content": {"videoChats": "x"}}, 7)
    with pytest.raises(VodError, match="nextPlayerMessageTime"):
        read_page({"code": 200, "content": {"videoChats": [], "nextPlayerMessageTime": "soon"}}, 7)
    # a next time that does not move forward is moved past the page, so paging ends
    stuck = read_page({"code": 200, "content": {"nextPlayerMessageTime": 100, "videoChats": [
        {"playerMessageTime": 100}, {"playerMessageTime": 180}]}}, 7)
    assert next_time(stuck, 100) == 180
    assert next_time(read_page({"code": 200, "content": {"nextPlayerMessageTime": 5, "videoChats": []}}, 7), 9) == 10
    assert normalize_item("not an object", "N2x") == "not an object"


@pytest.mark.unit
def test_sim_pages_cover_a_past_video_exactly_and_never_split_a_millisecond():
    videos = SimVideos(make_channels(2, SEED), SEED)
    listed = videos.videos()
    assert listed and all(not v["live"] for v in listed)
    assert {v["channelId"] for v in listed} <= {c.channel_id for c in make_channels(2, SEED)}
    assert videos.videos(listed[0]["channelId"]) == [v for v in listed if v["channelId"] == listed[0]["channelId"]]
    first = listed[0]
    times, items = videos._lines(videos.find(first["videoNo"]))
    got, at, pages = [], 0, 0
    while at is not None:
        content = videos.page(first["videoNo"], at)
        pages += 1
        chats = content["videoChats"]
        assert all(c["playerMessageTime"] >= at for c in chats)
        if content["nextPlayerMessageTime"] is not None:
            assert chats[-1]["playerMessageTime"] < content["nextPlayerMessageTime"]
        got.extend(chats)
        at = content["nextPlayerMessageTime"]
    assert len(got) == len(items) and pages >= math.ceil(len(items) / PAGE_ITEMS)
    assert [(c["userId"], c["messageTime"], c["content"]) for c in got] == \
        [(i["uid"], i["msgTime"], i["msg"]) for i in items]
    middle = videos.page(first["videoNo"], times[len(times) // 2], previous=10)
    assert len(middle["previousVideoChats"]) == 10
    assert middle["previousVideoChats"][-1]["playerMessageTime"] < times[len(times) // 2]
    assert videos.page(123, 0) is None


@pytest.mark.unit
def test_live_videos_are_numbered_per_broadcast_grow_and_keep_a_bounded_tail():
    channels = make_channels(3, SEED)
    videos = SimVideos(channels, SEED)
    ch = channels[2]
    stream = ChatStream(ch, SEED)
    videos.record(ch, ch.chat_channel_id, 1_000, stream.next_items(2_000, 10))
    assert videos.find(video_no(2, LIVE_OFFSET)).cid == ch.chat_channel_id
    assert len(videos.page(video_no(2, LIVE_OFFSET), 0)["videoChats"]) == 10
    videos.close(ch.chat_channel_id, 9_000)
    videos.record(ch, "N2next", 10_000, [])  # a restarted broadcast: a new chat channel, the next number
    listed = {v["videoNo"]: v for v in videos.videos(ch.channel_id)}
    assert listed[video_no(2, LIVE_OFFSET)]["live"] is False and listed[video_no(2, LIVE_OFFSET)]["closeMs"] == 9_000
    assert listed[video_no(2, LIVE_OFFSET + 1)]["live"] is True
    keep = max(LIVE_KEEP_MIN, LIVE_KEEP_TOTAL // 3)
    for _ in range(12):
        videos.record(ch, "N2next", 10_000, stream.next_items(20_000, keep // 10))
    times, items = videos._lines(videos.find(video_no(2, LIVE_OFFSET + 1)))
    assert keep <= len(items) <= keep + keep // 10 and times == sorted(times)
    assert videos.page(video_no(2, LIVE_OFFSET + 1), 0)["videoChats"][0]["messageTime"] == items[0]["msgTime"]


# ---------------------------------------------------------------- e2e
@pytest.fixture
def sim():
    server = SimServer(channels=1, seed=SEED, rate=60.0, ping_seconds=0, stats_seconds=600)
    server.start_in_thread(0)
    yield server
    server.stop()


def capture_live(sim: SimServer, seconds: float) -> list[dict]:
    """A real live capture over the chat websocket (CONNECT, 5101, frames) for ``seconds``."""
    channel = sim.channels[0]
    api = Api(sim.env()["CHZZK_API_BASE"], sim.env()["CHZZK_COMM_API_BASE"])
    token = api.access_token(channel.chat_channel_id).access_token
    api.close()
    ws = websocket.create_connection(sim.env()["CHZZK_CHAT_WS"].format(n=1), timeout=5)
    records: list[dict] = []
    try:
        ws.send(protocol.connect_frame(channel.chat_channel_id, token))
        connected = [r for r in protocol.parse_frame(ws.recv()) if r.get("name") == "CONNECTED"][0]
        assert connected["ret_code"] == 0
        ws.send(protocol.recent_chat_frame(channel.chat_channel_id, connected["sid"]))
        deadline = time.monotonic() + seconds
        ws.settimeout(0.2)
        while time.monotonic() < deadline:
            try:
                text = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            for rec in protocol.parse_frame(text):
                if rec["kind"] == "chat":
                    rec["channel_id"] = rec["channel_id"] or channel.channel_id
                    records.append(rec)
    finally:
        ws.close()
    return records


def backfill_cli(pg_url: str, sim: SimServer, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **sim.env(), "DATABASE_URL": pg_url, "LOG_LEVEL": "INFO"}
    return subprocess.run([sys.executable, "-m", "collector", "backfill-vod", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def live_video(sim: SimServer) -> int:
    base = sim.env()["CHZZK_API_BASE"]
    listed = requests.get(f"{base}/_sim/videos", params={"channel": sim.channels[0].channel_id}, timeout=5).json()
    live = [v for v in listed["content"]["videos"] if v["live"]]
    assert len(live) == 1 and live[0]["chatChannelId"] == sim.channels[0].chat_channel_id
    return live[0]["videoNo"]


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_backfill_fills_the_gap_of_a_live_capture_and_stores_every_line_once(pg_url, pg, sim):
    channel = sim.channels[0]
    live = capture_live(sim, 1.5)
    assert len(live) > 20
    stored = sink.store(pg, live)
    assert stored.chat_inserted == len({r["dedupe_key"] for r in live})
    time.sleep(1.0)  # the gap: lines aired while nobody listened
    video = live_video(sim)
    before = sim.videos._lines(sim.videos.find(video))[1]  # every line aired before the backfill

    done = backfill_cli(pg_url, sim, "--channel", channel.channel_id, "--video", str(video))
    assert done.returncode == 0, done.stderr
    summary = done.stderr.strip().splitlines()[-1]
    m = re.search(r"(\d+) pages, (\d+) items .* (\d+) new rows, (\d+) duplicates", summary)
    assert m, summary
    pages, items, new_rows, duplicates = map(int, m.groups())
    assert duplicates == stored.chat_inserted  # everything captured live was recognised
    assert pages >= math.ceil(items / PAGE_ITEMS) and pages > 1

    after = sim.videos._lines(sim.videos.find(video))[1]
    with pg.cursor() as cur:
        cur.execute("SELECT dedupe_key, user_id, chat_time, msg_type_code, message, gift_receiver_id, "
                    "donation_id FROM stream_chat")
        rows = cur.fetchall()
        cur.execute("SELECT count(*) FROM dead_letter")
        assert cur.fetchone()[0] == 0
    keys = {r[0] for r in rows}
    assert keys >= set(live_keys(before, channel.chat_channel_id))  # every line aired before: there
    assert keys <= set(live_keys(after, channel.chat_channel_id))   # nothing that was not aired
    assert len({r[1:] for r in rows}) == len(rows)                  # no line twice under two keys
    assert len(rows) == stored.chat_inserted + new_rows
    assert new_rows >= len(before) - stored.chat_inserted > 0        # the gap was filled


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_a_past_video_is_backfilled_whole_and_a_rerun_adds_nothing(pg_url, pg, sim):
    channel = sim.channels[0]
    past = [v for v in sim.videos.videos(channel.channel_id) if not v["live"]]
    video = min(past, key=lambda v: v["closeMs"] - v["openMs"])
    items = sim.videos._lines(sim.videos.find(video["videoNo"]))[1]
    api = Api(sim.env()["CHZZK_API_BASE"])
    try:
        first = backfill(api, pg, channel.channel_id, video["videoNo"])
        second = backfill(api, pg, channel.channel_id, video["videoNo"])
        late = backfill(api, pg, channel.channel_id, video["videoNo"], from_ms=items[-1]["msgTime"] - video["openMs"])
    finally:
        api.close()
    assert first.items == len(items) and first.inserted == len(items) and first.repeated == 0
    assert first.pages >= math.ceil(len(items) / PAGE_ITEMS)
    assert (second.inserted, second.duplicates) == (0, len(items))
    assert late.pages == 1 and late.inserted == 0 and late.items >= 1
    with pg.cursor() as cur:
        cur.execute("SELECT count(*), count(DISTINCT chat_channel_id) FROM stream_chat")
        count, cids = cur.fetchone()
        cur.execute("SELECT enabled FROM stream_channel WHERE channel_id = %s", (channel.channel_id,))
        assert cur.fetchone() == (False,)  # created for the backfill, not enabled for collection
    assert (count, cids) == (len(items), 1)
    assert all("playerMessageTime" in row["raw"] for row in json_columns(pg).values())  # jsonb or compact


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_an_unknown_video_exits_1_with_one_line_naming_it(pg_url, sim):
    done = backfill_cli(pg_url, sim, "--channel", sim.channels[0].channel_id, "--video", "424242")
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("collector backfill-vod: error: video 424242 not found"), done.stderr
    assert "404" in last
    listed = requests.get(f"{sim.env()['CHZZK_API_BASE']}/service/v1/videos/424242/chats", timeout=5)
    assert listed.status_code == 404 and json.loads(listed.text)["content"] is None
