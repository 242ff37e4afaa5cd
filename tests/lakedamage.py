"""Ways a lake file gets damaged (a full disk, a killed copy, a bad sector, a hand edit),
for the tests of warehouse/health.py and of what readers and the sync do about it."""
from __future__ import annotations

import random
from pathlib import Path

# how -> what the file becomes; each one leaves the file in place, as damage does
HOWS = ("truncate", "footer", "zero", "random", "pages")


def damage(path: str | Path, how: str, seed: int = 15) -> bytes:
    """Damage the file at `path` in place; return its new bytes.

    truncate: the first half only; footer: the footer's last bytes (length and magic)
    overwritten; zero: an empty file; random: as many random bytes; pages: the data pages
    overwritten with random bytes, the footer left intact (only a full read notices)."""
    path = Path(path)
    data = path.read_bytes()
    rng = random.Random(seed)
    if how == "truncate":
        new = data[: len(data) // 2]
    elif how == "footer":
        new = data[:-12] + bytes(12)
    elif how == "zero":
        new = b""
    elif how == "random":
        new = rng.randbytes(len(data))
    elif how == "pages":
        # the first quarter after the leading magic: column chunks, never the footer (which
        # sits at the end, well under 3/4 of a file of a few hundred rows)
        n = len(data) // 4
        new = data[:4] + rng.randbytes(n) + data[4 + n:]
    else:
        raise ValueError(f"how={how!r}: use one of {', '.join(HOWS)}")
    path.write_bytes(new)
    return new
