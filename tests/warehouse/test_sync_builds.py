"""The accelerators built after the export, several at once (warehouse/sync/builds.py):
every one is built and fresh, each after those it is built from, and a failed build stops
new ones and is raised."""
from __future__ import annotations

import dataclasses
import threading

import pytest

from tests.lakefixture import build_fixture_lake
from warehouse.lake.layout import Lake
from warehouse.read import accelerators
from warehouse.sync import builds


def _recording(order: list[tuple[str, str]], lock: threading.Lock):
    """ACCELERATORS whose builds note when they start and end (the real builds in between)."""
    def wrap(acc):
        def build(lake, tz, full):
            with lock:
                order.append(("start", acc.name))
            try:
                return acc.build(lake, tz, full)
            finally:
                with lock:
                    order.append(("end", acc.name))
        return dataclasses.replace(acc, build=build)
    return tuple(wrap(acc) for acc in accelerators.ACCELERATORS)


def test_every_accelerator_built_fresh_each_after_what_it_is_built_from(tmp_path, monkeypatch):
    build_fixture_lake(tmp_path)
    order: list[tuple[str, str]] = []
    monkeypatch.setattr(accelerators, "ACCELERATORS", _recording(order, threading.Lock()))
    seconds: dict[str, float] = {}
    builds.build_all(Lake(str(tmp_path)), "Asia/Seoul", seconds, 2)
    names = [a.name for a in accelerators.ACCELERATORS]
    assert list(seconds) == names and all(s > 0 for s in seconds.values())
    assert accelerators.fresh(Lake(str(tmp_path))) == dict.fromkeys(names, True)
    for acc in accelerators.ACCELERATORS:
        for dep in set(acc.built_from) & set(names):  # the user tail after the users side table
            assert order.index(("end", dep)) < order.index(("start", acc.name)), (dep, acc.name)
    starts = [i for i, (what, _) in enumerate(order) if what == "start"]
    ends = [i for i, (what, _) in enumerate(order) if what == "end"]
    assert starts[1] < ends[0], "two builds at once"


def test_a_failed_build_stops_new_ones_and_is_raised(tmp_path, monkeypatch):
    build_fixture_lake(tmp_path)

    def boom(lake, tz, full):
        raise OSError("disk full")
    first = accelerators.ACCELERATORS[0]  # the users side table: the user tail is built from it
    monkeypatch.setattr(accelerators, "ACCELERATORS",
                        (dataclasses.replace(first, build=boom), *accelerators.ACCELERATORS[1:]))
    with pytest.raises(OSError, match="disk full"):
        builds.build_all(Lake(str(tmp_path)), "Asia/Seoul", {}, 2)
    fresh = accelerators.fresh(Lake(str(tmp_path)))
    assert not fresh[first.name] and not fresh["user_tail"]  # never started: what it needs failed
