"""The fast parser (issue 17) gives exactly the records the parser gave before it: every
case of tests/fixtures/parse_equivalence.jsonl.gz (see tests/parse_corpus.py) is parsed
again and its records compared as text (key order, int vs float, every field and every
dead letter's error)."""
from __future__ import annotations

import json

import pytest

from collector.protocol import parse_frame
from tests import parse_corpus

pytestmark = pytest.mark.unit
CASES = parse_corpus.load()


def test_fixture_covers_the_corpus():
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)) >= 450
    assert sum(n.startswith("sim frame") for n in names) and sum(n.startswith("samples frame") for n in names)
    kinds = {r["kind"] for c in CASES for r in json.loads(c["expected"])}
    assert kinds == {"chat", "blind", "event", "control", "dead_letter"}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_same_records_as_before(case):
    got = parse_corpus.records_text(parse_frame(parse_corpus.decode_input(case)))
    if got != case["expected"]:  # show the first record that differs, field by field
        for new, old in zip(json.loads(got), json.loads(case["expected"]), strict=False):
            assert list(new) == list(old)
            for key in old:
                assert json.dumps(new[key]) == json.dumps(old[key]), key
    assert got == case["expected"]
