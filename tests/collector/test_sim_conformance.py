"""Conformance: chzzkpy 2.2.0 (PyPI; a public CHZZK client nobody here wrote) drives the
simulator over loopback, its base URLs (HTTP API, comm-api, websocket server pick) being
the only thing changed. Steps (issue 16): (a) channel info, live status and live detail of
every simulated channel (and chzzkpy's channel/live search and auto-complete); (b) the chat
access token (chzzkpy's GET carries a JSON body); (c) websocket connect and CONNECTED;
(d) every line the --truth file says was sent arrives as chzzkpy's typed event with equal
fields; (e) recent chat (15101) with its pinned notice; (f) 60+ s of ping/pong without a
reconnect.

The driver, with chzzkpy's bugs it works around (each naming the library line), is
tests/chzzkpy_driver.py. One simulator and one run of it serve the whole module: (a), (b),
then one 62-second chat session, drained before it closes (no line in flight is lost), in a background thread that tests/conftest.py starts as
soon as this module's tests are collected, so the minute of ping/pong overlaps the tests
that run before these (started by the fixture when run alone). Each test asserts on what
the run observed."""
import base64
import collections
import datetime
import json
import logging
import re

import pytest
from chzzkpy.unofficial.channel import PartialChannel

from tests.chzzkpy_driver import PING_ROUNDS, conformance_run, event_key, truth_items, truth_key

pytestmark = pytest.mark.e2e
log = logging.getLogger(__name__)

B64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")


@pytest.fixture(scope="module")
def conformance(request):
    """The conformance run (tests/chzzkpy_driver.py): started early by tests/conftest.py, or now."""
    running = conformance_run(request.config)
    yield running
    running.close()


@pytest.fixture(scope="module")
def sim(conformance):
    return conformance.sim


@pytest.fixture(scope="module")
def session(conformance):
    return conformance.step("session")


def _kst(ms: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone(datetime.timedelta(hours=9))) \
        .replace(tzinfo=None, microsecond=0)


def test_a_channel_live_status_and_live_detail_of_every_channel(sim, conformance):
    found, unknown, (channels, lives, names) = conformance.step("a")
    assert unknown is None  # an unknown channel: content null
    assert [c.id for c in channels] == [sim.channels[0].channel_id]
    assert [(v.channel_id, v.channel.name) for v in lives] == [(sim.channels[0].channel_id, sim.channels[0].channel_name)]
    assert sim.channels[0].channel_name in names
    live, adult, offline = (lv for lv in sim._lives)
    for ch, info, status, detail in found:
        lv = sim._by_channel[ch.channel_id]
        channel = info.content
        assert (channel.id, channel.name, channel.open_live) == (ch.channel_id, ch.channel_name, lv.status == "OPEN")
        # chzzkpy bug: unofficial/channel.py:45 ``follower: int = Field("followerCount")`` gives
        # the field a default value instead of an alias, so the count lands in the extras
        assert channel.model_extra["followerCount"] == ch.follower_count
        assert (status.status, status.live_title, status.live_category_value) == (lv.status, ch.live_title, ch.category[2])
        assert status.chat_channel_id == (None if lv.adult else lv.cid)
        assert status.live_polling_status.status == "STARTED" and status.user_adult_status == "NOT_LOGIN_USER"
        d = detail.content
        assert (d.status, d.live_title, d.chat_channel_id, d.adult) == (lv.status, ch.live_title, status.chat_channel_id,
                                                                       lv.adult)
        assert d.live_id > 0 and d.tags and d.open_date == _kst(lv.open_ms)
        assert d.concurrent_user_count == status.concurrent_user_count
        assert PartialChannel.model_validate(d.model_extra["channel"]).id == ch.channel_id
        playback = d.model_extra["livePlaybackJson"]
        if lv.status == "OPEN":
            assert d.close_date is None and d.live_image_url.endswith("image_{type}.jpg")
            if lv.adult:  # no playback without an adult-verified login
                assert playback is None
            else:
                assert json.loads(playback)["live"]["status"] == "STARTED"
        else:
            assert d.close_date == _kst(lv.close_ms) and d.live_image_url is None
            assert json.loads(playback)["live"]["status"] == "ENDED"
    assert [lv.status for lv in (live, adult, offline)] == ["OPEN", "OPEN", "CLOSE"] and adult.adult


def test_b_chat_access_token_from_a_get_with_a_json_body(conformance):
    answer = conformance.step("b")  # chzzkpy's own GET ...?channelId= with body {"chatType": "STREAMING"}
    assert B64.match(answer.access_token) and len(answer.access_token) == 64
    assert B64.match(answer.extra_token) and len(base64.b64decode(answer.extra_token)) > 0
    assert answer.temporary_restrict.temporary_restrict is False and answer.real_name_auth is False


