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
FRAMES = Path(__file__).resolve().parent / "data" / "frames"
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
    assert (report.chat_inserted, report.chat_duplicates, report.mission_lines_updated) == (0, 1, 1)
    after = statuses(pg)
    assert [r[:3] for r in after] == [("MISSION", "REJECTED", 5000)]
    # replays of either frame, in any order, change nothing (not even updated_at)
    for name in ("mission_pending_live", "mission_rejected_recent", "mission_pending_live"):
        assert sink.store(pg, frame(name)).mission_lines_updated == 0
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
                      ).mission_lines_updated == 0
    assert statuses(pg) == got


def test_party_copies_are_one_row_of_the_receiving_channel(pg):
    report = sink.store(pg, frame("party_donation_live") + frame("party_donation_other_chat")
                        + frame("party_donation_info"))
    assert (report.chat_inserted, report.chat_duplicates, report.events) == (1, 1, 1)
    with pg.cursor() as cur:
        cur.execute("SELECT ch.channel_id, c.pay_amount FROM stream_chat c"
                    " JOIN stream_channel ch ON ch.id = c.channel_fk WHERE c.donation_type = 'PARTY'")
        assert cur.fetchall() == [("17f0cfcba4ff608de5eabb5110d134d0", 2000)]


def test_gift_quantity_is_stored(pg):
    records = frame("subscription_gift_sender") + frame("gift_lines_same_ms")
    for r in records:
        r["channel_id"] = r["channel_id"] or "80b36a0ae8e887e893ce0014dbfece4a"
    sink.store(pg, records)
    with pg.cursor() as cur:
        cur.execute("SELECT gift_id, gift_quantity, gift_receiver_id IS NULL FROM stream_chat ORDER BY 3 DESC, 1")
        assert cur.fetchall() == [("46gXAa6MzXQiZhNvqsPHcdHRpzmuo", 3, True),
                                  ("46gXAa6MzXQiZhNvqsPHcdHRpzmuo", None, False),
                                  ("46gXAa6MzXQiZhNvqsPHcdHRpzmuo", None, False)]
