"""Widgets every page shares: the sidebar filters and a table with its downloads.
Not a page itself (streamlit_app.py lists the pages explicitly)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import polars as pl
import streamlit as st

# Streamlit imports its emoji table (one regex of every emoji, compiled at import: ~0.3 s) when a
# page first draws an alert or an icon: here instead, so `dashboard serve`'s warm-up (which imports
# this module) pays it before it listens, not the first visit
import streamlit.emojis  # noqa: F401

import warehouse
from dashboard import accounts, audit, data, formats, liveness, summaries, urlpick, urlstate
from dashboard.i18n import DEFAULT_LANG, LABELS, LANG_KEY, LANGS, current_lang, t
from dashboard.labels import columns

log = logging.getLogger(__name__)

_STATE_KEY = "_dashboard_filters"
_LAST_KEY = "_dashboard_last_day"  # the newest day the date picker offered on the last run
_PICKED_KEY = "_dashboard_picked"  # the channel picker's value on the last run (its on_change compares)


@dataclass(frozen=True)
class Filters:
    """What the sidebar selected; passed to every data.* call."""
    root: str
    channels: tuple[str, ...]
    start: date
    end: date
    names: dict[str, str]
    tz: str
    lang: str = "ko"
    live: bool = False  # add PostgreSQL's rows collected since the last sync
    types: tuple[str, ...] | None = None  # message types to keep (None: all)
    account: object | None = None  # the signed-in account (None: no accounts configured)
    synced: tuple | None = None  # the lake's sync token this run (data.sync_token): in every cached answer's key


def seed_language() -> None:
    """session_state[LANG_KEY] from the URL's `lang` on a session's first run (before any
    label is drawn, st.set_page_config's title included)."""
    if LANG_KEY not in st.session_state:
        st.session_state[LANG_KEY] = urlstate.lang(st.query_params.get("lang"), DEFAULT_LANG)


def language_switch() -> str:
    """The language select box, first in the sidebar (the login form has it too)."""
    seed_language()
    with st.sidebar:
        st.selectbox(t("sidebar_language"), LANGS, key=LANG_KEY,
                     format_func=lambda code: {"ko": "한국어", "en": "English"}[code])
    return st.session_state[LANG_KEY]


def _seed(key: str, value) -> None:
    """Give a widget its starting value (from the URL) unless it already has one."""
    if key not in st.session_state:
        st.session_state[key] = value


def sidebar_filters(account=None) -> Filters | None:
    """Render the shared sidebar (channels the account may see, date range, message types,
    today's data, timezone), seeded from the URL on a session's first run and written
    back to it on every run. None when there is nothing to show: an empty lake, and
    today's data off or without rows (the sidebar then offers only the today's-data switch)."""
    root = data.root()
    synced = data.sync_token(root)  # once per run: a sync since the last run shows in this one
    q = st.query_params
    _seed("f_live", urlstate.flag(q.get("live")))
    zones = urlstate.zones(data.display_tz())
    _seed("f_tz", urlstate.choice(q.get("tz"), zones, zones[0]))
    damage_notice(root)
    try:
        chans = data.channels(root, synced)
        first, last = data.bounds(root, synced)
    except FileNotFoundError:
        chans, first, last = None, None, None
    empty = chans is None or chans.is_empty() or first is None or last is None
    if empty and st.session_state["f_live"]:  # nothing synced yet: PostgreSQL's days alone, if any
        waiting = data.live_days(root, st.session_state["f_tz"], None)
        if waiting:
            chans, first, last = data.live_channels(root, st.session_state["f_tz"]), min(waiting), max(waiting)
            empty = chans.is_empty()
    if empty:
        st.session_state[_STATE_KEY] = None
        with st.sidebar:  # the one filter that can show something before the first sync
            live = st.toggle(t("sidebar_live"), key="f_live", help=t("sidebar_live_help"))
        _live(root, st.session_state["f_tz"], live, None, account)  # when on: what was read, or why not
        return None
    if st.session_state["f_live"]:  # today's data: also channels PostgreSQL has and the lake not yet
        chans = data.live_channels(root, st.session_state["f_tz"])
    all_names = data.channel_names(chans)
    allowed = accounts.visible_channels(account, list(all_names))
    names = {cid: all_names[cid] for cid in allowed}
    offered = _channel_choices(names)
    if "f_channels" not in st.session_state:
        kept, dropped = urlstate.pick(q.get("channels"), offered)
        if dropped:
            log.warning("URL channels dropped for %s: %d not visible", getattr(account, "name", "local"), len(dropped))
            st.warning(t("sidebar_url_dropped").format(n=len(dropped)))
        st.session_state["f_channels"] = _one_or_all(kept) or offered[:1]
    else:  # never trust state either: only what this account may see
        kept = [c for c in st.session_state["f_channels"] if c in offered]
        if urlstate.ALL_CHANNELS in st.session_state["f_channels"] and not kept:  # "all" is one channel now
            kept = offered[:1]
        st.session_state["f_channels"] = kept
    if "f_types" not in st.session_state:
        kept, dropped = urlstate.pick(q.get("types"), urlstate.TYPES)
        if dropped:
            st.warning(t("sidebar_url_bad_types"))
        st.session_state["f_types"] = kept  # none picked: every type
    if st.session_state["f_live"]:  # today's data: also the days only PostgreSQL holds yet
        first, last = data.extend_bounds(first, last, data.live_days(
            root, st.session_state["f_tz"], _types(st.session_state["f_types"])))
    _seed_dates(q, first, last)

    with st.sidebar:
        st.header(t("filters"))
        if not names:
            st.warning(t("sidebar_no_channels"))
        picked = st.multiselect(t("channels"), options=offered, format_func=lambda cid: _channel_label(names, cid),
                                key="f_channels", on_change=_all_or_some)
        value = st.date_input(t("date_range"), min_value=first, max_value=last, key="f_dates")
        types = st.multiselect(t("sidebar_types"), options=urlstate.TYPES, key="f_types",
                               placeholder=t("sidebar_types_all"), format_func=coded("message_type"))
        live = st.toggle(t("sidebar_live"), key="f_live", help=t("sidebar_live_help"))
        tz = st.selectbox(t("sidebar_timezone"), zones, key="f_tz")
    st.session_state[_PICKED_KEY] = list(picked)
    start, end = data.normalize_range(value, first, last)
    shown = tuple(names) if urlstate.ALL_CHANNELS in picked else tuple(c for c in picked if c in names)
    types_used = _types(types)
    live = _live(root, tz, live, types_used, account)
    lang = st.session_state.get(LANG_KEY, DEFAULT_LANG)
    _write_url(urlstate.encode(_one_or_all(picked), start, end, types, live, lang, tz))
    filters = Filters(root, shown, start, end, names, tz, lang=lang,
                      live=live, types=types_used, account=account, synced=synced)
    st.session_state[_STATE_KEY] = filters
    return filters


def _channel_choices(names: dict[str, str]) -> list[str]:
    """The channel picker's options: "all channels" first when there are several (the
    default: one chip, not one per channel), then each channel the viewer may see."""
    return ([urlstate.ALL_CHANNELS] if len(names) > 1 else []) + list(names)


def _channel_label(names: dict[str, str], cid: str) -> str:
    return t("sidebar_all_channels") if cid == urlstate.ALL_CHANNELS else names.get(cid, cid)


def _one_or_all(picked) -> list[str]:
    """"All channels" and some channels at once mean all channels."""
    return [urlstate.ALL_CHANNELS] if urlstate.ALL_CHANNELS in picked else list(picked)


def _all_or_some() -> None:
    """The channel picker's on_change: picking "all channels" drops the single channels
    picked before; picking a channel while "all" is picked drops "all"."""
    picked = list(st.session_state.get("f_channels") or ())
    if urlstate.ALL_CHANNELS not in picked or len(picked) == 1:
        return
    if urlstate.ALL_CHANNELS in st.session_state.get(_PICKED_KEY, ()):
        st.session_state["f_channels"] = [c for c in picked if c != urlstate.ALL_CHANNELS]
    else:
        st.session_state["f_channels"] = [urlstate.ALL_CHANNELS]


MAX_DAYS_NAMED = 5  # damaged days named in the notice (and its command); "…" for more


def damage_notice(root: str) -> None:
    """A warning naming the lake's damaged partitions and the command that repairs them
    (warehouse/lake/health.py), while any is left out of the answers: days and table names only,
    never a path or a traceback."""
    found = data.damaged(root)
    days = sorted({d for _, d in found if d is not None})
    tables = sorted({name for name, d in found if d is None})
    if days:
        named = [d.isoformat() for d in days[:MAX_DAYS_NAMED]]
        more = "…" if len(days) > MAX_DAYS_NAMED else ""
        command = "python -m warehouse sync " + " ".join(f"--day {d}" for d in named)
        st.warning(t("damage_days").format(days=", ".join(named) + more, command=command),
                   icon=":material/warning:")
    if tables:
        st.warning(t("damage_tables").format(tables=", ".join(tables)), icon=":material/warning:")


def _seed_dates(q, first: date, last: date) -> None:
    """session_state's date range: from the URL on a session's first run, then kept within
    [first, last]; a range that ended on the newest day follows it when days are added
    (today's data switched on)."""
    if "f_dates" not in st.session_state:
        value, bad = urlstate.dates(q.get("from"), q.get("to"), first, last, data.default_range(first, last))
        if bad:
            st.warning(t("sidebar_url_bad_dates"))
        st.session_state["f_dates"] = value
    else:
        picked = tuple(st.session_state["f_dates"] or ())
        if any(d < first or d > last for d in picked):  # the lake moved, or today's data went off
            st.session_state["f_dates"] = data.normalize_range(picked, first, last)
        elif picked and picked[-1] == st.session_state.get(_LAST_KEY) and picked[-1] < last:
            st.session_state["f_dates"] = (picked[0], last)
    st.session_state[_LAST_KEY] = last


def _types(picked: list[str]) -> tuple[str, ...] | None:
    """The message types to keep, None for all (none picked, or every one)."""
    if not picked or set(picked) == set(urlstate.TYPES):
        return None
    return tuple(picked)


def _live(root: str, tz: str, on: bool, types: tuple[str, ...] | None, account=None) -> bool:
    """Whether today's data is added; says in the sidebar what was added (or why not): the
    rows read from PostgreSQL are every channel's, so a streamer is told the days only, and
    not how many days the lake is behind when that is why nothing was added."""
    if not on:
        return False
    info = data.handle(root, tz, True, types).wh.live_info  # always set by a live Warehouse
    if info.get("error"):
        st.sidebar.caption(t("sidebar_live_error"))
        if info.get("cause") == "state":
            st.sidebar.text(t("sidebar_live_state"))
        elif info.get("cause") == "limit" and not accounts.sees_lake_wide(account):
            st.sidebar.text(t("sidebar_live_limit"))
        else:
            st.sidebar.text(str(info["error"]))  # one line, no credentials (warehouse.live)
    elif info.get("enabled"):
        days = info.get("days")
        days = days if isinstance(days, int) else len(days or ())
        if accounts.sees_lake_wide(account):
            st.sidebar.caption(t("sidebar_live_rows").format(rows=int(info.get("rows") or 0), days=days,
                                                             read_at=formats.local_time(info.get("read_at"), tz)))
        else:
            st.sidebar.caption(t("sidebar_live_days").format(days=days, read_at=formats.local_time(info.get("read_at"), tz)))
    return True


def _write_url(params: dict[str, str]) -> None:
    """Put the view into the URL: set what `params` has, remove our keys it lacks."""
    for key in urlstate.KEYS:
        if key in params:
            if st.query_params.get(key) != params[key]:
                st.query_params[key] = params[key]
        elif key in st.query_params:
            del st.query_params[key]


def audited(f: Filters, kind: str, query: str, channels) -> None:
    """Write one audit record for this search unless it is the one this session recorded
    last (reruns for paging or a picked row are not new searches). When the record cannot
    be stored the page stops: no result is shown unaudited."""
    key = (query, tuple(sorted(channels)))
    memo = f"_audited_{kind}"
    if st.session_state.get(memo) == key:
        return
    try:
        audit.append(audit.record(f.account, kind, query, channels))
    except OSError as exc:
        log.error("audit record not written (%s): %s", kind, exc)
        st.error(t("audit_failed"))
        st.stop()
    st.session_state[memo] = key


def require_filters() -> Filters:
    """The current filters, or stop the page with a friendly message."""
    filters = st.session_state.get(_STATE_KEY)  # set by streamlit_app.py on every run
    if filters is None:
        st.info(t("empty_lake"))
        st.stop()
    if not filters.channels:
        st.warning(t("no_channel"))
        st.stop()
    return filters


def table(df: pl.DataFrame, stem: str, key: str, column_config: dict | None = None, stored_names: bool = False,
          **kwargs) -> None:
    """st.dataframe (cells are plain text, never HTML/markdown) plus CSV and Parquet downloads.
    Every cell reads by its column's kind (dashboard/formats.py: separators, %, whole won,
    times in the sidebar's zone without offset, "–" for no value, coded values and headers
    in the page's language, ids last and narrow); `column_config` adds a page's own headers
    and columns (a progress bar, a link) on top; `stored_names`: headed by the stored column
    names (the Data page's preview of a lake table). The CSV is the table as read (headers and
    values in the page's language, times a spreadsheet reads); the Parquet keeps the API's
    names, values and types. The files are made when a button is clicked (a callable), not on
    every run: a page neither encodes its tables twice per run nor has the browser fetch them on load."""
    lang, tz = current_lang(), _shown_tz()
    shown = formats.for_table(df, lambda column, code: _value_label(column, code, lang))
    config = formats.table_config(shown.schema, lambda c: None if stored_names else _header(c, lang), tz,
                                  column_config)
    kwargs.setdefault("column_order", formats.order(shown.schema))
    st.dataframe(shown, width="stretch", hide_index=True, column_config=config, placeholder=formats.NO_VALUE,
                 **kwargs)
    left, right, _ = st.columns([1, 1, 4])
    with left:
        st.download_button(t("download_csv"), lambda: data.to_csv_bytes(formats.for_csv(
            shown.select(kwargs["column_order"]), lambda c: config[c]["label"], tz)), file_name=f"{stem}.csv",
            mime="text/csv", key=f"{key}_csv", on_click="ignore")
    with right:
        st.download_button(t("download_parquet"), lambda: data.to_parquet_bytes(df), file_name=f"{stem}.parquet",
                           mime="application/vnd.apache.parquet", key=f"{key}_parquet", on_click="ignore")


def _shown_tz() -> str:
    """The sidebar's time zone (the display default before the sidebar has run)."""
    filters = st.session_state.get(_STATE_KEY)
    return filters.tz if filters is not None else data.display_tz()


def _header(column: str, lang: str) -> str:
    """A column's header in `lang` (its labels' col_a_<column>), else its API name."""
    return t(f"col_a_{column}", lang) if f"col_a_{column}" in LABELS else column


def _value_label(column: str, code: str, lang: str) -> str | None:
    """A coded cell value (labels.columns.VALUES) in `lang`; None for a code not declared."""
    key = columns.VALUES.get(column, {}).get(code)
    return t(key, lang) if key else None


def coded(column: str, lang: str | None = None) -> Callable[[str], str]:
    """A select box's format_func for the codes of `column` (labels.columns.VALUES: message
    types, audit kinds...): each in `lang` (default: the session's), an unknown one as it is."""
    lang = lang or current_lang()
    return lambda code: _value_label(column, code, lang) or code


SECTION_PARAM = "section"  # the URL parameter naming a page's open section


def sections(key: str, parts: dict[str, tuple[str, Callable[[], None]]]) -> str:
    """A page's sections as tabs that draw only the open one (``st.tabs`` with
    ``on_change="rerun"``): a page opens with one section's charts and tables instead of all
    of them, and its other queries run when their tab is picked. `parts`: section id ->
    (tab label, the function drawing it), first the default. The open section is kept in
    the URL (``?section=id``, not written for the default), so a copied link opens it; an id
    the page does not offer is ignored. Draws the open section in its tab; returns its id."""
    ids = list(parts)
    labels = {i: label for i, (label, _) in parts.items()}
    if key in st.session_state and st.session_state[key] not in labels.values():
        del st.session_state[key]  # a label of the other language, or of a section gone
    if key not in st.session_state and st.query_params.get(SECTION_PARAM) in labels:
        st.session_state[key] = labels[st.query_params[SECTION_PARAM]]
    tabs = dict(zip(ids, st.tabs(list(labels.values()), key=key, on_change="rerun"), strict=True))
    opened = next((i for i, tab in tabs.items() if tab.open), ids[0])
    if opened != ids[0]:
        if st.query_params.get(SECTION_PARAM) != opened:
            st.query_params[SECTION_PARAM] = opened
    elif SECTION_PARAM in st.query_params:
        del st.query_params[SECTION_PARAM]
    with tabs[opened]:
        parts[opened][1]()
    return opened


def folded(label: str, key: str, draw: Callable[[], None]) -> bool:
    """An expander that draws its content only while it is open (``st.expander`` with
    ``on_change="rerun"``; opening it reruns the page): the browser draws a table in a
    closed expander as dearly as a shown one (measured: a 30-row st.dataframe costs
    Chromium's main thread ~170 ms of CPU whether its expander is open or not; drawn only
    when open, nothing), so a page opens without them and their queries run when opened.
    The open state is kept under `key` in session_state (True when open), also when the
    label changes (a count in it): Streamlit would start a relabelled expander closed. Returns it."""
    st.session_state[key] = bool(st.session_state.get(key, False))
    box = st.expander(label, key=key, on_change="rerun")
    if box.open:
        with box:
            draw()
    return bool(box.open)


def busiest_note(df: pl.DataFrame, drawn: pl.DataFrame) -> None:
    """Under a chart drawn from charts.busiest(df, ...): a caption saying how many of the
    frame's channels it draws, when it left some out (its table lists them all)."""
    if df.is_empty() or drawn.is_empty():
        return
    total, n = df["channel_id"].n_unique(), drawn["channel_id"].n_unique()
    if n < total:
        st.caption(t("chart_busiest").format(n=n, total=total))


def stem(name: str, filters: Filters) -> str:
    """A download file name: what, and the date range."""
    return f"{name}_{filters.start:%Y%m%d}-{filters.end:%Y%m%d}"


def coverage_badge(f: Filters, channels: tuple[str, ...] | None = None) -> dict | None:
    """A badge saying how much of the broadcasts in the filter's period (or of `channels`)
    was captured, from warehouse.coverage; returns the figures shown (None when the period
    has no known broadcast). Put one next to every metric over a period."""
    scope = tuple(channels) if channels is not None else f.channels
    cov = data.query(f, warehouse.coverage, channels=list(scope))
    figures = data.coverage_figures(cov)
    if figures is None:
        st.caption(":material/help: " + t("coverage_none"))
        return None
    pct = figures["share"] * 100
    icon = ":material/check_circle:" if figures["gaps"] == 0 else ":material/warning:"
    color = "green" if pct >= 99 else ("orange" if pct >= 90 else "red")
    detail = t("coverage_detail").format(n=figures["broadcasts"], gaps=figures["gaps"])
    st.badge(f"{t('coverage_badge')} {pct:.1f}% · {detail}", icon=icon, color=color)
    return figures


def pick_broadcast(listing: pl.DataFrame, label: str, key: str, tz: str, in_url: bool = True) -> dict:
    """A select box of `listing`'s broadcasts (broadcast_list rows, labelled by start, channel
    and title in `tz`, a live one marked live); the picked row, with ``live`` (bool). It opens
    on the newest finished broadcast (dashboard.liveness). `in_url`: the pick is seeded from
    and kept in the URL (``?broadcast=<channel>:<broadcast>``), so a copied link opens it."""
    rows = {summaries.broadcast_key(r["channel_id"], r["broadcast"]): r for r in listing.iter_rows(named=True)}
    untitled, live = t("broadcasts_untitled"), liveness.live_keys(listing)
    mark = f"{t('broadcasts_live')} · "
    if in_url:
        urlpick.seed("broadcast", key, list(rows))
    if key not in st.session_state or st.session_state[key] not in rows:
        st.session_state[key] = liveness.default_key(list(rows), live)
    picked = st.selectbox(label, options=list(rows), key=key, format_func=lambda k: (
        mark if k in live else "") + summaries.broadcast_label(rows[k], tz, untitled))
    if in_url:
        urlpick.remember("broadcast", picked)
    return {**rows[picked], "live": picked in live}


def pick_broadcasts(listing: pl.DataFrame, label: str, key: str, tz: str, most: int = 4,
                    first: int = 2) -> list[dict]:
    """A multi-pick of `listing`'s broadcasts (broadcast_list rows, labelled as pick_broadcast
    labels them), at most `most`; the picked rows in the order picked. It opens on the
    `first` newest; a pick the listing no longer holds (other filters) is dropped."""
    rows = {summaries.broadcast_key(r["channel_id"], r["broadcast"]): r for r in listing.iter_rows(named=True)}
    untitled = t("broadcasts_untitled")
    if key in st.session_state:
        st.session_state[key] = [k for k in st.session_state[key] if k in rows][:most]
    else:
        st.session_state[key] = list(rows)[:first]
    picked = st.multiselect(label, options=list(rows), key=key, max_selections=most,
                            format_func=lambda k: summaries.broadcast_label(rows[k], tz, untitled))
    return [rows[k] for k in picked]
