"""IP addresses and the ``cidr`` operator as EventBridge reads them (aws/event-ruler ``CIDR``).

A string is an address when it looks like one (four dot-separated decimal numbers, each read in
decimal even with leading zeros; or hex digits and colons) and parses as one; an IPv4-mapped IPv6
address is its IPv4 address. ``"a.b.c.d/n"`` matches the addresses from ``a.b.c.d`` itself up to
the top of its ``/n`` block (host bits in the pattern raise the bottom, they are not cleared).
Exact string values in a pattern that are addresses also match the same address written
differently. Errors are ``ValueError`` carrying EventBridge's reason.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass

_IPV4 = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_IPV6 = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*")


@dataclass(frozen=True, slots=True)
class IpRange:
    """Addresses ``low`` to ``high`` (integers) of one IP ``version``; ``block`` the prefix length."""

    version: int
    low: int
    high: int
    block: int

    def __contains__(self, address: tuple[int, int] | None) -> bool:
        return address is not None and address[0] == self.version and self.low <= address[1] <= self.high

    @property
    def aligned(self) -> bool:
        """True when ``low`` is the first address of its block."""
        bits = 32 if self.version == 4 else 128
        return self.low >> (bits - self.block) << (bits - self.block) == self.low


def _looks_like_ip(text: str) -> bool:
    return _IPV4.fullmatch(text) is not None or _IPV6.fullmatch(text) is not None


def _to_address(text: str) -> tuple[int, int] | None:
    if _IPV4.fullmatch(text):
        octets = [int(o) for o in text.split(".")]
        if any(o > 255 for o in octets):
            return None
        return (4, octets[0] << 24 | octets[1] << 16 | octets[2] << 8 | octets[3])
    if _IPV6.fullmatch(text):
        try:
            ip = ipaddress.IPv6Address(text)
        except ValueError:
            return None
        mapped = ip.ipv4_mapped
        return (4, int(mapped)) if mapped is not None else (6, int(ip))
    return None


@functools.lru_cache(maxsize=8192)
def parse_ip(text: str) -> tuple[int, int] | None:
    """``(version, integer)`` when ``text`` is an IP address as EventBridge reads one, else None."""
    return _to_address(text)


def parse_cidr(text: str) -> IpRange:
    """A ``cidr`` operand → the addresses it matches. Raises ``ValueError`` with EventBridge's
    reason for a malformed one (IPv4 masks stop at /31 and IPv6 at /127, as EventBridge's)."""
    parts = text.split("/")
    if len(parts) != 2 or not parts[1]:
        raise ValueError("Malformed CIDR, one '/' required")
    address, mask = parts
    if not re.fullmatch(r"[+-]?[0-9]+", mask) or not -(2**31) <= int(mask) < 2**31:
        raise ValueError("Malformed CIDR, mask bits must be an integer")
    bits = int(mask)
    if bits < 0:
        raise ValueError("Malformed CIDR, mask bits must not be negative")
    if not _looks_like_ip(address):
        raise ValueError(f"Nonstandard IP address: {address}")
    parsed = _to_address(address)
    if parsed is None:
        raise ValueError(f"Invalid IP address: {address}")
    version, low = parsed
    width = 32 if version == 4 else 128
    if bits > width - 1:
        raise ValueError(f"IPv{version} mask bits must be < {width}")
    return IpRange(version, low, low | ((1 << (width - bits)) - 1), bits)
