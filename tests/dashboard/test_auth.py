"""Dashboard accounts, roles, login, audit log, URL-persisted sidebar and the language
switch: the pure parts directly, the app with AppTest over the fixture lake (real files:
a real accounts TOML, a real audit JSONL), the CLI as a subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg2.extras
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import accounts, audit, data, login, serve_cli, urlstate
from dashboard.i18n import t
from tests.lakefixture import build_fixture_lake
from warehouse.sync.export import sync

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "streamlit_app.py")
REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse 1"
FAST = {"n": 2**10}  # test-only scrypt cost for accounts that only need to exist


# ---- passwords ----------------------------------------------------------------------------

@pytest.mark.unit
def test_scrypt_hash_round_trip_with_random_salt_and_stored_parameters():
    one, two = accounts.hash_password(PASSWORD), accounts.hash_password(PASSWORD)
    assert one != two  # a fresh salt each time
    scheme, n, r, p, salt, key = one.split("$")
    assert (scheme, int(n), int(r), int(p)) == ("scrypt", accounts.SCRYPT_N, accounts.SCRYPT_R, accounts.SCRYPT_P)
    assert PASSWORD not in one
    assert accounts.verify_password(PASSWORD, one) and accounts.verify_password(PASSWORD, two)
    # parameters come from the stored hash, so a hash made with other ones still verifies
    assert accounts.verify_password("x" * 8, accounts.hash_password("x" * 8, n=2**10, r=4, p=2))


@pytest.mark.unit
@pytest.mark.parametrize("stored", [
    "", "plain", "scrypt$1$2$3", "bcrypt$16384$8$1$AAAA$AAAA", "scrypt$x$8$1$AAAA$AAAA",
    "scrypt$16384$8$1$!!notbase64$AAAA", "scrypt$3$8$1$AAAA$AAAA",  # n not a power of 2
])
def test_wrong_password_and_malformed_hashes_are_false_never_errors(stored):
    assert accounts.verify_password(PASSWORD, stored) is False


@pytest.mark.unit
def test_wrong_password_fails_and_unknown_name_looks_the_same():
    known = {"kim": accounts.Account("kim", "admin", password=accounts.hash_password(PASSWORD, **FAST))}
    assert accounts.authenticate(known, "kim", PASSWORD) == known["kim"]
    assert accounts.authenticate(known, "kim", PASSWORD + "!") is None
    assert accounts.authenticate(known, "nobody", PASSWORD) is None


# ---- the accounts file --------------------------------------------------------------------

CID = ["a" * 32, "b" * 32, "c" * 32]


@pytest.mark.unit
def test_accounts_file_round_trips_and_is_private(tmp_path):
    want = {
        "boss": accounts.Account("boss", "admin", password=accounts.hash_password(PASSWORD, **FAST)),
        "팬매니저".encode().hex()[:10]: accounts.Account("팬매니저".encode().hex()[:10], "streamer", (CID[0], CID[1]),
                                                     password=accounts.hash_password(PASSWORD, **FAST)),
        "ana": accounts.Account("ana", "analyst", cross_channel_search=True,
                                password=accounts.hash_password(PASSWORD, **FAST)),
    }
    path = tmp_path / "a" / "accounts.toml"
    accounts.save(want, path)
    assert accounts.load(path) == want
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert PASSWORD not in path.read_text()
    assert accounts.load(tmp_path / "missing.toml") == {}


@pytest.mark.unit
@pytest.mark.parametrize(("text", "says"), [
    ("[[account]\nname=", "not valid TOML"),
    ('[[account]]\nname = "x y"\nrole = "admin"\npassword = "scrypt$1"', "account name"),
    ('[[account]]\nname = "x"\nrole = "root"\npassword = "scrypt$1"', "role 'root'"),
    ('[[account]]\nname = "x"\nrole = "streamer"\npassword = "scrypt$1"', "needs --channels"),
    ('[[account]]\nname = "x"\nrole = "streamer"\nchannels = ["nothex"]\npassword = "scrypt$1"', "32 lowercase hex"),
    ('[[account]]\nname = "x"\nrole = "analyst"\npassword = "hunter2"', "not an scrypt hash"),
    ('[[account]]\nname = "x"\nrole = "analyst"\nchannels = ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]\npassword = "scrypt$1"',
     "restrict streamers only"),
    ('[[account]]\nname = "x"\nrole = "admin"\npassword = "scrypt$1"\n'
     '[[account]]\nname = "x"\nrole = "admin"\npassword = "scrypt$1"', "declared twice"),
    ('[[account]]\nname = "x"\nrole = "admin"\nchannels = "abc"\npassword = "scrypt$1"', "list of strings"),
])
def test_broken_accounts_files_say_what_to_fix(text, says):
    with pytest.raises(accounts.AccountsError, match=says.replace("$", r"\$")):
        accounts.parse(text)


@pytest.mark.unit
def test_roles_restrict_channels_and_cross_channel_search():
    streamer = accounts.Account("s", "streamer", (CID[2], CID[0]))
    analyst = accounts.Account("a", "analyst")
    granted = accounts.Account("g", "analyst", cross_channel_search=True)
    admin = accounts.Account("x", "admin")
    assert accounts.visible_channels(streamer, CID) == [CID[0], CID[2]]
    for who in (analyst, granted, admin, None):
        assert accounts.visible_channels(who, CID) == CID
    assert [accounts.may_search_across(w) for w in (streamer, analyst, granted, admin, None)] == [
        False, False, True, True, True]
    assert [accounts.may_read_audit(w) for w in (streamer, analyst, admin, None)] == [False, False, True, True]


@pytest.mark.unit
@pytest.mark.parametrize(("has", "configured", "want"), [
    (False, None, "127.0.0.1"), (False, "0.0.0.0", "127.0.0.1"), (False, "10.0.0.5", "127.0.0.1"),
    (True, None, "0.0.0.0"), (True, "10.0.0.5", "10.0.0.5"),
])
def test_serve_binds_loopback_unless_accounts_exist(has, configured, want):
    assert serve_cli.bind_address(has, configured) == want
    config = serve_cli.streamlit_config(want, 8600)
    assert (config["server.address"], config["server.port"]) == (want, 8600)


# ---- the CLI ------------------------------------------------------------------------------

def _cli(*args, stdin: str = "", env_file: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DASHBOARD_ACCOUNTS_FILE": str(env_file), "LOG_LEVEL": "INFO"}
    return subprocess.run([sys.executable, "-m", "dashboard", "accounts", *args], input=stdin, cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.integration
def test_accounts_cli_add_list_remove(tmp_path):
    path = tmp_path / "accounts.toml"
    ok = _cli("add", "mgr", "--role", "streamer", "--channels", f"{CID[0]},{CID[1]}", "--password-stdin",
              stdin=PASSWORD + "\n", env_file=path)
    assert ok.returncode == 0, ok.stderr
    assert PASSWORD not in ok.stdout + ok.stderr + path.read_text()
    assert _cli("add", "ana", "--role", "analyst", "--cross-channel-search", "--password-stdin",
                stdin=PASSWORD + "\n", env_file=path).returncode == 0
    got = accounts.load(path)
    assert got["mgr"].channels == (CID[0], CID[1]) and got["mgr"].role == "streamer"
    assert got["ana"].cross_channel_search and accounts.verify_password(PASSWORD, got["ana"].password)
    listing = _cli("list", env_file=path)
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert lines[0].split()[:2] == ["name", "role"] and len(lines) == 3
    assert "scrypt" not in listing.stdout
    assert _cli("remove", "mgr", env_file=path).returncode == 0
    assert set(accounts.load(path)) == {"ana"}
    missing = _cli("remove", "mgr", env_file=path)
    assert missing.returncode == 1 and "no account named" in missing.stderr


@pytest.mark.integration
@pytest.mark.parametrize(("args", "stdin", "says"), [
    (("add", "s", "--role", "streamer"), PASSWORD, "needs --channels"),
    (("add", "s", "--role", "streamer", "--channels", "xyz"), PASSWORD, "32 lowercase hex"),
    (("add", "bad name", "--role", "admin"), PASSWORD, "account name"),
    (("add", "short", "--role", "admin"), "abc", "too short"),
])
def test_accounts_cli_refuses_bad_input_and_changes_nothing(tmp_path, args, stdin, says):
    path = tmp_path / "accounts.toml"
    out = _cli(*args, "--password-stdin", stdin=stdin + "\n", env_file=path)
    assert out.returncode == 2 and says in out.stderr
    assert not path.exists()


# ---- URL state (pure) ---------------------------------------------------------------------

@pytest.mark.unit
def test_url_values_are_checked_against_what_the_viewer_may_pick():
    assert urlstate.pick(f"{CID[0]}, {CID[2]},{CID[0]},,evil", CID[:2]) == ([CID[0]], [CID[2], "evil"])
    assert urlstate.pick(None, CID) == ([], [])
    first, last = date(2026, 9, 1), date(2026, 9, 3)
    default = (date(2026, 9, 2), last)
    assert urlstate.dates("2026-09-03", "2026-09-01", first, last, default) == ((first, last), False)
    assert urlstate.dates("2020-01-01", "2030-01-01", first, last, default) == ((first, last), False)
    assert urlstate.dates(None, None, first, last, default) == (default, False)
    assert urlstate.dates("2026-13-01", "2026-09-02", first, last, default) == (default, True)
    assert urlstate.dates("2027-01-01", "2027-02-01", first, last, default) == (default, True)
    assert urlstate.lang("en", "ko") == "en" and urlstate.lang("<script>", "ko") == "ko"
    assert urlstate.choice("Mars/Base", urlstate.zones("Asia/Seoul"), "Asia/Seoul") == "Asia/Seoul"
    assert "UTC" in urlstate.zones("Asia/Seoul") and urlstate.zones("Europe/Paris")[0] == "Europe/Paris"
    full = urlstate.encode([CID[0]], first, last, list(urlstate.TYPES), False, "ko", "UTC")
    assert full == {"channels": CID[0], "from": "2026-09-01", "to": "2026-09-03", "lang": "ko", "tz": "UTC"}
    narrowed = urlstate.encode([CID[0]], first, last, ["chat", "donation"], True, "en", "UTC")
    assert narrowed["types"] == "chat,donation" and narrowed["live"] == "1"


# ---- the audit log ------------------------------------------------------------------------

@pytest.mark.unit
def test_audit_records_append_whole_lines_under_concurrency(tmp_path):
    path = tmp_path / "audit.jsonl"
    who = accounts.Account("mgr", "streamer", (CID[0],), password=accounts.hash_password(PASSWORD, **FAST))

    def writer(i: int) -> None:
        for j in range(25):
            audit.append(audit.record(who, "keyword_search", f"<b>{i}-{j}</b> \"ㅋㅋ\"\n", [CID[0]]), path)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 100
    recs = [json.loads(x) for x in lines]
    assert {r["query"] for r in recs} == {f"<b>{i}-{j}</b> \"ㅋㅋ\"\n" for i in range(4) for j in range(25)}
    assert all(r["account"] == "mgr" and r["role"] == "streamer" and r["channels"] == [CID[0]] for r in recs)
    assert "scrypt" not in path.read_text() and "password" not in path.read_text()
    with path.open("a") as f:
        f.write("{not json\n")
    df, bad = audit.read(path)
    assert bad == 1 and df.height == 100 and list(df.columns) == list(audit.COLUMNS)


@pytest.mark.unit
def test_audit_record_of_the_local_user_and_bad_kind():
    rec = audit.record(None, "user_search", "김", [CID[1], CID[0]], now=datetime(2026, 9, 1, tzinfo=UTC))
    assert rec == {"time": "2026-09-01T00:00:00.000+00:00", "account": "local", "role": "admin",
                   "kind": "user_search", "query": "김", "channels": [CID[0], CID[1]]}
    with pytest.raises(ValueError, match="audit kind"):
        audit.record(None, "login", "x", [])


# ---- sign-in attempts ---------------------------------------------------------------------

@pytest.fixture
def attempts(monkeypatch):
    """login.sign_in with no failure delay and no attempts remembered before or after."""
    monkeypatch.setattr(login, "FAIL_DELAY", 0.0)
    login.reset_failures()
    yield login.sign_in
    login.reset_failures()


def _in_parallel(n: int, fn) -> list:
    """fn(i) for i in range(n) in n threads released at once; their results."""
    start, out = threading.Barrier(n), [None] * n

    def run(i):
        start.wait()
        out[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return out


@pytest.mark.unit
def test_parallel_wrong_passwords_are_counted_before_the_hash(attempts):
    known = {"boss": accounts.Account("boss", "admin", password=accounts.hash_password(PASSWORD))}  # real cost
    outcomes = [o for _, o in _in_parallel(12, lambda i: attempts(known, "boss", f"wrong {i}", f"10.0.0.{i}"))]
    assert outcomes.count("failed") == login.MAX_FAILS and outcomes.count("locked") == 12 - login.MAX_FAILS
    assert attempts(known, "boss", PASSWORD, "10.0.0.99") == (None, "locked")  # the right one waits too
    records = audit.read()[0]
    failed = records.filter(records["kind"] == "sign_in_failed")
    assert failed.height == login.MAX_FAILS and set(failed["account"]) == {"boss"}
    assert set(failed["peer"]) <= {f"10.0.0.{i}" for i in range(12)} and failed.height == failed["peer"].n_unique()
    assert PASSWORD not in audit.audit_file().read_text() and "wrong" not in audit.audit_file().read_text()


@pytest.mark.unit
def test_one_address_trying_many_names_and_everyone_together_have_budgets(attempts, monkeypatch):
    known = {n: accounts.Account(n, "admin", password=accounts.hash_password(PASSWORD, **FAST))
             for n in ["boss"] + [f"n{i}" for i in range(10)]}  # names that exist: cheap hashes to check
    monkeypatch.setattr(login, "ADDRESS_MAX_FAILS", 4)
    spread = [attempts(known, f"n{i}", "nope nope", "10.9.9.9")[1] for i in range(6)]
    assert spread == ["failed"] * 4 + ["locked"] * 2  # one address, a new name each time
    assert attempts(known, "boss", PASSWORD, "10.1.1.1") == (known["boss"], "ok")  # another address is fine
    login.reset_failures()
    monkeypatch.setattr(login, "OVERALL_MAX_ATTEMPTS", 8)  # every name, every address: a botnet
    outcomes = [o for _, o in _in_parallel(10, lambda i: attempts(known, f"n{i}", "nope nope", f"10.2.0.{i}"))]
    assert outcomes.count("failed") == 8 and outcomes.count("locked") == 2
    assert attempts(known, "boss", PASSWORD, "10.3.0.1") == (None, "locked")  # until the window passes


# ---- the app ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("lake")
    return root, build_fixture_lake(root)


@pytest.fixture
def app(lake, monkeypatch):
    """(a factory of fresh AppTests over the fixture lake, facts, the accounts file path)."""
    root, facts = lake
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    monkeypatch.setattr(login, "FAIL_DELAY", 0.0)
    login.reset_failures()
    data.clear_caches()

    def new(**params) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=30)
        at.query_params.update(params)
        return at

    yield new, facts, accounts.accounts_file()
    login.reset_failures()
    data.clear_caches()


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _make(path: Path, *specs: tuple) -> None:
    accounts.save({name: accounts.Account(name, role, tuple(chans), cross, accounts.hash_password(PASSWORD, **FAST))
                   for name, role, chans, cross in specs}, path)


def _login(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    at.run()
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_password").input(password)
    return at.button[0].click().run()


def _summary_channels(at: AppTest) -> set[str]:
    return set(at.dataframe[0].value["channel_id"])  # the activity page's summary table


@pytest.mark.e2e
def test_no_accounts_no_login_and_a_localhost_banner_on_every_page(app):
    new, _, _ = app
    at = new().run()
    _ok(at)
    assert not [x for x in at.text_input if x.key == "login_name"]
    assert at.multiselect(key="f_types").value == []  # every message type by default
    for page in ("app_pages/overview.py", "app_pages/channel.py", "app_pages/broadcasts.py",
                 "app_pages/subscribers.py", "app_pages/donations.py", "app_pages/data_tables.py",
                 "app_pages/users.py", "app_pages/keywords.py", "app_pages/audit.py"):
        at.switch_page(page).run()
        _ok(at)
        assert any(t("localhost") in c.value for c in at.caption), page


@pytest.fixture
def server_address():
    """Set Streamlit's server.address for one test (as `streamlit run` outside the repo root
    leaves it: unset), then put back what .streamlit/config.toml gave."""
    from streamlit import config
    saved = config.get_option("server.address")
    yield lambda value: config.set_option("server.address", value)
    config.set_option("server.address", saved)


@pytest.mark.e2e
@pytest.mark.parametrize("address", [None, "", "0.0.0.0", "10.0.0.5"])
def test_no_accounts_and_no_loopback_address_serves_no_data(app, server_address, address):
    new, _, _ = app
    server_address(address)
    at = new().run()
    _ok(at)
    assert [e.value for e in at.error] == [t("login_public_no_accounts")]
    assert "127.0.0.1" in t("login_public_no_accounts", "en") and "accounts add" in t("login_public_no_accounts", "en")
    assert len(at.dataframe) == 0 and not at.sidebar.multiselect  # no filters, no data
    assert not any(t("localhost") in c.value for c in at.caption)  # no banner claiming localhost


@pytest.mark.e2e
def test_login_required_wrong_password_is_one_clear_error(app):
    new, facts, path = app
    _make(path, ("boss", "admin", [], False))
    at = new().run()
    _ok(at)
    assert [x.value for x in at.title] == [t("login_title")]
    assert len(at.dataframe) == 0 and not any(t("localhost") in c.value for c in at.caption)
    for name, password in (("boss", "wrong password"), ("nobody", PASSWORD)):
        at = _login(new(), name, password)
        _ok(at)
        assert [e.value for e in at.error] == [t("login_failed")]  # same words: no hint which was wrong
        assert len(at.dataframe) == 0
    at = _login(new(), "boss")
    _ok(at)
    assert _summary_channels(at) == set(facts["channel_ids"])
    assert any("boss" in x.value for x in at.text)
    at.button(key="logout").click().run()
    _ok(at)
    assert [x.value for x in at.title] == [t("login_title")] and len(at.dataframe) == 0


@pytest.mark.e2e
def test_repeated_failures_lock_the_name(app):
    new, _, path = app
    _make(path, ("boss", "admin", [], False))
    for _ in range(login.MAX_FAILS):
        _login(new(), "boss", "nope nope")
    at = _login(new(), "boss")  # right password, but locked for now
    assert [e.value for e in at.error] == [t("login_locked")]
    assert len(at.dataframe) == 0


@pytest.mark.e2e
def test_broken_accounts_file_closes_the_dashboard(app):
    new, _, path = app
    path.write_text("[[account]\n", encoding="utf-8")
    at = new().run()
    _ok(at)
    assert [e.value for e in at.error] == [t("login_broken_file")]
    assert len(at.dataframe) == 0 and not at.text_input


@pytest.mark.e2e
def test_streamer_sees_only_their_channels_even_with_a_tampered_url(app):
    new, facts, path = app
    own, other = facts["channel_ids"][0], facts["channel_ids"][1]
    _make(path, ("mgr", "streamer", [own], False))
    at = _login(new(channels=f"{other},{own}"), "mgr")
    _ok(at)
    assert any(t("sidebar_url_dropped").format(n=1) == w.value for w in at.warning)
    assert at.multiselect(key="f_channels").options == [facts["channel_names"][own]]
    assert _summary_channels(at) == {own}
    assert at.query_params["channels"] == own  # the URL now says what is shown

    only_other = _login(new(channels=other), "mgr")  # nothing left: their own channel, never the other
    assert _summary_channels(only_other) == {own}
    # the search pages too: a user who chats on every channel shows only their lines here
    special = next(r["user_id"] for r in facts["rows"] if r["nickname"] == facts["special_nick"])
    only_other.switch_page("app_pages/users.py").run()
    only_other.text_input(key="user_query").input("100%").run()
    _ok(only_other)
    assert list(only_other.dataframe[0].value["user_id"]) == [special]
    assert set(only_other.dataframe[2].value["channel_id"]) == {own}  # channels the user chats in
    messages = only_other.dataframe[3].value
    assert len(messages) == sum(1 for r in facts["rows"] if r["user_id"] == special and r["channel_id"] == own)
    assert set(messages["channel_id"]) == {own}
    assert set(audit.read()[0]["channels"]) == {own}


@pytest.mark.e2e
def test_overview_shows_lake_wide_totals_to_all_but_streamers(app):
    new, facts, path = app
    own = facts["channel_ids"][0]
    _make(path, ("mgr", "streamer", [own], False), ("ana", "analyst", [], False))
    lake_wide = t("overview_never_synced").format(days=len(facts["days"]), rows=len(facts["rows"]))  # no state.json
    ana = _login(new(), "ana")
    _ok(ana)
    assert lake_wide in [c.value for c in ana.caption]
    mgr = _login(new(), "mgr")
    _ok(mgr)
    captions = [c.value for c in mgr.caption]
    assert t("overview_never_synced_only") in captions
    assert not any(f"{len(facts['rows']):,}" in c for c in captions)
    assert _summary_channels(mgr) == {own}
    path.unlink()  # no accounts: the local user sees everything
    local = new().run()
    _ok(local)
    assert lake_wide in [c.value for c in local.caption]


@pytest.mark.e2e
def test_analyst_searches_users_one_channel_at_a_time_unless_granted(app):
    new, facts, path = app
    _make(path, ("ana", "analyst", [], False), ("ana2", "analyst", [], True))
    at = _login(new(), "ana")
    _ok(at)
    assert at.multiselect(key="f_channels").value == [urlstate.ALL_CHANNELS]  # "all channels", one choice
    assert set(at.session_state["_dashboard_filters"].channels) == set(facts["channel_ids"])  # reads every channel
    at.switch_page("app_pages/users.py").run()
    scope = at.selectbox(key="users_channel")
    assert len(scope.options) == len(facts["channel_ids"]) and scope.value in facts["channel_ids"]
    scope.set_value(facts["channel_ids"][2]).run()
    at.text_input(key="user_query").input("김").run()
    _ok(at)
    user_channels = at.dataframe[2].value
    assert set(user_channels["channel_id"]) == {facts["channel_ids"][2]}
    rec = audit.read()[0].row(1, named=True)  # newest first: [user_view, user_search]
    assert (rec["account"], rec["role"], rec["kind"], rec["query"], rec["channels"]) == (
        "ana", "analyst", "user_search", "김", facts["channel_ids"][2])

    granted = _login(new(), "ana2")
    granted.switch_page("app_pages/users.py").run()
    _ok(granted)
    assert not [s for s in granted.selectbox if s.key == "users_channel"]


@pytest.mark.e2e
def test_audit_page_is_for_admins_only(app):
    new, _, path = app
    _make(path, ("boss", "admin", [], False), ("ana", "analyst", [], True))
    audit.append(audit.record(None, "keyword_search", "**bold** <script>alert(1)</script>", []))
    boss = _login(new(), "boss")
    boss.switch_page("app_pages/audit.py").run()
    _ok(boss)
    table = boss.dataframe[0].value
    assert list(table["query"]) == ["**bold** <script>alert(1)</script>"]  # shown as typed
    assert len(boss.get("download_button")) == 2
    ana = _login(new(), "ana")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        ana.switch_page("app_pages/audit.py")


@pytest.mark.e2e
def test_url_restores_the_filters_and_follows_changes(app):
    new, facts, _ = app
    cid, day = facts["channel_ids"][2], facts["days"][1]
    at = new(channels=cid, **{"from": day.isoformat(), "to": day.isoformat()},
             types="chat,donation", live="0", tz="UTC").run()
    _ok(at)
    assert at.multiselect(key="f_channels").value == [cid]
    assert at.date_input(key="f_dates").value == (day, day)
    assert at.multiselect(key="f_types").value == ["chat", "donation"]
    assert at.selectbox(key="f_tz").value == "UTC"
    assert at.toggle(key="f_live").value is False
    expected = sum(1 for r in facts["rows"] if r["channel_id"] == cid and r["day"] == day
                   and r["user_id"] != "SYSTEM_MESSAGE")
    assert list(at.dataframe[0].value["messages"]) == [expected]
    other = facts["channel_ids"][0]
    at.multiselect(key="f_channels").set_value([cid, other]).run()
    assert at.query_params["channels"] == f"{cid},{other}"
    assert at.query_params["from"] == day.isoformat() and at.query_params["tz"] == "UTC"


@pytest.mark.e2e
def test_all_channels_is_one_choice_that_replaces_single_ones(app):
    new, facts, _ = app
    cid, every = facts["channel_ids"][2], set(facts["channel_ids"])
    at = new().run()  # no channels in the URL: "all channels", one chip
    _ok(at)
    picker = at.multiselect(key="f_channels")
    assert picker.value == [urlstate.ALL_CHANNELS] and picker.options[0] == t("sidebar_all_channels")
    assert set(at.session_state["_dashboard_filters"].channels) == every
    assert at.query_params["channels"] == urlstate.ALL_CHANNELS
    at.multiselect(key="f_channels").set_value([urlstate.ALL_CHANNELS, cid]).run()  # a channel picked: "all" goes
    assert at.multiselect(key="f_channels").value == [cid] and at.query_params["channels"] == cid
    assert at.session_state["_dashboard_filters"].channels == (cid,)
    at.multiselect(key="f_channels").set_value([cid, urlstate.ALL_CHANNELS]).run()  # "all" picked: the rest go
    assert at.multiselect(key="f_channels").value == [urlstate.ALL_CHANNELS]
    assert set(at.session_state["_dashboard_filters"].channels) == every
    again = new(channels=urlstate.ALL_CHANNELS).run()  # a copied URL with "all"
    _ok(again)
    assert again.multiselect(key="f_channels").value == [urlstate.ALL_CHANNELS]


@pytest.mark.e2e
def test_bad_url_values_fall_back_with_a_warning(app):
    new, facts, _ = app
    at = new(**{"from": "yesterday", "to": "2026-09-02"}, types="chat,<b>x</b>", tz="Mars/Base",
             lang="xx").run()
    _ok(at)
    warnings = [w.value for w in at.warning]
    assert t("sidebar_url_bad_dates") in warnings and t("sidebar_url_bad_types") in warnings
    assert at.date_input(key="f_dates").value == (facts["days"][0], facts["days"][-1])
    assert at.multiselect(key="f_types").value == ["chat"]
    assert at.selectbox(key="f_tz").value == data.display_tz() and at.selectbox(key="lang").value == "ko"


@pytest.mark.e2e
def test_language_switch_changes_labels_and_the_url(app):
    new, _, _ = app
    at = new().run()
    _ok(at)
    assert at.multiselect(key="f_channels").label == t("channels", "ko")
    at.selectbox(key="lang").set_value("en").run()
    _ok(at)
    assert at.multiselect(key="f_channels").label == "Channels"
    assert at.sidebar.header[0].value == "Filters"
    assert at.query_params["lang"] == "en"
    # and a URL with lang=en opens in English (AppTest cannot click on after a language
    # change: it re-formats other pages' radio labels in the test thread's language)
    shared = new(lang="en").run()
    _ok(shared)
    assert shared.selectbox(key="lang").value == "en" and shared.sidebar.header[0].value == "Filters"


@pytest.mark.e2e
def test_todays_data_toggle_and_message_types_from_the_url(app, request):
    new, facts, _ = app
    request.getfixturevalue("pg_url")  # today's data reads PostgreSQL: a test database, never .data
    at = new(live="1", types="donation").run()
    _ok(at)
    assert at.toggle(key="f_live").value is True and at.multiselect(key="f_types").value == ["donation"]
    donations = {cid: sum(1 for r in facts["rows"] if r["channel_id"] == cid and r["message_type"] == "donation")
                 for cid in facts["channel_ids"]}
    summary = at.dataframe[0].value
    assert dict(zip(summary["channel_id"], summary["messages"], strict=True)) == donations
    assert at.query_params["live"] == "1"
    at.multiselect(key="f_types").set_value([]).run()  # none picked means all
    _ok(at)
    assert at.multiselect(key="f_types").placeholder == t("sidebar_types_all") and "types" not in at.query_params
    assert int(at.dataframe[0].value["messages"].sum()) == sum(
        1 for r in facts["rows"] if r["user_id"] != "SYSTEM_MESSAGE")


def _new_channel(pg, channel_id: str, name: str) -> int:
    with pg.cursor() as cur:
        cur.execute("INSERT INTO stream_channel (channel_id, channel_name) VALUES (%s, %s) RETURNING id",
                    (channel_id, name))
        fk = cur.fetchone()[0]
    pg.commit()
    return fk


def _chat(pg, fk: int, n: int, when: datetime, created: datetime, key: str) -> None:
    rows = [(fk, "cid-today", f"u{i % 3}", f"닉{i % 3}", f"{key} {i}", "chat", when, created, "{}", f"{key}{i}")
            for i in range(n)]
    with pg.cursor() as cur:
        psycopg2.extras.execute_values(cur, "INSERT INTO stream_chat (channel_fk, chat_channel_id, user_id, nickname,"
                                       " message, message_type, chat_time, created_at, raw, dedupe_key) VALUES %s",
                                       rows)
    pg.commit()


@pytest.mark.integration
def test_todays_data_lists_a_channel_the_lake_does_not_have_yet(pg, tmp_path, monkeypatch):
    """A channel first collected after the last sync: not in the sidebar from the lake
    alone; with today's data on, it can be picked and its rows show."""
    now = datetime.now(UTC) - timedelta(seconds=30)
    old_fk = _new_channel(pg, "a" * 32, "어제 방송")
    _chat(pg, old_fk, 4, now - timedelta(days=1), now - timedelta(days=1), "어제")
    root = tmp_path / "lake"
    sync(pg, str(root), tz="Asia/Seoul")
    new_fk = _new_channel(pg, "b" * 32, "새 채널")
    _chat(pg, new_fk, 6, now, datetime.now(UTC), "새")
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    data.clear_caches()

    at = AppTest.from_file(APP, default_timeout=30).run()
    _ok(at)
    assert at.multiselect(key="f_channels").options == ["어제 방송"]
    at.toggle(key="f_live").set_value(True).run()
    _ok(at)
    picker = at.multiselect(key="f_channels")
    assert picker.options[0] == t("sidebar_all_channels") and sorted(picker.options[1:]) == ["새 채널", "어제 방송"]
    picker.set_value(["b" * 32]).run()
    _ok(at)
    summary = at.dataframe[0].value
    assert list(summary["messages"]) == [6]
    assert at.query_params["channels"] == "b" * 32 and at.query_params["live"] == "1"
    at.toggle(key="f_live").set_value(False).run()  # back to the lake: the channel is not there
    _ok(at)
    assert at.multiselect(key="f_channels").options == ["어제 방송"]
    data.clear_caches()


