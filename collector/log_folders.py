"""Where ``import-logs`` finds log files and which channel each log folder's lines go to.

Files: PATH is the ``log`` folder (``log/{channel_name}/YYYY-MM-DD.log``), one channel
folder or one ``.log`` file. In a folder PATH, a ``.log`` file or channel folder that is a
symlink resolving outside PATH is skipped (with a reason); symlinks that stay inside are
followed. Hidden folders are not channel folders.

Channels: ``--channel-id`` (a CHZZK id of 32 hex digits, or a channel already stored), else
the ``stream_channel`` row whose ``channel_name`` is the folder name (NFC-normalised) and
came from CHZZK or from an earlier import (``channel_name_source`` 'chzzk' or 'import',
migration 008). A name an ingest API client set is never used: any API key can choose one,
so it could divert a channel's logs. A folder name that matches several trusted rows, or
only untrusted ones, is refused with the ids and the advice to pass ``--channel-id``.
Otherwise the folder becomes a new row with the synthetic id ``import:`` + md5(name)[:26]
(``enabled = false``: the collector never tries to join it; named after the folder, source
'import'); an unknown ``--channel-id`` is created the same way."""
from __future__ import annotations

import hashlib
import logging
import unicodedata
from pathlib import Path

from collector.channels import CHANNEL_ID

log = logging.getLogger(__name__)

SYNTHETIC_PREFIX = "import:"
TRUSTED_NAMES = ("chzzk", "import")  # channel_name_source values a folder name may be matched to


class LogImportError(RuntimeError):
    """A definitive failure (nothing to import, ambiguous channel): a message for a human."""


def synthetic_channel_id(name: str) -> str:
    """The stream_channel id of a channel known only by its name."""
    return SYNTHETIC_PREFIX + hashlib.md5(name.encode("utf-8")).hexdigest()[:26]


def discover(path: Path) -> tuple[dict[str, list[Path]], list[tuple[str, str]]]:
    """PATH -> ({channel folder name (NFC): its .log files, sorted}, [(what was skipped, why)])."""
    if not path.exists():
        raise LogImportError(f"{path} does not exist")
    if path.is_file():
        return {_name(path.parent): [path]}, []
    root, skipped = path.resolve(), []
    own = _logs(path, root, _name(path), skipped)
    if own:
        return {_name(path): own}, skipped
    found: dict[str, list[Path]] = {}
    for sub in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not sub.resolve().is_relative_to(root):
            skipped.append((sub.name, f"a symlink to outside {path}; folder skipped"))
            continue
        logs = _logs(sub, root, _name(sub), skipped)
        if logs:
            found.setdefault(_name(sub), []).extend(logs)
    if not found:
        raise LogImportError(f"no .log files in {path} or in its channel folders")
    return found, skipped


def _logs(folder: Path, root: Path, name: str, skipped: list[tuple[str, str]]) -> list[Path]:
    """A folder's .log files that resolve inside ``root``, sorted."""
    logs = []
    for file in sorted(p for p in folder.glob("*.log") if p.is_file()):
        if file.resolve().is_relative_to(root):
            logs.append(file)
        else:
            skipped.append((f"{name}/{file.name}", f"a symlink to outside {root}; file skipped"))
    return logs


def _name(folder: Path) -> str:
    name = folder.name if folder.name not in ("", ".", "..") else folder.resolve().name
    name = unicodedata.normalize("NFC", name)
    if not name:
        raise LogImportError(f"{folder} has no folder name to take the channel name from")
    return name


def resolve_channel(conn, name: str, channel_id: str | None) -> str:
    """The channel_id to store a channel folder's lines under (see the module docstring)."""
    with conn, conn.cursor() as cur:
        if channel_id is not None:
            cur.execute("SELECT 1 FROM stream_channel WHERE channel_id = %s", (channel_id,))
            if cur.fetchone():
                return channel_id
            if not CHANNEL_ID.match(channel_id):
                raise LogImportError(f"--channel-id {channel_id!r} is neither a stored channel nor a CHZZK "
                                     "channel id (32 hex digits)")
        else:
            cur.execute("SELECT channel_id, channel_name_source FROM stream_channel WHERE channel_name = %s "
                        "ORDER BY id", (name,))
            found = cur.fetchall()
            trusted = [c for c, source in found if source in TRUSTED_NAMES]
            if len(trusted) > 1:
                raise LogImportError(f"channel folder {name!r} matches {len(trusted)} channels "
                                     f"({', '.join(trusted[:5])}); pass --channel-id")
            if trusted:
                return trusted[0]
            if found:
                ids = ", ".join(c for c, _ in found[:5])
                raise LogImportError(f"channel folder {name!r}: only the ingest API (or an unknown source), not "
                                     f"CHZZK, gave this name to {ids}; a name any API key can set does not "
                                     "choose where logs go: if that is this folder's channel, import the folder "
                                     "alone with --channel-id ID")
            channel_id = synthetic_channel_id(name)
        cur.execute("INSERT INTO stream_channel (channel_id, channel_name, channel_name_source, enabled) "
                    "VALUES (%s, %s, 'import', false) ON CONFLICT (channel_id) DO NOTHING", (channel_id, name))
        if cur.rowcount:
            log.info("new channel %s named %r (disabled: import only)", channel_id, name)
    return channel_id


def targets(conn, folders: list[str], channel_id: str | None) -> tuple[dict[str, str], list[str]]:
    """({channel folder name: channel_id}, [why a folder is not imported]). A folder that
    cannot be resolved is left out; when it is the only folder, LogImportError is raised."""
    found, refused = {}, []
    for name in folders:
        try:
            found[name] = resolve_channel(conn, name, channel_id)
        except LogImportError as exc:
            if len(folders) == 1:
                raise
            refused.append(str(exc))
            log.warning("channel folder not imported: %s", exc)
    return found, refused
