"""The collector's health on the Overview: the check of `collector status`
(collector.status.health: down since its last lease renewal, or live channels with no line
stored for longer than expected) read from PostgreSQL at most every TTL seconds, and one
line saying it, with the last-seen time in the viewer's zone.

Which PostgreSQL: DATABASE_URL, or the project's embedded server when it is running
(DATA_DIR/pg/postmaster.pid); never started from here. Without either, nothing is shown
(a dashboard over a copied lake has no collector to speak of). PostgreSQL not answering:
"state unknown". A streamer is told about their own channels only."""
from __future__ import annotations

import logging
from datetime import UTC, datetime

import psycopg2
import streamlit as st

from core import db, settings
from dashboard import formats
from dashboard.i18n import t

log = logging.getLogger(__name__)
TTL = 30  # seconds between two looks (the lease is renewed every ~10 s)
SHOWN_CHANNELS = 5


def database_url() -> str | None:
    url = settings.get("DATABASE_URL")
    if url:
        return url
    if (settings.data_dir() / "pg" / "postmaster.pid").exists():
        try:
            return db.embedded_url()
        except (RuntimeError, OSError, psycopg2.Error) as exc:
            log.warning("collector health: the embedded PostgreSQL: %s", exc)
    return None


@st.cache_data(ttl=TTL, show_spinner=False)
def check(url: str) -> dict | None:
    """collector.status.health over `url`, or None when PostgreSQL cannot be read."""
    from collector import status
    try:
        conn = db.connect(url, migrate_schema=False)
    except psycopg2.Error as exc:  # redacted by db.connect
        log.warning("collector health unknown: %s", " ".join(str(exc).split())[:300])
        return None
    try:
        return status.health(status.collect(conn), status.collectors(conn))
    except psycopg2.Error as exc:
        log.warning("collector health unknown: %s", " ".join(str(exc).split())[:300])
        return None
    finally:
        conn.close()


def describe(h: dict | None, channels: tuple[str, ...] | list[str], tz: str, lang: str | None = None,
             now: datetime | None = None) -> tuple[str, str] | None:
    """(level: caption | warning | error, text) for health `h` as seen by a viewer of
    `channels` (lagging channels outside them are not named or counted), None for nothing."""
    if h is None:
        return "caption", t("collector_unknown", lang)
    seen = formats.local_time(h["last_seen"], tz, "%Y-%m-%d %H:%M") if h["last_seen"] else "-"
    if h["state"] == "never":
        return "caption", t("collector_never", lang)
    if h["state"] == "down":
        return "error", t("collector_down", lang).format(since=seen)
    mine = [x for x in h["lagging"] if x["channel_id"] in set(channels)]
    if not mine:
        return "caption", t("collector_ok", lang).format(seen=seen)
    limit = int(h["limit_seconds"] // 60)
    names = ", ".join(
        (x["channel_name"] or x["channel_id"][:8])
        + (f" ({formats.local_time(x['last_message_at'], tz, '%H:%M')})" if x["last_message_at"] else "")
        for x in mine[:SHOWN_CHANNELS]) + (" …" if len(mine) > SHOWN_CHANNELS else "")
    return "warning", t("collector_lagging", lang).format(n=len(mine), limit=f"{limit}min", channels=names)


def show(f) -> None:
    """The Overview's line about the collector (filters `f`: channels, zone)."""
    url = database_url()
    if url is None:
        return
    said = describe(check(url), f.channels, f.tz, f.lang, datetime.now(UTC))
    if said is None:
        return
    level, text = said
    if level == "caption":
        st.caption(":material/sensors: " + text)
    else:
        getattr(st, level)(text, icon=":material/sensors_off:")
