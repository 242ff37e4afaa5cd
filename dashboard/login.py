"""Who is looking: the login form when accounts exist, the signed-in account in the sidebar.

The accounts file is read on every run, so a removed account, a changed role, channel
list or password takes effect at the viewer's next click. A wrong name or password gets
one message that does not tell which was wrong; every failure waits FAIL_DELAY seconds.

Attempts are counted before the password is hashed (under one lock, so parallel attempts
cannot all pass the check before any is counted), against three budgets: a name that
failed MAX_FAILS times within LOCK_SECONDS is refused for the rest of that window (whether
or not it exists, so the lock tells nothing either); so is an address (the connection's
peer) that failed ADDRESS_MAX_FAILS times, whatever names it tried; and beyond
OVERALL_MAX_ATTEMPTS attempts within OVERALL_SECONDS from everyone together (guessing from
many addresses; it also bounds the scrypt work), every attempt waits for the next window.
Each checked failure goes to the audit log with the name typed and the peer address.

Where the sign-in lives:
- `python -m dashboard serve` (web_auth.ACTIVE): in an HttpOnly cookie its middleware sets
  (dashboard/web_auth.py, dashboard/sessions.py); every run verifies it (signature, expiry,
  the server's session table, the account and its password), so it survives F5 and new
  tabs and ends everywhere at the next click once the account is removed, its password
  changed or it signs out.
- a hand-started `streamlit run` (no middleware, no way to set an HttpOnly cookie): the
  form below, and the sign-in lives in the page's session (a reload asks again).
- a share link (``?share=TOKEN``, sessions.verify_share): no account; its page and channels.
- an identity provider, when Streamlit's ``[auth]`` secrets configure one (st.login): its
  user is the account listing their e-mail or sub (accounts.by_identity); others are refused."""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import streamlit as st

from core import settings
from dashboard import accounts, audit, hosts, sessions
from dashboard.i18n import t

log = logging.getLogger(__name__)

SESSION_KEY = "_account"  # (name, password hash) of the signed-in account
SHARE_KEY = "_share_token"  # the share link this session opened with
FAIL_DELAY = 1.0
MAX_FAILS = 5  # per name, within LOCK_SECONDS
ADDRESS_MAX_FAILS = 20  # per peer address, within LOCK_SECONDS
LOCK_SECONDS = 300
OVERALL_MAX_ATTEMPTS = 60  # everyone together, within OVERALL_SECONDS
OVERALL_SECONDS = 60
LOOPBACK = ("127.0.0.1", "localhost", "::1")

# ("name", name) / ("peer", address) -> times of failed (or still being checked) attempts;
# ("all", "") -> times of every attempt
_attempts: dict[tuple[str, str], deque[float]] = {}
_attempts_lock = threading.Lock()


def _recent(key: tuple[str, str], now: float, window: float) -> deque[float]:
    times = _attempts.setdefault(key, deque())
    while times and now - times[0] >= window:
        times.popleft()
    return times


def _begin(name: str, peer: str, now: float) -> bool:
    """Count an attempt by `name` from `peer` unless a budget is spent (then False)."""
    keys = (("name", name.lower()), ("peer", peer))
    with _attempts_lock:
        if len(_attempts) > 10_000:  # names nobody tried for a while
            for key in [k for k, v in _attempts.items() if not v or now - v[-1] >= LOCK_SECONDS]:
                del _attempts[key]
        overall = _recent(("all", ""), now, OVERALL_SECONDS)
        by_name, by_peer = (_recent(k, now, LOCK_SECONDS) for k in keys)
        if len(by_name) >= MAX_FAILS or len(by_peer) >= ADDRESS_MAX_FAILS or len(overall) >= OVERALL_MAX_ATTEMPTS:
            return False
        for times in (overall, by_name, by_peer):
            times.append(now)
        return True


def _succeeded(name: str, peer: str, now: float) -> None:
    """The attempt counted at `now` was right: it is no failure of the name or the address."""
    with _attempts_lock:
        for key in (("name", name.lower()), ("peer", peer)):
            times = _attempts.get(key)
            if times and now in times:
                times.remove(now)


def reset_failures() -> None:
    """Forget every attempt (tests)."""
    with _attempts_lock:
        _attempts.clear()


def sign_in(known: dict[str, accounts.Account], name: str, password: str,
            peer: str) -> tuple[accounts.Account | None, str]:
    """(the account, "ok") when name and password match; else (None, "failed"), or
    (None, "locked") when a budget is spent (the password is then not checked at all)."""
    now = time.monotonic()
    if not _begin(name, peer, now):
        log.warning("sign-in refused: too many attempts (for the name, from %s, or overall)", peer)
        return None, "locked"
    account = accounts.authenticate(known, name, password)
    if account is None:
        log.warning("sign-in failed from %s", peer)  # neither the name nor the password is logged here
        try:
            audit.append(audit.sign_in_failure(name, peer))
        except OSError as exc:
            log.error("audit record of a failed sign-in not written: %s", exc)
        time.sleep(FAIL_DELAY)
        return None, "failed"
    _succeeded(name, peer, now)
    return account, "ok"


