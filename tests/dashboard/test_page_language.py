"""Every page follows the language: titles, tabs and subheaders in English with lang=en,
table headers and chart titles in the session's language (Korean without a `lang` URL
parameter), time labels in digits."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import data
from dashboard.i18n import t
from tests.lang_checks import (
    assert_headers_follow,
    assert_time_labels_numeric,
    chart_titles,
    headers,
    time_label_formats,
)
from tests.page_checks import (
    APP,
    FIRST,
    LAST,
    goto,
    ok,
    specs_of,
    start_app,
)
from tests.section_tabs import open_section as _tab
from warehouse.read.queries.catalog import PREVIEW_LIMIT


@pytest.mark.e2e
@pytest.mark.parametrize("page", ["overview", "channel", "broadcasts"])
def test_activity_pages_switch_to_english(pages_app, page):
    at, _ = pages_app
    at.session_state["lang"] = "en"
    goto(at, page)
    assert at.title[0].value == t(f"page_{page}", "en")
    headers = [s.value for s in at.subheader] + [tab.label for tab in at.tabs]
    assert headers and all(not any("\uac00" <= ch <= "\ud7a3" for ch in h) for h in headers)  # no Hangul left


@pytest.mark.e2e
@pytest.mark.parametrize("lang", ["ko", "en"])
@pytest.mark.parametrize(("page", "chart"), [("overview", None), ("channel", "chart_activity"),
                                             ("broadcasts", "broadcasts_timeline")])
def test_activity_pages_table_headers_and_chart_titles_follow_the_language(pages_lake, monkeypatch, page, chart, lang):
    """Opened from a URL: Korean without a `lang` parameter, English with lang=en."""
    root, _ = pages_lake
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    data.clear_caches()
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(f"app_pages/{page}.py")
    if lang != "ko":
        at.query_params["lang"] = lang
    if page == "broadcasts":  # the list's expander open (widgets.folded): its table's headers are checked too
        at.session_state["broadcast_list_open"] = True
    at.run(timeout=60)
    ok(at)
    assert_headers_follow(at, lang, shared=page != "overview")  # the Overview words its own headers
    if chart:
        assert chart_titles(at)[0] == t(chart, lang)
        assert time_label_formats(at)  # both charts have time axes
        assert_time_labels_numeric(at)
    data.clear_caches()


@pytest.mark.e2e
@pytest.mark.parametrize(("page", "title_key"), [("subscribers", "page_subscribers"), ("donations", "don_title"),
                                                 ("data_tables", "data_title")])
def test_money_and_data_pages_switch_to_english(synced_lake, monkeypatch, page, title_key):
    from dashboard.i18n import LANG_KEY
    root, _, _ = synced_lake
    at = start_app(root, monkeypatch)
    at.session_state[LANG_KEY] = "en"
    at.switch_page(f"app_pages/{page}.py").run(timeout=60)
    at.date_input(key="f_dates").set_value((FIRST, LAST)).run(timeout=60)
    ok(at)
    assert [x.value for x in at.title] == [t(title_key, "en")]
    assert t(title_key, "en") != t(title_key, "ko")
    texts = [s.value for s in at.subheader] + [tab.label for tab in at.tabs]
    korean = [x for x in texts if any("\uac00" <= ch <= "\ud7a3" for ch in x)]
    assert not korean, korean
    assert len(at.tabs) >= 3  # the section tabs, labelled in English
    if page == "subscribers":
        _tab(at, "subs_section", t("subs_mix", "en"))
    radio = {"subscribers": "subs_every", "donations": "don_every"}.get(page)
    if radio:  # the English labels of a radio survive changing it
        assert at.radio(key=radio).options[-1] == "month"
        at.radio(key=radio).set_value("month").run(timeout=60)
        ok(at)
        assert at.radio(key=radio).value == "month"


@pytest.mark.e2e
@pytest.mark.parametrize("lang", ["ko", "en"])
@pytest.mark.parametrize(("page", "chart", "raw"), [("subscribers", "chart_sub_share", 0),
                                                    ("donations", "don_over_time", 0),
                                                    ("data_tables", "data_partitions_title", 1)])
def test_money_and_data_pages_table_headers_and_chart_titles_follow_the_language(synced_lake, monkeypatch, page, chart, raw, lang):
    """Korean without a `lang` URL parameter, English with lang=en. The Data page's preview
    (its last table) keeps the stored column names its schema tab lists."""
    root, _, _ = synced_lake
    at = start_app(root, monkeypatch)
    at.switch_page(f"app_pages/{page}.py")
    if lang != "ko":
        at.query_params["lang"] = lang
    at.run(timeout=60)
    at.date_input(key="f_dates").set_value((FIRST, LAST)).run(timeout=60)
    ok(at)
    if page == "data_tables":  # the chart is in the partitions tab
        _tab(at, "data_section", t("data_partitions", lang))
    assert_headers_follow(at, lang)
    assert chart_titles(at)[0] == t(chart, lang)
    if page == "subscribers":  # the other two label their days as ordinal text
        assert time_label_formats(at)
    assert_time_labels_numeric(at)
    if page == "subscribers":  # the tier names the chart owns
        _tab(at, "subs_section", t("tier_split", lang))
        assert_headers_follow(at, lang)
        names = specs_of(at)[0]["encoding"]["color"]["scale"]["domain"]
        assert names[:2] == [t("chart_tier_none", lang), t("chart_tier_1", lang)]
    if raw:
        _tab(at, "data_section", t("data_preview", lang).format(n=PREVIEW_LIMIT))
        assert_headers_follow(at, lang, raw_tables=raw)
        preview = at.dataframe[-1]
        assert "channel_id" in preview.value.columns
        assert set(headers(at)[-1].values()) == {None}


@pytest.mark.e2e
def test_all_channels_stays_picked_on_a_rerun_in_english(synced_lake, monkeypatch):
    """The picker keeps its value by the option's label: "all channels" must survive a rerun
    in English (its label was read in the default language when the value came back, so the
    choice was dropped, leaving "select at least one channel")."""
    from dashboard import urlstate
    from dashboard.i18n import LANG_KEY
    root, _, _ = synced_lake
    at = start_app(root, monkeypatch)
    at.session_state[LANG_KEY] = "en"
    at.run(timeout=60)
    assert at.session_state["f_channels"] == [urlstate.ALL_CHANNELS]
    at.date_input(key="f_dates").set_value((FIRST, LAST)).run(timeout=60)
    ok(at)
    assert at.session_state["f_channels"] == [urlstate.ALL_CHANNELS]
    assert not at.warning, [w.value for w in at.warning]
