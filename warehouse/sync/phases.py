"""The sync's phases timed (issue 18: the sync beside a plain COPY and the DuckDB scanner,
like for like): each day partition's writer splits its time into waiting for the rows
(PostgreSQL, transfer, the binary decoding, compact rows' frames turned into text, the sort)
and writing them (Parquet encoding, compression, the file); the sync adds the small tables
and each accelerator's build (export.SyncReport holds them all), and logs one line a phase."""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pyarrow as pa

log = logging.getLogger("warehouse.sync.export")  # the sync's own log lines


class ReadClock:
    """The seconds a partition's writer spends waiting for its rows (making them and
    drawing each batch), apart from the seconds it spends writing them."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def timed(self, make) -> Iterator[pa.RecordBatch]:
        t0 = time.monotonic()
        data = make()
        self.seconds += time.monotonic() - t0
        return self._drawn(data.to_batches() if isinstance(data, pa.Table) else data)

    def _drawn(self, batches) -> Iterator[pa.RecordBatch]:
        it = iter(batches)
        try:
            while True:
                t0 = time.monotonic()
                try:
                    batch = next(it)
                except StopIteration:
                    return
                finally:
                    self.seconds += time.monotonic() - t0
                yield batch
        finally:
            close = getattr(it, "close", None)
            if close is not None:  # lake.write closes this early on an error: stop the producer now
                close()


def log_phases(report, writers: int) -> None:
    """One log line per phase of the sync (an export.SyncReport), with counts and durations;
    `writers`: SYNC_WRITERS, the partitions written at once."""
    parts = len(report.parts)
    log.info("sync phase extract: %d partition(s), %d rows read from PostgreSQL in %.2fs (summed over up to %d"
             " writer(s)), of which %.2fs decoding compact rows", parts, sum(d.rows for d in report.parts),
             report.read_seconds, writers, report.decode_seconds)
    log.info("sync phase parquet: %d partition(s), %d bytes written in %.2fs (summed over up to %d writer(s))",
             parts, report.bytes, report.write_seconds, writers)
    log.info("sync phase small tables: %d table(s), %d rows in %.2fs", len(report.tables),
             sum(report.tables.values()), report.small_tables_seconds)
    log.info("sync phase export: %.2fs wall (plan, partitions, small tables)", report.export_seconds)
    for name, seconds in report.accelerators.items():
        log.info("sync phase accelerator %s: built in %.2fs", name, seconds)
    log.info("sync phase accelerators: %d built in %.2fs wall (up to %d at once)", len(report.accelerators),
             report.accelerator_seconds, writers)