@pytest.mark.integration
def test_todays_data_shows_what_was_collected_after_the_sync(pg, tmp_path, monkeypatch):
    # the lake ends yesterday (nothing chatted since midnight before the sync); then chat today
    kst = ZoneInfo("Asia/Seoul")
    now = datetime.now(UTC) - timedelta(seconds=30)
    today = now.astimezone(kst).date()
    yesterday = today - timedelta(days=1)
    fk = _new_channel(pg, "d" * 32, "오늘 방송")
    noon = datetime(yesterday.year, yesterday.month, yesterday.day, 12, tzinfo=kst)
    _chat(pg, fk, 5, noon, noon + timedelta(seconds=1), "어제")
    root = tmp_path / "lake"
    sync(pg, str(root), tz="Asia/Seoul")
    _chat(pg, fk, 7, now, datetime.now(UTC), "오늘")
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    data.clear_caches()

    at = AppTest.from_file(APP, default_timeout=30).run()
    _ok(at)
    assert at.date_input(key="f_dates").max == yesterday and at.date_input(key="f_dates").value == (yesterday,) * 2
    assert list(at.dataframe[0].value["messages"]) == [5]  # the lake only
    at.toggle(key="f_live").set_value(True).run()
    _ok(at)
    dates = at.date_input(key="f_dates")
    assert dates.max == today and dates.value == (yesterday, today)  # the range follows the newest day
    assert list(at.dataframe[0].value["messages"]) == [12]
    assert at.query_params["to"] == today.isoformat() and at.query_params["live"] == "1"
    at.toggle(key="f_live").set_value(False).run()
    _ok(at)
    assert at.date_input(key="f_dates").value == (yesterday,) * 2 and list(at.dataframe[0].value["messages"]) == [5]

    # a shared URL for today alone opens on today's rows with today's data, never with a warning
    shared = AppTest.from_file(APP, default_timeout=30)
    shared.query_params.update({"live": "1", "from": today.isoformat(), "to": today.isoformat()})
    shared.run()
    _ok(shared)
    assert not shared.warning and shared.date_input(key="f_dates").value == (today, today)
    assert list(shared.dataframe[0].value["messages"]) == [7]
    data.clear_caches()


