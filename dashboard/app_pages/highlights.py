"""하이라이트 (Highlights): one broadcast's best moments ranked (warehouse.highlights) —
the chat curve with the moments marked, the table with its CSV/Parquet downloads and, where
the replay number is given, a link to the replay at each moment; then the moments as
YouTube chapters, an EDL and FCPXML for video editors. Chat text (the most repeated line,
nicknames) appears only in dataframes and in the downloaded files, cleaned there."""
import re

import polars as pl
import streamlit as st

import warehouse
from dashboard import data, summaries
from dashboard.app_pages import widgets
from dashboard.charts import highlights as charts
from dashboard.i18n import current_lang, t
from warehouse.read import markers as files
from warehouse.read.queries.highlights import MAX_KEYWORDS

f = widgets.require_filters()
lang = current_lang()
st.title(t("hl_page_title"))
st.caption(t("hl_intro"))
listing = data.query(f, warehouse.broadcast_list)
if listing.is_empty():
    st.info(t("broadcasts_none"))
    st.stop()

row = widgets.pick_broadcast(listing, t("hl_pick"), "hl_pick", f.tz)
cid, bc = row["channel_id"], row["broadcast"]

left, mid, right = st.columns(3)
window = left.selectbox(t("hl_window"), (1, 5, 10), key="hl_window")
limit = mid.slider(t("hl_limit"), 3, 30, 10, key="hl_limit")
video_text = right.text_input(t("hl_video"), key="hl_video", max_chars=12).strip()
typed = st.text_input(t("hl_keywords"), value="ㅋㅋ", key="hl_keywords", max_chars=200)
keywords = tuple(dict.fromkeys(w.strip() for w in typed.split(",") if w.strip()))[:MAX_KEYWORDS]
video_no = int(video_text) if re.fullmatch(r"[0-9]{1,12}", video_text) and int(video_text) > 0 else None
if video_text and video_no is None:
    st.warning(t("hl_video_bad"))

moments = data.query(f, warehouse.highlights, cid, bc, scoped=False, window_minutes=window, limit=limit,
                     keywords=keywords, video_no=video_no)
activity = data.query(f, warehouse.broadcast_activity, cid, bc, scoped=False, window_minutes=window)
st.altair_chart(charts.moments_figure(activity, moments, f.tz, title=t("hl_chart"), messages=t("broadcasts_messages"),
                                      lang=lang), width="stretch", key="hl_chart")
if moments.is_empty():
    st.info(t("hl_none"))
    st.stop()
dominated = int(moments["dominated"].sum())
if dominated:
    st.caption(":material/warning: " + t("hl_dominated_note").format(n=dominated))

shown = moments.select("rank", pl.col("offset_seconds").map_elements(lambda s: files.clock(s, hours=True),
                                                                      return_dtype=pl.Utf8).alias("at"),
                       pl.col("reason").map_elements(lambda r: charts.reason_text(r, lang), return_dtype=pl.Utf8)
                       .alias("why"), pl.exclude("rank"))
stem = f"highlights_{summaries.safe_stem(bc)}"
widgets.table(shown, f"{stem}_{window}m", key="hl_table", column_config=summaries.headers(
    shown.columns, t, top_share=st.column_config.NumberColumn(t("col_a_top_share"), format="percent"),
    replay_url=st.column_config.LinkColumn(t("col_a_replay_url"))))

st.subheader(t("hl_files"))
marks = charts.markers(moments, lang)
title = f"{row['channel_name'] or cid} {row['title'] or t('broadcasts_untitled')}"
cols = st.columns(3)
try:
    chapters = files.youtube_chapters(marks, t("hl_opening"))
except files.ChapterError:
    chapters = None
    cols[0].caption(t("hl_youtube_short"))
else:
    cols[0].download_button(t("hl_youtube"), lambda: chapters.encode("utf-8"), file_name=f"{stem}_youtube.txt",
                            mime="text/plain", key="hl_youtube", on_click="ignore")
cols[1].download_button(t("hl_edl"), lambda: files.edl(marks, title).encode("utf-8"), file_name=f"{stem}.edl",
                        mime="text/plain", key="hl_edl", on_click="ignore")
cols[2].download_button(t("hl_fcpxml"), lambda: files.fcpxml(marks, title, 0).encode("utf-8"),
                        file_name=f"{stem}.fcpxml", mime="application/xml", key="hl_fcpxml", on_click="ignore")
if chapters is not None:
    st.code(chapters, language=None)
