"""The HTTP ingest API, compatible with the ChzzkChat desktop viewer's server: ``POST /chat``,
``POST /chat/bulk``, ``GET /chat``, ``GET /chat/channels``, OpenAPI at ``/docs`` and
``/openapi.json``. ``create_app`` builds it; ``collector/ingest_cli.py`` serves it.

Answers: a bulk request is processed item by item: good items are stored, bad ones are
refused with their index and reason (and kept as dead letters), and the answer is 200 with
the counts, because the viewer re-sends a whole batch on any other status. Whole-request
problems (no or wrong key, not JSON, more than 1000 items, body too large) are 4xx with
nothing stored; PostgreSQL unreachable is 503 with nothing stored (retry later)."""
from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import psycopg2
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from swagger_ui_bundle import swagger_ui_path

from collector import channels, ingest_db, ingest_items
from collector.ingest_items import MAX_ITEMS, ChatItem
from core import db, settings

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024 * 1024
RETRY_AFTER_SECONDS = 30
NOT_STORED = ", nothing was stored"
_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <INGEST_API_KEY>` (the desktop viewer)")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="or `X-API-Key: <INGEST_API_KEY>`")


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


def _key_matches(given: str, keys: Sequence[bytes]) -> bool:
    """Constant time in the key's content; every configured key is compared."""
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(given.encode("utf-8"), key)
    return ok


def require_key(request: Request, bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
                header: Annotated[str | None, Security(_header)]) -> None:
    keys = request.app.state.keys
    if not keys:
        return
    given = bearer.credentials if bearer else header
    if not given:
        raise HTTPException(401, "API key missing: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
                            headers={"WWW-Authenticate": "Bearer"})
    if not _key_matches(given, keys):
        raise HTTPException(403, "API key not accepted")


async def _json_body(request: Request):
    """The parsed JSON body, read up to MAX_BODY_BYTES (413 beyond, whatever the headers say)."""
    too_big = HTTPException(413, f"body larger than {MAX_BODY_BYTES} bytes; send fewer items per request")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_big
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (ValueError, RecursionError) as exc:
        raise HTTPException(422, f"body is not JSON ({str(exc)[:120]})") from None


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


def _ingest(request: Request, what: str, items: list) -> SaveResult:
    t0 = time.monotonic()
    state = request.app.state
    records, refused, names = ingest_items.to_records(items, state.tz, datetime.now(UTC))
    letters = ingest_items.dead_letters(refused)
    done = _db_call(request, what, ingest_db.store, records, letters, names, state.enable)
    result = SaveResult(saved=done.saved, duplicates=done.duplicates, dropped=done.dropped,
                        refused=len(refused), errors=[ItemError(**r.as_dict()) for r in refused])
    log.info("%s: %d item(s): %d saved, %d duplicates, %d dropped (opt-out), %d refused in %.3fs", what,
             len(items), result.saved, result.duplicates, result.dropped, result.refused, time.monotonic() - t0)
    return result


_SWAGGER = "/_docs-assets"


def create_app(database_url: str | None = None, api_keys: Sequence[str] | None = None,
               tz: str | None = None) -> FastAPI:
    """The ASGI app. Defaults: DATABASE_URL (or the embedded server), INGEST_API_KEY
    (comma-separated; empty: no key asked), INGEST_TZ."""
    if api_keys is None:
        api_keys = (settings.get("INGEST_API_KEY") or "").split(",")
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
    app.state.database_url = database_url
    app.state.keys = tuple(k.strip().encode("utf-8") for k in api_keys if k.strip())
    app.state.tz = ZoneInfo(tz or settings.get("INGEST_TZ") or "Asia/Seoul")
    app.state.enable = set(channels.configured())
    guarded = [Depends(require_key)]

    @app.post("/chat/bulk", response_model=SaveResult, dependencies=guarded, openapi_extra=_body_schema(True),
              summary=f"Store up to {MAX_ITEMS} chat items; bad items are refused one by one")
    async def post_bulk(request: Request) -> SaveResult:
        items = await _json_body(request)
        if not isinstance(items, list):
            raise HTTPException(422, f"body must be a JSON array of chat items (at most {MAX_ITEMS})")
        if len(items) > MAX_ITEMS:
            raise HTTPException(413, f"{len(items)} items; at most {MAX_ITEMS} per request: split the batch")
        return await run_in_threadpool(_ingest, request, "POST /chat/bulk", items)

    @app.post("/chat", response_model=SaveResult, dependencies=guarded, openapi_extra=_body_schema(False),
              summary="Store one chat item", responses={422: {"model": SaveResult}})
    async def post_one(request: Request):
        item = await _json_body(request)
        if not isinstance(item, dict):
            raise HTTPException(422, "body must be one chat item (a JSON object); send arrays to /chat/bulk")
        result = await run_in_threadpool(_ingest, request, "POST /chat", [item])
        if result.refused:
            return JSONResponse(result.model_dump(), status_code=422)
        return result

    @app.get("/chat", response_model=list[ChatRow], dependencies=guarded, summary="Stored chat, newest first")
    def get_chat(request: Request,
                 channel_id: Annotated[str | None, Query(max_length=200)] = None,
                 user_id: Annotated[str | None, Query(max_length=200)] = None,
                 start_date: Annotated[str | None, Query(description="a day (INGEST_TZ) or an ISO 8601 time")] = None,
                 end_date: Annotated[str | None, Query(description="a day (inclusive) or an ISO time (exclusive)")] = None,
                 skip: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
                 limit: Annotated[int, Query(ge=1, le=MAX_ITEMS)] = 100):
        bounds = {}
        for name, text in (("start", start_date), ("end", end_date)):
            if text is not None:
                bounds[name], why = ingest_items.date_bound(text, request.app.state.tz, end=name == "end")
                if why:
                    raise HTTPException(422, f"{name}_date: {why}")
        return _db_call(request, "GET /chat", ingest_db.chat_rows, channel_id=channel_id, user_id=user_id,
                        skip=skip, limit=limit, **bounds)

    @app.get("/chat/channels", response_model=list[ChannelRow], dependencies=guarded,
             summary="Known channels and the time of their latest stored line")
    def get_channels(request: Request):
        return _db_call(request, "GET /chat/channels", ingest_db.channel_rows)

    return app
