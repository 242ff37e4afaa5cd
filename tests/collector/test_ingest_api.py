"""`python -m collector api` over real HTTP (requests) against a real PostgreSQL: the desktop
viewer's batch as it posts it, bulk limits, per-item refusals with good items kept,
idempotence, API keys, GET filters and paging, channels, OpenAPI, the warehouse sync, and
PostgreSQL going away (503, nothing half-stored)."""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta

import psycopg2
import pyarrow.parquet as pq
import pytest
import requests

from tests.conftest import DATA
from tests.ingest_helpers import AUTH, CAT, KEY, NOKDU, count, item, serve
from tests.metrics_helpers import curl, samples, value
from tests.stored_chat import json_of

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
ROOT = DATA.parent.parent


@pytest.fixture(autouse=True)
def _no_keys_file(tmp_path, monkeypatch):
    """Only the keys a test gives: never a developer's DATA_DIR/api_keys.toml."""
    monkeypatch.setenv("INGEST_API_KEYS_FILE", str(tmp_path / "no-api-keys.toml"))


@pytest.fixture
def api(pg_url):
    with serve(pg_url) as base:
        yield base


def viewer_item(streamer: str, channel_name: str, chat: dict, now: datetime) -> dict:
    """One buffered item exactly as the desktop viewer builds it (src/main_window.py
    add_to_batch_buffer, docs/INGEST_API.md): its keys, its naive local chat_time."""
    return {
        "channel_id": streamer,
        "channel_name": channel_name,
        "user_id": chat["uid"],
        "nickname": chat["nickname"],
        "message": chat["message"],
        "message_type": "donation" if chat["type"] == "후원" else "chat",
        "chat_time": now.strftime("%Y-%m-%dT%H:%M:%S"),
        "subscription_month": chat.get("subscription_month"),
        "subscription_tier": chat.get("subscription_tier"),
        "os_type": chat.get("os_type"),
        "user_role": chat.get("user_role"),
    }


