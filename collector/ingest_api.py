"""The HTTP ingest API, compatible with the ChzzkChat desktop viewer's server: ``POST /chat``,
``POST /chat/bulk``, ``GET /chat``, ``GET /chat/channels``, OpenAPI at ``/docs`` and
``/openapi.json``. ``create_app`` builds it; ``collector/ingest_cli.py`` serves it.

Answers: a bulk request is processed item by item: good items are stored, bad ones are
refused with their index and reason (and kept as dead letters), and the answer is 200 with
the counts, because the viewer re-sends a whole batch on any other status. Whole-request
problems (no or wrong key, a key without that scope, not sent as JSON, not JSON, more than
1000 items, body too large) are 4xx with nothing stored; PostgreSQL unreachable is 503 with
nothing stored (retry later). Keys and their scopes: collector/api_keys.py; the Host check
and the access log: collector/ingest_guard.py.

Operations: ``GET /metrics`` (Prometheus: requests and errors by route and status, items by
outcome; collector/ingest_metrics.py) and ``GET /healthz`` (200 when PostgreSQL answers, 503
with the reason otherwise) need no API key; like every route they obey the Host check."""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import psycopg2
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from swagger_ui_bundle import swagger_ui_path

from collector import api_keys, channels, ingest_db, ingest_guard, ingest_items, ingest_metrics
from collector.api_keys import ApiKey
from collector.ingest_items import MAX_ITEMS, BodyError, ChatItem
from core import db, metrics_http, settings

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024 * 1024  # POST /chat/bulk
MAX_ITEM_BYTES = 1024 * 1024       # POST /chat: one item
JSON_TYPE = re.compile(r"^application/(?:[a-z0-9.+-]+\+)?json$")  # application/json, application/x+json
RETRY_AFTER_SECONDS = 30
NOT_STORED = ", nothing was stored"
_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>` (the desktop viewer)")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="or `X-API-Key: <key>`")


class ItemError(BaseModel):
    index: int
    error: str


class SaveResult(BaseModel):
    saved: int
    duplicates: int = 0
    dropped: int = 0
    refused: int = 0
    errors: list[ItemError] = []


class ChatRow(BaseModel):
    id: int
    channel_id: str
    channel_name: str | None
    user_id: str | None
    nickname: str | None
    message: str | None
    message_type: str
    chat_time: str
    subscription_month: int | None
    subscription_tier: int | None
    os_type: str | None
    user_role: str | None
    pay_amount: int | None
    created_at: str


class ChannelRow(BaseModel):
    channel_id: str
    channel_name: str | None
    last_chat_time: str | None


def _body_schema(bulk: bool) -> dict:
    item = ChatItem.model_json_schema()
    schema = {"type": "array", "maxItems": MAX_ITEMS, "items": item} if bulk else item
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def api_key(request: Request, bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
            header: Annotated[str | None, Security(_header)]) -> ApiKey:
    """The key a request is made with (api_keys.OPEN when no key exists and the API was
    started without one, i.e. on loopback)."""
    try:
        keys = request.app.state.ring.keys()
    except api_keys.KeysError as exc:
        log.error("%s %s: %s; no key is accepted until it is fixed", request.method, request.url.path, exc)
        raise HTTPException(503, "the API keys file cannot be read (see the server log); retry later",
                            headers={"Retry-After": str(RETRY_AFTER_SECONDS)}) from None
    if not keys and request.app.state.open:
        return api_keys.OPEN
    given = bearer.credentials if bearer else header
    if not given:
        raise HTTPException(401, "API key missing: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
                            headers={"WWW-Authenticate": "Bearer"})
    key = api_keys.match(given, keys)
    if key is None:
        log.warning("%s %s: API key not accepted (from %s)", request.method, request.url.path,
                    request.client.host if request.client else "?")
        raise HTTPException(403, "API key not accepted")
    return key


def writer(key: Annotated[ApiKey, Depends(api_key)]) -> ApiKey:
    if not key.write:
        raise HTTPException(403, f"API key {key.name!r} may not store chat (it may: {key.scope()})")
    return key


def reader(key: Annotated[ApiKey, Depends(api_key)]) -> ApiKey:
    if not key.read:
        raise HTTPException(403, f"API key {key.name!r} may not read chat (it may: {key.scope()})")
    return key


async def _json_body(request: Request, *, array: bool, limit: int):
    """The JSON body, read up to `limit` bytes (413 beyond, whatever the headers say) and
    parsed in a worker thread, an array item by item (ingest_items.parse_body)."""
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if not JSON_TYPE.match(media):
        # a web page can post text/plain (or no type) to any address without asking: JSON only
        raise HTTPException(415, f"send the body as Content-Type: application/json (got {media[:60] or 'none'!r})"
                                 f"{NOT_STORED}")
    too_big = HTTPException(413, f"body larger than {limit} bytes; send fewer items per request")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    try:
        return await run_in_threadpool(ingest_items.parse_body, b"".join(chunks), array=array)
    except BodyError as exc:
        raise HTTPException(413 if exc.too_large else 422, str(exc)) from None


def _text_param(name: str, value: str | None) -> str | None:
    if value is not None and "\x00" in value:
        raise HTTPException(422, f"{name}: NUL characters are not allowed")
    return value


def _db_call(request: Request, what: str, fn, *args, **kwargs):
    """Run fn(conn, ...) on a fresh connection; PostgreSQL errors become 503/500."""
    state = request.app.state
    stored = NOT_STORED if what.startswith("POST") else ""
    unavailable = HTTPException(503, f"PostgreSQL is unavailable{stored}; retry later",
                                headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    try:
        conn = db.connect(state.database_url or db.database_url())
    except psycopg2.Error as exc:
        log.warning("%s: PostgreSQL unreachable: %s", what, " ".join(str(exc).split()))
        raise unavailable from None
    try:
        return fn(conn, *args, **kwargs)
    except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
        log.warning("%s: PostgreSQL failed: %s", what, " ".join(str(exc).split()))
        raise unavailable from None
    except psycopg2.Error:
        log.exception("%s: database error", what)
        raise HTTPException(500, f"database error{stored} (see the server log)") from None
    finally:
        conn.close()


def _ingest(request: Request, what: str, items: list, key: ApiKey) -> SaveResult:
    t0 = time.monotonic()
    state = request.app.state
    records, refused, names = ingest_items.to_records(items, state.tz, datetime.now(UTC), channels=key.channels)
    letters = ingest_items.dead_letters(refused)
    done = _db_call(request, what, ingest_db.store, records, letters, names, state.enable)
    result = SaveResult(saved=done.saved, duplicates=done.duplicates, dropped=done.dropped,
                        refused=len(refused), errors=[ItemError(**r.as_dict()) for r in refused])
    state.metrics.count_items(saved=result.saved, duplicates=result.duplicates, dropped=result.dropped,
                              refused=result.refused)
    log.info("%s by key %r: %d item(s): %d saved, %d duplicates, %d dropped (opt-out), %d refused in %.3fs", what,
             key.name, len(items), result.saved, result.duplicates, result.dropped, result.refused, time.monotonic() - t0)
    return result


_SWAGGER = "/_docs-assets"


def create_app(database_url: str | None = None, legacy_keys: Sequence[str] | None = None,
               tz: str | None = None, *, keys_file: Path | None = None, allowed_hosts: str | None = None) -> FastAPI:
    """The ASGI app. Defaults: DATABASE_URL (or the embedded server), INGEST_API_KEY
    (legacy unscoped keys, comma-separated), INGEST_API_KEYS_FILE, INGEST_TZ,
    INGEST_ALLOWED_HOSTS. No key at all when it is made: none is asked (loopback only)."""
    if legacy_keys is None:
        legacy_keys = (settings.get("INGEST_API_KEY") or "").split(",")
    policy = ingest_guard.host_policy(settings.get("INGEST_ALLOWED_HOSTS") if allowed_hosts is None
                                      else allowed_hosts)
    app = FastAPI(title="CHZZK chat ingest API", version="1", docs_url=None, redoc_url=None,
                  description="ChzzkChat desktop viewer compatible chat ingest (docs/INGEST_API.md).")
    # the OpenAPI page from Swagger UI files shipped in a wheel: no CDN, works offline
    app.mount(_SWAGGER, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def docs_page() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=app.title + " — docs",
                                   swagger_js_url=f"{_SWAGGER}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{_SWAGGER}/swagger-ui.css",
                                   swagger_favicon_url=f"{_SWAGGER}/favicon-32x32.png")
    app.add_middleware(ingest_guard.RequestGuard, policy=policy)
    app.state.metrics = ingest_metrics.IngestMetrics()
    app.add_middleware(ingest_metrics.MetricsMiddleware, metrics=app.state.metrics)  # outermost: counts refusals
    logging.getLogger("uvicorn.access").addFilter(ingest_guard.ACCESS_LOG_FILTER)
    app.state.database_url = database_url
    app.state.ring = api_keys.KeyRing(keys_file or api_keys.keys_file(), legacy_keys)
    app.state.open = not app.state.ring.keys()
    app.state.tz = ZoneInfo(tz or settings.get("INGEST_TZ") or "Asia/Seoul")
    app.state.enable = set(channels.configured())

    @app.post("/chat/bulk", response_model=SaveResult, openapi_extra=_body_schema(True),
              summary=f"Store up to {MAX_ITEMS} chat items; bad items are refused one by one")
    async def post_bulk(request: Request, key: Annotated[ApiKey, Depends(writer)]) -> SaveResult:
        items = await _json_body(request, array=True, limit=MAX_BODY_BYTES)
        return await run_in_threadpool(_ingest, request, "POST /chat/bulk", items, key)

    @app.post("/chat", response_model=SaveResult, openapi_extra=_body_schema(False),
              summary="Store one chat item", responses={422: {"model": SaveResult}})
    async def post_one(request: Request, key: Annotated[ApiKey, Depends(writer)]):
        item = await _json_body(request, array=False, limit=MAX_ITEM_BYTES)
        if not isinstance(item, dict):
            raise HTTPException(422, "body must be one chat item (a JSON object); send arrays to /chat/bulk")
        result = await run_in_threadpool(_ingest, request, "POST /chat", [item], key)
        if result.refused:
            return JSONResponse(result.model_dump(), status_code=422)
        return result

    @app.get("/chat", response_model=list[ChatRow], summary="Stored chat, newest first")
    def get_chat(request: Request, key: Annotated[ApiKey, Depends(reader)],
                 channel_id: Annotated[str | None, Query(max_length=200)] = None,
                 user_id: Annotated[str | None, Query(max_length=200)] = None,
                 start_date: Annotated[str | None, Query(description="a day (INGEST_TZ) or an ISO 8601 time")] = None,
                 end_date: Annotated[str | None, Query(description="a day (inclusive) or an ISO time (exclusive)")] = None,
                 skip: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
                 limit: Annotated[int, Query(ge=1, le=MAX_ITEMS)] = 100):
        t0 = time.monotonic()
        user_id = _text_param("user_id", user_id)
        if _text_param("channel_id", channel_id) is not None:
            channel_id = channel_id.strip().lower()
            if not key.may_touch(channel_id):
                raise HTTPException(403, f"channel {channel_id[:40]!r} is not one of API key {key.name!r}'s channels")
        bounds = {}
        for name, text in (("start", start_date), ("end", end_date)):
            if text is not None:
                bounds[name], why = ingest_items.date_bound(text, request.app.state.tz, end=name == "end")
                if why:
                    raise HTTPException(422, f"{name}_date: {why}")
        rows = _db_call(request, "GET /chat", ingest_db.chat_rows, channel_id=channel_id, user_id=user_id,
                        channels=key.channels, skip=skip, limit=limit, **bounds)
        log.info("GET /chat by key %r: %d row(s) in %.3fs", key.name, len(rows), time.monotonic() - t0)
        return rows

    @app.get("/chat/channels", response_model=list[ChannelRow],
             summary="Known channels and the time of their latest stored line")
    def get_channels(request: Request, key: Annotated[ApiKey, Depends(reader)]):
        rows = _db_call(request, "GET /chat/channels", ingest_db.channel_rows, channels=key.channels)
        log.info("GET /chat/channels by key %r: %d channel(s)", key.name, len(rows))
        return rows

    @app.get("/metrics", include_in_schema=False)
    def metrics_page() -> Response:
        status, media, body = metrics_http.metrics_page(app.state.metrics.registry)
        return Response(body, status, media_type=media)

    @app.get("/healthz", summary="Ready: 200 when PostgreSQL answers, 503 with the reason otherwise (no key)")
    def healthz(request: Request) -> Response:
        down = metrics_http.pg_probe(request.app.state.database_url or db.database_url())
        status, media, body = metrics_http.health_page([down] if down else [])
        return Response(body, status, media_type=media,
                        headers={"Retry-After": str(RETRY_AFTER_SECONDS)} if down else None)

    return app
