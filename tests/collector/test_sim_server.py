"""The simulator over loopback: HTTP endpoints, the chat websocket protocol, drops and the
truth file, spoken to with real clients (requests, websocket-client)."""
from __future__ import annotations

import json
import re
import socket
import struct
import time

import pytest
import requests
import websocket

from collector import protocol
from collector.sim.generator import LIVE_TO_RECENT
from collector.sim.server import SimServer

pytestmark = pytest.mark.e2e

LIVE_KEYS = {"svcid", "cid", "mbrCnt", "uid", "profile", "msg", "msgTypeCode", "msgStatusType", "extras",
             "ctime", "utime", "msgTid", "cuid", "msgTime"}
RECENT_KEYS = set(LIVE_TO_RECENT.values())
NOTICE_KEYS = {"serviceId", "channelId", "messageTime", "userId", "profile", "content", "extras",
               "messageTypeCode", "createTime"}  # the recorded 15101 notice (shared/chzzk/samples.jsonl)
B64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")  # CHZZK's token alphabet


@pytest.fixture(scope="module")
def sim():
    server = SimServer(channels=2, seed=3, rate=50, ping_seconds=1, stats_seconds=60)
    server.start_in_thread(port=0)
    time.sleep(1.2)  # a second of chat, so that 15101 has lines to replay
    yield server
    server.stop()


def _get(server, path, **params):
    return requests.get(server.env()["CHZZK_API_BASE"] + path, params=params, timeout=5)


def _join(server, index=0, token=None, sockopt=()):
    """Open a chat socket (with these socket options) and CONNECT to channel ``index``;
    returns (ws, cid, CONNECTED frame)."""
    channel = server.channels[index]
    cid = _get(server, f"/polling/v3.1/channels/{channel.channel_id}/live-status").json()["content"]["chatChannelId"]
    if token is None:
        token = _get(server, "/nng_main/v1/chats/access-token", channelId=cid,
                     chatType="STREAMING").json()["content"]["accessToken"]
    ws = websocket.create_connection(server.env()["CHZZK_CHAT_WS"].format(n=3), timeout=5, sockopt=sockopt)
    ws.send(protocol.connect_frame(cid, token))
    return ws, cid, json.loads(ws.recv())


def _read(ws, seconds):
    """Text frames received within ``seconds`` (or until the socket closes), and the close code."""
    frames, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        ws.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            frame = ws.recv_data_frame(True)[1]
        except websocket.WebSocketTimeoutException:
            continue
        except websocket.WebSocketConnectionClosedException:
            return frames, None
        if frame.opcode == websocket.ABNF.OPCODE_CLOSE:
            return frames, struct.unpack("!H", frame.data[:2])[0] if len(frame.data) >= 2 else None
        if frame.opcode == websocket.ABNF.OPCODE_TEXT:
            frames.append(frame.data.decode("utf-8"))
    return frames, "open"


