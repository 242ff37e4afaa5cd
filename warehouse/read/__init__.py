"""The read side: a ``Warehouse`` (DuckDB in memory over the lake), the analyst queries,
the accelerators that answer some of them from small files, and the live overlay of
PostgreSQL's rows not synced yet. Importing it imports no PostgreSQL driver."""