@pytest.mark.integration
def test_an_empty_lake_shows_todays_data_when_switched_on(pg, tmp_path, monkeypatch):
    """Before the first sync the app says there is no data and offers only the today's
    data switch; switched on, PostgreSQL's rows show. With more unsynced days than
    LIVE_MAX_DAYS, the sidebar says why nothing is read."""
    now = datetime.now(UTC) - timedelta(seconds=30)
    fk = _new_channel(pg, "e" * 32, "첫 수집")
    _chat(pg, fk, 9, now, datetime.now(UTC), "처음")
    monkeypatch.setenv("WAREHOUSE_DIR", str(tmp_path / "never-synced"))
    data.clear_caches()

    at = AppTest.from_file(APP, default_timeout=30).run()
    _ok(at)
    assert any(t("empty_lake") in i.value for i in at.info)
    assert at.toggle(key="f_live").value is False
    at.toggle(key="f_live").set_value(True).run()
    _ok(at)
    assert not any(t("empty_lake") in i.value for i in at.info)
    assert at.multiselect(key="f_channels").options == ["첫 수집"]
    assert list(at.dataframe[0].value["messages"]) == [9]
    assert at.query_params["live"] == "1"

    monkeypatch.setenv("LIVE_MAX_DAYS", "1")
    _chat(pg, fk, 2, now - timedelta(days=3), now - timedelta(days=3), "사흘 전")  # a second day waiting
    data.clear_caches()
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["live"] = "1"
    at.run()
    _ok(at)
    assert any(t("empty_lake") in i.value for i in at.info)
    assert any("LIVE_MAX_DAYS=1" in x.value for x in at.sidebar.text)
    data.clear_caches()


