"""The analyst API: the Warehouse, open() and every query function that the dashboard and
notebooks call (``warehouse.<name>`` loads this module on first use; see warehouse/__init__.py).
Each takes the Warehouse first and returns a polars DataFrame; the lake is read with DuckDB."""
from warehouse.read.queries.activity import activity, subscriber_ratio, tier_split
from warehouse.read.queries.audience import (
    broadcast_retention,
    broadcast_top_chatters,
    chatter_cohorts,
    heatmap,
    new_vs_returning,
    subscriber_change,
    subscriber_tenure,
    top_chatters,
    top_share,
)
from warehouse.read.queries.broadcast import (
    broadcast_activity,
    broadcast_list,
    broadcast_peaks,
    broadcast_timeline,
)
from warehouse.read.queries.catalog import (
    lake_state,
    lake_tables,
    table_partitions,
    table_preview,
    table_schema,
)
from warehouse.read.queries.categories import categories
from warehouse.read.queries.channels import channel_directory, daily_counts, date_bounds, list_channels
from warehouse.read.queries.compare import compare_broadcasts, compare_channels, period_change
from warehouse.read.queries.emotes import emote_ranking, emote_summary, emote_trend, emote_users
from warehouse.read.queries.highlights import highlights
from warehouse.read.queries.moderation import moderation_broadcasts, moderation_users, notices, restrictions
from warehouse.read.queries.money import (
    broadcast_donors,
    donation_distribution,
    donation_ranking,
    donations,
    donations_over_broadcast,
    gifted_subscriptions,
    pending_missions,
)
from warehouse.read.queries.overlap import audience_overlap, audience_overlap_trend
from warehouse.read.queries.search import (
    keyword_search,
    keyword_trend,
    name_history,
    user_channels,
    user_profile,
)
from warehouse.read.queries.status import channel_summary, sync_status
from warehouse.read.queries.time import coverage, peaks
from warehouse.read.queries.users import search_users, user_messages
from warehouse.read.queries.viewers import broadcast_viewers, channel_viewers, follower_trend, viewer_curve
from warehouse.read.queries.words import top_words
from warehouse.read.warehouse import Warehouse, open
from warehouse.report.figures import channel_report

__all__ = [
    "Warehouse", "activity", "channel_directory", "daily_counts", "date_bounds", "list_channels", "open",
    "search_users", "subscriber_ratio", "tier_split", "user_messages",
    # audience
    "audience_overlap", "audience_overlap_trend", "broadcast_retention", "chatter_cohorts", "heatmap",
    "new_vs_returning", "subscriber_change", "subscriber_tenure", "top_chatters", "top_share",
    # money
    "donation_distribution", "donation_ranking", "donations", "donations_over_broadcast",
    "gifted_subscriptions", "pending_missions",
    # users and words
    "keyword_search", "keyword_trend", "name_history", "user_channels", "user_profile",
    # emotes and top words
    "emote_ranking", "emote_summary", "emote_trend", "emote_users", "top_words",
    # broadcast timelines
    "coverage", "peaks",
    # one broadcast's report
    "broadcast_activity", "broadcast_donors", "broadcast_list", "broadcast_peaks",
    "broadcast_timeline", "broadcast_top_chatters",
    # highlights (issue 20 §4) and moderation (§6)
    "highlights", "moderation_broadcasts", "moderation_users", "notices", "restrictions",
    # overview
    "channel_summary", "sync_status",
    # viewers and categories (issue 20)
    # compare broadcasts, channels and periods (issue 20 §3)
    "compare_broadcasts", "compare_channels", "period_change",
    "broadcast_viewers", "categories", "channel_viewers", "follower_trend", "viewer_curve",
    # a channel's report for a period (issue 20 §9; rendered by warehouse.report)
    "channel_report",
    # what the lake holds
    "lake_state", "lake_tables", "table_partitions", "table_preview", "table_schema",
]
