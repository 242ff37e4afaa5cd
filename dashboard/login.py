"""Who is looking: the login form when accounts exist, the signed-in account in the sidebar.

The accounts file is read on every run, so a removed account, a changed role, channel
list or password takes effect at the viewer's next click. A wrong name or password gets
one message that does not tell which was wrong; every failure waits FAIL_DELAY seconds,
and a name that failed MAX_FAILS times within LOCK_SECONDS is refused for the rest of
that window (whether or not it exists, so the lock tells nothing either)."""
from __future__ import annotations

import logging
import threading
import time

import streamlit as st

from dashboard import accounts
from dashboard.i18n import t

log = logging.getLogger(__name__)

SESSION_KEY = "_account"  # (name, password hash) of the signed-in account
FAIL_DELAY = 1.0
MAX_FAILS = 5
LOCK_SECONDS = 300
LOOPBACK = ("127.0.0.1", "localhost", "::1")

_fails: dict[str, list[float]] = {}
_fails_lock = threading.Lock()


def _locked(name: str, now: float) -> bool:
    with _fails_lock:
        recent = [x for x in _fails.get(name.lower(), []) if now - x < LOCK_SECONDS]
        _fails[name.lower()] = recent
        return len(recent) >= MAX_FAILS


def _failed(name: str, now: float) -> None:
    with _fails_lock:
        _fails.setdefault(name.lower(), []).append(now)


def reset_failures() -> None:
    """Forget every failed attempt (tests)."""
    with _fails_lock:
        _fails.clear()


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
    now = time.monotonic()
    if _locked(name, now):
        log.warning("sign-in refused: too many failures for a name")
        st.error(t("login_locked"))
        return
    account = accounts.authenticate(known, name, password)
    if account is None:
        _failed(name, now)
        log.warning("sign-in failed")  # neither the name nor the password is logged
        time.sleep(FAIL_DELAY)
        st.error(t("login_failed"))
        return
    st.session_state[SESSION_KEY] = (account.name, account.password)
    log.info("sign-in: %s (%s)", account.name, account.role)
    st.rerun()
