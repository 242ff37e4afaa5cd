"""Pure chart builders: a polars DataFrame from the warehouse query functions in, an Altair
(Vega-Lite) chart out (or a frame shaped for display). No Streamlit, no I/O, so they are
usable from notebooks and unit tests. One module per subject — activity, subscribers,
donations, broadcasts, keywords, data_tables (the pages' subjects) — over two that every
chart shares: clock (times drawn as wall-clock time in the display zone) and style
(palette, channel colors, the empty chart, plain text for Plotly); every builder is
reachable as ``charts.<name>``, as the pages and notebooks call them.

Untrusted text (channel names, nicknames, titles) goes into the charts as typed: Vega draws
text as text, and Streamlit's Vega tooltips escape it (vega-tooltip's default sanitize).
Importing this package installs dashboard.safe_display, so a notebook displaying these
charts embeds their specs script-safe (Altair's default HTML renderer does not).

Texts: a title the page passes comes from the page's labels; the words a builder owns (axes,
legend titles, tier names, the empty-chart note) are labels too (dashboard/labels/charts.py),
looked up in the builder's `lang` ("ko" by default, pages pass the session's)."""
from dashboard import safe_display  # noqa: F401 - installs the text-safe renderers on import
from dashboard.charts.activity import (  # noqa: F401
    WEEKDAYS_KO,
    activity_figure,
    heatmap_figure,
    heatmap_grid,
    new_vs_returning_figure,
)
from dashboard.charts.audience import (  # noqa: F401
    MATRIX_CHANNELS,
    OVERLAP_METRICS,
    biggest,
    channel_trend,
    cohort_figure,
    matrix_figure,
    overlap_cells,
    partners,
    retention_figure,
    top_pairs,
    trend_figure,
)
from dashboard.charts.broadcasts import (  # noqa: F401
    timeline_figure,
)
from dashboard.charts.categories import hours_figure  # noqa: F401
from dashboard.charts.clock import (  # noqa: F401
    BUCKET_FORMAT,
    NUMERIC_TIME_LABELS,
    bucket_text,
    fill_gaps,
    local_time,
    mark_time,
    time_axis,
    time_tip,
    time_x,
    wall_clock,
)
from dashboard.charts.data_tables import (  # noqa: F401
    hours_since,
    human_bytes,
    local_iso,
    mismatched,
    partitions_figure,
    tables_view,
    with_size,
)
from dashboard.charts.donations import (  # noqa: F401
    amount_figure,
    broadcast_choices,
    broadcast_figure,
    broadcast_label,
    distribution_figure,
    donation_totals,
    named_donors,
    overall,
    pending_shown,
    pending_total,
    ranking_figure,
    with_names,
)
from dashboard.charts.keywords import (  # noqa: F401
    keyword_trend_figure,
)
from dashboard.charts.style import (  # noqa: F401
    MAX_CHANNELS,
    PALETTE,
    busiest,
    channel_color,
    channel_pairs,
    color,
    empty,
    named,
    panel,
    plain,
)
from dashboard.charts.subscribers import (  # noqa: F401
    TENURE_COLORS,
    TIER_COLORS,
    TIER_ORDER,
    change_figure,
    group_shares,
    month_span,
    shares_figure,
    subscriber_share_figure,
    tier_colors,
    tier_labels,
    tier_names,
    tier_split_figure,
)
from dashboard.charts.viewers import (  # noqa: F401
    curve_segments,
    followers_figure,
    viewer_curve_figure,
    weekly_figure,
)
