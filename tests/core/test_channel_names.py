"""Where a channel's name comes from: names the collector got from CHZZK are never
overwritten through the ingest API, an API name fills a missing name or replaces another
API name, and a duplicate line renames nothing."""
from __future__ import annotations

import pytest

from tests.channel_names import api_line, api_post, channel_name, chzzk_names

pytestmark = pytest.mark.integration
REAL = "d4f287d26795dd48f2176c79d5bd074f"
OTHER = "17f0cfcba4ff608de5eabb5110d134d0"


def test_an_api_client_cannot_rename_a_channel_named_by_chzzk(pg_url, pg):
    chzzk_names(pg, {REAL: "녹두로구"})
    saved = api_post(pg, [api_line(REAL, "가짜 이름", 1)])
    assert saved.saved == 1  # the line is stored, its channel_name is not
    assert channel_name(pg, REAL) == "녹두로구"
    with pg.cursor() as cur:
        cur.execute("SELECT channel_name_source FROM stream_channel WHERE channel_id = %s", (REAL,))
        assert cur.fetchone() == ("chzzk",)
    pg.commit()


def test_api_names_fill_a_gap_replace_api_names_only_on_new_lines_and_yield_to_chzzk(pg_url, pg):
    api_post(pg, [api_line(OTHER, "첫 이름", 1)])
    assert channel_name(pg, OTHER) == "첫 이름"                 # fills a missing name
    api_post(pg, [api_line(OTHER, "둘째 이름", 2)])
    assert channel_name(pg, OTHER) == "둘째 이름"               # replaces an API name
    dup = api_post(pg, [api_line(OTHER, "셋째 이름", 2), api_line(OTHER, "넷째 이름", 1)])
    assert (dup.saved, dup.duplicates) == (0, 2)
    assert channel_name(pg, OTHER) == "둘째 이름"               # duplicate lines rename nothing
    api_post(pg, [api_line(OTHER, None, 3)])
    assert channel_name(pg, OTHER) == "둘째 이름"               # no name keeps it
    chzzk_names(pg, {OTHER: "진짜 이름"})
    assert channel_name(pg, OTHER) == "진짜 이름"               # CHZZK replaces an API name
    api_post(pg, [api_line(OTHER, "다섯째 이름", 4)])
    assert channel_name(pg, OTHER) == "진짜 이름"               # and then keeps it
