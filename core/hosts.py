"""The `Host` allow-list rule shared by the ingest API (collector/ingest_guard.py) and the
dashboard (dashboard/hosts.py), against DNS rebinding: pure, values in and out.

A web page on a name its author controls (evil.example) re-points that name at 127.0.0.1;
the browser then lets the page's script read the local service's answers, but still sends
``Host: evil.example``. A service that answers only the names it is reached by cannot be
read that way. A policy always allows loopback (``localhost``, 127.0.0.0/8, ``::1``);
each service adds its own: any IP address literal (an address cannot be re-pointed, so a
rebinding page never has one), configured names (a comma-separated setting, ``*`` turns
the check off), and for the dashboard with accounts this machine's names. Ports are not
compared.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

_NOT_IN_A_NAME = " /\\@?#"


def host_name(header: str | None) -> str | None:
    """The name or address in a `Host` header, lower case, without the port, the IPv6
    brackets or a trailing dot; None when there is none or it is malformed."""
    if not header:
        return None
    value = header.strip().lower()
    if value.startswith("["):  # [v6]:port
        end = value.find("]")
        if end < 0 or (value[end + 1:] and not value[end + 1:].startswith(":")):
            return None
        return value[1:end] or None
    name = value.rsplit(":", 1)[0] if value.count(":") == 1 else value
    name = name.rstrip(".")  # "localhost." is localhost
    return name if name and not any(c in name for c in _NOT_IN_A_NAME) else None


def address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """`name` as an IP address (a v6 zone id ignored), None when it is not one."""
    try:
        return ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return None


def is_loopback(name: str) -> bool:
    if name == "localhost":
        return True
    addr = address(name)
    return addr is not None and addr.is_loopback


@dataclass(frozen=True)
class HostPolicy:
    """The hosts a service answers: loopback always, plus `names` (lower case), plus every
    IP address literal when `any_address`; `any_host` turns the check off."""
    names: frozenset[str] = frozenset()
    any_address: bool = False
    any_host: bool = False

    def allows(self, header: str | None) -> bool:
        """Whether a request with this `Host` header is answered."""
        if self.any_host:
            return True
        name = host_name(header)
        if name is None:
            return False
        if is_loopback(name) or name in self.names:
            return True
        return self.any_address and address(name) is not None


def policy(setting: str, configured: str | None, *, any_address: bool,
           own_names: Iterable[str] = ()) -> HostPolicy:
    """The policy from the comma-separated names of setting `setting` (`configured`; ``*``:
    any host) plus `own_names`; a ValueError naming the setting and a bad entry."""
    names = [n.lower().rstrip(".") for n in own_names if n]
    for part in (configured or "").split(","):
        part = part.strip()
        if part == "*":
            return HostPolicy(any_host=True)
        if part:
            name = host_name(part)
            if name is None:
                raise ValueError(f"{setting}: {part[:80]!r} is not a host name")
            names.append(name)
    return HostPolicy(frozenset(names), any_address=any_address)