def gate(pages: list) -> accounts.Account | None:
    """The signed-in account; None when no accounts are configured. Otherwise draws the
    login form and stops the run until the viewer signs in. `pages` (every st.Page) are
    registered hidden meanwhile, so the page in the URL is still the one opened after."""
    try:
        known = accounts.load()
    except accounts.AccountsError as exc:
        log.error("dashboard closed: %s", exc)
        st.error(t("login_broken_file"))
        st.stop()
    _check_host(bool(known))
    if not known:
        st.session_state.pop(SESSION_KEY, None)
        address = st.get_option("server.address")
        if address not in LOOPBACK:  # unset or empty too: Streamlit then listens on every interface
            log.error("dashboard closed: no accounts, and server.address is %r, not loopback", address)
            st.error(t("login_public_no_accounts"))
            st.stop()
        return None
    shared = _share(known)
    if shared is not None:
        return shared
    providers = oidc_providers(_secrets())
    if providers and st.user.is_logged_in:
        return _oidc_account(known)
    from dashboard import web_auth
    if web_auth.ACTIVE:  # the middleware's cookie, checked on every run
        account = sessions.verify(st.context.cookies.get(sessions.COOKIE), known)
        if account is not None:
            _signed_in(account, served=True)
            return account
        st.navigation(pages, position="hidden")
        _signed_out(providers)
        st.stop()
    name, hashed = st.session_state.get(SESSION_KEY) or (None, None)
    account = known.get(name) if name else None
    if account is not None and account.password == hashed:
        _signed_in(account)
        return account
    st.session_state.pop(SESSION_KEY, None)
    st.navigation(pages, position="hidden")  # never run while signed out
    _form(known)
    _oidc_buttons(providers)
    st.stop()


def pages_for(account: accounts.Account | None, listed: list) -> list:
    """The pages `account` is shown: all of `listed`, but a share link's one page only."""
    if account is None or account.role != accounts.SHARED:
        return listed
    page = st.session_state.get(SHARE_KEY, ("", ""))[1]
    return [p for p in listed if isinstance(getattr(p, "_page", None), Path) and p._page.stem == page]


def _share(known: dict[str, accounts.Account]) -> accounts.Account | None:
    """A share link's viewer when the URL (or this session) carries a good token; an
    expired, revoked or edited one says so, and the sign-in follows."""
    token = st.query_params.get("share")
    if token is None and SHARE_KEY in st.session_state:
        token = st.session_state[SHARE_KEY][0]
    if token is None:
        return None
    share = sessions.verify_share(token, known)
    if share is None:
        st.session_state.pop(SHARE_KEY, None)
        st.error(t("share_invalid"))
        return None
    st.session_state[SHARE_KEY] = (token, share.page)
    if st.query_params.get("share") != token:
        st.query_params["share"] = token  # kept in the URL: F5 opens the same view
    with st.sidebar:
        until = datetime.fromtimestamp(share.expires, UTC).strftime("%Y-%m-%d %H:%M UTC")
        st.caption(":material/share: " + t("share_viewing").format(until=until))
    return share.viewer()


# ---- OIDC (st.login) ------------------------------------------------------------------------

def _secrets() -> Mapping:
    try:
        return st.secrets.to_dict() if st.secrets.load_if_toml_exists() else {}
    except Exception:  # noqa: BLE001 - no secrets file, or a broken one: no provider
        return {}


def oidc_providers(secrets: Mapping) -> list[str]:
    """The identity providers Streamlit's ``[auth]`` secrets configure (st.login needs
    redirect_uri and cookie_secret, then either client_id and server_metadata_url in
    [auth] itself — the provider ``default`` — or a table [auth.NAME] with both): their
    names, [] when none is usable."""
    auth = secrets.get("auth") if isinstance(secrets, Mapping) else None
    if not isinstance(auth, Mapping) or not auth.get("redirect_uri") or not auth.get("cookie_secret"):
        return []
    needed = ("client_id", "client_secret", "server_metadata_url")
    named = [k for k, v in auth.items() if isinstance(v, Mapping) and all(v.get(n) for n in needed)]
    if all(auth.get(n) for n in needed):
        named.insert(0, "default")
    return named


def _oidc_account(known: dict[str, accounts.Account]) -> accounts.Account:
    """The account mapped to the identity provider's signed-in user; else a refusal and stop."""
    user = st.user
    account = accounts.by_identity(known, user.get("email"), user.get("sub"), user.get("email_verified"))
    if account is None:
        log.warning("OIDC sign-in refused: no account lists this user (their e-mail or sub)")
        st.error(t("login_oidc_unmapped"))
        if st.button(t("login_logout"), key="oidc_logout"):
            st.logout()
        st.stop()
    _signed_in(account, oidc=True)
    return account


