"""The lake contract: what the Parquet warehouse holds and how it is written — the layout
and the atomic partition writer (``layout``), the exported tables declared as data
(``tables``), the sync state (``state``) and how damaged files are found (``health``).
Both sides depend on it: the sync writes the lake, the read side reads it."""
