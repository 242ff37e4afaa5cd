"""top_words (warehouse/read/queries/words.py) equals a plain-Python cut of the fixture's
lines (tests/lakefixture_emotes.py), from the word counts accelerator and from the scan."""
from __future__ import annotations

import re
from collections import Counter
from datetime import date

import polars as pl
import pytest

import warehouse
from tests.lakefixture import build_accelerators
from tests.lakefixture_emotes import build_emote_lake
from warehouse.read.accelerators import WORDS
from warehouse.read.accelerators.word_counts import count
from warehouse.read.queries.words import KINDS, STOP_WORDS

pytestmark = pytest.mark.unit
RUN = re.compile(r"ㅋ{2,}|ㅎ{2,}|[ㅠㅜ]{2,}")


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("words")
    facts = build_emote_lake(root)
    build_accelerators(root, WORDS, tz="Asia/Seoul")
    return str(root), facts


@pytest.fixture(scope="module", params=["accelerated", "scan"])
def wh(request, lake):
    got = warehouse.open(lake[0], tz="Asia/Seoul", accelerate=request.param == "accelerated")
    assert (got.accelerator(WORDS) is not None) == (request.param == "accelerated")
    return got


def cut(message: str) -> list[tuple[str, str]]:
    """(kind, token) of one line, the rule of words.py written out in Python."""
    text = re.sub(r"\{:[^{}:]+:\}", " ", message).lower()
    out = [("laugh" if r[0] in "ㅋㅎ" else "cry", {"ㅋ": "ㅋㅋ", "ㅎ": "ㅎㅎ"}.get(r[0], "ㅠㅠ")) for r in RUN.findall(text)]
    words = re.findall(r"[^\W_]+", RUN.sub(" ", text))
    keep = [len(w) >= 2 and w not in STOP_WORDS for w in words]
    out += [("word", w) for w, k in zip(words, keep, strict=True) if k]
    out += [("phrase", f"{words[i]} {words[i + 1]}") for i in range(len(words) - 1) if keep[i] and keep[i + 1]]
    return out


def plain_top(rows, channels=None, broadcast=None, days=None, limit=30, kinds=KINDS) -> list[tuple]:
    uses, lines, total = Counter(), Counter(), 0
    phrases = Counter()  # (channel, day, broadcast, token) -> uses: a phrase counts where said twice
    for r in rows:
        if r["user_id"] != "SYSTEM_MESSAGE":
            for kind, tok in cut(r["message"]):
                phrases[(r["channel_id"], r["day"], r["chat_channel_id"], tok)] += kind == "phrase"
    for r in rows:
        if r["user_id"] == "SYSTEM_MESSAGE" or (channels is not None and r["channel_id"] not in channels) or \
                (broadcast is not None and (r["channel_id"], r["chat_channel_id"]) != broadcast) or \
                (days is not None and r["day"] not in days):
            continue
        total += 1
        toks = [(k, tok) for k, tok in cut(r["message"])
                if k != "phrase" or phrases[(r["channel_id"], r["day"], r["chat_channel_id"], tok)] >= 2]
        uses.update(toks)
        lines.update(set(toks))
    out = []
    for kind in kinds:
        ranked = sorted(((t, n) for (k, t), n in uses.items() if k == kind), key=lambda x: (-x[1], x[0]))[:limit]
        out += [(kind, t, n, lines[(kind, t)], lines[(kind, t)] / total, i + 1) for i, (t, n) in enumerate(ranked)]
    return out


def test_top_words_equal_plain_python(wh, lake):
    _, facts = lake
    rows, a = facts["rows"], facts["A"]
    assert warehouse.top_words(wh).rows() == plain_top(rows)
    assert warehouse.top_words(wh, [a], limit=3).rows() == plain_top(rows, channels=[a], limit=3)
    for bc in facts["broadcasts"]:
        assert warehouse.top_words(wh, broadcast=bc).rows() == plain_top(rows, broadcast=bc)
    d2 = facts["days"][1]
    assert warehouse.top_words(wh, start=d2, kinds=("laugh", "word")).rows() == \
        plain_top(rows, days={d2}, kinds=("laugh", "word"))
    assert warehouse.top_words(wh, ["0" * 32]).is_empty()


def test_runs_are_normalised_and_counted_apart(wh, lake):
    got = {(k, t): n for k, t, n in warehouse.top_words(wh, [lake[1]["A"]]).select("kind", "token", "uses").rows()}
    assert got[("laugh", "ㅋㅋ")] == 2 and got[("laugh", "ㅎㅎ")] == 1  # ㅋㅋㅋㅋ and ㅋㅋ are one token
    assert got[("cry", "ㅠㅠ")] == 2  # ㅠㅠㅠ and ㅜㅜ
    assert got[("word", "hello")] == 2 and ("word", "그냥") not in got  # lowered; a stop word
    # said twice in broadcast NA1's day, once in NA2's: counted in NA1 only; emote codes are not words
    assert got[("phrase", "방송 재밌다")] == 2 and ("word", "d_47") not in got
    with pytest.raises(ValueError, match="kinds"):
        warehouse.top_words(wh, kinds=("words",))


TRICKY = ["펀쿠체ㅋㅋ 와 미쳤다ㅋ", "ㅋㅎ 하하 ㅎㅎㅎ ㅠㅜㅠ ㅜ", "방송 재밌다 ㅋㅋ 방송 재밌다", "a 방송 재밌다", "가ㅋㅋ나 가ㅋ나",
          "그냥 방송 그냥 재밌다", "HELLO {:d_47:}hello{:x:}", "", None, "100% 진짜!!! 진짜? 진짜_진짜", "ㅋㅋ", "ㅠㅠㅠㅠ ㅋㅋㅋ"]


@pytest.mark.parametrize("broadcast", ["b", None])
def test_count_cuts_each_line_as_the_plain_rule(broadcast):
    """word_counts.count (the build's and the scan's one cut) on lines that test the rule's
    edges: runs inside words, a single ㅋ, repeated tokens and phrases in one line (uses vs
    lines), stop words and single letters breaking phrases, emote codes, empty lines; and
    lines of no known broadcast (chat_channel_id null: a channel the lake has no session of)
    counted the same."""
    day = date(2026, 1, 1)
    lines = pl.DataFrame({"channel_id": ["c"] * len(TRICKY), "day": [day] * len(TRICKY),
                          "chat_channel_id": [broadcast] * len(TRICKY), "text": [m and m.lower() for m in TRICKY]},
                         schema_overrides={"chat_channel_id": pl.String})
    uses, held = Counter(), Counter()
    for m in TRICKY:
        toks = cut(m or "")
        uses.update(toks)
        held.update(set(toks))
    want = {(k, t, n, held[(k, t)]) for (k, t), n in uses.items() if k != "phrase" or n >= 2}
    want.add(("lines", "", len(TRICKY), len(TRICKY)))
    got = count(lines)
    assert set(got.select("kind", "token", "uses", "lines").rows()) == want
    assert got["chat_channel_id"].to_list() == [broadcast] * got.height
    assert ("phrase", "방송 재밌다", 3, 2) in want and ("word", "펀쿠체", 1, 1) in want  # the test tests the edges
    assert got.filter(pl.col("kind") == "word")["token"].str.contains("ㅋㅋ").sum() == 0
