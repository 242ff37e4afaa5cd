"""Files only their owner may read, written whole or not at all."""
from __future__ import annotations

import os
import threading
from pathlib import Path


def replace_text(path: str | os.PathLike, text: str, *, mode: int | None = None, durable: bool = False) -> None:
    """Write `text` (UTF-8) to `path` whole or not at all: a temporary file beside it
    (``.<name>.tmp-<pid>-<thread>``, created with `mode`, None: the umask's), flushed to disk
    when `durable`, then renamed over `path`. A reader or a crash sees the old file or the new
    one, never half of one; the temporary file is removed on error. The folder must exist.
    The one writer of whole text files: secrets (write_private), metrics textfiles and the
    lake's catalog script."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        if mode is not None:
            os.chmod(tmp, mode)  # the umask narrows what os.open gives
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically and durably, mode 0600 from its creation on (a crash
    leaves the old file or the new one). The folder is made when missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_text(path, text, mode=0o600, durable=True)
