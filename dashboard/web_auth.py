"""The sign-in and sign-out of `python -m dashboard serve`: ASGI middleware (behind
hosts.HostGuard, so the `Host` is checked first) that answers two endpoints of its own and
sends page visits without a sign-in to the first.

- ``GET /_dash/sign-in?next=/page?…``: a plain HTML form (name, password) with an
  anti-CSRF token: a random value both in a hidden field and in an HttpOnly, SameSite=Strict
  cookie scoped to ``/_dash`` (double submit).
- ``POST /_dash/sign-in``: only ``application/x-www-form-urlencoded`` (else 415), at most
  4 KiB (413), from this origin (an ``Origin`` or ``Sec-Fetch-Site`` saying otherwise: 403)
  with the two CSRF values equal (403). The password is checked by login.sign_in (its
  budgets, delay and audit record); success sets the session cookie (sessions.issue:
  ``dash_session``, HttpOnly, SameSite=Lax, Path=/, Max-Age, Secure when the request came
  over https or a proxy says ``X-Forwarded-Proto: https``) and redirects (303) to ``next``
  (a path on this site only).
- ``GET /_dash/sign-out``: a one-button form; ``POST`` (same checks) ends every session of
  the account (sessions.revoke_account), clears the cookie and goes back to the sign-in.
- A page visit (a GET navigation: not Streamlit's own routes or files) without a good
  session cookie, while accounts exist, is redirected (303) to the sign-in with the page
  as ``next``; not when it carries a share link (``share=``) or OIDC (``oidc=``, Streamlit's
  auth cookie), which the app checks itself. The app checks the cookie on every run too
  (login.gate), so this redirect is a convenience, not the lock.

SameSite=Lax, not Strict: a dashboard link opened from a chat app or a mail (a cross-site
top-level navigation) must arrive signed in, which is what the issue asked for; Lax still
keeps the cookie off cross-site POSTs, frames, fetches and websockets (a foreign page's
script cannot open the app's websocket as the visitor), and every state-changing request
here is a POST with a CSRF token and an origin check.
"""
from __future__ import annotations

import html
import logging
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, quote, urlsplit

import anyio

from dashboard import accounts, login, sessions
from dashboard.i18n import t

log = logging.getLogger(__name__)

PREFIX = "/_dash"
SIGN_IN = PREFIX + "/sign-in"
SIGN_OUT = PREFIX + "/sign-out"
CSRF_COOKIE = "dash_csrf"
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_BODY = 4096
STREAMLIT_AUTH_COOKIE = "_streamlit_user"
# paths of Streamlit's own (not pages): its API, files, and OIDC routes
_NOT_PAGES = ("/_stcore/", "/static/", "/media/", "/component/", "/app/static/", "/auth/", "/oauth2callback")
ACTIVE = False  # set by serve_cli: the app then reads the cookie instead of drawing its own form


def cookies(scope) -> dict[str, str]:
    jar = SimpleCookie()
    for k, v in scope.get("headers", ()):
        if k == b"cookie":
            try:
                jar.load(v.decode("latin-1"))
            except Exception:  # noqa: BLE001 - a malformed cookie header is no cookie
                continue
    return {k: m.value for k, m in jar.items()}


def _header(scope, name: bytes) -> str | None:
    return next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == name), None)


def is_https(scope) -> bool:
    return scope.get("scheme") == "https" or (_header(scope, b"x-forwarded-proto") or "").lower() == "https"


def cookie_header(name: str, value: str, max_age: int, scope, path: str = "/", same_site: str = "Lax") -> bytes:
    secure = "; Secure" if is_https(scope) else ""
    return (f"{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite={same_site}{secure}").encode()


