"""The load-aware share of channels (collector.lease_plan.plan) on plain data: processes take
turns on one lease table as ``Leases.claim`` does, and the tables they leave are checked."""
from __future__ import annotations

from collections.abc import Mapping

import pytest

from collector.lease_plan import YOUNG_ROUNDS, plan

HEAVY = {"f1": 6000.0, "f2": 6000.0}
QUIET = {f"q{i:02d}": 1.0 for i in range(40)}
WEIGHTS = {**HEAVY, **QUIET}
ALL = set(WEIGHTS)


def simulate(wanted: Mapping[str, set[str]], weights: Mapping[str, float], rounds: int,
             held_by: dict[str, str] | None = None, caps: Mapping[str, int | None] | None = None) -> list[dict]:
    """Processes ``wanted`` (owner -> its channel list) taking turns on one lease table, as
    ``Leases`` does (a channel given up is released at once, taken by whoever claims next);
    returns the table after each round. For tests and for reasoning about the rules."""
    held_by = dict(held_by or {})
    taken_at: dict[str, int] = {}
    free_seen: dict[str, set[str]] = {o: set() for o in wanted}
    released: dict[str, set[str]] = {o: set() for o in wanted}
    pinned: dict[str, set[str]] = {o: set() for o in wanted}
    passive: dict[str, set[str]] = {o: set() for o in wanted}
    history = []
    for r in range(rounds):
        for me in sorted(wanted):
            young = {c for c, o in held_by.items() if o == me and taken_at.get(c, -99) > r - YOUNG_ROUNDS}
            orphans = released[me] & free_seen[me] - set(held_by)  # given up, nobody took them
            if orphans:
                pinned[me] |= orphans
                passive[me] |= set(wanted) - set(held_by.values())
            p = plan(me, wanted[me], held_by, wanted.keys(), weights, cap=(caps or {}).get(me),
                     young=young, pinned=pinned[me], free_before=free_seen[me],
                     passive=passive[me])
            for ch in p.give_up:
                del held_by[ch]
            released[me] |= set(p.give_up)
            for ch in p.take:
                held_by[ch] = me
                if p.group > 1:
                    taken_at[ch] = r
            free_seen[me] = {c for c in wanted[me] if c not in held_by}
        history.append(dict(held_by))
    return history


def loads(table: dict[str, str], weights=WEIGHTS) -> dict[str, float]:
    out: dict[str, float] = {}
    for ch, owner in table.items():
        out[owner] = out.get(owner, 0.0) + weights.get(ch, 0.0)
    return out


@pytest.mark.unit
@pytest.mark.parametrize("n", [2, 3])
def test_two_heavy_channels_spread_and_stay(n):
    # the start of the bench: every channel taken by count before any rate was known
    owners = [f"p{k}" for k in range(n)]
    start = {ch: "p0" for ch in HEAVY} | {ch: owners[i % n] for i, ch in enumerate(sorted(QUIET))}
    history = simulate({o: ALL for o in owners}, WEIGHTS, rounds=12, held_by=start)
    assert len({history[-1][ch] for ch in HEAVY}) == 2, history[-1]        # the floods apart
    assert set(history[-1]) == ALL                                          # all collected
    settled = next(r for r, t in enumerate(history) if t == history[-1])
    assert settled <= YOUNG_ROUNDS + 2 and history[-4:] == [history[-1]] * 4  # within a few rounds, then stable
    top = max(loads(history[-1]).values())
    assert top < 6000 * 1.1 + len(QUIET)                                     # nobody carries both floods


@pytest.mark.unit
def test_quiet_channels_spread_by_count():
    history = simulate({"a": set(QUIET), "b": set(QUIET), "c": set(QUIET)}, {}, rounds=8,
                       held_by={ch: "a" for ch in QUIET})
    counts = sorted(loads(history[-1], {c: 1 for c in QUIET}).values())
    assert sum(counts) == len(QUIET) and counts[-1] - counts[0] <= 3, counts
    assert history[-1] == history[-2] == history[-3]


@pytest.mark.unit
def test_rate_noise_does_not_move_a_heavy_channel_back_and_forth():
    table = {"h1": "a", "h2": "a", "h3": "b"}
    moves = 0
    for r in range(20):  # three heavy channels whose rates swap a little every round
        w = {"h1": 6000 + (100 if r % 2 else -100), "h2": 6000 - (100 if r % 2 else -100), "h3": 6000.0}
        new = simulate({"a": set(w), "b": set(w)}, w, rounds=1, held_by=table)[-1]
        moves += sum(new[c] != table[c] for c in w)
        table = new
    assert moves == 0


@pytest.mark.unit
def test_different_channel_lists_keep_full_coverage():
    a = {f"a{i}" for i in range(10)} | {"s1", "s2"}
    b = {f"b{i}" for i in range(10)} | {"s1", "s2"}
    for start in ({}, {ch: "a" for ch in a} | {ch: "b" for ch in b - a}):
        history = simulate({"a": a, "b": b, "idle": set()}, {}, rounds=6, held_by=start)
        assert set(history[-1]) == a | b, sorted((a | b) - set(history[-1]))
        assert all(history[-1][ch] == "a" for ch in a - b) and all(history[-1][ch] == "b" for ch in b - a)
        assert history[-1] == history[-2]


@pytest.mark.unit
def test_a_channel_only_one_process_wants_is_taken_whatever_the_share():
    # b is lighter than a, but only a wants "solo": a takes it (at once or the round after)
    table = {"f1": "a", "q1": "b"}
    p = plan("a", {"f1", "solo"}, table, ["a", "b"], {"f1": 6000.0})
    assert p.take == ["solo"] or "solo" in plan("a", {"f1", "solo"}, table, ["a", "b"], {"f1": 6000.0},
                                                free_before={"solo"}).take


@pytest.mark.unit
def test_a_dead_process_channels_move():
    # "dead" is no longer live: its leases expired, they are free in the table given to plan
    history = simulate({"a": ALL, "b": ALL}, WEIGHTS, rounds=3, held_by={"q00": "a"})
    assert set(history[-1]) == ALL and set(history[-1].values()) == {"a", "b"}


@pytest.mark.unit
def test_cap_limits_the_channels_taken():
    history = simulate({"a": set(QUIET)}, {}, rounds=3, caps={"a": 5})
    assert len(history[-1]) == 5


@pytest.mark.unit
def test_a_young_channel_is_never_given_up():
    table = {"f1": "a", "f2": "a", "q01": "b"}
    assert plan("a", set(WEIGHTS), table, ["a", "b"], WEIGHTS).give_up == ["f1"]
    assert plan("a", set(WEIGHTS), table, ["a", "b"], WEIGHTS, young={"f1", "f2"}).give_up == []


@pytest.mark.unit
def test_a_channel_left_for_an_idle_process_is_not_taken_back():
    table = {"c1": "a", "c2": "a", "c3": "a"}   # c4 free, b holds nothing yet
    p = plan("a", {"c1", "c2", "c3", "c4"}, table, ["a", "b"], {})
    assert len(p.give_up) == 1 and p.take == []
