"""The ingest API against hostile input over real HTTP and a real PostgreSQL (issue 15):
cross-site posts and DNS rebinding (only JSON bodies, only allowed Host names), poison
items and parameters (each refused alone with a reason, never a 500), a flood of items
refused before it is parsed, and keys sent in the query string (refused, never logged)."""
from __future__ import annotations

import json
import logging
import socket
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.ingest_items import to_records
from tests.ingest_cases import HOSTILE_ITEMS, every_edge_item
from tests.ingest_helpers import AUTH, KEY, count, item, serve

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
JSON = {"Content-Type": "application/json"}


@pytest.fixture(autouse=True)
def _no_keys_file(tmp_path, monkeypatch):
    monkeypatch.setenv("INGEST_API_KEYS_FILE", str(tmp_path / "no-api-keys.toml"))


@pytest.fixture
def keyless(pg_url):
    """The `make api` default: no key, loopback."""
    with serve(pg_url, keys=()) as base:
        yield base


# ---------------------------------------------------------------- cross-site writes, DNS rebinding
def test_a_web_page_cannot_post_chat_without_a_json_content_type(keyless, pg):
    body = json.dumps([item(0)]).encode()
    page = {"Origin": "https://evil.example"}  # what fetch(..., {mode: "no-cors"}) sends
    for content_type in ("text/plain;charset=UTF-8", None, "application/x-www-form-urlencoded",
                         "multipart/form-data; boundary=x", "application/jsonx", "text/json"):
        headers = {**page, **({"Content-Type": content_type} if content_type else {})}
        for path in ("/chat/bulk", "/chat"):
            r = requests.post(keyless + path, data=body if path == "/chat/bulk" else json.dumps(item(0)),
                              headers=headers, timeout=10)
            assert r.status_code == 415, (content_type, path, r.text)
            assert "Content-Type: application/json" in r.json()["detail"] and "nothing was stored" in r.json()["detail"]
    assert count(pg, "stream_chat") == 0 and count(pg, "dead_letter") == 0
    # the desktop viewer (requests' json=) and other JSON clients
    ok = requests.post(keyless + "/chat/bulk", json=[item(0)], timeout=10)
    assert ok.status_code == 200 and ok.json()["saved"] == 1
    charset = requests.post(keyless + "/chat", data=json.dumps(item(1)).encode(),
                            headers={"Content-Type": "Application/JSON; charset=utf-8"}, timeout=10)
    assert charset.status_code == 200 and charset.json()["saved"] == 1


def _raw_get(base: str, request: bytes) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(request)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
        return answer


def test_only_loopback_addresses_and_configured_names_are_answered(pg_url, pg, monkeypatch):
    monkeypatch.setenv("INGEST_ALLOWED_HOSTS", "chat.example.org, viewer-pc.lan:8000")
    with serve(pg_url, keys=()) as base:
        for host in ("evil.example", "evil.example:8000", "localhost.evil.example", "127.0.0.1.nip.io",
                     "chat.example.org.evil.example"):
            for method, path in (("get", "/chat"), ("get", "/chat/channels"), ("post", "/chat/bulk"),
                                 ("get", "/docs"), ("get", "/openapi.json")):
                r = requests.request(method, base + path, json=[item(0)], headers={"Host": host}, timeout=10)
                assert r.status_code == 421, (host, path, r.status_code)
                assert "INGEST_ALLOWED_HOSTS" in r.json()["detail"] and "DNS rebinding" in r.json()["detail"]
        assert count(pg, "stream_chat") == 0
        for host in ("localhost:8000", "LOCALHOST", "127.0.0.1", "127.0.0.2:80", "[::1]:8000", "192.168.0.10:8000",
                     "chat.example.org", "CHAT.Example.org:443", "viewer-pc.lan"):
            r = requests.get(base + "/chat/channels", headers={"Host": host}, timeout=10)
            assert r.status_code == 200, (host, r.text)
        answer = _raw_get(base, b"GET /chat HTTP/1.0\r\n\r\n")  # no Host at all
        assert answer.startswith(b"HTTP/1.1 400") and b"Host header missing" in answer


# ---------------------------------------------------------------- poison items and parameters
def test_one_poison_item_is_refused_alone_over_http(pg_url, pg):
    with serve(pg_url) as api:
        batch = [item(0), item(1, chat_time="0001-01-01T00:00:00"), item(2, chat_time="9999-12-31T23:59:59-23:59"),
                 item(3)]
        r = requests.post(f"{api}/chat/bulk", json=batch, headers=AUTH, timeout=10)
        assert r.status_code == 200, r.text
        assert (r.json()["saved"], r.json()["refused"]) == (2, 2)
        assert [(e["index"], "out of range" in e["error"]) for e in r.json()["errors"]] == [(1, True), (2, True)]
        one = requests.post(f"{api}/chat", json=item(4, chat_time="0001-01-01T00:00:00"), headers=AUTH, timeout=10)
        assert one.status_code == 422 and "out of range" in one.json()["errors"][0]["error"]
    assert count(pg, "stream_chat") == 2 and count(pg, "dead_letter") == 3


