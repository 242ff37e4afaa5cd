"""The dashboard's query log: each query at DEBUG, a slow one at INFO (operators running
`dashboard serve` at LOG_LEVEL=INFO see only those)."""
from __future__ import annotations

import logging
import threading

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