def _oidc_buttons(providers: list[str]) -> None:
    for name in providers:
        label = t("login_oidc") + ("" if name == "default" else f" ({name})")
        if st.button(label, key=f"oidc_{name}", icon=":material/key:") or st.query_params.get("oidc") == name:
            st.login() if name == "default" else st.login(name)


def _check_host(has_accounts: bool) -> None:
    """Stop the run when the page's websocket came for a Host outside the allow-list
    (dashboard/hosts.py): `python -m dashboard serve` refuses those before the app runs,
    a hand-started `streamlit run` does not. No Host at all is AppTest."""
    host = st.context.headers.get("Host")
    if host is None:
        return
    try:
        allowed = hosts.policy(has_accounts, settings.get("DASHBOARD_ALLOWED_HOSTS")).allows(host)
    except ValueError as exc:  # a bad DASHBOARD_ALLOWED_HOSTS: refuse, say why in the log
        log.error("dashboard closed: %s", exc)
        allowed = False
    if not allowed:
        log.warning("page refused for Host %r (DNS rebinding protection; DASHBOARD_ALLOWED_HOSTS adds names)",
                    host[:100])
        st.error(t("login_wrong_host"))
        st.stop()


def _signed_in(account: accounts.Account, served: bool = False, oidc: bool = False) -> None:
    with st.sidebar:
        st.caption(t("login_signed_in"))
        st.text(f"{account.name} · {t('role_' + account.role)}")
        if st.button(t("login_logout"), key="logout", icon=":material/logout:",
                     help=t("login_logout_everywhere") if served else None):
            if served:  # the cookie is HttpOnly (the app cannot clear it): its row goes, and every other
                ended = sessions.revoke_account(account.name)  # of the account, so it is worth nothing
                log.info("sign-out: %s (%d session(s) ended)", account.name, ended)
            if oidc:
                st.logout()
            st.session_state.pop(SESSION_KEY, None)
            log.info("sign-out: %s", account.name)
            st.rerun()


def _here() -> str:
    """This page's path and query, for the sign-in to come back to."""
    path = urlsplit(st.context.url or "/").path or "/"
    query = {k: v for k, v in st.query_params.to_dict().items() if k != "share"}
    return path + ("?" + urlencode(query) if query else "")


def _signed_out(providers: list[str]) -> None:
    """Served, without a good cookie (signed out, expired, the account removed or changed)."""
    st.title(t("login_title"))
    st.info(t("login_session_ended"))
    st.markdown(f":material/login: [{t('login_submit')}](/_dash/sign-in?next={quote(_here(), safe='')})")
    _oidc_buttons(providers)


def _form(known: dict[str, accounts.Account]) -> None:
    st.title(t("login_title"))
    with st.form("login"):
        name = st.text_input(t("login_name"), key="login_name").strip()
        password = st.text_input(t("login_password"), type="password", key="login_password")
        submitted = st.form_submit_button(t("login_submit"))
    if not submitted:
        return
    account, outcome = sign_in(known, name, password, st.context.ip_address or "local")
    if account is None:
        st.error(t("login_locked" if outcome == "locked" else "login_failed"))
        return
    st.session_state[SESSION_KEY] = (account.name, account.password)
    log.info("sign-in: %s (%s)", account.name, account.role)
    st.rerun()


def share_box(account: accounts.Account | None, filters, page) -> None:
    """The sidebar's "share this view": a signed-in account makes a read-only link to this
    page over the channels selected (sessions.create_share), valid for the days chosen."""
    if account is None or account.role == accounts.SHARED or filters is None:
        return
    stem = page._page.stem if isinstance(getattr(page, "_page", None), Path) else ""
    if stem not in sessions.SHAREABLE:
        return
    with st.sidebar.popover(t("share_make"), icon=":material/share:"):
        st.caption(t("share_link_help"))
        days = st.number_input(t("share_days"), min_value=1, max_value=sessions.MAX_SHARE_DAYS, value=7, step=1,
                               key="share_days")
        if st.button(t("share_create"), key="share_create"):
            share, token = sessions.create_share(account, stem, filters.channels, float(days))
            log.info("share link %s made by %s: page %s, %d channel(s), %d day(s)", share.id, account.name, stem,
                     len(share.channels), days)
            origin = urlsplit(st.context.url or "")
            base = f"{origin.scheme}://{origin.netloc}" if origin.netloc else ""
            query = {**{k: v for k, v in st.query_params.to_dict().items() if k != "share"}, "share": token}
            st.code(f"{base}/{page.url_path}?{urlencode(query)}", language=None, wrap_lines=True)
