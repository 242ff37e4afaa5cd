"""Ways a lake file gets damaged (a full disk, a killed copy, a bad sector, a hand edit),
for the tests of warehouse/lake/health.py and of what readers and the sync do about it."""
from __future__ import annotations

import random
from pathlib import Path

# how -> what the file becomes; each one leaves the file in place, as damage does
HOWS = ("truncate", "footer", "zero", "random", "pages")  # and "body", for Arrow IPC files


def damage(path: str | Path, how: str, seed: int = 15) -> bytes:
    """Damage the file at `path`; return its new bytes. The damaged bytes go to a new file
    at the same path (a hard-linked copy's original keeps its bytes).

    truncate: the first half only; footer: the footer's last bytes (length and magic)
    overwritten; zero: an empty file; random: as many random bytes; pages: the data pages
    overwritten with random bytes, the footer left intact (only a full read notices); body:
    the middle (30-70 %) random, both ends intact (an Arrow IPC file's schema and footer)."""
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
    elif how == "body":
        lo, hi = len(data) * 3 // 10, len(data) * 7 // 10
        new = data[:lo] + rng.randbytes(hi - lo) + data[hi:]
    else:
        raise ValueError(f"how={how!r}: use one of {', '.join(HOWS)}")
    path.unlink()
    path.write_bytes(new)
    return new