@pytest.mark.integration
def test_a_streamer_sees_no_lake_wide_count_of_todays_rows(pg, tmp_path, monkeypatch):
    now = datetime.now(UTC) - timedelta(seconds=30)
    own, other = "a" * 32, "b" * 32
    own_fk, other_fk = _new_channel(pg, own, "내 채널"), _new_channel(pg, other, "남의 채널")
    _chat(pg, own_fk, 3, now - timedelta(days=1), now - timedelta(days=1), "어제")
    root = tmp_path / "lake"
    sync(pg, str(root), tz="Asia/Seoul")
    _chat(pg, own_fk, 5, now, datetime.now(UTC), "오늘")
    _chat(pg, other_fk, 7, now, datetime.now(UTC), "남")
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    monkeypatch.setattr(login, "FAIL_DELAY", 0.0)
    login.reset_failures()
    data.clear_caches()
    _make(accounts.accounts_file(), ("mgr", "streamer", [own], False), ("boss", "admin", [], False))

    def sidebar(name: str, what: str = "caption") -> list[str]:
        at = AppTest.from_file(APP, default_timeout=30)
        at.query_params["live"] = "1"
        at = _login(at, name)
        _ok(at)
        return [c.value for c in getattr(at.sidebar, what)]

    boss = sidebar("boss")
    assert any("12행" in c for c in boss)  # the admin: every channel's rows read from PostgreSQL
    mgr = sidebar("mgr")
    assert not any(f"{n}행" in c for c in mgr for n in (12, 7))
    assert any(c.startswith(t("sidebar_live_days").split("{")[0]) for c in mgr)  # what was added, without counts

    # more waiting days than LIVE_MAX_DAYS: the admin is told how many, a streamer why, without the count
    _chat(pg, other_fk, 2, now - timedelta(days=3), datetime.now(UTC), "사흘")
    monkeypatch.setenv("LIVE_MAX_DAYS", "1")
    data.clear_caches()
    assert any("2 day(s)" in x and "LIVE_MAX_DAYS=1" in x for x in sidebar("boss", "text"))
    mgr = sidebar("mgr", "text")
    assert t("sidebar_live_limit") in mgr and not any("day(s)" in x or "LIVE_MAX" in x for x in mgr)
    # a damaged state.json is said as such, not as "PostgreSQL not readable (StateUnreadable: ...)"
    (root / "_sync" / "state.json").write_text('{"timezone": ', encoding="utf-8")
    data.clear_caches()
    for name in ("boss", "mgr"):
        shown = sidebar(name, "text")
        assert t("sidebar_live_state") in shown and not any("PostgreSQL" in x for x in shown), shown
    login.reset_failures()
    data.clear_caches()