def test_http_endpoints(sim):
    channel = sim.channels[0]
    for version in ("v3.1", "v2"):
        r = _get(sim, f"/polling/{version}/channels/{channel.channel_id}/live-status")
        assert r.status_code == 200 and r.headers["Content-Type"] == "application/json; charset=utf-8"
        body = r.json()
        assert body["code"] == 200 and body["message"] is None
        live = body["content"]
        assert live["status"] == "OPEN" and live["chatChannelId"] == channel.chat_channel_id
        assert live["liveTitle"] and live["concurrentUserCount"] > 0 and live["adult"] is False
        assert (live["categoryType"], live["liveCategory"], live["liveCategoryValue"]) == channel.category
        assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", live["openDate"])
        assert json.loads(live["livePollingStatusJson"])["status"] == "STARTED"
    assert _get(sim, "/polling/v3.1/channels/" + "0" * 32 + "/live-status").json() == \
        {"code": 200, "message": None, "content": None}

    info = _get(sim, f"/service/v1/channels/{channel.channel_id}").json()["content"]
    assert info["channelId"] == channel.channel_id and info["channelName"] == channel.channel_name
    assert info["followerCount"] == channel.follower_count and info["openLive"] is True
    unknown = _get(sim, "/service/v1/channels/" + "0" * 32).json()
    assert unknown["code"] == 200
    assert unknown["content"]["channelId"] is None and unknown["content"]["channelName"] == "(알 수 없음)"

    token = _get(sim, "/nng_main/v1/chats/access-token", channelId=channel.chat_channel_id, chatType="STREAMING")
    content = token.json()["content"]
    assert token.status_code == 200 and len(content["accessToken"]) == 64
    assert B64.match(content["accessToken"]) and B64.match(content["extraToken"])
    bad = _get(sim, "/nng_main/v1/chats/access-token", channelId="zzzzzz", chatType="STREAMING")
    assert bad.status_code == 500 and bad.json()["code"] == 50001 and bad.json()["content"] is None

    assert _get(sim, f"/polling/v1/channels/{channel.channel_id}/live-status").json()["content"]["status"] == "OPEN"
    data = _get(sim, f"/service/v1/channels/{channel.channel_id}/data",
                fields="socialLinks,donationRankingsExposure,channelHistory,personalData").json()
    assert data["code"] == 200 and data["content"]["socialLinks"] == [] and data["content"]["personalData"] is None
    assert data["content"]["channelHistory"]["firstLiveDate"]
    user = _get(sim, "/nng_main/v1/user/getUserStatus").json()
    assert user["code"] == 200 and user["content"]["loggedIn"] is False and user["content"]["userIdHash"] is None

    health = _get(sim, "/_sim/health").json()["content"]
    assert health["channels"] == 2 and health["generated"] > 0 and health["slowClosed"] == 0
    assert _get(sim, "/polling/v9/nothing").status_code == 404


def test_live_detail_has_the_live_status_fields_and_more(sim):
    channel = sim.channels[0]
    status = _get(sim, f"/polling/v3.1/channels/{channel.channel_id}/live-status").json()["content"]
    for version in ("v2", "v3", "v3.3"):
        detail = _get(sim, f"/service/{version}/channels/{channel.channel_id}/live-detail").json()["content"]
        moving = ("concurrentUserCount", "accumulateCount")  # the audience drifts between two calls
        assert {k: detail[k] for k in status if k not in moving} == {k: v for k, v in status.items()
                                                                     if k not in moving}
        assert isinstance(detail["liveId"], int) and detail["closeDate"] is None
        assert detail["liveImageUrl"].endswith("image_{type}.jpg") and detail["defaultThumbnailImageUrl"] is None
        playback = json.loads(detail["livePlaybackJson"])
        assert playback["live"]["status"] == "STARTED" and playback["meta"]["liveId"] == str(detail["liveId"])
        assert detail["channel"]["channelId"] == channel.channel_id
        assert detail["channel"]["channelName"] == channel.channel_name
        assert isinstance(detail["concurrentUserCount"], int) and isinstance(detail["accumulateCount"], int)
    assert _get(sim, "/service/v2/channels/" + "0" * 32 + "/live-detail").json()["content"] is None


def _raw_http(server, chunks: list[bytes]) -> tuple[int, dict]:
    """Send one request in these TCP pieces; (status, JSON body) of the answer."""
    with socket.create_connection((server.host, server.port), timeout=5) as conn:
        for piece in chunks:
            conn.sendall(piece)
            time.sleep(0.05)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


