"""The dashboard's query log: each query at DEBUG, a slow one at INFO (operators running
`dashboard serve` at LOG_LEVEL=INFO see only those)."""
from __future__ import annotations

import logging
import threading
from types import SimpleNamespace

import pytest

import warehouse
from dashboard import data
from tests.lakefixture import build_fixture_lake

pytestmark = pytest.mark.unit


def test_queries_log_at_debug_and_slow_ones_at_info(tmp_path, caplog, monkeypatch):
    facts = build_fixture_lake(tmp_path)
    h = data._Handle(warehouse.open(str(tmp_path)), threading.Lock())
    caplog.set_level(logging.DEBUG, logger="dashboard.data")
    assert data._call_on(h, warehouse.daily_counts)["messages"].sum() == len(facts["rows"])
    (quick,) = [r for r in caplog.records if r.name == "dashboard.data"]
    assert quick.levelno == logging.DEBUG and quick.getMessage().startswith("daily_counts: ")
    assert "(slow)" not in quick.getMessage()
    caplog.clear()
    monkeypatch.setattr(data, "SLOW_QUERY_SECONDS", 0.0)
    data._call_on(h, warehouse.daily_counts)
    (slow,) = [r for r in caplog.records if r.name == "dashboard.data"]
    assert slow.levelno == logging.INFO and slow.getMessage().endswith("(slow)")
    h.wh.close()


def test_query_takes_warehouse_functions_and_caches_by_function(tmp_path, caplog):
    facts = build_fixture_lake(tmp_path)
    f = SimpleNamespace(root=str(tmp_path), tz=None, live=False, types=None, channels=None, start=None, end=None)
    caplog.set_level(logging.DEBUG, logger="dashboard.data")
    data.clear_caches()
    try:
        counts = data.query(f, warehouse.daily_counts, scoped=False)
        assert counts["messages"].sum() == len(facts["rows"])
        assert data.query(f, warehouse.daily_counts, scoped=False).equals(counts)  # from the cache
        listed = data.query(f, warehouse.list_channels, scoped=False)  # same arguments, another function
        assert not listed.equals(counts)
        ran = [r.getMessage().split(":")[0] for r in caplog.records if r.name == "dashboard.data"
               and " rows in " in r.getMessage()]
        assert ran == ["daily_counts", "list_channels"]
        assert data.api_key(warehouse.donations) == "warehouse.read.queries.money.donations"

        def daily_counts(wh):  # the right name, not the warehouse's function
            return counts
        for fn in (daily_counts, "daily_counts", lambda wh: counts, len):
            with pytest.raises(ValueError, match="not one of warehouse's analyst functions"):
                data.query(f, fn, scoped=False)
    finally:
        data.clear_caches()
