"""Named, scoped ingest API keys (issue 15 item 6): the file (hashes only, 0600), the
`python -m collector api-keys` command, and the scope enforced over real HTTP against a
real PostgreSQL: a key writes and reads only its channels, only what its scope allows,
the logs name the key and never hold a secret, and a removed key stops working at once."""
from __future__ import annotations

import logging
import stat

import pytest
import requests

from collector import api_keys
from collector.__main__ import COMMANDS
from core.cli import main
from tests.ingest_helpers import CAT, KEY, NOKDU, item, serve

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def keys_path(tmp_path, monkeypatch):
    path = tmp_path / "api_keys.toml"
    monkeypatch.setenv("INGEST_API_KEYS_FILE", str(path))
    return path


def cli(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        code = main("collector", "", COMMANDS, ["api-keys", *argv])
    except SystemExit as exc:  # argparse
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- the file and the command
def test_a_key_is_shown_once_and_stored_only_as_a_hash(keys_path, capsys):
    code, out, err = cli(capsys, "add", "nokdu-viewer", "--channels", f"{NOKDU},{CAT.upper()}", "--write")
    assert code == 0, err
    secret = out.strip()
    assert secret.startswith("chzzk_") and len(secret) == 6 + 43  # 32 random bytes, the viewer's key form
    assert "nokdu-viewer" in err and "write on 2 channel(s)" in err and secret not in err
    text = keys_path.read_text()
    assert secret not in text and api_keys.digest(secret) in text
    assert stat.S_IMODE(keys_path.stat().st_mode) == 0o600
    key = api_keys.load(keys_path)["nokdu-viewer"]
    assert (key.channels, key.read, key.write) == (frozenset({NOKDU, CAT}), False, True)
    assert api_keys.match(secret, api_keys.load(keys_path).values()) == key
    assert api_keys.match(secret + "x", [key]) is None and secret not in repr(key)

    assert cli(capsys, "add", "ops", "--all-channels", "--read", "--write")[0] == 0
    code, out, _ = cli(capsys, "list")
    assert code == 0 and "nokdu-viewer  write       " in out and "ops" in out and "all" in out
    assert "chzzk_" not in out and api_keys.digest(secret) not in out
    for argv, words in [(("add", "ops", "--all-channels", "--read"), "exists"),
                        (("add", "INGEST_API_KEY", "--all-channels", "--read"), "exists"),
                        (("add", "x", "--all-channels"), "give it --read, --write or both"),
                        (("add", "x", "--channels", "nokdu", "--read"), "32 hex characters"),
                        (("add", "x y", "--all-channels", "--read"), "use 1-64 letters"),
                        (("remove", "nobody"), "no key named 'nobody'")]:
        code, _, err = cli(capsys, *argv)
        assert code == 1 and words in err, (argv, err)
    assert cli(capsys, "add", "x", "--read")[0] == 2  # --channels or --all-channels is required
    assert cli(capsys, "remove", "ops")[0] == 0
    assert set(api_keys.load(keys_path)) == {"nokdu-viewer"}


@pytest.mark.parametrize("text, words", [
    ("[[key]\n", "not valid TOML"),
    ('[[key]]\nname = "a"\nread = true\nall_channels = true\nsha256 = "abc"\n', "not a SHA-256"),
    ('[[key]]\nname = "a"\nread = true\nchannels = []\nsha256 = "' + "0" * 64 + '"\n', "--all-channels"),
    ('[[key]]\nname = "a"\nread = true\nall_channels = true\nsha256 = "' + "0" * 64 + '"\n'
     + '[[key]]\nname = "a"\nwrite = true\nall_channels = true\nsha256 = "' + "1" * 64 + '"\n', "declared twice"),
])
def test_a_broken_keys_file_says_what_to_fix(text, words):
    with pytest.raises(api_keys.KeysError, match=words):
        api_keys.parse(text)


# ---------------------------------------------------------------- scope over HTTP
def test_keys_write_and_read_only_their_channels_and_scope(pg_url, keys_path, caplog):
    caplog.set_level(logging.INFO)
    made = {name: api_keys.make(name, channels, read=read, write=write)
            for name, channels, read, write in [("nokdu-viewer", [NOKDU], False, True),
                                                 ("nokdu-reader", [NOKDU], True, False),
                                                 ("ops", None, True, True)]}
    api_keys.save({name: key for name, (key, _) in made.items()}, keys_path)
    auth = {name: {"Authorization": f"Bearer {secret}"} for name, (_, secret) in made.items()}
    with serve(pg_url, keys=()) as base:
        # a streamer's viewer writes its channel; a line for another channel is refused alone
        r = requests.post(f"{base}/chat/bulk", json=[item(0), item(1, channel_id=CAT), item(2)],
                          headers=auth["nokdu-viewer"], timeout=10)
        assert r.status_code == 200 and (r.json()["saved"], r.json()["refused"]) == (2, 1)
        assert r.json()["errors"] == [{"index": 1, "error": f"channel_id {CAT} is not one of this API key's channels"}]
        one = requests.post(f"{base}/chat", json=item(3, channel_id=CAT.upper()), headers=auth["nokdu-viewer"],
                            timeout=10)
        assert one.status_code == 422 and "not one of this API key's channels" in one.json()["errors"][0]["error"]
        assert requests.post(f"{base}/chat/bulk", json=[item(4, channel_id=CAT)], headers=auth["ops"],
                             timeout=10).json()["saved"] == 1
        # scope: a write-only key cannot read, a read-only key cannot write
        for method, path in (("get", "/chat"), ("get", "/chat/channels")):
            r = requests.request(method, base + path, headers=auth["nokdu-viewer"], timeout=10)
            assert r.status_code == 403 and "'nokdu-viewer' may not read chat" in r.json()["detail"]
        r = requests.post(f"{base}/chat/bulk", json=[item(5)], headers=auth["nokdu-reader"], timeout=10)
        assert r.status_code == 403 and "'nokdu-reader' may not store chat" in r.json()["detail"]
        # reading: only the key's channels, whatever is asked
        rows = requests.get(f"{base}/chat", headers=auth["nokdu-reader"], timeout=10).json()
        assert sorted(x["message"] for x in rows) == ["메시지 0", "메시지 2"] and {x["channel_id"] for x in rows} == {NOKDU}
        assert requests.get(f"{base}/chat", params={"user_id": item(4)["user_id"]}, headers=auth["nokdu-reader"],
                            timeout=10).json() == []
        other = requests.get(f"{base}/chat", params={"channel_id": CAT}, headers=auth["nokdu-reader"], timeout=10)
        assert other.status_code == 403 and "not one of API key 'nokdu-reader'" in other.json()["detail"]
        assert [c["channel_id"] for c in requests.get(f"{base}/chat/channels", headers=auth["nokdu-reader"],
                                                      timeout=10).json()] == [NOKDU]
        assert len(requests.get(f"{base}/chat", headers=auth["ops"], timeout=10).json()) == 3
        assert {c["channel_id"] for c in requests.get(f"{base}/chat/channels", headers=auth["ops"],
                                                      timeout=10).json()} == {NOKDU, CAT}
        # a removed key stops working at the next request; no key left is not "no key asked"
        api_keys.save({"ops": made["ops"][0]}, keys_path)
        assert requests.get(f"{base}/chat", headers=auth["nokdu-reader"], timeout=10).status_code == 403
        api_keys.save({}, keys_path)
        assert requests.get(f"{base}/chat", headers=auth["ops"], timeout=10).status_code == 403
        assert requests.get(f"{base}/chat", timeout=10).status_code == 401
    text = caplog.text
    assert "POST /chat/bulk by key 'nokdu-viewer': 3 item(s): 2 saved" in text
    assert "GET /chat by key 'nokdu-reader': 2 row(s)" in text and "GET /chat/channels by key 'ops'" in text
    assert "GET /chat: API key not accepted" in text
    for _, secret in made.values():
        assert secret not in text


def test_the_legacy_key_still_works_unscoped_next_to_named_keys(pg_url, keys_path):
    key, secret = api_keys.make("nokdu-viewer", [NOKDU], read=True, write=True)
    api_keys.save({key.name: key}, keys_path)
    with serve(pg_url, keys=(KEY,)) as base:
        legacy = {"Authorization": f"Bearer {KEY}"}
        assert requests.post(f"{base}/chat/bulk", json=[item(0), item(1, channel_id=CAT)], headers=legacy,
                             timeout=10).json()["saved"] == 2
        assert len(requests.get(f"{base}/chat", headers=legacy, timeout=10).json()) == 2
        assert len(requests.get(f"{base}/chat", headers={"X-API-Key": secret}, timeout=10).json()) == 1


def test_keys_added_while_open_are_asked_for(pg_url, keys_path):
    with serve(pg_url, keys=()) as base:
        assert requests.get(f"{base}/chat", timeout=10).status_code == 200  # no key anywhere: loopback, open
        key, secret = api_keys.make("ops", None, read=True, write=False)
        api_keys.save({key.name: key}, keys_path)
        assert requests.get(f"{base}/chat", timeout=10).status_code == 401
        assert requests.get(f"{base}/chat", headers={"X-API-Key": secret}, timeout=10).status_code == 200
        keys_path.write_text("[[key]\n")  # broken by hand: no key works until it is fixed
        r = requests.get(f"{base}/chat", headers={"X-API-Key": secret}, timeout=10)
        assert r.status_code == 503 and "keys file cannot be read" in r.json()["detail"]
