"""collector/chat_copy.py: the fast COPY text is the careful one, or the chunk goes the
careful way; JSON as the parser cleans it (pure, no database)."""
from __future__ import annotations

import json

import pytest

from collector import chat_copy
from collector.forgotten import JsonText
from collector.items import clean_json
from core import raw_codec
from tests.chat_lines import sim_chats

pytestmark = pytest.mark.unit

ODD = ["None", "\\N", "tab\there", "new\nline", "cr\rhere", "nul\x00", "half \ud800 surrogate", "", "😀 한국어"]


def _both(chats):
    fks = {c["channel_id"]: 7 for c in chats}
    raw_z = raw_codec.compress_many(chat_copy.json_texts([c["raw"] for c in chats]))
    badges_z = raw_codec.compress_many(chat_copy.json_texts([c["badges"] for c in chats]))
    return (chat_copy._fast(chats, fks, badges_z, raw_z, "3"),
            chat_copy._careful(chats, fks, badges_z, raw_z, "3").encode())


def test_ordinary_lines_take_the_fast_way_and_it_equals_the_careful_one():
    fast, careful = _both(sim_chats(200))
    assert fast is not None and fast == careful


@pytest.mark.parametrize("text", ODD)
def test_a_value_needing_care_sends_its_chunk_the_careful_way(text):
    chats = sim_chats(20)
    chats[7] = dict(chats[7], message=text, nickname=text)
    fast, careful = _both(chats)
    assert fast is None or fast == careful
    if text in ("None", "\\N", "tab\there", "new\nline", "nul\x00", "half \ud800 surrogate"):
        assert fast is None
    assert careful.count(b"\n") == 20  # one line per record, whatever the text


@pytest.mark.parametrize("value", [
    {"msg": "nul\x00inside", "k\x00": 1}, {"msg": "half \udc00"}, {"n": float("nan"), "big": 2**70},
    {1: "int key"}, ["a", {"b": None}], JsonText('{"already":"json"}'), None])
def test_json_texts_clean_as_the_parser_does(value):
    [text] = chat_copy.json_texts([value])
    if value is None:
        assert text is None
    elif isinstance(value, JsonText):
        assert text == value
    else:
        assert json.loads(text) == clean_json(value)
        raw_codec.compress(text)  # storable: no lone surrogate left
    assert chat_copy.json_texts([value, {"x": 1}] * 20)[::2] == [text] * 20  # the same in a batch
