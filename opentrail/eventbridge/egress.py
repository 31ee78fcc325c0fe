"""Where EventBridge API destinations may send requests: ``--webhook-allow`` /
``OPENTRAIL_WEBHOOK_ALLOW`` (opentrail's own; AWS calls any public HTTPS endpoint). Without it a
rule could make opentrail call any host its network reaches (a request forger), so the default is
loopback only.

The setting is a comma-separated list of

- ``loopback`` (127.0.0.0/8, ::1), ``private`` (RFC 1918, RFC 4193, link-local, loopback), ``*``
  (any host);
- IP addresses and CIDR blocks (``10.1.0.0/16``, ``fd00::/8``);
- host names, exact (``hooks.example.com``) or with a leading ``*.`` for its subdomains.

A host name is allowed when it is listed, or when every address it resolves to is allowed (so a
DNS name cannot point a rule at a forbidden address); :func:`resolve_allowed` answers the address
to connect to, and the dispatcher connects to that address, not to a second lookup.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

LOOPBACK: tuple[IpNetwork, ...] = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
PRIVATE: tuple[IpNetwork, ...] = LOOPBACK + tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "fc00::/7", "fe80::/10"))


class EndpointNotAllowed(ValueError):
    """The endpoint's host is not allowed by ``--webhook-allow`` (the message says which host)."""


@dataclass(frozen=True)
class EgressPolicy:
    """A parsed ``--webhook-allow``: ``any_host``, ``networks`` and ``names`` (exact host names, or
    ``.example.com`` for ``*.example.com``)."""

    any_host: bool
    networks: tuple[IpNetwork, ...]
    names: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> "EgressPolicy":
        """Parse the setting; raises ValueError naming an entry that is none of the forms above."""
        any_host, networks, names = False, [], []
        for raw in text.split(","):
            item = raw.strip().lower()
            if not item:
                continue
            if item == "*":
                any_host = True
            elif item == "loopback":
                networks.extend(LOOPBACK)
            elif item == "private":
                networks.extend(PRIVATE)
            else:
                try:
                    networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
                    continue
                except ValueError:
                    pass
                name = item[2:] if item.startswith("*.") else item
                if not name or any(not part or not all(c.isalnum() or c == "-" for c in part) for part in name.split(".")):
                    raise ValueError(f"--webhook-allow: {raw.strip()!r} is not a host name, address, CIDR block,"
                                     " 'loopback', 'private' or '*'")
                names.append("." + name if item.startswith("*.") else name)
        return cls(any_host, tuple(networks), tuple(names))

    def address_allowed(self, address: str) -> bool:
        """True when the IP ``address`` is in an allowed network (or any host is allowed)."""
        if self.any_host:
            return True
        try:
            ip = ipaddress.ip_address(address.split("%")[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip.version == n.version and ip in n for n in self.networks)

    def name_listed(self, host: str) -> bool:
        """True when the host name is listed (exactly, or under a ``*.`` entry)."""
        host = host.lower().rstrip(".")
        return any(host == n or (n.startswith(".") and host.endswith(n)) for n in self.names)

    def check_url(self, url: str, resolver: Resolver | None = None) -> str:
        """The address to connect to for ``url`` (``http``/``https``), after checking its host:
        an IP literal must be allowed; a listed name is resolved and its first address used; another
        name must resolve only to allowed addresses. Raises :class:`EndpointNotAllowed`."""
        parts = urlsplit(url)
        host = parts.hostname
        if parts.scheme not in ("http", "https") or not host:
            raise EndpointNotAllowed(f"the endpoint {url!r} is not an http(s) URL")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            ipaddress.ip_address(host.split("%")[0])
            literal = True
        except ValueError:
            literal = False
        if literal:
            if not self.address_allowed(host):
                raise EndpointNotAllowed(f"the host {host} is not allowed by --webhook-allow")
            return host
        addresses = (resolver or resolve)(host, port)
        if not addresses:
            raise EndpointNotAllowed(f"the host {host} does not resolve")
        if self.any_host or self.name_listed(host):
            return addresses[0]
        denied = [a for a in addresses if not self.address_allowed(a)]
        if denied:
            raise EndpointNotAllowed(f"the host {host} ({denied[0]}) is not allowed by --webhook-allow")
        return addresses[0]

    def host_allowed_statically(self, url: str) -> bool:
        """Without resolving: True when ``url``'s host is an allowed address, a listed name, or any
        host is allowed; a name that needs resolving counts as allowed (checked again at delivery).
        Used to refuse a plainly forbidden endpoint when the API destination is created."""
        host = urlsplit(url).hostname or ""
        try:
            ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            return True
        return self.address_allowed(host)


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6, in the resolver's order); [] if none."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return []
    out: list[str] = []
    for info in infos:
        addr = str(info[4][0])
        if addr not in out:
            out.append(addr)
    return out

