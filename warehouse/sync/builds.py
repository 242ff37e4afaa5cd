"""The accelerators brought up to date after the export, several at once: each build is
mostly DuckDB (which releases the GIL) and Parquet or Arrow writing, and none of them keeps
both cores busy alone (their single-threaded steps: planning, the final merge and sort,
the writing), so two builds side by side finish sooner than one after the other.

Every accelerator of warehouse/read/accelerators (ACCELERATORS, the one list the sync and
forget-user go through) is built, each once those it is built from (``built_from``, the
user tail after the users side table) are built. A build that fails stops new builds from
starting; the ones running finish, and the first error is raised. Forget-user keeps
``accelerators.rebuild_all`` (one after another, removing on failure)."""
from __future__ import annotations

import logging
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from warehouse.lake.layout import Lake
from warehouse.read import accelerators
from warehouse.read.accelerators.base import Accelerator

log = logging.getLogger(__name__)


def build_all(lake: Lake, tz: str | None, seconds: dict[str, float], workers: int) -> None:
    """Bring every accelerator up to date with the chat partitions (each redoes only the
    days whose partition changed), `workers` at once (1: in declaration order, as
    ``rebuild_all``). `tz`: the zone the partitions are cut in. Each build's wall seconds
    are added to `seconds` by name (names in declaration order)."""
    todo = list(accelerators.ACCELERATORS)
    for acc in todo:
        seconds.setdefault(acc.name, 0.0)
    names = {acc.name for acc in todo}
    done: set[str] = set()
    running: dict[Future, tuple[Accelerator, float]] = {}
    error: BaseException | None = None
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="wh-accelerator") as pool:
        while todo or running:
            ready = [acc for acc in todo if all(d in done for d in acc.built_from if d in names)]
            if workers > 1:  # the last declared first: the heaviest builds (broadcast minutes, the
                ready.reverse()  # user tail) are declared last, and the short ones then fill in
            for acc in ready if error is None else ():
                if len(running) >= max(1, workers):
                    break
                todo.remove(acc)
                running[pool.submit(acc.build, lake, tz, False)] = (acc, time.monotonic())
            if not running:
                if error is not None:
                    break
                raise RuntimeError(f"accelerators {[a.name for a in todo]} wait for ones that are never built")
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                acc, t0 = running.pop(future)
                seconds[acc.name] += time.monotonic() - t0
                exc = future.exception()
                if exc is None:
                    done.add(acc.name)
                elif error is None:
                    error = exc
                    log.error("accelerator %s failed to build: no new build starts; %d running finish first",
                              acc.name, len(running))
    if error is not None:
        raise error
