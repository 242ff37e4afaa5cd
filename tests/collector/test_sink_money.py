"""Money lines in a real PostgreSQL: a mission's stored lines take the latest status its
copies and progress events say (order-independent, idempotent), participations in one
millisecond stay two rows, a party donation shown in two chats is one row. Frames are the
golden ones (tests/data/frames)."""
from __future__ import annotations

from pathlib import Path

import pytest

from collector import sink
from collector.protocol import parse_frame

pytestmark = pytest.mark.integration
FRAMES = Path(__file__).resolve().parents[1] / "data" / "frames"
MISSION = "2Mq8VdQkz7rT4bLx9PnW1cYhJ0aEf"


def frame(name: str) -> list[dict]:
    records = parse_frame((FRAMES / f"{name}.json").read_text(encoding="utf-8"))
    return [r for r in records if r["kind"] in ("chat", "event")]


def statuses(pg) -> list[tuple]:
    with pg.cursor() as cur:
        cur.execute("SELECT donation_type, donation_status, pay_amount, updated_at FROM stream_chat"
                    " WHERE mission_id = %s ORDER BY donation_type, pay_amount", (MISSION,))
        return cur.fetchall()


def test_a_later_copy_updates_the_mission_and_a_replay_changes_nothing(pg):
    sink.store(pg, frame("mission_pending_live"))
    assert [r[:3] for r in statuses(pg)] == [("MISSION", "PENDING", 5000)]
    report = sink.store(pg, frame("mission_rejected_recent"))
    assert (report.chat_inserted, report.chat_duplicates, report.money_lines_updated) == (0, 1, 1)
    after = statuses(pg)
    assert [r[:3] for r in after] == [("MISSION", "REJECTED", 5000)]
    # replays of either frame, in any order, change nothing (not even updated_at)
    for name in ("mission_pending_live", "mission_rejected_recent", "mission_pending_live"):
        assert sink.store(pg, frame(name)).money_lines_updated == 0
    assert statuses(pg) == after


def test_status_follows_the_order_of_a_mission_not_of_arrival(pg):
    """The event (COMPLETED) and the participations arrive before the mission's own line
    and its PENDING copy: every line of the mission ends COMPLETED."""
    sink.store(pg, frame("mission_event_completed"))
    sink.store(pg, frame("mission_participations_same_ms"))
    sink.store(pg, frame("mission_pending_live"))
    got = statuses(pg)
    assert [r[:3] for r in got] == [("MISSION", "COMPLETED", 5000),
                                    ("MISSION_PARTICIPATION", "COMPLETED", 3000),
                                    ("MISSION_PARTICIPATION", "COMPLETED", 4000)]
    # a lower status later (a stale PENDING or APPROVED copy) never moves it back
    assert sink.store(pg, frame("mission_participations_same_ms") + frame("mission_pending_live")
                      ).money_lines_updated == 0
    assert statuses(pg) == got


def test_party_copies_are_one_row_of_the_receiving_channel(pg):
    report = sink.store(pg, frame("party_donation_live") + frame("party_donation_other_chat")
                        + frame("party_donation_info"))
    assert (report.chat_inserted, report.chat_duplicates, report.events) == (1, 1, 1)
    with pg.cursor() as cur:
        cur.execute("SELECT ch.channel_id, c.pay_amount FROM stream_chat c"
                    " JOIN stream_channel ch ON ch.id = c.channel_fk WHERE c.donation_type = 'PARTY'")
        assert cur.fetchall() == [("17f0cfcba4ff608de5eabb5110d134d0", 2000)]


def _gift_rows(pg) -> list[tuple]:
    with pg.cursor() as cur:
        cur.execute("SELECT gift_receiver_id, gift_quantity FROM stream_chat WHERE gift_id = %s"
                    " ORDER BY gift_receiver_id NULLS FIRST", ("46gXAa6MzXQiZhNvqsPHcdHRpzmuo",))
        return cur.fetchall()


def _with_channel(records: list[dict]) -> list[dict]:
    for r in records:
        r["channel_id"] = r.get("channel_id") or "80b36a0ae8e887e893ce0014dbfece4a"
    return records


def test_every_line_of_a_gift_gets_its_quantity_from_the_sender_line(pg):
    sink.store(pg, _with_channel(frame("gift_lines_same_ms")))
    assert [n for _, n in _gift_rows(pg)] == [None, None]
    sink.store(pg, _with_channel(frame("subscription_gift_sender")))  # quantity 3, arriving later
    assert _gift_rows(pg) == [(None, 3), ("6e4a492e6e057f8dc4ce3144fbc84649", 3),
                              ("7f5b5a3f7f168f9ed5df4255acd95750", 3)]


