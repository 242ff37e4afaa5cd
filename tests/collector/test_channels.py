"""The channel set: the channels file format (unit), and the union of CHZZK_CHANNELS, the
file and stream_channel.enabled with `channels remove` winning (integration, real
PostgreSQL); the `channels` command in process."""
from __future__ import annotations

import argparse

import pytest

from collector import channels, channels_cli

A, B, C, D = (f"{i:x}" * 32 for i in (10, 11, 12, 13))


@pytest.mark.unit
@pytest.mark.parametrize("text, ids", [
    ("", []),
    (f"{A}\n{B}\n", [A, B]),
    (f"# my channels\n{A}  # the first\n\n  {B}\n{A}\n", [A, B]),
    (f"{A},{B} {C}\n", [A, B, C]),
    ("#only a comment\n   \n", []),
])
def test_parse_channels_file(text, ids):
    assert channels.parse_channels_file(text) == ids


@pytest.mark.integration
def test_wanted_unites_env_file_and_enabled_and_remove_wins(pg, tmp_path, monkeypatch):
    path = tmp_path / "channels.txt"
    path.write_text(f"# file\n{B}\nnot-a-channel-id\n", encoding="utf-8")
    monkeypatch.setenv("CHZZK_CHANNELS", A)
    monkeypatch.setenv("CHZZK_CHANNELS_FILE", str(path))
    assert channels.wanted(pg) == {A, B}
    assert channels.add(pg, [C]) == [C]
    assert channels.add(pg, [C]) == []  # already enabled
    assert channels.wanted(pg) == {A, B, C}
    assert channels.remove(pg, [A, D]) == [A]  # D unknown
    assert channels.wanted(pg) == {B, C}, "a removed channel stays removed although CHZZK_CHANNELS names it"
    channels.add(pg, [A])
    assert channels.wanted(pg) == {A, B, C}
    path.unlink()  # a missing file is logged, not fatal
    assert channels.wanted(pg) == {A, B, C}, "enabled rows stay wanted"
    states = {r["channel_id"]: r["state"] for r in channels.listing(pg)}
    assert states == {A: "unknown", B: "unknown", C: "unknown"}


@pytest.mark.integration
def test_channels_command_add_remove_list(pg_url, pg, capsys, monkeypatch):
    monkeypatch.setenv("CHZZK_API_BASE", "http://127.0.0.1:9")  # nothing listens: names stay unknown
    monkeypatch.setenv("CHZZK_CHANNELS", "")

    def run(*argv) -> int:
        parser = argparse.ArgumentParser()
        channels_cli.configure(parser)
        return channels_cli.run(parser.parse_args(argv))

    assert run("add", A, B, "--no-info") == 0
    assert "enabled 2 channel(s)" in capsys.readouterr().out
    assert run("remove", B) == 0
    assert "disabled 1 channel(s)" in capsys.readouterr().out
    assert run("add", "xyz") == 2
    assert "not a 32-hex channel id: xyz" in capsys.readouterr().err
    assert run("list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["CHANNEL", "NAME", "ENABLED", "STATE"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows[A][2:4] == ["yes", "unknown"] and rows[B][2:4] == ["no", "disabled"]
    with pg.cursor() as cur:
        cur.execute("SELECT channel_id, enabled FROM stream_channel ORDER BY channel_id")
        assert cur.fetchall() == [(A, True), (B, False)]


@pytest.mark.integration
def test_list_and_status_escape_hostile_names(pg_url, pg, capsys):
    """`channels list` and `status`, as table and --json: no control, bidi or zero-width
    character reaches the terminal raw; --json still decodes to the stored name."""
    import json
    import unicodedata

    from collector import status

    names = {A: "\u202eevil\u200b\u2066x\u2069", B: "c1\x9b31m\x85\x1b[2J\ufeff", C: "김뿡\u200d😀"}
    with pg, pg.cursor() as cur:
        cur.executemany("INSERT INTO stream_channel (channel_id, channel_name) VALUES (%s, %s)", list(names.items()))
    for module, argv in ((channels_cli, ["list"]), (status, [])):
        for fmt in ([], ["--json"]):
            parser = argparse.ArgumentParser()
            module.configure(parser)
            assert module.run(parser.parse_args(argv + fmt)) == 0
            out = capsys.readouterr().out
            raw = sorted({f"U+{ord(ch):04X}" for ch in out if ch != "\n"
                          and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")})
            assert raw == [], f"{module.__name__} {fmt}: {raw}"
            if fmt:
                lines = [json.loads(x) for x in out.splitlines()]
                assert {x["channel_name"] for x in lines if x.get("kind", "channel") == "channel"} == set(names.values())
            else:
                assert "\\u202eevil\\u200b\\u2066x\\u2069" in out and "c1\\u009b31m" in out
