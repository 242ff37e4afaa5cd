"""core/raw_codec.py: zstd frames of a chat row's JSON, with or without a trained dictionary."""
from __future__ import annotations

import json

import pyarrow as pa
import pytest

from core import raw_codec

pytestmark = pytest.mark.unit

HOSTILE = ["", "plain", "한국어 😀🇰🇷 {:d_63:}", "nul \x00 inside", 'quotes " \\ \n\t\r', "\U0010ffff\u2028",
           json.dumps({"msg": "ㅋ" * 5000, "profile": '{"nickname":"닉"}'}, ensure_ascii=False)]


@pytest.fixture(scope="module")
def dictionary() -> raw_codec.Dictionary:
    samples = [json.dumps({"msg": f"안녕 {i}", "msgTypeCode": 1, "profile": json.dumps({"nickname": f"n{i}"})},
                          ensure_ascii=False).encode() for i in range(400)]
    return raw_codec.Dictionary(3, raw_codec.train(samples))


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("with_dictionary", [False, True])
def test_text_round_trips(text, with_dictionary, dictionary):
    d = dictionary if with_dictionary else None
    frame = raw_codec.compress(text, d)
    assert raw_codec.decompress(frame, d) == text
    assert raw_codec.compress(text.encode(), d) == frame  # bytes already UTF-8: the same frame
    assert raw_codec.compress_many([text, None], d) == [frame, None]
    assert raw_codec.decompress_array(pa.array([frame, None]), pa.array([3 if d else None, None]),
                                      {3: dictionary}).to_pylist() == [text, None]


def test_a_dictionary_shrinks_what_it_was_trained_on(dictionary):
    text = json.dumps({"msg": "안녕 77", "msgTypeCode": 1, "profile": json.dumps({"nickname": "n77"})},
                      ensure_ascii=False)
    assert len(raw_codec.compress(text, dictionary)) < len(raw_codec.compress(text)) / 2


def test_lone_surrogates_are_refused_not_stored():
    with pytest.raises(raw_codec.CodecError, match="clean it first"):
        raw_codec.compress("bad \ud800 half")
    with pytest.raises(raw_codec.CodecError, match="clean it first"):
        raw_codec.compress_many(["ok", "bad \udfff"])


def test_huge_payloads_are_refused_clearly(monkeypatch):
    monkeypatch.setattr(raw_codec, "MAX_OUTPUT", 1000)
    with pytest.raises(raw_codec.CodecError, match="1,001 bytes is over the 1,000"):
        raw_codec.compress("x" * 1001)
    with pytest.raises(raw_codec.CodecError, match="over the 1,000"):
        raw_codec.compress_many([b"y" * 2000])
    frame = raw_codec.compress("z" * 1000)
    monkeypatch.setattr(raw_codec, "MAX_OUTPUT", 999)  # a frame claiming more than a reader accepts
    with pytest.raises(raw_codec.CodecError, match="does not read back"):
        raw_codec.decompress(frame)


def test_a_corrupt_frame_names_its_size_and_dictionary(dictionary):
    frame = bytearray(raw_codec.compress("안녕하세요 " * 20, dictionary))
    frame[len(frame) // 2] ^= 0xFF
    for blob in (bytes(frame), b"not zstd at all"):
        with pytest.raises(raw_codec.CodecError, match=rf"\({len(blob)} bytes, dictionary 3\)"):
            raw_codec.decompress(blob, dictionary)
    with pytest.raises(raw_codec.CodecError, match=r"\(15 bytes, dictionary 3\)"):
        raw_codec.decompress_array(pa.array([b"not zstd at all"]), pa.array([3]), {3: dictionary})
    with pytest.raises(raw_codec.CodecError, match="dictionary 9, which is not in raw_dictionary"):
        raw_codec.lookup({3: dictionary}, 9)


def test_a_frame_read_with_the_wrong_dictionary_is_wrong_text_or_a_codec_error(dictionary):
    text = json.dumps({"msg": "안녕 5", "msgTypeCode": 1, "profile": json.dumps({"nickname": "n5"})},
                      ensure_ascii=False)
    frame = raw_codec.compress(text, dictionary)
    other = raw_codec.Dictionary(4, raw_codec.train([f"other sample {i} ".encode() * 40 for i in range(300)]))
    try:  # frames carry no checksum and no dictionary id: the row's zdict is what says which
        assert raw_codec.decompress(frame, other) != text
    except raw_codec.CodecError as exc:
        assert "dictionary 4" in str(exc)


def test_too_few_samples_to_train_on_is_a_codec_error():
    with pytest.raises(raw_codec.CodecError, match="cannot train a dictionary on 2 samples"):
        raw_codec.train([b"a", b"b"])


def test_threads_compress_and_read_at_once(dictionary):
    """zstd's objects crash when two threads use one at once: each thread gets its own (the
    ingest API stores from worker threads, the sync reads with several writers)."""
    from concurrent.futures import ThreadPoolExecutor

    texts = [json.dumps({"msg": f"동시 {i} " * (i % 40), "n": i}, ensure_ascii=False) for i in range(300)]

    def work(k: int) -> bool:
        d = dictionary if k % 2 else None
        for _ in range(20):
            frames = raw_codec.compress_many(texts, d)
            if [raw_codec.decompress(f, d) for f in frames] != texts:
                return False
        return True

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(work, range(16)))
