"""`make check-wheels`: every package pinned in requirements.lock has a wheel for each CPython
and manylinux architecture we support, whether or not this machine has that interpreter.

For each (python, architecture) the lock is resolved as it stands (`--no-deps`: its pins, its
markers evaluated for that target) with `--only-binary :all:` for CPython X on
manylinux_2_28 (glibc 2.28 and newer, which also takes manylinux2014 wheels). A package
with no such wheel fails the check and is named, with the platforms it does have.

uv resolves, not `pip download --only-binary=:all: --python-version --platform`: pip fetches
every wheel whole to read its metadata (~1 GB per target here: eight targets took more than
10 minutes and were stopped), uv reads the index and each wheel's metadata only (about 20 s
a target). Exit 0 when every target resolves, 1 otherwise.

A package of SDIST_ALLOWED is left out of the resolution, by name and with its reason: one
that PyPI ships as an sdist only but that holds no compiled code, so the same sdist installs
on every CPython and platform (resolving it would also mean downloading the whole sdist per
target: uv reads an sdist's metadata only by building it)."""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# name -> why its sdist is accepted in place of a wheel (it must hold no compiled code)
SDIST_ALLOWED = {
    "pyspark": "pure Python (the Spark jars it bundles run on the JVM); PyPI has only its sdist",
}
GLIBC = "manylinux_2_28"  # the oldest glibc we promise; uv's tag set includes the older manylinux tags
UV = Path(sys.executable).with_name("uv")


def _name(line: str) -> str:
    """The normalized package name a lock line pins ("" for comments and blank lines)."""
    match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==", line)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else ""


def without_allowed(lock: Path, folder: Path) -> tuple[Path, list[str]]:
    """A copy of `lock` in `folder` without the pins of SDIST_ALLOWED's packages, and those pins."""
    kept, left_out = [], []
    for line in lock.read_text().splitlines():
        (left_out if _name(line) in SDIST_ALLOWED else kept).append(line)
    copy = folder / lock.name
    copy.write_text("\n".join(kept) + "\n")
    return copy, [line.split(";")[0].strip() for line in left_out]


def resolve(lock: Path, python: str, arch: str) -> tuple[str, bool, str, float]:
    """(target, ok, uv's explanation, seconds) for one target."""
    started = time.monotonic()
    cmd = [str(UV), "pip", "compile", str(lock), "--no-deps", "--only-binary", ":all:", "--quiet",
           "--no-header", "--python-version", python, "--python-platform", f"{arch}-{GLIBC}"]  # the resolution goes to stdout
    out = subprocess.run(cmd, capture_output=True, text=True)
    why = "\n".join(line for line in out.stderr.splitlines() if line.strip())
    return f"CPython {python} {GLIBC}_{arch}", out.returncode == 0, why, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", type=Path, default=Path("requirements.lock"))
    parser.add_argument("--pythons", default="3.11 3.12 3.13 3.14")
    parser.add_argument("--platforms", default="x86_64 aarch64")
    args = parser.parse_args(argv)
    targets = [(py, arch) for py in args.pythons.split() for arch in args.platforms.split()]
    with tempfile.TemporaryDirectory() as folder:
        lock, allowed = without_allowed(args.lock, Path(folder))
        for pin in allowed:
            print(f"sdist allowed: {pin} ({SDIST_ALLOWED[_name(pin)]})")
        with ThreadPoolExecutor(max_workers=4) as pool:  # network-bound: uv waits on the index
            results = list(pool.map(lambda t: resolve(lock, *t), targets))
    for name, ok, errors, seconds in results:
        print(f"{'ok' if ok else 'MISSING'} {name} ({seconds:.0f} s)" + ("" if ok else "\n  " + errors.replace("\n", "\n  ")))
    failed = sum(not ok for _, ok, _, _ in results)
    print(f"{len(results) - failed} of {len(results)} targets have a wheel for every locked package")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
