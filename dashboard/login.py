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
Each checked failure goes to the audit log with the name typed and the peer address."""
from __future__ import annotations

import logging
import threading
import time
from collections import deque

import streamlit as st

from core import settings
from dashboard import accounts, audit, hosts
from dashboard.i18n import t

log = logging.getLogger(__name__)

SESSION_KEY = "_account"  # (name, password hash) of the signed-in account
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
    name, hashed = st.session_state.get(SESSION_KEY) or (None, None)
    account = known.get(name) if name else None
    if account is not None and account.password == hashed:
        _signed_in(account)
        return account
    st.session_state.pop(SESSION_KEY, None)
    st.navigation(pages, position="hidden")  # never run while signed out
    _form(known)
    st.stop()


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


def _signed_in(account: accounts.Account) -> None:
    with st.sidebar:
        st.caption(t("login_signed_in"))
        st.text(f"{account.name} · {t('role_' + account.role)}")
        if st.button(t("login_logout"), key="logout", icon=":material/logout:"):
            st.session_state.pop(SESSION_KEY, None)
            log.info("sign-out: %s", account.name)
            st.rerun()


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
