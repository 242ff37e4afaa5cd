"""Pure chart builders and table shapes of the Emotes and Top words pages (no Streamlit, no
I/O). Emote codes, URLs and words come from chat: drawn as typed text by Vega, and an
emote's image is a URL that warehouse.read.queries.emotes.image_url admitted, never markup."""
from __future__ import annotations

import altair as alt
import polars as pl

from dashboard.charts.style import empty, number_axis
from dashboard.i18n import DEFAULT_LANG
from warehouse.read.queries.emotes import image_url


def with_images(df: pl.DataFrame) -> pl.DataFrame:
    """`df` (emote rows with ``emote`` and ``url``) with ``image`` first: the URL when it may
    be shown as an image (https on a CHZZK/Naver image host), else None — the page's image
    column then shows nothing and the code and URL stay text."""
    images = [image_url(u) for u in df["url"].to_list()] if "url" in df.columns else [None] * df.height
    return df.select(pl.Series("image", images, dtype=pl.String), pl.all())


def emote_bar(df: pl.DataFrame, title: str, x_title: str, lang: str = DEFAULT_LANG, top: int = 20) -> alt.Chart:
    """The `top` emotes of emote_ranking() as bars of uses, the code as the label."""
    if df.is_empty():
        return empty(title, lang)
    data = df.head(top).select(pl.concat_str(pl.lit("{:"), "emote", pl.lit(":}")).alias("code"), "uses", "share")
    return (alt.Chart(data, title=title, height=max(160, 22 * data.height)).mark_bar()
            .encode(x=alt.X("uses:Q", title=x_title, axis=number_axis(lang)), y=alt.Y("code:N", sort="-x", title=None),
                    tooltip=[alt.Tooltip("code:N"), alt.Tooltip("uses:Q", format=",", title=x_title),
                             alt.Tooltip("share:Q", format=".1%", title="%")]))


def emote_trend_figure(df: pl.DataFrame, title: str, x_title: str, y_title: str,
                       lang: str = DEFAULT_LANG) -> alt.Chart:
    """emote_trend(): uses per minute since the broadcast started, one line per emote."""
    if df.is_empty():
        return empty(title, lang)
    data = df.select("offset_minutes", pl.concat_str(pl.lit("{:"), "emote", pl.lit(":}")).alias("code"), "uses")
    return (alt.Chart(data, title=title, height=360).mark_line(point=data.height < 120)
            .encode(x=alt.X("offset_minutes:Q", title=x_title, axis=number_axis(lang)), y=alt.Y("uses:Q", title=y_title, axis=number_axis(lang)),
                    color=alt.Color("code:N", title=None),
                    tooltip=["code:N", alt.Tooltip("offset_minutes:Q", title=x_title),
                             alt.Tooltip("uses:Q", title=y_title)]))


def words_bar(df: pl.DataFrame, title: str, x_title: str, lang: str = DEFAULT_LANG, top: int = 25) -> alt.Chart:
    """top_words() of one kind as bars of uses, the token as the label."""
    if df.is_empty():
        return empty(title, lang)
    data = df.head(top).select("token", "uses", "share")
    return (alt.Chart(data, title=title, height=max(160, 22 * data.height)).mark_bar()
            .encode(x=alt.X("uses:Q", title=x_title, axis=number_axis(lang)), y=alt.Y("token:N", sort="-x", title=None),
                    tooltip=[alt.Tooltip("token:N"), alt.Tooltip("uses:Q", format=",", title=x_title),
                             alt.Tooltip("share:Q", format=".1%", title="%")]))
