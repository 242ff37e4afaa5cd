"""The Parquet warehouse: `python -m warehouse sync` exports PostgreSQL chat into a
hive-partitioned lake (see warehouse.lake for the layout), and the query functions below
read it with DuckDB into polars DataFrames (the dashboard and notebooks use only these)."""
from warehouse.queries import (
    Warehouse,
    activity,
    daily_counts,
    date_bounds,
    list_channels,
    open,
    search_users,
    subscriber_ratio,
    tier_split,
    user_messages,
)

__all__ = [
    "Warehouse", "activity", "daily_counts", "date_bounds", "list_channels", "open",
    "search_users", "subscriber_ratio", "tier_split", "user_messages",
]
