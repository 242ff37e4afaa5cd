"""Per-page UI labels: one module per page, each with ``LABELS = {key: (ko, en)}``.
dashboard.i18n merges them; keys are unique across all modules."""
