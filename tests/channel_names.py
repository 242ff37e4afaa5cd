"""Channel names written the two ways the project writes them, for tests: by CHZZK (a
simulator over loopback serves the channel-info endpoint and the collector's
``channels.refresh_info`` stores what it answers) and by an ingest API client
(``ingest_items.to_records`` + ``ingest_db.store``, what ``POST /chat`` runs)."""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from collector import channels, ingest_db, ingest_items
from collector.api import Api
from collector.sim.population import make_channels
from collector.sim.server import SimServer

KST = ZoneInfo("Asia/Seoul")


def chzzk_names(conn, names: dict[str, str]) -> None:
    """channel_id -> name: CHZZK answers these names and the collector refreshes them."""
    sims = [dataclasses.replace(c, channel_id=cid, channel_name=name)
            for c, (cid, name) in zip(make_channels(len(names), seed=5), names.items(), strict=True)]
    server = SimServer(channels=sims, rate=1)
    host, port = server.start_in_thread(port=0)
    api = Api(f"http://{host}:{port}", f"http://{host}:{port}", max_attempts=1)
    try:
        assert channels.refresh_info(conn, api, list(names)) == len(names)
    finally:
        api.close()
        server.stop()


def api_line(channel_id: str, channel_name: str | None, second: int, message: str = "안녕") -> dict:
    """One POST /chat item, as the desktop viewer sends it."""
    at = datetime(2026, 10, 1, 20) + timedelta(seconds=second)
    return {"channel_id": channel_id, "channel_name": channel_name, "user_id": "9978e9f435b20799d87860a07882f1ef",
            "nickname": "후추789", "message": message, "message_type": "chat",
            "chat_time": at.strftime("%Y-%m-%dT%H:%M:%S")}


def api_post(conn, items: list[dict]) -> ingest_db.Saved:
    """What the ingest API stores for one request's items."""
    records, refused, names = ingest_items.to_records(items, KST, datetime.now(UTC))
    assert not refused, refused
    return ingest_db.store(conn, records, ingest_items.dead_letters(refused), names, set())


def channel_name(conn, channel_id: str) -> str | None:
    with conn.cursor() as cur:
        cur.execute("SELECT channel_name FROM stream_channel WHERE channel_id = %s", (channel_id,))
        row = cur.fetchone()
    conn.commit()
    return row[0] if row else None