def safe_next(target: str | None) -> str:
    """`target` when it is a path of this site (not //host, not a scheme, no backslash), else /."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target) or target.startswith(PREFIX):
        return "/"
    return target


def _lang(target: str) -> str:
    got = parse_qs(urlsplit(target).query).get("lang", ["ko"])[0]
    return got if got in ("ko", "en") else "ko"


class AuthEndpoints:
    """ASGI middleware: the sign-in and sign-out endpoints and the redirect of signed-out page visits."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = "/" + "/".join(p for p in scope.get("path", "").split("/") if p)
        method = scope.get("method", "GET")
        if path in (SIGN_IN, SIGN_OUT):
            if method in ("GET", "HEAD"):
                return await self._form(scope, send, path)
            if method != "POST":
                return await _text(send, 405, "405 Method Not Allowed\n", [(b"allow", b"GET, POST")])
            return await self._post(scope, receive, send, path)
        if path.startswith(PREFIX + "/") or path == PREFIX:
            return await _text(send, 404, "404 Not Found\n")
        if method in ("GET", "HEAD") and _is_page_visit(scope, path) and await anyio.to_thread.run_sync(
                _needs_sign_in, scope):
            target = path + ("?" + scope["query_string"].decode("latin-1") if scope.get("query_string") else "")
            return await _redirect(send, f"{SIGN_IN}?next={quote(target, safe='')}")
        return await self.app(scope, receive, send)

    async def _form(self, scope, send, path: str, error: str | None = None, status: int = 200,
                    name: str = "") -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        target = safe_next(query.get("next", ["/"])[0])
        token = secrets.token_urlsafe(32)
        page = _page(path, _lang(target), target, token, error, name)
        headers = [(b"set-cookie", cookie_header(CSRF_COOKIE, token, 3600, scope, PREFIX, "Strict"))]
        return await _html(send, status, page, headers)

    async def _post(self, scope, receive, send, path: str) -> None:
        kind = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if kind != FORM_TYPE:
            return await _text(send, 415, f"415 Unsupported Media Type: send {FORM_TYPE}\n")
        if not _same_origin(scope):
            return await _text(send, 403, "403 Forbidden: not from this site.\n")
        body = await _body(receive)
        if body is None:
            return await _text(send, 413, "413 Content Too Large\n")
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        expected = cookies(scope).get(CSRF_COOKIE, "")
        if not expected or not secrets.compare_digest(expected.encode(), form.get("csrf", "").encode()):
            return await _text(send, 403, "403 Forbidden: the form expired; open the sign-in page again.\n")
        target = safe_next(form.get("next"))
        if path == SIGN_OUT:
            return await self._sign_out(scope, send)
        peer = (scope.get("client") or ("local",))[0]
        peer = "local" if peer in login.LOOPBACK else peer
        name, password = form.get("name", "").strip(), form.get("password", "")
        account, outcome = await anyio.to_thread.run_sync(_check, name, password, peer)
        if account is None:
            key = {"locked": "login_locked", "broken": "login_broken_file"}.get(outcome, "login_failed")
            scope = {**scope, "query_string": ("next=" + quote(target, safe="")).encode()}
            return await self._form(scope, send, SIGN_IN, t(key, _lang(target)), 401, name[:64])
        value, max_age = await anyio.to_thread.run_sync(sessions.issue, account)
        log.info("sign-in: %s (%s) from %s", account.name, account.role, peer)
        return await _redirect(send, target, [(b"set-cookie", cookie_header(sessions.COOKIE, value, max_age, scope)),
                                              (b"set-cookie", cookie_header(CSRF_COOKIE, "", 0, scope, PREFIX,
                                                                            "Strict"))])

    async def _sign_out(self, scope, send) -> None:
        value = cookies(scope).get(sessions.COOKIE)
        account = await anyio.to_thread.run_sync(_verify, value) if value else None
        if account is not None:
            ended = await anyio.to_thread.run_sync(sessions.revoke_account, account.name)
            log.info("sign-out: %s (%d session(s) ended)", account.name, ended)
        return await _redirect(send, SIGN_IN, [(b"set-cookie", cookie_header(sessions.COOKIE, "", 0, scope))])


def _check(name: str, password: str, peer: str) -> tuple[accounts.Account | None, str]:
    try:
        known = accounts.load()
    except accounts.AccountsError as exc:
        log.error("sign-in refused: %s", exc)
        return None, "broken"
    return login.sign_in(known, name, password, peer)


def _verify(value: str) -> accounts.Account | None:
    try:
        return sessions.verify(value, accounts.load())
    except accounts.AccountsError:
        return None