def test_every_edge_value_in_every_field_is_stored_or_refused_alone(pg_url):
    batch = every_edge_item()
    _, refused, _ = to_records(batch, ZoneInfo("Asia/Seoul"), datetime.now(UTC))
    with serve(pg_url) as api:
        r = requests.post(f"{api}/chat/bulk", data=json.dumps(batch).encode(), headers={**AUTH, **JSON}, timeout=30)
        assert r.status_code == 200, r.text[:500]
        answer = r.json()
        assert answer["saved"] + answer["duplicates"] + answer["refused"] == len(batch)
        assert [e["index"] for e in answer["errors"]] == [x.index for x in refused]
        back = requests.get(f"{api}/chat", params={"limit": 1000}, headers=AUTH, timeout=10)
        assert back.status_code == 200 and len(back.json()) == answer["saved"]


def test_random_hostile_batches_are_answered_200_item_by_item(pg_url):
    """Hypothesis mixes the edge values in batches; every batch is answered 200, each item
    stored, a duplicate, or refused as it would be alone."""
    seoul = ZoneInfo("Asia/Seoul")

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(HOSTILE_ITEMS, max_size=8))
    def post(batch):
        r = requests.post(f"{api}/chat/bulk", data=json.dumps(batch).encode(), headers={**AUTH, **JSON}, timeout=30)
        assert r.status_code == 200, r.text[:300]
        answer = r.json()
        assert answer["saved"] + answer["duplicates"] + answer["refused"] == len(batch)
        alone = [i for i, it in enumerate(batch) if to_records([it], seoul, datetime.now(UTC))[1]]
        assert [e["index"] for e in answer["errors"]] == alone

    with serve(pg_url) as api:
        post()


GET_CASES = [  # query string, status, words in the answer
    ("channel_id=%00", 422, "channel_id: NUL"), ("user_id=a%00b", 422, "user_id: NUL"),
    ("start_date=0001-01-01", 422, "start_date: '0001-01-01' is out of range"),
    ("end_date=9999-12-31", 422, "end_date: '9999-12-31' is out of range"),
    ("start_date=9999-12-31T23:59:59-23:59", 422, "out of range"),
    ("end_date=0001-01-01T00:00:00", 422, "out of range"),
    ("start_date=2026-10-01%00", 422, "start_date"), ("user_id=%ED%A0%80", 200, ""), ("channel_id=%FF%FE", 200, ""),
    ("start_date=0001-01-01T00:00:00Z&end_date=9999-12-31T23:59:59Z", 200, ""),
]


def test_get_chat_parameters_never_give_500(pg_url):
    with serve(pg_url) as api:
        for query, status, words in GET_CASES:
            r = requests.get(f"{api}/chat?{query}", headers=AUTH, timeout=10)
            assert r.status_code == status and words in r.text, (query, r.text)


# ---------------------------------------------------------------- floods
def test_a_flood_of_items_is_refused_before_the_body_is_parsed(pg_url, pg):
    flood = b"[" + b"{}," * 1001 + b"this is never read"  # a whole-body parse would call it not JSON
    big = b"[" + b",".join([b"{}"] * (16 * 1024 * 1024 // 3 - 2)) + b"]"  # the filed case: 16 MiB of empty items
    with serve(pg_url) as api:
        r = requests.post(f"{api}/chat/bulk", data=flood, headers={**AUTH, **JSON}, timeout=30)
        assert r.status_code == 413 and "more than 1000 items" in r.json()["detail"], r.text
        r = requests.post(f"{api}/chat/bulk", data=big, headers={**AUTH, **JSON}, timeout=30)
        assert r.status_code == 413 and "more than 1000 items" in r.json()["detail"], r.text
        one = json.dumps(item(0, extra="x" * 1024 * 1024)).encode()  # POST /chat takes one item: 1 MiB at most
        r = requests.post(f"{api}/chat", data=one, headers={**AUTH, **JSON}, timeout=30)
        assert r.status_code == 413 and "larger than 1048576 bytes" in r.json()["detail"], r.text
    assert count(pg, "stream_chat") == 0


# ---------------------------------------------------------------- keys in URLs and error text
def test_keys_in_the_query_string_are_refused_and_never_logged(pg_url, caplog):
    caplog.set_level(logging.INFO)
    with serve(pg_url) as api:
        for query in (f"api_key={KEY}", f"limit=5&key={KEY}", f"token={KEY}", f"Api-Key={KEY}"):
            r = requests.get(f"{api}/chat?{query}", headers=AUTH, timeout=10)
            assert r.status_code == 400 and "not accepted in the query string" in r.json()["detail"], query
            assert KEY not in r.text
        ok = requests.get(f"{api}/chat?user_id=someone&limit=5", headers=AUTH, timeout=10)
        assert ok.status_code == 200
        for headers in ({"Authorization": "Bearer wrong-s3cret-value"}, {"X-API-Key": "wrong-s3cret-value"}):
            r = requests.get(f"{api}/chat?limit=zz", headers=headers, timeout=10)
            assert r.status_code == 403 and "wrong-s3cret-value" not in r.text
    access = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert any("/chat?user_id=…&limit=…" in line for line in access), access
    assert KEY not in caplog.text and "someone" not in "\n".join(access)