def kst_to_utc_z(naive: str) -> str:
    """Plain arithmetic, independent of the code under test: KST is UTC+9, no DST."""
    return (datetime.fromisoformat(naive) - timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def stored(pg) -> list[tuple]:
    with pg.cursor() as cur:
        cur.execute("""SELECT ch.channel_id, c.user_id, c.nickname, c.message, c.message_type, c.msg_type_code,
                              to_char(c.chat_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                              c.subscription_month, c.subscription_tier, c.os_type, c.user_role, c.is_anonymous
                         FROM stream_chat c JOIN stream_channel ch ON ch.id = c.channel_fk ORDER BY c.id""")
        rows = cur.fetchall()
    raws = [raw for raw, _, _ in json_of(pg)]  # raw is kept compact (zstd): read it back
    pg.commit()
    return [row + (raw,) for row, raw in zip(rows, raws, strict=True)]


def expected_row(it: dict) -> tuple:
    return (it["channel_id"].lower(), it["user_id"], it["nickname"], it["message"], it["message_type"],
            {"chat": 1, "donation": 10}[it["message_type"]], kst_to_utc_z(it["chat_time"]),
            it["subscription_month"], it["subscription_tier"], it["os_type"], it["user_role"],
            it["user_id"] == "anonymous", {"source": "ingest-api", "item": it})


# ---------------------------------------------------------------- the desktop viewer
def test_a_desktop_viewer_batch_is_stored_as_posted(api, pg):
    t0 = datetime(2026, 10, 1, 23, 59, 58)
    chats = [
        {"type": "채팅", "uid": "9978e9f435b20799d87860a07882f1ef", "nickname": "후추789", "message": "안녕하세요 ㅋㅋㅋ",
         "subscription_month": 29, "subscription_tier": 1, "os_type": "PC", "user_role": "common_user"},
        {"type": "후원", "uid": "anonymous", "nickname": "익명의 후원자", "message": "천원 후원! <b>x</b> {:d_47:}",
         "subscription_month": None, "subscription_tier": None, "os_type": None, "user_role": None},
        {"type": "채팅", "uid": "0a1b2c3d4e5f60718293a4b5c6d7e8f9", "nickname": "달빛🌙고양이", "message": "자정 넘었다 🎉\n",
         "subscription_month": 3, "subscription_tier": 2, "os_type": "MOBILE", "user_role": "manager"},
    ]
    batch = [viewer_item(NOKDU, "녹두로구", c, t0 + timedelta(seconds=i * 2)) for i, c in enumerate(chats)]
    # posted the viewer's way: a bare JSON array, a Bearer key, 200 and "saved" read back
    response = requests.post(f"{api}/chat/bulk", json=batch, headers=AUTH, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json() == {"saved": 3, "duplicates": 0, "dropped": 0, "refused": 0, "errors": []}
    assert stored(pg) == [expected_row(it) for it in batch]
    assert stored(pg)[2][6] == "2026-10-01T15:00:02.000Z"  # 00:00:02 KST on Oct 2 is still Oct 1 in UTC
    with pg.cursor() as cur:
        cur.execute("SELECT channel_name, enabled FROM stream_channel WHERE channel_id = %s", (NOKDU,))
        assert cur.fetchone() == ("녹두로구", False)  # a client neither starts nor stops collection
    pg.commit()
    channels = requests.get(f"{api}/chat/channels", headers=AUTH, timeout=10).json()
    assert channels == [{"channel_id": NOKDU, "channel_name": "녹두로구", "last_chat_time": "2026-10-01T15:00:02.000Z"}]


def test_one_item_and_a_renamed_channel(api, pg):
    one = item(1)
    response = requests.post(f"{api}/chat", json=one, headers=AUTH, timeout=10)
    assert response.status_code == 200 and response.json()["saved"] == 1
    assert stored(pg) == [expected_row(one)]
    bad = requests.post(f"{api}/chat", json={**one, "message_type": "cheer"}, headers=AUTH, timeout=10)
    assert bad.status_code == 422
    assert bad.json()["errors"] == [{"index": 0, "error": "message_type: Input should be 'chat' or 'donation'"}]
    as_list = requests.post(f"{api}/chat", json=[one], headers=AUTH, timeout=10)
    assert as_list.status_code == 422 and "/chat/bulk" in as_list.json()["detail"]
    renamed = requests.post(f"{api}/chat", json=item(2, channel_name="녹두로구 2부"), headers=AUTH, timeout=10)
    assert renamed.json()["saved"] == 1
    unnamed = requests.post(f"{api}/chat", json=item(3, channel_name=None), headers=AUTH, timeout=10)
    assert unnamed.json()["saved"] == 1
    with pg.cursor() as cur:
        cur.execute("SELECT channel_name FROM stream_channel WHERE channel_id = %s", (NOKDU,))
        assert cur.fetchone() == ("녹두로구 2부",)  # the latest name given; no name keeps it
    pg.commit()


# ---------------------------------------------------------------- limits and refusals
def test_at_most_1000_items_and_whole_request_errors(api, pg):
    too_many = [item(i) for i in range(1001)]
    response = requests.post(f"{api}/chat/bulk", json=too_many, headers=AUTH, timeout=30)
    assert response.status_code == 413 and "at most 1000" in response.json()["detail"]
    assert count(pg, "stream_chat") == 0 and count(pg, "dead_letter") == 0
    for body, status, words in [(b"[{not json", 422, "not JSON"), (b'{"items": []}', 422, "JSON array"),
                                (b"", 422, "not JSON"), (b"[" * 200_000, 422, "not JSON"),
                                (b"[" + b" " * (16 * 1024 * 1024) + b"]", 413, "larger than")]:
        r = requests.post(f"{api}/chat/bulk", data=body, headers={**AUTH, "Content-Type": "application/json"},
                          timeout=10)
        assert r.status_code == status and words in r.json()["detail"], r.text
    full = requests.post(f"{api}/chat/bulk", json=too_many[:1000], headers=AUTH, timeout=30)
    assert full.status_code == 200 and full.json()["saved"] == 1000
    assert count(pg, "stream_chat") == 1000
    empty = requests.post(f"{api}/chat/bulk", json=[], headers=AUTH, timeout=10)
    assert empty.status_code == 200 and empty.json()["saved"] == 0


def test_bad_items_are_refused_with_reasons_and_good_ones_kept(api, pg):
    good = [item(0), item(1, message="줄\n바꿈 \"따옴표\" '; DROP TABLE stream_chat;-- 😂"),
            item(2, message="널\x00문자", user_id="anonymous", message_type="donation"),
            item(3, message="", nickname=None, user_id=None, chat_time="2026-10-01T11:00:03.250Z")]
    bad = {4: (item(4, chat_time="어제"), "chat_time"), 5: ("just text", "not an object"),
           6: (item(6, channel_id="https://chzzk.naver.com/live/abc"), "channel_id"),
           7: (item(7, subscription_month="12"), "subscription_month"),
           8: ({k: v for k, v in item(8).items() if k != "chat_time"}, "chat_time: Field required"),
           9: (item(9, chat_time="2099-01-01T00:00:00"), "more than a day ahead")}
    batch = good[:2] + [bad[k][0] for k in sorted(bad)] + good[2:]  # refused ones at positions 2..7
    response = requests.post(f"{api}/chat/bulk", json=batch, headers=AUTH, timeout=10)
    assert response.status_code == 200, response.text  # the viewer re-sends a whole batch on anything else
    answer = response.json()
    assert (answer["saved"], answer["refused"]) == (4, 6)
    errors = {e["index"]: e["error"] for e in answer["errors"]}
    for position, key in zip(range(2, 8), sorted(bad), strict=True):
        assert bad[key][1] in errors[position], (position, errors)
    assert set(errors) == set(range(2, 8))
    rows = stored(pg)
    assert [r[3] for r in rows] == ["메시지 0", good[1]["message"], "널문자", ""]  # NUL removed, text exact
    assert rows[2][11] is True and rows[3][1] is None and rows[3][6] == "2026-10-01T11:00:03.250Z"
    with pg.cursor() as cur:
        cur.execute("SELECT source, error, raw FROM dead_letter ORDER BY id")
        letters = cur.fetchall()
    pg.commit()
    assert [d[0] for d in letters] == ["ingest-api"] * 6
    assert letters[1][1].startswith("item 3: item is a JSON str") and json.loads(letters[1][2]) == "just text"
    assert json.loads(letters[0][2]) == bad[4][0]  # what was sent is kept


def test_the_same_items_posted_again_are_stored_once(api, pg):
    batch = [item(i) for i in range(5)] + [item(4)]  # the same line twice in one second: said twice
    first = requests.post(f"{api}/chat/bulk", json=batch, headers=AUTH, timeout=10).json()
    assert (first["saved"], first["duplicates"]) == (6, 0)
    again = requests.post(f"{api}/chat/bulk", json=batch, headers=AUTH, timeout=10).json()
    assert (again["saved"], again["duplicates"]) == (0, 6)
    # the viewer's retry after a failure: the old batch, then what arrived meanwhile
    retry = requests.post(f"{api}/chat/bulk", json=batch + [item(5), item(6)], headers=AUTH, timeout=10).json()
    assert (retry["saved"], retry["duplicates"]) == (2, 6)
    one = requests.post(f"{api}/chat", json=item(6, nickname="개명함"), headers=AUTH, timeout=10).json()
    assert (one["saved"], one["duplicates"]) == (0, 1)  # a new nickname does not make a new line
    assert count(pg, "stream_chat") == 8


def test_opted_out_users_are_dropped(api, pg):
    with pg.cursor() as cur:
        cur.execute("INSERT INTO opt_out_user (user_id) VALUES (%s)", (item(3)["user_id"],))
    pg.commit()
    answer = requests.post(f"{api}/chat/bulk", json=[item(i) for i in range(5)], headers=AUTH, timeout=10).json()
    assert (answer["saved"], answer["dropped"]) == (4, 1)
    assert item(3)["user_id"] not in {r[1] for r in stored(pg)}


# ---------------------------------------------------------------- keys and OpenAPI
def test_api_keys(pg_url):
    with serve(pg_url, keys=(KEY, "second-key")) as base:
        for method, path in (("post", "/chat/bulk"), ("post", "/chat"), ("get", "/chat"), ("get", "/chat/channels")):
            missing = requests.request(method, base + path, json=[item(0)], timeout=10)
            assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer", path
            wrong = requests.request(method, base + path, json=[item(0)], timeout=10,
                                     headers={"Authorization": f"Bearer {KEY}x"})
            assert wrong.status_code == 403, path
        assert requests.post(base + "/chat/bulk", json=[item(0)], headers={"X-API-Key": "second-key"},
                             timeout=10).json()["saved"] == 1
        assert requests.get(base + "/chat", headers={"X-API-Key": "nope"}, timeout=10).status_code == 403
        assert requests.get(base + "/chat", headers={"Authorization": "Basic a2V5"}, timeout=10).status_code == 401
        assert len(requests.get(base + "/chat", headers=AUTH, timeout=10).json()) == 1
    with serve(pg_url, keys=()) as base:  # no key configured (loopback only): none asked
        assert requests.get(base + "/chat", timeout=10).status_code == 200
        assert requests.get(base + "/chat", headers={"Authorization": "Bearer anything"}, timeout=10).ok


def test_openapi_page(api):
    spec = requests.get(f"{api}/openapi.json", timeout=10).json()  # no key needed: no data in it
    assert {"/chat", "/chat/bulk", "/chat/channels"} <= set(spec["paths"])
    body = spec["paths"]["/chat/bulk"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["type"] == "array" and body["maxItems"] == 1000
    assert {"channel_id", "chat_time", "message_type", "subscription_tier"} <= set(body["items"]["properties"])
    assert {"channel_id", "user_id", "start_date", "end_date", "skip", "limit"} == {
        p["name"] for p in spec["paths"]["/chat"]["get"]["parameters"]}
    schemes = spec["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}
    page = requests.get(f"{api}/docs", timeout=10)
    assert page.status_code == 200 and "swagger-ui" in page.text and "/openapi.json" in page.text
    # offline: every script and stylesheet of the page is served by the API itself
    assets = re.findall(r'(?:src|href)=["\']([^"\']+)', page.text)
    assert assets and all(a.startswith("/") for a in assets), assets
    for asset in assets:
        assert requests.get(f"{api}{asset}", timeout=10).status_code == 200, asset


# ---------------------------------------------------------------- reading back
def test_get_chat_filters_and_paging(api):
    users = [f"{u:032x}" for u in range(3)]
    items = []
    for i in range(60):  # three KST days, two channels, three users; every time distinct
        day = 1 + i % 3
        items.append(item(i, channel_id=(NOKDU, CAT)[i % 2], channel_name=("녹두로구", "고양이집사")[i % 2],
                          user_id=users[i % 3 if i % 5 else 0],
                          chat_time=f"2026-10-0{day}T{(i * 7) % 24:02d}:{i % 60:02d}:{(i * 13) % 60:02d}"))
    assert requests.post(f"{api}/chat/bulk", json=items, headers=AUTH, timeout=10).json()["saved"] == 60

    def expect(pick) -> list[tuple]:  # plain Python over what was posted: the naive times are KST
        chosen = sorted((it for it in items if pick(it)), key=lambda it: it["chat_time"], reverse=True)
        return [(it["channel_id"], it["user_id"], it["message"], kst_to_utc_z(it["chat_time"])) for it in chosen]

    def got(**params) -> list[tuple]:
        r = requests.get(f"{api}/chat", params={"limit": 1000, **params}, headers=AUTH, timeout=10)
        assert r.status_code == 200, r.text
        return [(x["channel_id"], x["user_id"], x["message"], x["chat_time"]) for x in r.json()]

    assert got() == expect(lambda it: True)
    assert got(channel_id=CAT) == expect(lambda it: it["channel_id"] == CAT)
    assert got(user_id=users[0], channel_id=NOKDU) == expect(lambda it: it["user_id"] == users[0]
                                                              and it["channel_id"] == NOKDU)
    assert got(start_date="2026-10-02") == expect(lambda it: it["chat_time"][:10] >= "2026-10-02")
    assert got(end_date="2026-10-02") == expect(lambda it: it["chat_time"][:10] <= "2026-10-02")
    assert got(start_date="2026-10-02", end_date="2026-10-02", user_id=users[1]) == expect(
        lambda it: it["chat_time"][:10] == "2026-10-02" and it["user_id"] == users[1])
    assert got(start_date="2026-10-02T12:00:00", end_date="2026-10-03T06:00:00") == expect(
        lambda it: "2026-10-02T12:00:00" <= it["chat_time"] < "2026-10-03T06:00:00")
    assert got(user_id="nobody") == []
    pages, skip = [], 0
    while page := got(skip=skip, limit=7):
        assert len(page) <= 7
        pages += page
        skip += 7
    assert pages == expect(lambda it: True) and skip == 63
    first = requests.get(f"{api}/chat", params={"limit": 1}, headers=AUTH, timeout=10).json()[0]
    assert set(first) == {"id", "channel_id", "channel_name", "user_id", "nickname", "message", "message_type",
                          "chat_time", "subscription_month", "subscription_tier", "os_type", "user_role",
                          "pay_amount", "created_at"}
    for params, words in [({"start_date": "last week"}, "start_date"), ({"limit": 0}, "limit"),
                          ({"limit": 1001}, "limit"), ({"skip": -1}, "skip")]:
        r = requests.get(f"{api}/chat", params=params, headers=AUTH, timeout=10)
        assert r.status_code == 422 and words in r.text, params
    channels = requests.get(f"{api}/chat/channels", headers=AUTH, timeout=10).json()
    assert [c["channel_name"] for c in channels] == ["고양이집사", "녹두로구"]
    for c in channels:
        assert c["last_chat_time"] == max(kst_to_utc_z(it["chat_time"]) for it in items
                                          if it["channel_id"] == c["channel_id"])


def test_posted_chat_reaches_the_warehouse(api, pg, tmp_path):
    from warehouse.sync.export import sync

    batch = [item(i, chat_time=f"2026-10-01T23:59:{58 + i}") for i in range(2)]
    assert requests.post(f"{api}/chat/bulk", json=batch, headers=AUTH, timeout=10).json()["saved"] == 2
    report = sync(pg, str(tmp_path))
    assert [d.day.isoformat() for d in report.days if d.table == "chat"] == ["2026-10-01"]
    table = pq.read_table(tmp_path / "chat").to_pylist()
    assert sorted(r["message"] for r in table) == ["메시지 0", "메시지 1"]
    assert {r["channel_name"] for r in table} == {"녹두로구"}
    assert [json.loads(r["raw"]) for r in sorted(table, key=lambda r: r["message"])] == [
        {"source": "ingest-api", "item": it} for it in batch]


# ---------------------------------------------------------------- PostgreSQL away
def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_postgresql_unreachable_answers_503(pg_url):
    url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/nowhere?connect_timeout=3"
    with serve(url) as base:
        for method, path in (("post", "/chat/bulk"), ("get", "/chat"), ("get", "/chat/channels")):
            r = requests.request(method, base + path, json=[item(0)], headers=AUTH, timeout=20)
            assert r.status_code == 503 and r.json()["detail"] == (
                "PostgreSQL is unavailable, nothing was stored; retry later" if method == "post"
                else "PostgreSQL is unavailable; retry later"), path
            assert r.headers["Retry-After"] == "30"
        one = requests.post(base + "/chat", json=item(0), headers=AUTH, timeout=20)
        assert one.status_code == 503 and "nothing was stored" in one.json()["detail"]
        status, body = curl(base + "/healthz")  # not ready: no key needed to ask
        assert status == 503 and json.loads(body)["status"] == "unavailable", body
        assert json.loads(body)["reasons"][0].startswith("PostgreSQL unreachable: "), body


def test_postgresql_lost_mid_batch_stores_nothing_and_a_retry_stores_all(api, pg_url, pg):
    batch = [item(i) for i in range(20)] + [item(0, chat_time="bad")]
    locker = psycopg2.connect(pg_url)
    with locker.cursor() as cur:
        cur.execute("LOCK TABLE stream_chat IN SHARE MODE")  # blocks the INSERT, not the steps before it
    answer: dict = {}
    poster = threading.Thread(target=lambda: answer.update(r=requests.post(
        f"{api}/chat/bulk", json=batch, headers=AUTH, timeout=60)))
    poster.start()
    try:
        deadline = time.monotonic() + 30
        waiting = None
        while waiting is None:
            assert time.monotonic() < deadline, "the API never reached the INSERT"
            time.sleep(0.05)
            with pg.cursor() as cur:
                cur.execute("""SELECT pid FROM pg_stat_activity WHERE datname = current_database()
                                  AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()""")
                found = cur.fetchone()
                if found:
                    cur.execute("SELECT pg_terminate_backend(%s)", (found[0],))
                    waiting = found[0]
            pg.commit()
        poster.join(60)
    finally:
        locker.rollback()
        locker.close()
    r = answer["r"]
    assert r.status_code == 503 and "nothing was stored" in r.json()["detail"]
    assert count(pg, "stream_chat") == 0 and count(pg, "dead_letter") == 0
    assert count(pg, "stream_channel") == 0  # the channel row went with the rest of the transaction
    retry = requests.post(f"{api}/chat/bulk", json=batch, headers=AUTH, timeout=10).json()
    assert (retry["saved"], retry["refused"]) == (20, 1)
    assert count(pg, "stream_chat") == 20 and count(pg, "dead_letter") == 1


# ---------------------------------------------------------------- the command
def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "INGEST_API_KEY"}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def test_the_command_refuses_a_public_address_without_a_key(pg_url):
    proc = subprocess.run([sys.executable, "-m", "collector", "api", "--host", "0.0.0.0", "--port",
                           str(_closed_port())], cwd=ROOT, env=_env(DATABASE_URL=pg_url),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "refusing to listen on 0.0.0.0 without INGEST_API_KEY" in proc.stderr


def test_the_command_serves_and_never_logs_the_key(pg_url):
    port = _closed_port()
    proc = subprocess.Popen([sys.executable, "-m", "collector", "api", "--port", str(port)], cwd=ROOT,
                            env=_env(DATABASE_URL=pg_url, INGEST_API_KEY=KEY, LOG_LEVEL="DEBUG"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "the API did not come up"
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(base + "/openapi.json", timeout=2).ok:
                    break
            time.sleep(0.2)
        assert requests.post(base + "/chat/bulk", json=[item(0)], headers=AUTH, timeout=10).json()["saved"] == 1
        assert requests.post(base + "/chat/bulk", json=[item(1)], headers={"Authorization": f"Bearer {KEY}-x"},
                             timeout=10).status_code == 403
        assert requests.get(base + "/chat", headers={"X-API-Key": KEY}, timeout=10).ok
        # a key in the URL is refused, and uvicorn's access line shows no query value
        assert requests.get(base + f"/chat?limit=1&api_key={KEY}", timeout=10).status_code == 400
        # health and metrics: no key, but the Host check and GET only
        assert curl(base + "/healthz") == (200, '{"status": "ok"}')
        assert curl(base + "/healthz", host="evil.example")[0] == 421
        assert curl(base + "/metrics", host=f"evil.example:{port}")[0] == 421
        assert curl(base + "/healthz", method="POST")[0] == 405
        status, text = curl(base + "/metrics")
        assert status == 200
        found = samples(text)
        assert value(found, "chzzk_ingest_requests_total", route="/chat/bulk", method="POST", status="200") == 1
        assert value(found, "chzzk_ingest_requests_total", route="/chat/bulk", method="POST", status="403") == 1
        assert value(found, "chzzk_ingest_errors_total", route="/chat/bulk", status="403") == 1
        assert value(found, "chzzk_ingest_errors_total", route="other", status="421") == 2  # refused hosts
        assert value(found, "chzzk_ingest_requests_total", route="/healthz", method="GET", status="200") == 1
        assert value(found, "chzzk_ingest_items_total", result="saved") == 1
        assert value(found, "chzzk_ingest_errors_total", route="other", status="400") == 1  # the key in the URL
        assert value(found, "chzzk_ingest_request_duration_seconds_count", route="/chat") == 1
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
    logs = out + err
    assert f"ingest API on http://127.0.0.1:{port}" in logs and "1 API key(s) accepted" in logs
    assert "INGEST_API_KEY holds 1 unscoped key(s)" in logs  # the legacy key: every channel, read and write
    assert '"GET /chat?limit=…&api_key=' in logs  # (core/redact's formatter may mask the … further)
    assert "POST /chat/bulk by key 'INGEST_API_KEY': 1 item(s): 1 saved" in logs
    assert KEY not in logs