def _needs_sign_in(scope) -> bool:
    """A page visit that should go to the sign-in first: accounts exist, and neither a good
    session cookie, a share link, an OIDC step nor Streamlit's auth cookie came with it."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    jar = cookies(scope)
    if "share" in query or "oidc" in query or any(k.startswith(STREAMLIT_AUTH_COOKIE) for k in jar):
        return False
    try:
        known = accounts.load()
    except accounts.AccountsError:
        return False  # the app says the file is broken
    return bool(known) and sessions.verify(jar.get(sessions.COOKIE), known) is None


def _is_page_visit(scope, path: str) -> bool:
    if any(part in path + "/" for part in _NOT_PAGES) or "." in path.rsplit("/", 1)[-1]:
        return False
    mode = _header(scope, b"sec-fetch-mode")
    if mode is not None:
        return mode == "navigate"
    return "text/html" in (_header(scope, b"accept") or "")


def _same_origin(scope) -> bool:
    """No sign of another site: Sec-Fetch-Site (when sent) is same-origin or none, and
    Origin (when sent) is this Host over this scheme."""
    site = _header(scope, b"sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = _header(scope, b"origin")
    if origin is None:
        return True
    host = _header(scope, b"host") or ""
    return origin in (f"http://{host}", f"https://{host}")


async def _body(receive) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


_SECURITY = [(b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store"),
             (b"referrer-policy", b"same-origin"), (b"x-frame-options", b"DENY"),
             (b"content-security-policy",
              b"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")]


async def _send(send, status: int, body: bytes, kind: bytes, headers=()) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode()),
                            *_SECURITY, *headers]})
    await send({"type": "http.response.body", "body": body})


async def _text(send, status: int, text: str, headers=()) -> None:
    await _send(send, status, text.encode(), b"text/plain; charset=utf-8", headers)


async def _html(send, status: int, page: str, headers=()) -> None:
    await _send(send, status, page.encode(), b"text/html; charset=utf-8", headers)


async def _redirect(send, location: str, headers=()) -> None:
    await _send(send, 303, b"", b"text/plain; charset=utf-8", [(b"location", location.encode("latin-1")), *headers])


_STYLE = """body{font-family:"Source Sans Pro",system-ui,sans-serif;background:#fff;color:#31333f;margin:0}
main{max-width:420px;margin:12vh auto;padding:0 24px}h1{font-size:2rem;margin:0 0 1.5rem}
label{display:block;font-size:.9rem;margin:1rem 0 .3rem}input{box-sizing:border-box;width:100%;padding:.6rem;
border:1px solid #d6d6d9;border-radius:.5rem;font-size:1rem}button{margin-top:1.4rem;padding:.55rem 1.2rem;
border:1px solid #d6d6d9;border-radius:.5rem;background:#fff;font-size:1rem;cursor:pointer}
button:hover{border-color:#ff4b4b;color:#ff4b4b}.error{background:#ffecec;color:#7d353b;padding:.8rem 1rem;
border-radius:.5rem;margin-bottom:1rem}"""


def _page(path: str, lang: str, target: str, token: str, error: str | None, name: str = "") -> str:
    e = html.escape
    hidden = (f'<input type="hidden" name="csrf" value="{e(token)}">'
              f'<input type="hidden" name="next" value="{e(target)}">')
    err = f'<p class="error" role="alert">{e(error)}</p>' if error else ""
    if path == SIGN_OUT:
        title = t("login_logout", lang)
        form = (f'<form method="post" action="sign-out">{hidden}<p>{e(t("login_logout_everywhere", lang))}</p>'
                f'<button type="submit">{e(title)}</button></form>')
    else:
        title = t("login_title", lang)
        form = (f'<form method="post" action="sign-in">{hidden}'
                f'<label for="name">{e(t("login_name", lang))}</label>'
                f'<input id="name" name="name" value="{e(name)}" autocomplete="username" required maxlength="64"'
                f'{"" if name else " autofocus"}>'
                f'<label for="password">{e(t("login_password", lang))}</label>'
                '<input id="password" name="password" type="password" autocomplete="current-password" required>'
                f'<button type="submit">{e(t("login_submit", lang))}</button></form>')
        for name in login.oidc_providers(login._secrets()):  # st.login runs in the app: ?oidc= starts it
            label = t("login_oidc", lang) + ("" if name == "default" else f" ({name})")
            form += f'<p class="oidc"><a href="/?oidc={quote(name)}&amp;lang={lang}">{e(label)}</a></p>'

    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<title>{e(title)} · {e(t("app_title", lang))}</title><style>{_STYLE}</style></head>'
            f'<body><main><h1>{e(title)}</h1>{err}{form}</main></body></html>')