def test_a_recorded_gift_event_gives_its_quantity_to_lines_stored_after_it(pg):
    """The recorded SUBSCRIPTION_GIFT event (quantity 2) comes before its receiver lines;
    replaying both changes nothing."""
    assert sink.store(pg, _with_channel(frame("subscription_gift_event"))).events == 1
    report = sink.store(pg, _with_channel(frame("gift_lines_same_ms")))
    assert report.chat_inserted == 2 and [n for _, n in _gift_rows(pg)] == [2, 2]
    again = sink.store(pg, _with_channel(frame("subscription_gift_event") + frame("gift_lines_same_ms")))
    assert again.money_lines_updated == 0


def test_the_simulators_money_lines_settle_as_its_events_say(pg, monkeypatch):
    """The simulator's missions, parties and gifts (donations made frequent), framed as the
    server sends them, parsed and stored: each mission's lines end in the status of its last
    event, and gift lines carry their gift's quantity."""
    import collections
    import json

    from collector.sim import generator as gen

    monkeypatch.setattr(gen, "P_DONATION", 0.2)
    monkeypatch.setattr(gen, "P_MISSION", 0.5)
    monkeypatch.setattr(gen, "P_GIFT", 0.02)
    channel = gen.make_channels(1, seed=5)[0]
    stream = gen.ChatStream(channel, seed=5)
    records, last_status, quantity = [], {}, {}
    for n in range(20):
        items = stream.next_items(1_790_782_400_000 + n * 1000, 40, 900)
        records += parse_frame({"cmd": 93102, "cid": stream.cid, "bdy": items})
        for cmd, body in stream.pop_side_frames():
            records += parse_frame({"cmd": cmd, "cid": stream.cid, "bdy": body})
            if body.get("type") == gen.MISSION_EVENT:
                last_status[body["missionDonationId"]] = body["status"]
            if body.get("type") == "SUBSCRIPTION_GIFT":
                quantity[body["giftId"]] = body["quantity"]
    for r in records:
        r["channel_id"] = r.get("channel_id") or channel.channel_id
    kinds = collections.Counter(json.loads(r["raw"]["extras"]).get("donationType") for r in records
                                if r["kind"] == "chat" and r["message_type"] == "donation")
    assert kinds["MISSION"] >= 5 and kinds["MISSION_PARTICIPATION"] >= 1 and kinds["PARTY"] >= 1, kinds
    assert {"PENDING", "COMPLETED"} <= set(last_status.values()), last_status
    sink.store(pg, records)
    with pg.cursor() as cur:
        cur.execute("SELECT mission_id, donation_status FROM stream_chat WHERE mission_id IS NOT NULL")
        stored = cur.fetchall()
        cur.execute("SELECT gift_id, gift_quantity FROM stream_chat WHERE gift_id IS NOT NULL")
        gifts = cur.fetchall()
    assert stored and all(status == last_status[m] for m, status in stored)
    assert gifts and all(n == quantity[g] for g, n in gifts)


def test_a_later_status_reaches_the_lake_and_the_totals_at_the_next_sync(pg, tmp_path):
    """PENDING when first synced (listed apart, not counted); the COMPLETED event stored
    later moves the row on, the next sync rewrites its day, and the totals count it."""
    import warehouse
    from warehouse.sync.export import sync

    sink.store(pg, frame("mission_pending_live"))
    sync(pg, str(tmp_path))
    wh = warehouse.open(str(tmp_path))
    assert warehouse.donations(wh).is_empty()
    assert warehouse.pending_missions(wh)["mission_id"].to_list() == [MISSION]
    sink.store(pg, frame("mission_event_completed"))
    sync(pg, str(tmp_path))
    wh = warehouse.open(str(tmp_path))
    assert warehouse.pending_missions(wh).is_empty()
    assert warehouse.donations(wh)["amount"].to_list() == [5000]


def test_the_database_ranks_mission_statuses_as_the_parser_documents(pg):
    from collector.items import MISSION_STATUS_RANK

    names = [*MISSION_STATUS_RANK, "SOMETHING_NEW", None]
    with pg.cursor() as cur:
        cur.execute("SELECT s, mission_status_rank(s) FROM unnest(%s::text[]) AS s", (names,))
        assert dict(cur.fetchall()) == {**MISSION_STATUS_RANK, "SOMETHING_NEW": 0, None: 0}
