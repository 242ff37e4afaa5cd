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
from collector.sim.history import CHAT, DONATION, GIFT, Shape, lines
from collector.sim.history_load import load, prepare
from collector.sim.history_rows import COLUMNS
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
