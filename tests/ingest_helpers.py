"""The ingest API served for tests: the app on a free loopback port (uvicorn, real
sockets) in a thread, and the items and counts the HTTP tests share."""
from __future__ import annotations

import contextlib
import threading
import time
from datetime import datetime, timedelta

import uvicorn

from collector.ingest_api import create_app

KEY = "chzzk_test-7QxLm2pVw9"
AUTH = {"Authorization": f"Bearer {KEY}"}
NOKDU = "d4f287d26795dd48f2176c79d5bd074f"
CAT = "17f0cfcba4ff608de5eabb5110d134d0"


@contextlib.contextmanager
def serve(url: str, keys=(KEY,), **options):
    """create_app(url, keys, **options) on a free loopback port; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(create_app(url, keys, **options), host="127.0.0.1", port=0,
                                           log_config=None, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def item(i: int, **change) -> dict:
    """A valid item, the i-th second after 2026-10-01 20:00 KST, with `change` applied."""
    base = {"channel_id": NOKDU, "channel_name": "녹두로구", "user_id": f"{i % 7:032x}", "nickname": f"시청자{i}",
            "message": f"메시지 {i}", "message_type": "chat",
            "chat_time": (datetime(2026, 10, 1, 20) + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S"),
            "subscription_month": None, "subscription_tier": None, "os_type": "PC", "user_role": "common_user"}
    return {**base, **change}


def count(pg, table: str) -> int:
    with pg.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table}")  # constant table names from the tests
        n = cur.fetchone()[0]
    pg.commit()
    return n