def test_c_websocket_connect_and_connected(session):
    assert session.connected_at is not None and len(session.events["connect"]) == 1
    assert session.events["client_error"] == [] and session.events["error"] == []


def _kind_fields(item: dict) -> dict:
    """What chzzkpy's typed event must carry for this truth item (live key names)."""
    extras = json.loads(item["extras"]) if item["extras"] else {}
    code = item["msgTypeCode"]
    fields = {"user_id": item["uid"], "content": item["msg"], "type": code, "time": item["msgTime"],
              "created_time": item["ctime"]}
    if code == 1:
        fields |= {"extras.os_type": extras["osType"], "extras.streaming_channel_id": extras["streamingChannelId"]}
    elif code == 10:
        fields |= {"extras.pay_amount": extras["payAmount"], "extras.donation_type": extras["donationType"],
                   "extras.is_anonymous": extras["isAnonymous"]}
    elif code == 11:
        fields |= {"extras.month": extras["month"], "extras.tier_no": extras["tierNo"],
                   "extras.tier_name": extras["tierName"]}
    elif code == 12:
        fields |= {"extras.gift_id": extras["giftId"], "extras.receiver_user_id": extras["receiverUserIdHash"],
                   "extras.receiver_user": extras["receiverNickname"], "extras.gift_tier_no": extras["giftTierNo"]}
    elif code == 30:
        fields |= {"extras.description": extras["description"]}
    if item["profile"] and item["profile"] != "{}":
        fields["profile.nickname"] = json.loads(item["profile"])["nickname"]
    return fields


def _event_fields(event, wanted: dict) -> dict:
    out = {}
    for name in wanted:
        value = event
        for part in name.split("."):
            value = getattr(value, part)
        if isinstance(value, datetime.datetime):
            value = round(value.timestamp() * 1000)
        elif hasattr(value, "value"):
            value = value.value
        out[name] = value
    return out


def test_d_every_line_the_truth_file_records_arrives_typed_with_equal_fields(sim, session):
    cid = sim._by_channel[session.channel.channel_id].cid
    truth = truth_items(sim, cid)
    events = session.chat_events()
    seen: dict[tuple, list] = {}
    for e in events:
        seen.setdefault(event_key(e), []).append(e)
    kinds = {i["msgTypeCode"] for i in truth}
    donation_kinds = collections.Counter(json.loads(i["extras"])["donationType"] for i in truth
                                         if i["msgTypeCode"] == 10)
    # every kind the step names was aired to this socket (if the generator changes, pick a SEED again)
    assert {1, 10, 11, 12} <= kinds and {"CHAT", "MISSION", "MISSION_PARTICIPATION", "PARTY"} <= set(donation_kinds), \
        (kinds, donation_kinds)
    assert len(truth) > 2500
    missing, differ = [], []
    for item in truth:
        key = truth_key(item)
        if key not in seen:
            missing.append(item)
            continue
        wanted = _kind_fields(item)
        for e in seen[key]:
            got = _event_fields(e, wanted)
            if got != wanted:
                differ.append((wanted, got))
    log.info("conformance: %d truth lines (%s; donations %s), %d chzzkpy events",
             len(truth), dict(collections.Counter(i["msgTypeCode"] for i in truth)), dict(donation_kinds),
             len(events))
    assert missing == [], f"{len(missing)} of {len(truth)} lines never arrived as events: {missing[:2]}"
    assert differ == [], differ[:2]
    assert len(seen) == len({truth_key(i) for i in truth}), "chzzkpy saw lines the truth file does not hold"


def test_e_recent_chat_parses_with_its_pinned_notice(sim, session):
    assert len(session.events["recent_chat"]) == 1
    recent = session.events["recent_chat"][0]
    lv = sim._by_channel[session.channel.channel_id]
    assert 0 < len(recent.message_list) <= 50
    assert isinstance(recent.user_count, int) and recent.user_count > 0
    notice = recent.notice
    assert notice is not None and notice.content == session.channel.notice
    assert notice.extras.register_profile.nickname == notice.profile.nickname
    assert notice.user_id == lv.channel.managers[0].user_id


def test_f_sixty_seconds_of_ping_pong_without_reconnect(sim, session):
    assert session.ended_at - session.connected_at >= 60
    # chzzkpy dispatches "disconnect" once more when the driver closes it at the end
    # (chat/gateway.py:116-119 takes a close code still None for "not 1000" and raises
    # ReconnectWebsocket; chat_client.py:260 dispatches it): only earlier ones count
    early = [t - session.connected_at for t in session.times["disconnect"] if t < session.ended_at]
    assert early == [] and len(session.events["connect"]) == 1
    health = sim.health()
    assert health["joins"] == 1, "chzzkpy reconnected"
    assert health["pongs"] >= PING_ROUNDS, health  # every server PING answered
