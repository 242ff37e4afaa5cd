"""The sync: PostgreSQL → the lake (``export``: extract day tables, write partitions, then
the state), and the commands that rewrite the lake from PostgreSQL's side — retention,
repair, forget-user. Only this side of the warehouse talks to PostgreSQL (apart from the
read side's live overlay, which borrows the sync's extract when asked for today's rows).

A process that imports the sync before pyarrow (its commands, the scheduler) gets Arrow's
default memory pool from the C library's malloc (``ARROW_DEFAULT_MEMORY_POOL=system``,
unless the environment names another): Parquet's column encoders take their buffers from
the default pool whatever pool the writer is given, and the default (mimalloc) hands large
blocks back to the kernel, so every row group's raw page (up to layout.DATA_PAGE_BYTES) was
grown in freshly faulted, zeroed pages — perf, 1M-line export: 15 % of the process's CPU in
the kernel's page clearing, 1 % with malloc, 15 % fewer CPU samples in all
(docs/BENCHMARKS.md). Arrow reads the variable once, when pyarrow is first imported."""
import os

os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