@pytest.mark.e2e
def test_a_share_link_opens_its_page_and_channels_without_a_sign_in(app):
    """Without serve's middleware too (a hand-started `streamlit run`): a share link's token in
    the URL shows its one page over its channels, no login form; switching to another page
    or naming other channels shows nothing more; an edited token shows the login form and
    says the link is not valid. Hand-started, the sign-in itself lives in the session: a new
    session asks again (served, it is the cookie: test_browser_auth.py)."""
    new, facts, path = app
    ids = facts["channel_ids"]
    _make(path, ("boss", "admin", (), False))
    from dashboard import sessions
    _, token = sessions.create_share(accounts.load(path)["boss"], "donations", [ids[0]], days=1)
    at = new(share=token, channels=",".join(ids)).run()
    _ok(at)
    assert not [x for x in at.text_input if x.key == "login_name"]
    assert at.title[0].value == t("don_title")
    assert any(t("share_viewing").split("·")[0].strip() in c.value for c in at.sidebar.caption)
    assert at.multiselect(key="f_channels").options == [facts["channel_names"][ids[0]]]
    with pytest.raises(ValueError, match="Known pages: \\[.*donations.py'\\]"):  # the one page there is
        at.switch_page("app_pages/users.py")
    bad = new(share=token[:-2] + ("AA" if token[-2:] != "AA" else "BB")).run()
    assert [x for x in bad.text_input if x.key == "login_name"]
    assert any(t("share_invalid") in e.value for e in bad.error)
    signed = _login(new(), "boss")
    _ok(signed)
    assert not [x for x in signed.text_input if x.key == "login_name"]
    assert [x for x in new().run().text_input if x.key == "login_name"]  # a reload: a new session asks again
