"""The Overview's collector line (dashboard/collector_health.py): what it says for each
health state, in the viewer's zone and language, naming only the viewer's channels; and
the Overview in AppTest over real PostgreSQL where a collector held live channels and then
stopped renewing its leases: it says "down" with the last-seen time."""
from __future__ import annotations

import time
from datetime import UTC, datetime

import psycopg2
import pytest
from streamlit.testing.v1 import AppTest

from collector import sessions, status
from collector.answers import LiveStatus
from collector.leases import Leases
from dashboard import collector_health, data
from dashboard.i18n import t
from tests.page_checks import APP, ok

A, B = "a" * 32, "b" * 32
SEEN = datetime(2026, 12, 8, 1, 2, 3, tzinfo=UTC)


def _health(state, lagging=()):
    return {"kind": "health", "state": state, "last_seen": SEEN, "limit_seconds": 600.0, "lagging": list(lagging)}


@pytest.mark.unit
def test_what_the_overview_says_for_each_state():
    assert collector_health.describe(None, [A], "UTC", "en") == ("caption", t("collector_unknown", "en"))
    assert collector_health.describe(_health("never"), [A], "UTC", "en")[0] == "caption"
    level, text = collector_health.describe(_health("down"), [A], "Asia/Seoul", "en")
    assert level == "error" and "2026-12-08 10:02" in text  # the last-seen time in the viewer's zone
    level, text = collector_health.describe(_health("ok"), [A], "UTC", "ko")
    assert level == "caption" and "2026-12-08 01:02" in text and text.startswith("수집기 정상")


@pytest.mark.unit
def test_lagging_names_only_the_viewers_channels():
    behind = [{"channel_id": A, "channel_name": "에이", "last_message_at": SEEN, "seconds_behind": 900.0,
               "held": True},
              {"channel_id": B, "channel_name": "비밀 채널", "last_message_at": None, "seconds_behind": None,
               "held": False}]
    level, text = collector_health.describe(_health("lagging", behind), [A, B], "UTC", "en")
    assert level == "warning" and "2 live channel(s)" in text and "에이 (01:02)" in text and "비밀 채널" in text
    level, text = collector_health.describe(_health("lagging", behind), [A], "UTC", "en")  # a streamer of A
    assert "1 live channel(s)" in text and "비밀 채널" not in text
    level, text = collector_health.describe(_health("lagging", behind[1:]), [A], "UTC", "en")
    assert level == "caption" and "비밀" not in text  # nothing of theirs is behind


def _report_live(pg, *channels: str) -> None:
    with pg, pg.cursor() as cur:
        for n, cid in enumerate(channels):
            live = LiveStatus(status="OPEN", chat_channel_id=f"c{n}", reason=None, live_title="t",
                              concurrent_user_count=1, category_type="GAME", live_category="x",
                              live_category_value="X", open_date=None, close_date=None, adult=False)
            sessions.op_open_session(cid, live, datetime.now(UTC))(cur)


@pytest.mark.e2e
def test_the_overview_says_the_collector_is_down_since_its_last_renewal(pg_url, pg, pages_lake, monkeypatch):
    root, facts = pages_lake
    _report_live(pg, A)
    lease = Leases(lambda: psycopg2.connect(pg_url), ttl_seconds=1.0, max_channels=0)
    try:
        assert lease.claim({A}) == {A}
        collector_health.check.clear()
        assert collector_health.check(pg_url)["state"] == "ok"
        time.sleep(1.5)  # it stops renewing
    finally:
        lease.close()
    with pg.cursor() as cur:
        last = status.leases.presence(cur)["last_renewal"]
    pg.commit()
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    monkeypatch.setenv("DISPLAY_TZ", "UTC")
    collector_health.check.clear()
    data.clear_caches()
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["tz"] = "UTC"
    at.run(timeout=60)
    ok(at)
    said = [e.value for e in at.error]
    want = t("collector_down").format(since=f"{last.astimezone(UTC):%Y-%m-%d %H:%M}")
    assert want in said, said
    collector_health.check.clear()
    data.clear_caches()
