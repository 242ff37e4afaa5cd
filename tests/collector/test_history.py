"""collector.sim.history: the realistic history the bench and the demo are made of has the
shape it claims (Zipf channel volume, Zipf chatters, overlapping audiences, subscribers,
donations, blinds, renames; the same for the same seed), and its rows are what the
collector stores (the parser reading each line's raw gives the row's columns; COPY into
stream_chat keeps them, raw readable back through its dictionary)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from collector.items import chat_record
from collector.sim import history_sessions
from collector.sim.history import CHAT, DONATION, GIFT, Shape, lines
from collector.sim.history_load import load, prepare
from collector.sim.history_rows import COLUMNS, World
from core import raw_codec

SHAPE = Shape(rows=60_000, channels=120, days=14, seed=5)


@pytest.fixture(scope="module")
def history():
    return lines(SHAPE)


@pytest.mark.unit
def test_distributions(history):
    h = history
    n = len(h.time_ms)
    assert n == SHAPE.rows and np.all(np.diff(h.time_ms) >= 0)
    volume = np.bincount(h.channel, minlength=SHAPE.channels) / n
    assert 0.15 < volume.max() < 0.25                      # the biggest ~20 %
    assert np.median(volume) < 0.01 and volume.min() > 0  # a long tail, every channel speaks
    chatters = h.lines_per_chatter[:h.n_chatters]
    assert h.n_chatters == int(SHAPE.rows * 0.12)
    assert 0.85 < (chatters <= 5).mean() < 0.95 and np.median(chatters) <= 2
    assert chatters.max() > 500 and (chatters >= 100).sum() > 20        # a few heavy chatters
    per_user = {}
    for u, c in zip(h.user.tolist(), h.channel.tolist(), strict=True):
        per_user.setdefault(u, set()).add(c)
    several = sum(len(s) > 1 for s in per_user.values())
    assert several > 0.05 * len(per_user)                  # audiences overlap
    subscribers = h.sub_tier[:h.n_chatters] > 0
    assert 0.22 < subscribers.mean() < 0.28 and set(np.unique(h.sub_tier[:h.n_chatters][subscribers])) == {1, 2}
    donations = h.kind == DONATION
    assert 0.003 < donations.mean() < 0.007 and h.anonymous[donations].mean() > 0.5
    assert (h.status[h.kind == CHAT] > 0).sum() > 50     # blinds
    assert h.renamed.any() and (h.kind == GIFT).sum() > 3
    assert len(np.unique(h.b_channel)) == SHAPE.channels and len(h.b_channel) > SHAPE.channels * 3


@pytest.mark.unit
def test_same_seed_same_history(history):
    again = lines(SHAPE)
    for name in ("time_ms", "channel", "user", "kind", "status", "draw"):
        assert np.array_equal(getattr(history, name), getattr(again, name)), name
    other = lines(Shape(rows=60_000, channels=120, days=14, seed=6))
    assert not np.array_equal(history.user, other.user)


@pytest.mark.unit
def test_rows_are_what_the_parser_makes():
    """Every column the parser derives from raw equals the row's (BLIND comes later, by a
    94008, so the raw still says NORMAL; gift quantities are settled by the sink)."""
    h, renderer = prepare(Shape(rows=8_000, channels=12, days=7, seed=9))
    heads, raws, badges = renderer.render(np.arange(len(h.time_ms)))
    kinds, texts = set(), set()
    for head, raw, badge in zip(heads, raws, badges, strict=True):
        row = dict(zip(COLUMNS, head.split("\t")[:-1], strict=False))
        rec = chat_record(json.loads(raw))
        kinds.add(row["message_type"])
        texts.add(row["message"])
        for col, value in row.items():
            if col in ("channel_fk", "created_at", "dedupe_key", "blinded_at", "gift_quantity") or value == "BLIND":
                continue
            got = rec[col]
            got = "\\N" if got is None else "t" if got is True else "f" if got is False else str(got)
            if col == "chat_time":
                got, value = got.rstrip("Z"), value.rstrip("Z")
            assert got == value, (col, value, got, raw)
        assert (rec["badges"] is None) == (badge is None) and (badge is None or json.loads(badge) == rec["badges"])
    assert {"chat", "donation", "subscription", "system"} <= kinds <= {"chat", "donation", "subscription",
                                                                       "subscription_gift", "system"}
    assert any("{:" in t for t in texts) and len(texts) > 2000   # emoji codes; mostly distinct text


def test_load_into_postgres(pg):
    info = load(pg, Shape(rows=3_000, channels=5, days=5, seed=2), workers=1)
    with pg.cursor() as cur:
        cur.execute("SELECT count(*), count(DISTINCT channel_fk), count(DISTINCT chat_channel_id),"
                    " count(*) FILTER (WHERE raw_z IS NULL OR raw IS NOT NULL) FROM stream_chat")
        rows, channels, broadcasts, not_compact = cur.fetchone()
        cur.execute("SELECT raw_z, zdict, message FROM stream_chat ORDER BY id LIMIT 1")
        raw_z, zdict, message = cur.fetchone()
        dictionaries = raw_codec.load_dictionaries(pg)
    assert rows == info["rows"] == 3_000 and channels == 5 and broadcasts == info["broadcasts"]
    assert not_compact == 0
    assert json.loads(raw_codec.decompress(bytes(raw_z), dictionaries[zdict]))["msg"] == message


# scripts/demo.py's shape (make demo) at a tenth of its lines
DEMO = Shape(rows=30_000, channels=12, days=14, seed=7, top_share=0.35)


@pytest.fixture(scope="module")
def demo():
    return lines(DEMO)


def _day(h) -> np.ndarray:
    return (h.time_ms // 1000 + 9 * 3600) // 86_400  # the KST day of each line


@pytest.mark.unit
def test_demo_chatters_are_active_in_several_channels(demo):
    """Overlap and cross-channel search have something to show: chatters in 2+ channels,
    and each of the three biggest channels shares chatters with another."""
    h = demo
    chatter = h.user < h.n_chatters
    pairs = np.unique(np.stack([h.user[chatter], h.channel[chatter]]), axis=1)
    users, per_user = np.unique(pairs[0], return_counts=True)
    assert (per_user > 1).mean() > 0.1
    several = set(users[per_user > 1].tolist())
    for c in np.argsort(-h.channel_volume)[:3]:
        assert several & set(pairs[0][pairs[1] == c].tolist()), c


@pytest.mark.unit
def test_demo_donors_are_named_and_anonymous(demo):
    """The donor ranking has named donors (some giving more than once) beside anonymous ones."""
    h = demo
    donation = h.kind == DONATION
    big = int(np.argmax(h.channel_volume))
    named = donation & ~h.anonymous & (h.channel == big)
    donors, gifts = np.unique(h.user[named], return_counts=True)
    assert len(donors) >= 5 and gifts.max() >= 2
    assert (donation & h.anonymous & (h.channel == big)).sum() > 0
    assert (donation & ~h.anonymous).sum() > 0.2 * donation.sum()


@pytest.mark.unit
def test_demo_subscriber_shares_differ_by_channel_and_day(demo):
    h = demo
    lines_per = np.bincount(h.channel, minlength=DEMO.channels)
    share = np.bincount(h.channel, weights=h.subscribed, minlength=DEMO.channels) / np.maximum(lines_per, 1)
    busy = lines_per >= 500
    assert busy.sum() >= 5 and share[busy].max() - share[busy].min() > 0.1
    big = h.channel == int(np.argmax(h.channel_volume))
    days = [h.subscribed[big & (_day(h) == d)].mean() for d in np.unique(_day(h)[big])
            if (big & (_day(h) == d)).sum() >= 300]
    assert len(days) >= 5 and max(days) - min(days) > 0.02
    # a subscriber who subscribes during the history shows no badge before it
    new = (h.sub_tier > 0) & (h.sub_month == 1)
    assert any(not h.subscribed[(h.user == u) & (h.channel == h.home[u])].all()
               for u in np.flatnonzero(new)[:200])


@pytest.mark.unit
def test_demo_broadcasts_have_titles_categories_and_viewers(demo):
    """history_sessions.rows: every broadcast a title of its category and a category, titles
    changing in some broadcasts, viewer counts in every poll, bigger channels more viewers."""
    h = demo
    w = World.make(h)
    made = history_sessions.rows(h, w, {cid: i + 1 for i, cid in enumerate(w.channel_ids)}, DEMO.seed)
    sessions, polls = made["live_session"], made["live_session_poll"]
    assert len(sessions) == len(h.b_channel)
    known = {title for pool in history_sessions.TITLES.values() for title in pool}
    titles = [s[5] for s in sessions]
    assert set(titles) <= known and len(set(titles)) > 10
    assert all(s[8] for s in sessions) and len({s[8] for s in sessions}) > 5           # categories
    per_session = {}
    for sid, _, _, title, category, viewers in polls:
        per_session.setdefault(sid, []).append((title, category, viewers))
    assert all(v > 0 for rows in per_session.values() for *_, v in rows)
    assert sum(len({t for t, _, _ in rows}) > 1 for rows in per_session.values()) > 5  # title changes
    assert sum(len({c for _, c, _ in rows}) > 1 for rows in per_session.values()) > 5  # category changes
    big, small = np.argmax(h.channel_volume), np.argmin(h.channel_volume)
    assert np.median(h.b_viewers[h.b_channel == big]) > 5 * np.median(h.b_viewers[h.b_channel == small])
    assert history_sessions.rows(h, w, {cid: i + 1 for i, cid in enumerate(w.channel_ids)}, DEMO.seed) == made