def test_a_get_carrying_a_json_body_gets_an_http_answer(sim):
    """chzzkpy asks for the chat token with a GET that carries {"chatType": "STREAMING"}
    (Content-Length: 25); the websocket handshake parser used to drop it unanswered."""
    cid = sim.channels[0].chat_channel_id
    body = b'{"chatType": "STREAMING"}'
    head = (f"GET /nng_main/v1/chats/access-token?channelId={cid} HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    assert len(body) == 25
    status, answer = _raw_http(sim, [head + body])
    assert status == 200 and B64.match(answer["content"]["accessToken"])
    status, answer = _raw_http(sim, [head, body[:10], body[10:]])  # the body arrives later, in pieces
    assert status == 200 and B64.match(answer["content"]["accessToken"])
    chunked = head.replace(f"Content-Length: {len(body)}".encode(), b"Transfer-Encoding: chunked")
    status, answer = _raw_http(sim, [chunked + b"19\r\n" + body + b"\r\n0\r\n\r\n"])
    assert status == 200 and answer["code"] == 200


@pytest.mark.parametrize("token", ["not-a-token-this-server-issued", None])
def test_a_read_join_with_any_token_or_none_is_accepted(sim, token):
    ws, cid, answer = _join(sim, 1, token=token) if token else _join_null(sim, 1)
    try:
        assert answer["cmd"] == 10100 and answer["retCode"] == 0 and answer["cid"] == cid
        assert len(answer["bdy"]["sid"]) == 64
    finally:
        ws.close()


def _join_null(server, index):
    channel = server.channels[index]
    ws = websocket.create_connection(server.env()["CHZZK_CHAT_WS"].format(n=1), timeout=5)
    ws.send(json.dumps({"ver": "3", "cmd": 100, "svcid": "game", "cid": channel.chat_channel_id,
                        "bdy": {"uid": None, "devType": 2001, "accTkn": None, "auth": "READ"}, "tid": 1}))
    return ws, channel.chat_channel_id, json.loads(ws.recv())


def test_connect_to_an_unknown_chat_channel_is_refused_and_closed(sim):
    ws = websocket.create_connection(sim.env()["CHZZK_CHAT_WS"].format(n=3), timeout=5)
    ws.send(protocol.connect_frame("zzzzzz", "any-token"))
    answer = json.loads(ws.recv())
    assert answer["cmd"] == 10100 and answer["retCode"] == 105 and answer["retMsg"] == "Incorrect parameter"
    frames, code = _read(ws, 3)
    assert frames == [] and code == 1000
    ws.close()


def test_session_connect_recent_ping_and_chat(sim):
    ws, cid, connected = _join(sim, 1)
    try:
        assert connected["cmd"] == 10100 and connected["retCode"] == 0 and connected["retMsg"] == "SUCCESS"
        assert connected["cid"] == cid and connected["bdy"]["sid"] and connected["bdy"]["auth"] == "READ"
        ws.send(protocol.recent_chat_frame(cid, connected["bdy"]["sid"]))
        ws.send(protocol.ping_frame())
        frames, code = _read(ws, 2.5)
        assert code == "open"
        parsed = [json.loads(f) for f in frames]
        assert '{"ver":"2","cmd":10000}' in frames  # PONG to our PING
        assert '{"ver":"2","cmd":0}' in frames      # the server's own PING (every 1 s here)
        recent = next(p for p in parsed if p["cmd"] == 15101)
        assert recent["retCode"] == 0 and 0 < len(recent["bdy"]["messageList"]) <= 50
        assert all(set(i) == RECENT_KEYS for i in recent["bdy"]["messageList"])
        assert isinstance(recent["bdy"]["userCount"], int) and "notice" in recent["bdy"]  # 205 in a recording
        notice = recent["bdy"]["notice"]
        assert notice is None or set(notice) == NOTICE_KEYS
        pushes = [p for p in parsed if p["cmd"] in (93101, 93102)]
        items = [i for p in pushes for i in p["bdy"]]
        assert len(items) > 40  # 50 lines/s
        assert all(set(i) == LIVE_KEYS and i["cid"] == cid for i in items)
        assert all(p["ver"] == "1" and p["svcid"] == "game" and p["cid"] == cid for p in pushes)
        assert all((i["msgTypeCode"] == 1) == (p["cmd"] == 93101) for p in pushes for i in p["bdy"])
        for text in frames:
            assert all(r["kind"] != "dead_letter" for r in protocol.parse_frame(text)), text
    finally:
        ws.close()


def test_sim_drop_closes_every_chat_socket(sim):
    ws, _, connected = _join(sim, 0)
    assert connected["retCode"] == 0
    assert _get(sim, "/_sim/drop").json()["content"]["dropped"] >= 1
    _, code = _read(ws, 3)
    assert code == 1001
    ws.close()


def _key(item: dict) -> tuple:
    live = item if "uid" in item else {k: item[v] for k, v in LIVE_TO_RECENT.items() if v in item}
    extras = json.loads(live["extras"] or "{}")
    return (live["cid"], live["uid"], live["msgTime"], extras.get("receiverUserIdHash"))


def test_truth_holds_exactly_what_clients_received(tmp_path):
    truth = tmp_path / "truth.jsonl"
    server = SimServer(channels=2, seed=9, rate=50, truth_path=str(truth), ping_seconds=0, stats_seconds=60)
    server.start_in_thread(port=0)
    received: dict[tuple, dict] = {}
    try:
        time.sleep(1.5)  # lines nobody receives must not reach the truth
        for round_ in range(2):  # second round: reconnect and replay, as after a drop
            ws, cid, connected = _join(server, 0)
            ws.send(protocol.recent_chat_frame(cid, connected["bdy"]["sid"]))
            frames, _ = _read(ws, 1.0)
            assert _get(server, "/_sim/drop").json()["content"]["dropped"] >= 1
            more, code = _read(ws, 3)
            assert code == 1001, round_
            ws.close()
            for frame in map(json.loads, frames + more):
                if frame["cmd"] in (93101, 93102):
                    items = frame["bdy"]
                elif frame["cmd"] == 15101:
                    items = frame["bdy"]["messageList"]
                else:
                    continue
                for item in items:
                    received.setdefault(_key(item), item)
            time.sleep(0.5)
    finally:
        server.stop()
    lines = [json.loads(line) for line in truth.read_text(encoding="utf-8").splitlines()]
    keys = [_key(i) for i in lines]
    assert len(keys) == len(set(keys)), "an item was recorded twice"
    assert set(keys) == set(received)
    assert len(lines) > 80
    live = {k: v for k, v in received.items() if "uid" in v}
    assert all(lines[keys.index(k)] == v for k, v in live.items())  # exactly the item as sent
    assert {i["cid"] for i in lines} == {server.channels[0].chat_channel_id}


def _stuck(server, index):
    """A client that joins channel ``index`` and then reads nothing more, with a 4 KiB
    receive buffer: the server's writes to it soon block (as with a frozen process)."""
    import socket
    ws, _, connected = _join(server, index, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
    assert connected["retCode"] == 0
    return ws


def _joined(server) -> list[int]:
    return [len(lv.conns) for lv in server._lives]


def test_a_socket_that_does_not_read_holds_up_no_other_socket(monkeypatch):
    """Each socket has its own sender: a client that stops reading (its buffers full) does
    not stop the chat of the other sockets; after BACKLOG_SECONDS of chat waiting for it,
    the server closes it (1008) and counts it in slow_closed."""
    from collector.sim import server as server_module
    monkeypatch.setattr(server_module, "BACKLOG_SECONDS", 4.0)
    server = SimServer(channels=2, seed=5, rate=3000, ping_seconds=0, stats_seconds=60)
    server.start_in_thread(port=0)
    try:
        stuck = _stuck(server, 0)
        ws, _, connected = _join(server, 1)
        assert connected["retCode"] == 0
        deadline = time.monotonic() + 10
        while _joined(server) != [1, 1] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _joined(server) == [1, 1]
        counts = []
        for _ in range(6):  # a second at a time: the reader's chat keeps coming
            frames, code = _read(ws, 1.0)
            assert code == "open"
            counts.append(sum(len(f["bdy"]) for f in map(json.loads, frames) if f["cmd"] in (93101, 93102)))
        assert min(counts) > 500, counts  # 3000 lines/s; a stalled sender gives 0 after about a second
        deadline = time.monotonic() + 10
        while server.slow_closed == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.slow_closed == 1 and _joined(server) == [0, 1]
        frames, code = _read(ws, 1.0)
        assert code == "open" and len(frames) > 5, "the reader is unaffected by the close"
        ws.close()
        stuck.close()
    finally:
        server.stop()
