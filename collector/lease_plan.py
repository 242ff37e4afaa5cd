"""Which channels one collector process should take and give up, weighed by their chat rate:
a pure function of the lease table's state, so it is tested with plain data and every
process, deciding from the same table, converges on the same balance.

The rules (``plan``):

- Weights: each channel's recent chat rate (lines/s), at least ``MIN_WEIGHT``, so channels
  without recent lines still spread by count. A process's load is the sum of its channels'.
  ``Leases`` counts the lines stored over the last 30 s per channel (one index probe each on
  stream_chat (channel_fk, chat_time, id), up to 1,000 lines/s: 500 channels beside two
  6,000 lines/s floods cost 17 ms fresh, 9.5 ms vacuumed; 35 / 29 ms uncapped; 230-280 ms
  measured during the 2-process flood bench on the shared 2-core machine), outside the
  claim's lock. The alternative, each process writing its channels' rates into its lease
  rows, needs a column (a migration) and knows nothing of a channel nobody holds.
- The group: ourselves, every live process that holds one of the channels *we* want (it
  wants some of them too) and every live process that holds nothing (it may want them). A
  process with another channel list that holds none of ours is not a taker of ours, so it
  does not shrink our share (two processes started with different ``--channel`` lists each
  keep their whole list).
- The share: (the group's loads + the free channels we want) / the group's size; the
  tolerance ``HYSTERESIS`` × share. Processes at their channel limit are left out (they
  take nothing more).
- Give up: our channels heaviest first, each one whose move to the group's lightest other
  member leaves both below our load by more than the tolerance
  (``load(lightest) + w < load(us) - tolerance``). Every such move lowers the sum of the
  squared loads, so no channel goes back and forth while the rates hold, and the tolerance
  keeps rate noise from moving a heavy channel. Never a channel taken at our previous
  round while we shared (``young``), nor one ``pinned`` (we gave it up before and nobody
  took it: only we want it; the processes that held nothing meanwhile are then
  ``passive``). A process holding nothing gets one channel
  a round until it holds one of ours (it may want none of them). Never a channel taken in the last
  ``YOUNG_ROUNDS`` rounds, nor one ``pinned`` (we gave it up before and nobody took it: only
  we want it; the processes that held nothing meanwhile are then ``passive``).
- Take: free wanted channels heaviest first, each one that brings us nearer the share
  (``load + w/2 <= share``), or any while we are the group's lightest; and any channel that was already
  free at our previous round (nobody below their share took it: it must not stay
  uncollected), up to ``cap`` channels in all.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

MIN_WEIGHT = 0.05     # lines/s a channel without recent lines weighs
HYSTERESIS = 0.10     # of the share: how far above it a process may stay without giving up
YOUNG_ROUNDS = 2      # a channel taken beside others is not given up at our next round


@dataclass
class Plan:
    take: list[str] = field(default_factory=list)      # free channels to claim, heaviest first
    give_up: list[str] = field(default_factory=list)   # ours, to release for a lighter process
    share: float = 0.0
    group: int = 1                                      # processes we share our channels with
    load: float = 0.0                                   # ours after the plan


def weight(weights: Mapping[str, float], channel: str) -> float:
    return max(MIN_WEIGHT, float(weights.get(channel, 0.0)))


def plan(me: str, wanted: Iterable[str], held_by: Mapping[str, str], owners: Iterable[str],
         weights: Mapping[str, float], *, cap: int | None = None, young: Iterable[str] = (),
         pinned: Iterable[str] = (), free_before: Iterable[str] = (), passive: Iterable[str] = (),
         full: Iterable[str] = ()) -> Plan:
    """``held_by``: channel -> owner of every live lease; ``owners``: the live processes (us
    included); ``weights``: channel -> recent lines/s; ``young``: ours taken in the last
    rounds; ``free_before``: wanted channels that were free at our previous round;
    ``passive``: processes that held nothing while a channel we gave up stayed free (they
    want none of ours: not in the group while they hold nothing); ``full``: processes at
    their MAX_CHANNELS_PER_PROCESS (they take nothing more: the others share the rest)."""
    wanted = set(wanted)
    owners = set(owners) | {me} | set(held_by.values())
    load = dict.fromkeys(owners, 0.0)
    for ch, owner in held_by.items():
        load[owner] += weight(weights, ch)
    holders = {owner for ch, owner in held_by.items() if ch in wanted}
    idle = owners - set(held_by.values()) - set(passive)
    group = (holders | idle | {me}) - (set(full) - {me})
    free = sorted((ch for ch in wanted if ch not in held_by), key=lambda c: (-weight(weights, c), c))
    share = (sum(load[o] for o in group) + sum(weight(weights, c) for c in free)) / len(group)
    tol = HYSTERESIS * share
    out = Plan(share=share, group=len(group))

    others = {o: load[o] for o in group - {me}}
    takers = dict(others)  # the ones we give to: an idle one one channel at a time
    young, pinned = set(young), set(pinned)
    mine = sorted((ch for ch, o in held_by.items() if o == me and ch in wanted and ch not in young | pinned),
                  key=lambda c: (-weight(weights, c), c))
    for ch in mine:
        if not takers:
            break
        w = weight(weights, ch)
        lightest = min(takers, key=lambda o: (takers[o], o))
        if takers[lightest] + w < load[me] - tol:
            out.give_up.append(ch)
            load[me] -= w
            takers[lightest] += w
            others[lightest] += w
            if lightest in idle:  # one at a time until it shows it wants ours by taking it
                del takers[lightest]

    held = sum(1 for o in held_by.values() if o == me) - len(out.give_up)
    free_before = set(free_before)
    for ch in free:
        if cap is not None and held >= cap:
            break
        w = weight(weights, ch)
        lightest_here = not others or load[me] <= min(others.values())
        if ch in free_before or lightest_here or load[me] + w / 2 <= share:
            out.take.append(ch)
            load[me] += w
            held += 1
    out.load = load[me]
    return out

