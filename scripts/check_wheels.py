"""`make check-wheels`: every package pinned in requirements.lock has a wheel for each CPython
and manylinux architecture we support, whether or not this machine has that interpreter.

For each (python, architecture), the lock's lines whose markers hold there (python_version,
sys_platform=linux, platform_machine) are resolved by pip against the index with
`--only-binary=:all: --python-version X --platform manylinux_2_{17..28}_ARCH` and `--dry-run`
(pip reads the index and each wheel's metadata; nothing is installed). A package with no
such wheel fails the check and is named. Exit 0 when every target resolves, 1 otherwise."""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement

GLIBC_MINORS = range(17, 29)  # manylinux_2_17 (manylinux2014) .. manylinux_2_28: glibc 2.28 and newer


def platforms(arch: str) -> list[str]:
    """pip takes --platform literally (no older-glibc expansion): name every tag we accept."""
    tags = [f"manylinux_2_{m}_{arch}" for m in reversed(GLIBC_MINORS)]
    return [*tags, f"manylinux2014_{arch}"]


def environment(python: str, arch: str) -> dict[str, str]:
    """The marker environment of CPython `python` (e.g. "3.13") on Linux `arch`."""
    return {"python_version": python, "python_full_version": f"{python}.0", "sys_platform": "linux",
            "platform_system": "Linux", "os_name": "posix", "platform_machine": arch,
            "implementation_name": "cpython", "platform_python_implementation": "CPython"}


def pins_for(lock: Path, python: str, arch: str) -> list[str]:
    """`name==version` for every lock line whose marker holds on (python, arch)."""
    env = environment(python, arch)
    pins = []
    for line in lock.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        if req.marker is None or Marker(str(req.marker)).evaluate(env):
            pins.append(f"{req.name}{req.specifier}")
    return pins


def resolve(lock: Path, python: str, arch: str) -> tuple[str, bool, str, float]:
    """(target, ok, pip's last lines, seconds) for one target."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="wheels") as tmp:
        reqs = Path(tmp) / "requirements.txt"
        reqs.write_text("\n".join(pins_for(lock, python, arch)) + "\n", encoding="utf-8")
        cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-deps",
               "--disable-pip-version-check", "-q", "--only-binary=:all:", "--python-version", python,
               *[a for p in platforms(arch) for a in ("--platform", p)],
               "--target", str(Path(tmp) / "target"), "-r", str(reqs)]
        out = subprocess.run(cmd, capture_output=True, text=True)
    lines = [x for x in (out.stdout + out.stderr).splitlines() if x.startswith("ERROR")]
    return f"CPython {python} manylinux {arch}", out.returncode == 0, "\n".join(lines[-3:]), \
        time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", type=Path, default=Path("requirements.lock"))
    parser.add_argument("--pythons", default="3.11 3.12 3.13 3.14")
    parser.add_argument("--platforms", default="x86_64 aarch64")
    args = parser.parse_args(argv)
    targets = [(py, arch) for py in args.pythons.split() for arch in args.platforms.split()]
    with ThreadPoolExecutor(max_workers=4) as pool:  # network-bound: pip waits on the index
        results = list(pool.map(lambda t: resolve(args.lock, *t), targets))
    for name, ok, errors, seconds in results:
        print(f"{'ok ' if ok else 'MISSING'} {name} ({seconds:.0f} s)" + ("" if ok else "\n  " + errors.replace("\n", "\n  ")))
    failed = sum(not ok for _, ok, _, _ in results)
    print(f"{len(results) - failed} of {len(results)} targets have a wheel for every locked package")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
