"""Accelerators: small files built from the chat partitions that answer some questions
without scanning every day of chat. Each is declared once below (an Accelerator,
warehouse/read/accelerators/base.py): its folder, what it is built from, its incremental
build, its freshness rule, the conditions under which it may answer and the questions it
answers. ACCELERATORS lists them in build order: the sync and forget-user keep every one up
to date through ``rebuild_all``, ``folders`` names what they hold in the lake, and
Warehouse.accelerator (warehouse/read/warehouse.py) is the one place that decides, per
question, whether one may answer (else the chat is scanned).

The shared mechanism (fingerprint, incremental build, freshness caches) is in
side_tables.py; each accelerator's layout, build and reader in its own module.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pyarrow.fs as pafs

from warehouse.lake.layout import Lake
from warehouse.lake.tables import Table
from warehouse.read.accelerators import (
    broadcast_minutes,
    broadcast_spans,
    chatter_days,
    emote_counts,
    money_lines,
    rollups,
    user_tail,
    user_tail_build,
    users_index,
    word_counts,
)
from warehouse.read.accelerators.base import LAKE_ONLY, Accelerator, Need

log = logging.getLogger(__name__)

def _removed_file(table: Table) -> Callable[[Lake], None]:
    """An accelerator's ``remove``: delete its one file (``<root>/<table>/part-0.parquet``) if
    it is there."""
    def remove(lake: Lake) -> None:
        file = f"{lake.base}/{table.name}/part-0.parquet"
        if lake.fs.get_file_info(file).type == pafs.FileType.File:
            lake.fs.delete_file(file)
            log.info("%s removed", file)
    return remove


_SIDE_TABLE_RULE = ("the chat partitions' fingerprint recorded in the file (per day: size, mtime, inode)"
                    " equals theirs now (side_tables.py)")

USERS = Accelerator(
    table=users_index.USERS, file="part-0.parquet", built_from=("chat",), build=users_index.build,
    freshness=_SIDE_TABLE_RULE, needs=LAKE_ONLY,
    answers=("search_users", "user_messages", "new_vs_returning", "user_profile", "name_history",
             "user_channels"),
    reader=users_index.Reader)
ROLLUPS = Accelerator(
    table=rollups.ROLLUPS, file="part-0.parquet", built_from=("chat",), build=rollups.build_rollups,
    freshness=_SIDE_TABLE_RULE + ", built in the warehouse's zone",
    # tolerates live days: it answers the lake's days, the overlay's days are scanned beside it
    needs=frozenset({Need.NO_TYPE_FILTER, Need.SAME_ZONE}),
    # channel_summary also needs the chatter days and the money lines (and no live rows);
    # channel_directory no live rows
    answers=("activity", "subscriber_ratio", "channel_summary", "channel_directory"),
    reader=rollups.Reader)
BROADCAST_SPANS = Accelerator(
    table=broadcast_spans.BROADCAST_SPANS, file="part-0.parquet", built_from=("chat",), build=broadcast_spans.build,
    freshness=_SIDE_TABLE_RULE,
    # tolerates live days: the overlay's days are taken from its own lines
    needs=frozenset({Need.NO_TYPE_FILTER, Need.LOCAL_LAKE}),
    answers=("peaks", "coverage", "broadcast_list", "broadcast_peaks", "donations_over_broadcast",
             "broadcast_retention"),
    reader=broadcast_spans.Reader)
CHATTER_DAYS = Accelerator(
    table=chatter_days.CHATTER_DAYS, file="part-0.parquet", built_from=("chat",), build=chatter_days.build,
    freshness=_SIDE_TABLE_RULE + "; the roll-ups (the channels' names) fresh too",
    needs=LAKE_ONLY,
    # heatmap takes its lines per hour from the roll-ups; broadcast_retention its broadcasts from the spans
    answers=("tier_split", "new_vs_returning", "top_chatters", "top_share", "chatter_cohorts", "subscriber_tenure",
             "subscriber_change", "audience_overlap", "audience_overlap_trend", "heatmap", "broadcast_retention",
             "broadcast_top_chatters"),
    reader=lambda con: chatter_days.Reader(rollups.SPEC))
USER_TAIL = Accelerator(
    table=user_tail.USER_TAIL, file=user_tail.FILE, built_from=("chat", users_index.NAME), build=user_tail_build.build,
    freshness="the chat partitions' fingerprint recorded in the Arrow file's schema equals theirs now",
    needs=LAKE_ONLY | {Need.LOCAL_LAKE},
    answers=("user_messages",),
    reader=user_tail.Reader, parquet=False, remove=user_tail.remove)

MONEY = Accelerator(
    table=money_lines.MONEY_LINES, file="part-0.parquet", built_from=("chat",), build=money_lines.build,
    freshness=_SIDE_TABLE_RULE, needs=LAKE_ONLY,
    # donations_over_broadcast also needs the broadcast spans (where each broadcast started)
    answers=("donations", "donation_ranking", "donation_distribution", "donations_over_broadcast",
             "gifted_subscriptions", "pending_missions", "broadcast_donors"),
    reader=money_lines.Reader,
    remove=_removed_file(money_lines.MONEY_LINES))  # it holds mission texts
BROADCAST_MINUTES = Accelerator(
    table=broadcast_minutes.BROADCAST_MINUTES, file="part-0.parquet", built_from=("chat",),
    build=broadcast_minutes.build, freshness=_SIDE_TABLE_RULE, needs=LAKE_ONLY,
    # coverage and broadcast_list also need local days (Need.LOCAL_DAYS) and no capture intervals
    answers=("peaks", "coverage", "broadcast_list", "broadcast_activity", "broadcast_peaks"),
    reader=broadcast_minutes.Reader)

EMOTES = Accelerator(
    table=emote_counts.EMOTE_COUNTS, file="part-0.parquet", built_from=("chat",), build=emote_counts.build,
    freshness=_SIDE_TABLE_RULE, needs=LAKE_ONLY,
    answers=("emote_ranking", "emote_summary", "emote_users", "emote_trend"),
    reader=emote_counts.Reader, remove=_removed_file(emote_counts.EMOTE_COUNTS))  # it holds nicknames
WORDS = Accelerator(
    table=word_counts.WORD_COUNTS, file="part-0.parquet", built_from=("chat",), build=word_counts.build,
    freshness=_SIDE_TABLE_RULE, needs=LAKE_ONLY, answers=("top_words",),
    reader=word_counts.Reader, remove=_removed_file(word_counts.WORD_COUNTS))  # it holds words of lines

# in build order: the user tail places each chatter's cut with the users side table
ACCELERATORS: tuple[Accelerator, ...] = (USERS, ROLLUPS, BROADCAST_SPANS, CHATTER_DAYS, USER_TAIL, MONEY,
                                         BROADCAST_MINUTES, EMOTES, WORDS)


def fresh(lake: Lake) -> dict[str, bool]:
    """{name: whether the accelerator's file matches the chat partitions now} (the data
    catalog's lake_state)."""
    return {a.name: a.reader(None).fresh.fresh(lake) for a in ACCELERATORS}


def folders() -> frozenset[str]:
    """The lake folders the accelerators live in (not chat: derived, rebuilt, never exported)."""
    return frozenset(a.name for a in ACCELERATORS)


def rebuild_all(lake: Lake, tz: str | None = None, *, forgetting: bool = False,
                seconds: dict[str, float] | None = None) -> None:
    """Bring every accelerator up to date with the chat partitions (each redoes only the
    days whose partition changed). `tz`: the zone the partitions are cut in (None: the
    last sync's). `forgetting` (forget-user): when a rebuild fails, every accelerator
    holding the text of lines (``remove``) not rebuilt yet is removed rather than left
    holding a forgotten user's lines. `seconds`: each build's time is added to it, by name
    (the sync reports them)."""
    for i, acc in enumerate(ACCELERATORS):
        t0 = time.monotonic()
        try:
            acc.build(lake, tz, False)
        except Exception:
            if forgetting:
                for later in ACCELERATORS[i:]:
                    if later.remove is not None:
                        later.remove(lake)
            raise
        finally:
            if seconds is not None:
                seconds[acc.name] = seconds.get(acc.name, 0.0) + time.monotonic() - t0
