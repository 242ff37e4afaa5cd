"""The emote questions (warehouse/read/queries/emotes.py) equal a plain-Python count of the
fixture's lines (tests/lakefixture_emotes.py), from the emote counts accelerator and from
the scan; hostile URLs are never given as images."""
from __future__ import annotations

import json
import re
from collections import defaultdict

import polars as pl
import pytest

import warehouse
from tests.lakefixture import build_accelerators
from tests.lakefixture_emotes import HOSTILE, build_emote_lake
from warehouse.read.accelerators import EMOTES
from warehouse.read.queries.emotes import image_url

pytestmark = pytest.mark.unit
CODE = re.compile(r"\{:([^{}:]+):\}")


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("emotes")
    facts = build_emote_lake(root)
    build_accelerators(root, EMOTES, tz="Asia/Seoul")
    return str(root), facts


@pytest.fixture(scope="module", params=["accelerated", "scan"])
def wh(request, lake):
    got = warehouse.open(lake[0], tz="Asia/Seoul", accelerate=request.param == "accelerated")
    assert (got.accelerator(EMOTES) is not None) == (request.param == "accelerated")
    return got


def _urls(raw: str) -> dict:
    try:
        extras = json.loads(raw)["extras"]
        emojis = (json.loads(extras) if isinstance(extras, str) else extras)["emojis"]
    except (ValueError, KeyError, TypeError):
        return {}
    return emojis if isinstance(emojis, dict) else {}


def _lines(rows, channels=None, broadcast=None, user=None):
    for r in rows:
        if r["user_id"] == "SYSTEM_MESSAGE" or (channels is not None and r["channel_id"] not in channels):
            continue
        if broadcast is not None and (r["channel_id"], r["chat_channel_id"]) != broadcast:
            continue
        if user is None or r["user_id"] == user:
            codes = CODE.findall(r["message"])
            bare = bool(codes) and re.sub(r"\{:[^{}:]+:\}|[ \t\r\n]", "", r["message"]) == ""
            yield r, codes, bare


def plain_ranking(rows, **scope) -> list[tuple]:
    got: dict = defaultdict(lambda: {"uses": 0, "lines": 0, "users": set(), "only": 0, "urls": []})
    total = 0
    for r, codes, bare in _lines(rows, **scope):
        total += 1
        urls = _urls(r["raw"])
        for e in set(codes):
            g = got[e]
            g["uses"] += codes.count(e)
            g["lines"] += 1
            g["only"] += bare
            if r["user_id"] != "anonymous":
                g["users"].add(r["user_id"])
            if e in urls:
                g["urls"].append(urls[e])
    ranked = sorted(got.items(), key=lambda kv: (-kv[1]["uses"], kv[0]))
    return [(e, max(g["urls"], default=None), g["uses"], g["lines"], g["lines"] / total, len(g["users"]),
             g["only"], i + 1) for i, (e, g) in enumerate(ranked)]


def test_ranking_equals_plain_python(wh, lake):
    _, facts = lake
    rows, a = facts["rows"], facts["A"]
    assert warehouse.emote_ranking(wh).rows() == plain_ranking(rows)
    assert warehouse.emote_ranking(wh, [a]).rows() == plain_ranking(rows, channels=[a])
    assert warehouse.emote_ranking(wh, [a], limit=2).rows() == plain_ranking(rows, channels=[a])[:2]
    for bc in facts["broadcasts"]:
        assert warehouse.emote_ranking(wh, broadcast=bc).rows() == plain_ranking(rows, broadcast=bc)
    assert warehouse.emote_ranking(wh, [a], user_id="u2").rows() == plain_ranking(rows, channels=[a], user="u2")
    # a day filter: the second day alone
    day2 = [r for r in rows if r["day"] == facts["days"][1]]
    assert warehouse.emote_ranking(wh, start=facts["days"][1]).rows() == plain_ranking(day2)
    assert warehouse.emote_ranking(wh, ["0" * 32]).is_empty()
    assert warehouse.emote_ranking(wh, broadcast=(a, "nope")).is_empty()
    with pytest.raises(ValueError, match="not both"):
        warehouse.emote_ranking(wh, broadcast=(a, "NA1"), user_id="u2")
    # a user's summary counts all their lines, those without an emote too
    u3 = list(_lines(rows, channels=[a], user="u3"))
    assert warehouse.emote_summary(wh, [a], user_id="u3").select("lines", "emote_lines").row(0) == \
        (len(u3), sum(bool(c) for _, c, _ in u3))


def test_ranking_facts(wh, lake):
    a = lake[1]["A"]
    top = {r["emote"]: r for r in warehouse.emote_ranking(wh, [a]).to_dicts()}
    assert top["d_47"]["uses"] == 5 and top["d_47"]["emote_only"] == 2  # twice in one line; system line left out
    assert top["d_12"]["url"].endswith("d_12_v2.png")  # the greatest URL of the period
    assert top["nourl"]["url"] is None and top["d_12"]["chatters"] == 2  # the anonymous donor is no chatter


def test_summary_users_and_trend(wh, lake):
    _, facts = lake
    rows, a = facts["rows"], facts["A"]
    lines = list(_lines(rows, channels=[a]))
    want = {"lines": len(lines), "emote_lines": sum(bool(c) for _, c, _ in lines),
            "emote_only": sum(b for _, _, b in lines), "uses": sum(len(c) for _, c, _ in lines),
            "emotes": len({e for _, c, _ in lines for e in c}),
            "chatters": len({r["user_id"] for r, c, _ in lines if c and r["user_id"] != "anonymous"})}
    want["emote_share"] = want["emote_lines"] / want["lines"]
    assert warehouse.emote_summary(wh, [a]).to_dicts() == [want]
    users = warehouse.emote_users(wh, [a])
    u2 = users.filter(pl.col("user_id") == "u2").to_dicts()[0]
    all_uses = sum(len(c) for _, c, _ in lines)
    assert (u2["uses"], u2["emote_lines"], u2["share"], u2["favourite"]) == (2, 1, 2 / all_uses, "d_47")
    assert users["user_id"].to_list()[0] == "u4" and "anonymous" not in users["user_id"].to_list()
    assert users.filter(pl.col("user_id") == "u1")["nickname"].item() == "김치2"  # the latest name
    trend = warehouse.emote_trend(wh, a, "NA1", top=2)
    assert trend.select("offset_minutes", "emote", "uses").rows() == [(0, "d_47", 3), (2, "d_12", 1), (2, "d_47", 1),
                                                                      (4, "d_47", 1), (5, "d_12", 1)]
    assert str(trend.schema["minute"].time_zone) == "Asia/Seoul"


@pytest.mark.parametrize("url", [*HOSTILE.values(), None, 5, "", "https://user@ssl.pstatic.net/x.png",
                                 "https://ssl.pstatic.net:8443/x.png", "https://pstatic.net.evil.com/x.png",
                                 "https://ssl.pstatic.net/x.png\n", "https://ssl.pstatic.net/<x>.png",
                                 "HTTPS://ssl.pstatic.net/x.png\u202e"])
def test_hostile_urls_are_not_images(url):
    assert image_url(url) is None


def test_chzzk_urls_are_images():
    for url in ("https://nng-phinf.pstatic.net/glive/subscription/emoji/abc/1/d_47.png",
                "https://ssl.pstatic.net/static/nng/glive/icon/cheese02.png", "https://chzzk.naver.com/e.gif"):
        assert image_url(url) == url
