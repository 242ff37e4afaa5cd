"""Every setting, declared once: name, default, help. Read from the environment (and a
`.env` file in the working directory, if present) when asked, never at import time."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    help: str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE_URL", None,
            "PostgreSQL URL. Unset: the project starts its own server with data under DATA_DIR/pg."),
    Setting("DATA_DIR", ".data", "Where the embedded PostgreSQL and the default warehouse live."),
    Setting("WAREHOUSE_DIR", None, "Parquet lake root (a path or s3://bucket/prefix). Default: DATA_DIR/warehouse."),
    Setting("WAREHOUSE_GROUP_READ", "0", "1: a local lake is readable by its owner's group too (folders 0750, files "
            "0640), e.g. for analysts' own accounts; 0: owner only (0700/0600), as the spool and accounts are."),
    Setting("CHZZK_CHANNELS", "", "Comma-separated 32-hex channel ids to collect."),
    Setting("CHZZK_API_BASE", "https://api.chzzk.naver.com", "Base URL of the CHZZK service/polling API."),
    Setting("CHZZK_COMM_API_BASE", "https://comm-api.game.naver.com", "Base URL of the chat access-token API."),
    Setting("CHZZK_CHAT_WS", "wss://kr-ss{n}.chat.naver.com/chat",
            "Chat websocket URL; {n} is replaced by a server number 1..9."),
    Setting("CHZZK_NID_AUT", None, "Optional NID_AUT cookie (adult channels only). Never logged.", secret=True),
    Setting("CHZZK_NID_SES", None, "Optional NID_SES cookie (adult channels only). Never logged.", secret=True),
    Setting("FLUSH_SECONDS", "60", "Seconds between flushes of buffered chat into PostgreSQL."),
    Setting("FLUSH_MAX_EVENTS", "1000", "Flush early when this many events are buffered."),
    Setting("POLL_SECONDS", "30", "Seconds between live-status polls of a channel."),
    Setting("GAP_FILL_SECONDS", "300", "Seconds between a running collector's looks for restart gaps of ended "
            "broadcasts to fill from their replay (VOD) chat (collector/gaps.py)."),
    Setting("DISPLAY_TZ", "Asia/Seoul", "Timezone for warehouse day partitions and the dashboard."),
    Setting("SYNC_HOUR", "4", "Hour (0-23, in DISPLAY_TZ) of the nightly `python -m warehouse schedule` sync."),
    Setting("SYNC_MINUTE", "0", "Minute of the nightly warehouse sync."),
    Setting("SYNC_WRITERS", "2", "Day partitions the warehouse sync writes at once, each on a connection of its own "
            "in the sync's snapshot, and accelerators it builds at once after them (1: one after another)."),
    Setting("LIVE_MAX_DAYS", "14", "Most days the dashboard's \"today's data\" (a live Warehouse) reads whole from "
            "PostgreSQL; more days not yet synced and it shows the lake alone, saying why (0: no limit)."),
    Setting("LIVE_MAX_ROWS", "1000000", "Most rows the dashboard's \"today's data\" holds in memory (~1.4 KB each, the raw frame most of it); "
            "more rows in the days not yet synced and it shows the lake alone, saying why (0: no limit)."),
    Setting("USER_TAIL_LINES", "1000", "Newest lines per chatter the lake's user tail keeps (warehouse/read/accelerators/user_tail.py), "
            "so a user's last page of lines is one slice of a memory-mapped file (0: no tail; a user's lines are "
            "then read from the day files holding them)."),
    Setting("TEXT_SLICES_MB", "256", "Memory (MB) a reading process keeps of channels' lines of the chat's day files "
            "for keyword_search, keyword_trend and user_messages over a few channels (warehouse/read/text_slices.py; "
            "the biggest channel's week of a 10M-line lake ~40 MB); the least recently used let go first."),
    Setting("TABLE_PREVIEW_MB", "64", "Memory (MB) a reading process keeps of the Data page's table previews, each "
            "per version of the files it read (warehouse/read/queries/catalog.py)."),
    Setting("USER_SEARCH_LINES", "2000000", "Lines (~25 bytes each) a reading process keeps of the channels "
            "search_users last read from the day files (warehouse/read/queries/user_search.py)."),
    Setting("LOG_LEVEL", "INFO", "Python logging level for the command-line tools."),
    Setting("LOG_FORMAT", "text", "Log lines of the command-line tools on stderr: text (time level logger: message) "
            "or json (one JSON object a line: time in ISO 8601 UTC, level, logger, message, exception), secrets "
            "redacted and hidden characters escaped either way."),
    Setting("SPOOL_DIR", None, "Local spool of collected records not yet stored in PostgreSQL. Default: DATA_DIR/spool."),
    Setting("COLLECTOR_METRICS_FILE", None, "File a running `collector run` rewrites (atomically) after every flush and "
            "every 5 s with its metrics in Prometheus text format (lines received/stored per channel, spool backlog "
            "records/bytes/age, store seconds, last store time, CPU per stage), e.g. for node_exporter's textfile "
            "collector. Unset: not written (`collector status` shows the backlog either way)."),
    Setting("COLLECTOR_METRICS_ADDRESS", "127.0.0.1", "Address a running `collector run` serves its Prometheus "
            "metrics (/metrics) and readiness (/healthz) on; loopback by default. Only GET is answered, and only "
            "to loopback, IP address and COLLECTOR_METRICS_ALLOWED_HOSTS names in Host."),
    Setting("COLLECTOR_METRICS_PORT", "9464", "Port of the collector's /metrics and /healthz (0: not served; a "
            "port in use is logged and the collector runs without). Give each process on a host its own."),
    Setting("COLLECTOR_METRICS_ALLOWED_HOSTS", "", "Host names the collector's /metrics and /healthz answer "
            "besides loopback and IP addresses (comma-separated; `*`: any), e.g. the name Prometheus scrapes it "
            "by. Others get 421 (DNS rebinding protection)."),
    Setting("COLLECTOR_HEALTH_MAX_BACKLOG_SECONDS", "300", "The collector's /healthz says 503 (not ready) when "
            "the spool's oldest unstored record is older than this (the spool is not draining), as it does "
            "when PostgreSQL does not answer."),
    Setting("SYNC_METRICS_FILE", None, "File every `python -m warehouse sync` and scheduled sync rewrites "
            "(atomically) at its end, success or failure, with Prometheus metrics: last success and failure "
            "times, runs, and rows, bytes, partitions and seconds per table of the last successful sync "
            "(node_exporter's textfile collector). Unset: not written."),
    Setting("S3_ENDPOINT_URL", None, "S3-compatible endpoint for an s3:// WAREHOUSE_DIR (MinIO, moto...); "
            "unset: AWS. Credentials: the standard AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_REGION."),
    Setting("PG_RETENTION_DAYS", None, "Drop PostgreSQL chat older than this many days after each sync, only for "
            "days the lake is verified to hold. Unset: keep forever."),
    Setting("LEASE_SECONDS", "45", "Seconds a channel lease lasts without renewal (renewed every third of it); "
            "a dead collector's channels are taken over after this."),
    Setting("MAX_CHANNELS_PER_PROCESS", "0", "Most channels one collector process leases (0: no limit)."),
    Setting("CHZZK_CHANNELS_FILE", None, "File of channel ids to collect: one per line, # comments (added to "
            "CHZZK_CHANNELS and the enabled channels of `python -m collector channels`)."),
    Setting("CHANNEL_REFRESH_SECONDS", "60", "Seconds between re-reads of the channel set by a running collector."),
    Setting("CHANNEL_INFO_SECONDS", "3600", "Seconds between refreshes of channel names and metadata."),
    Setting("INGEST_API_KEY", None, "Legacy ingest API key(s), comma-separated: each reads and writes every channel "
            "(a warning at start says so); prefer scoped keys from `python -m collector api-keys`. No key at all: "
            "none asked, and the API listens on loopback only. Never logged.", secret=True),
    Setting("INGEST_API_KEYS_FILE", None, "TOML file of named, scoped ingest API keys (SHA-256-hashed secrets), "
            "managed by `python -m collector api-keys`. Default: DATA_DIR/api_keys.toml."),
    Setting("INGEST_ALLOWED_HOSTS", "", "Host names the ingest API answers to besides loopback and IP addresses "
            "(comma-separated; `*`: any), e.g. the name a reverse proxy or the viewers use. Others get 421 "
            "(DNS rebinding protection)."),
    Setting("INGEST_TZ", "Asia/Seoul", "Timezone of ingest API times without an offset (the desktop viewer sends "
            "its PC's local time) and of GET /chat's start_date/end_date days."),
    Setting("DASHBOARD_ACCOUNTS_FILE", None, "TOML file of dashboard accounts (scrypt-hashed passwords), managed "
            "by `python -m dashboard accounts`. Default: DATA_DIR/accounts.toml. No accounts: no login, localhost only."),
    Setting("DASHBOARD_ADDRESS", "0.0.0.0", "Address `python -m dashboard serve` binds when accounts exist "
            "(without accounts it always binds 127.0.0.1)."),
    Setting("DASHBOARD_AUDIT_FILE", None, "Append-only JSONL audit log of dashboard user and keyword searches. "
            "Default: DATA_DIR/audit.jsonl."),
    Setting("DASHBOARD_ALLOWED_HOSTS", None, "Host names `python -m dashboard serve` answers besides loopback "
            "(and, with accounts, IP addresses and this machine's names), comma-separated; others get 421 "
            "(DNS rebinding). `*`: any."),
    Setting("DASHBOARD_ERROR_DETAILS", "none", "What a page's exception shows visitors of `python -m dashboard "
            "serve` (client.showErrorDetails): none, type, stacktrace or full (development)."),
    Setting("DASHBOARD_SESSION_HOURS", "12", "Hours a sign-in of `python -m dashboard serve` lasts (its HttpOnly "
            "cookie and its row in the session table beside the accounts file); signing out, removing the account "
            "or changing its password ends it sooner (docs/DASHBOARD_ACCESS.md)."),
)
_BY_NAME = {s.name: s for s in SETTINGS}


def load_dotenv_once(path: str | os.PathLike = ".env") -> None:
    """Read KEY=VALUE lines from a .env file into os.environ (existing variables win)."""
    p = Path(path)
    if not p.is_file():
        return
    for line in p.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key, value = key.strip(), value.strip().strip('"').strip("'")
        if key in _BY_NAME:
            os.environ.setdefault(key, value)


def get(name: str) -> str | None:
    """The current value of a declared setting (environment first, then its default)."""
    setting = _BY_NAME[name]  # KeyError: an undeclared setting is a bug
    value = os.environ.get(name)
    return value if value not in (None, "") else setting.default


def get_int(name: str) -> int:
    value = get(name)
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SystemExit(f"setting {name}={value!r} is not an integer") from None


def data_dir() -> Path:
    p = Path(get("DATA_DIR") or ".data")
    return p if p.is_absolute() else Path.cwd() / p


def warehouse_dir() -> str:
    """WAREHOUSE_DIR, or DATA_DIR/warehouse. May be an s3:// URI."""
    return get("WAREHOUSE_DIR") or str(data_dir() / "warehouse")


def spool_dir() -> Path:
    """SPOOL_DIR, or DATA_DIR/spool."""
    p = Path(get("SPOOL_DIR") or data_dir() / "spool")
    return p if p.is_absolute() else Path.cwd() / p


def channels() -> list[str]:
    return [c.strip() for c in (get("CHZZK_CHANNELS") or "").split(",") if c.strip()]
