"""The questions each accelerator answers (warehouse.read.accelerators.ACCELERATORS), asked
of one warehouse over a test lake, for the equivalence test (tests/warehouse/test_accelerators.py:
a warehouse that may use the accelerator and one that scans give equal frames) and the
per-accelerator tests.

``QUESTIONS[acc](wh, facts, few)``: [(label, frame)] in a fixed order; `facts` as the lake
fixtures return them (rows with day, user_id, nickname, channel_id; channel_ids; days);
`few`: 0 for every filter, else only the first `few` filters and fewer users and terms
(the variants beside the plain lake).
"""
from __future__ import annotations

import shutil
from datetime import date

import polars as pl
import pyarrow as pa

import warehouse
from tests.lakefixture import build_accelerators
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT
from warehouse.read.accelerators import (
    BROADCAST_MINUTES,
    BROADCAST_SPANS,
    CHATTER_DAYS,
    EMOTES,
    MONEY,
    ROLLUPS,
    USER_TAIL,
    USERS,
    WORDS,
    rollups,
)

USER_PAGES = [(1000, 0), (2, 1), (3, 2), (0, 0), (1, 50)]


def filters(facts: dict, few: int = 0) -> list[dict]:
    """Channel and day filters over the lake: all, some, none, unknown, reversed, empty."""
    days = sorted({r["day"] for r in facts["rows"]})
    cids = sorted(facts["channel_ids"])
    out = [{}, {"channels": cids[:1]}, {"start": days[1]},
           {"channels": cids[1:]}, {"channels": [*cids[::-1], cids[0]]}, {"end": days[len(days) // 2]},
           {"channels": [cids[-1]], "start": days[0], "end": days[-2]},
           {"channels": []}, {"channels": ["0" * 32]}, {"start": days[-1], "end": days[0]},
           {"start": date(2001, 1, 1), "end": date(2001, 1, 2)}, {"start": days[1], "end": days[1]}]
    return out[:few] if few else out


def users(facts: dict, most: int = 16) -> list[str]:
    """Up to `most` of the lake's users, spread over the sorted list, and ones it lacks or
    that are not chatters."""
    ids = sorted({r["user_id"] for r in facts["rows"] if r["user_id"]})
    return ids[::-(-len(ids) // most)] + ["anonymous", "nobody"]  # a step of ceil(n / most): at most `most`


def search_terms(facts: dict) -> list[str]:
    """Nicknames, their first letters, user ids and LIKE/quote metacharacters."""
    nicks = sorted({r["nickname"] for r in facts["rows"] if r["nickname"]})
    ids = sorted({r["user_id"] for r in facts["rows"] if r["user_id"]})
    pieces = ["김", "%", "_", "'", "\\", "mixed", "LEE", "왕", "  ", "", "nobody", "anonymous",
              "SYSTEM_MESSAGE"]
    return nicks[::max(1, len(nicks) // 8)] + sorted({n[:1] for n in nicks})[:6] + ids[:3] + pieces


def _users_answers(wh, facts, few):
    out = []
    terms = search_terms(facts)
    for term in terms[::4] if few else terms:
        for filt in filters(facts, few)[:8]:
            for limit in ((100, 2) if not filt else (100,)):
                out.append((("search_users", term, filt, limit), warehouse.search_users(wh, term, limit=limit, **filt)))
    for user in users(facts, 4 if few else 8):
        n = sum(1 for r in facts["rows"] if r["user_id"] == user)
        for filt in filters(facts, few)[:4]:
            for limit, offset in [(1000, 0), (1, 0), (3, n // 2), (5, max(0, n - 2)), (10, n + 5), (0, 0)]:
                # most reach past a short user tail's lines: the users side table answers them
                out.append((("user_messages", user, filt, limit, offset),
                            warehouse.user_messages(wh, user, limit=limit, offset=offset, **filt)))
            for fn in (warehouse.user_profile, warehouse.name_history, warehouse.user_channels):
                out.append(((fn.__name__, user, filt), fn(wh, user, **filt)))
    for filt in filters(facts, few):  # days, weeks and months too: the chatter days may not answer
        for every in ("hour", "day", "week", "month"):
            out.append((("new_vs_returning", every, filt), warehouse.new_vs_returning(wh, every=every, **filt)))
    return out


def _rollups_answers(wh, facts, few):
    out = []
    for fn in (warehouse.activity, warehouse.subscriber_ratio):
        for every in rollups.GRAINS:
            for filt in filters(facts, few):
                out.append(((fn.__name__, every, filt), fn(wh, every=every, **filt)))
    for filt in filters(facts, few):
        out.append((("channel_summary", filt), warehouse.channel_summary(wh, **filt)))
    # minutes are not rolled up: the scan answers, the same for both
    out.append((("activity", "minute"), warehouse.activity(wh, every="minute")))
    out.append((("channel_directory",), warehouse.channel_directory(wh)))
    return out


def _spans_answers(wh, facts, few):
    out = []
    last = max(r["day"] for r in facts["rows"])
    for filt in filters(facts, few)[:3] + ([] if few else [{"channels": [sorted(facts["channel_ids"])[-1]],
                                                            "start": last}, {"channels": []}]):
        out += [(("peaks", filt), warehouse.peaks(wh, **filt)),
                (("peaks", "surge", filt), warehouse.peaks(wh, by="surge", window_minutes=5, **filt)),
                (("coverage", filt), warehouse.coverage(wh, **filt)),
                (("broadcast_list", filt), warehouse.broadcast_list(wh, **filt)),
                (("broadcast_retention", filt), warehouse.broadcast_retention(wh, **filt)),
                (("donations_over_broadcast", filt), warehouse.donations_over_broadcast(wh, minutes=10, **filt))]
    listed = warehouse.coverage(wh).sort("channel_id", "broadcast").head(3)
    for ch, b in listed.select("channel_id", "broadcast").iter_rows():
        out.append((("broadcast_peaks", ch, b), warehouse.broadcast_peaks(wh, ch, b, by="surge")))
    return out


def _minutes_answers(wh, facts, few):
    out = []
    for filt in filters(facts, few):
        for by, width, limit in (("volume", 1, 10), ("surge", 1, 10), ("volume", 5, 3), ("surge", 7, 1000),
                                 ("volume", 60, 0))[:2 if few else 5]:
            out.append((("peaks", by, width, limit, filt), warehouse.peaks(wh, by=by, window_minutes=width,
                                                                          limit=limit, **filt)))
        out += [(("coverage", filt), warehouse.coverage(wh, **filt)),
                (("broadcast_list", filt), warehouse.broadcast_list(wh, **filt))]
    listed = warehouse.coverage(wh).sort("channel_id", "broadcast")
    picked = listed if not few else listed.head(few)
    for ch, b in [*picked.select("channel_id", "broadcast").iter_rows(), (facts["channel_ids"][0], "nope")]:
        for width in (1, 5, 10, 3):
            out.append((("broadcast_activity", ch, b, width), warehouse.broadcast_activity(wh, ch, b, width)))
        for by, width in (("volume", 1), ("surge", 5), ("volume", 7)):
            out.append((("broadcast_peaks", ch, b, by, width),
                        warehouse.broadcast_peaks(wh, ch, b, by=by, window_minutes=width, limit=5)))
    return out


def _chatter_days_answers(wh, facts, few):
    out = []
    for filt in filters(facts, few):
        out.append((("tier_split", filt), warehouse.tier_split(wh, **filt)))
        for every in ("day", "week", "month", "hour"):
            out.append((("new_vs_returning", every, filt), warehouse.new_vs_returning(wh, every=every, **filt)))
    for i, filt in enumerate(filters(facts, few)):  # the arguments taken in turn: fewer scans, each case seen
        every = ("day", "week", "month")[i % 3]
        for fn, kw in ((warehouse.top_chatters, {"limit": (20, 3)[i % 2]}), (warehouse.top_share, {"n": (10, 2)[i % 2]}),
                       (warehouse.audience_overlap, {}), (warehouse.heatmap, {}), (warehouse.subscriber_change, {}),
                       (warehouse.audience_overlap_trend, {"every": every}),
                       (warehouse.broadcast_retention, {}), (warehouse.chatter_cohorts, {"every": every}),
                       (warehouse.subscriber_tenure, {"every": ("month", "day", "week")[i % 3]})):
            out.append(((fn.__name__, kw, filt), fn(wh, **kw, **filt)))
    listed = warehouse.coverage(wh).sort("channel_id", "broadcast")
    for ch, b in [*listed.select("channel_id", "broadcast").head(2 if few else 8).iter_rows(), ("0" * 32, "none"),
                  (facts["channel_ids"][0], "none")]:
        for limit in (2, 20):
            out.append((("broadcast_top_chatters", ch, b, limit), warehouse.broadcast_top_chatters(wh, ch, b, limit)))
    return out


def _user_tail_answers(wh, facts, few):
    out = []
    for user in users(facts, 6 if few else 16):
        for filt in filters(facts, few):
            for limit, offset in USER_PAGES:
                out.append((("user_messages", user, filt, limit, offset),
                            warehouse.user_messages(wh, user, limit=limit, offset=offset, **filt)))
            for fn in (warehouse.user_profile, warehouse.name_history, warehouse.user_channels):
                out.append(((fn.__name__, user, filt), fn(wh, user, **filt)))
    return out


def _money_answers(wh, facts, few):
    out = []
    for filt in filters(facts, few):
        for every in ("hour", "day", "week", "month"):
            out.append((("donations", every, filt), warehouse.donations(wh, every=every, **filt)))
        for limit in (1, 20):
            out.append((("donation_ranking", limit, filt), warehouse.donation_ranking(wh, limit=limit, **filt)))
        out += [(("donation_distribution", filt), warehouse.donation_distribution(wh, **filt)),
                (("donations_over_broadcast", filt), warehouse.donations_over_broadcast(wh, minutes=7, **filt)),
                (("gifted_subscriptions", filt), warehouse.gifted_subscriptions(wh, **filt)),
                (("pending_missions", filt), warehouse.pending_missions(wh, **filt))]
    listed = warehouse.coverage(wh).sort("channel_id", "broadcast")
    for ch, b in [*listed.select("channel_id", "broadcast").head(2 if few else 6).iter_rows(), ("0" * 32, "none")]:
        for limit in (1, 20):
            out.append((("broadcast_donors", ch, b, limit), warehouse.broadcast_donors(wh, ch, b, limit=limit)))
    return out


def _emote_answers(wh, facts, few):
    out = []
    for filt in filters(facts, few):
        out += [(("emote_ranking", filt), warehouse.emote_ranking(wh, **filt)),
                (("emote_summary", filt), warehouse.emote_summary(wh, **filt)),
                (("emote_users", filt), warehouse.emote_users(wh, **filt))]
    listed = warehouse.coverage(wh).sort("channel_id", "broadcast")
    for ch, b in [*listed.select("channel_id", "broadcast").head(2 if few else 4).iter_rows(), ("0" * 32, "none")]:
        out += [(("emote_ranking", ch, b), warehouse.emote_ranking(wh, broadcast=(ch, b))),
                (("emote_trend", ch, b), warehouse.emote_trend(wh, ch, b))]
    return out


def _word_answers(wh, facts, few):
    out = [(("top_words", filt), warehouse.top_words(wh, limit=5, **filt)) for filt in filters(facts, few)]
    listed = warehouse.coverage(wh).sort("channel_id", "broadcast")
    for ch, b in [*listed.select("channel_id", "broadcast").head(2 if few else 4).iter_rows(), ("0" * 32, "none")]:
        out.append((("top_words", ch, b), warehouse.top_words(wh, broadcast=(ch, b), limit=5)))
    return out


QUESTIONS = {USERS: _users_answers, ROLLUPS: _rollups_answers, BROADCAST_SPANS: _spans_answers,
             CHATTER_DAYS: _chatter_days_answers, USER_TAIL: _user_tail_answers, MONEY: _money_answers,
             BROADCAST_MINUTES: _minutes_answers, EMOTES: _emote_answers, WORDS: _word_answers}
# the analyst functions each one asks, to check against the declarations' ``answers``
ASKED = {USERS: ("search_users", "user_messages", "new_vs_returning", "user_profile", "name_history",
                 "user_channels"), ROLLUPS: ("activity", "subscriber_ratio", "channel_summary",
                                             "channel_directory"),
         BROADCAST_SPANS: ("peaks", "coverage", "broadcast_list", "broadcast_retention", "donations_over_broadcast",
                           "broadcast_peaks"),
         CHATTER_DAYS: ("tier_split", "new_vs_returning", "top_chatters", "top_share", "chatter_cohorts",
                        "subscriber_tenure", "subscriber_change", "audience_overlap", "audience_overlap_trend",
                        "heatmap", "broadcast_retention",
                        "broadcast_top_chatters"), USER_TAIL: ("user_messages",),
         MONEY: ("donations", "donation_ranking", "donation_distribution", "donations_over_broadcast",
                 "gifted_subscriptions", "pending_missions", "broadcast_donors"),
         BROADCAST_MINUTES: ("peaks", "coverage", "broadcast_list", "broadcast_activity", "broadcast_peaks"),
         EMOTES: ("emote_ranking", "emote_summary", "emote_users", "emote_trend"), WORDS: ("top_words",)}


def assert_same(acc, fast, scan, facts, few: int = 0) -> int:
    """Ask `acc`'s questions of both warehouses; every frame equal. Returns the rows compared."""
    got, want = QUESTIONS[acc](fast, facts, few), QUESTIONS[acc](scan, facts, few)
    assert len(got) == len(want)
    rows = 0
    for (label, a), (_, b) in zip(got, want, strict=True):
        assert isinstance(a, pl.DataFrame) and a.schema == b.schema and a.equals(b), (acc.name, label, a, b)
        rows += b.height
    return rows


def pair(tmp_path, build, accs, fast: str = "rolled", tz: str | None = "Asia/Seoul"):
    """Two copies of one lake built by `build`: tmp_path/`fast` with the accelerators `accs`
    built (hours and days of `tz`, the fixtures' partition zone), tmp_path/"scan" without
    them; (facts, fast warehouse, scan warehouse), each accelerator asserted answering."""
    facts = build(tmp_path / "scan")
    shutil.copytree(tmp_path / "scan", tmp_path / fast)
    build_accelerators(tmp_path / fast, *accs, tz=tz)
    rolled, scan = warehouse.open(str(tmp_path / fast)), warehouse.open(str(tmp_path / "scan"))
    for acc in accs:
        assert rolled.accelerator(acc) is not None and scan.accelerator(acc) is None, acc.name
    return facts, rolled, scan


def rewrite_day(root, day: date, keep) -> None:
    """Rewrite a chat partition with only the rows `keep(row dict)` says (behind the
    accelerators' back, as a sync or forget-user without their rebuild would)."""
    lake = Lake(str(root))
    old = lake.read(CHAT, day)
    lake.write(CHAT, old.filter(pa.array([keep(r) for r in old.to_pylist()], pa.bool_())), day)
