"""Which network addresses are public: the one rule for where remote content may lead a run."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: NAT64's well-known prefix: the last 32 bits are an IPv4 address reached through a gateway.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SHARED = ipaddress.ip_network("100.64.0.0/10")


class PublicAddresses:
    """Decides whether an address is public: `ipaddress`'s is_global, never multicast, and for
    IPv6 forms that carry an IPv4 address (mapped, 6to4, Teredo, NAT64) that address too.

    `also_public` lists networks to count as public although they are not; tests serve a
    "public" host on 127.0.0.2 with it. Empty in production: nothing is exempt.
    """

    def __init__(self, also_public: Iterable[str] = ()) -> None:
        self._exempt = tuple(ipaddress.ip_network(n, strict=False) for n in also_public)

    def why_not(self, address: str | IPAddress) -> str | None:
        """None when `address` is public, else what it is ("a private address (this machine)")."""
        ip = parse_address(address)
        if ip is None:
            return "not an IP address"
        if any(ip.version == net.version and ip in net for net in self._exempt):
            return None
        for inner in _embedded(ip):
            reason = self.why_not(inner)
            if reason is not None:
                return reason
        if ip.is_multicast:
            return "not a public address (multicast)"
        if ip.is_global:
            return None
        return _kind(ip)

    def is_public(self, address: str | IPAddress) -> bool:
        return self.why_not(address) is None


def parse_address(address: str | IPAddress) -> IPAddress | None:
    """An IP address from text ('::1', 'fe80::1%eth0', '[::1]'), else None."""
    if not isinstance(address, str):
        return address
    text = address.strip().strip("[]").split("%")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _embedded(ip: IPAddress) -> list[IPAddress]:
    """IPv4 addresses an IPv6 address leads to (::ffff:127.0.0.1 is 127.0.0.1)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found: list[IPAddress] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _kind(ip: IPAddress) -> str:
    if ip.is_loopback:
        return "a private address (this machine)"
    if ip.is_link_local:
        return "a private address (link-local)"
    if ip.version == 4 and ip in _SHARED:
        return "a private address (shared address space 100.64.0.0/10)"
    if ip.is_unspecified:
        return "not a public address (unspecified)"
    if ip.is_reserved:
        return "not a public address (reserved)"
    if ip.is_private:
        return "a private address (private network)"
    return "not a public address (special-purpose)"
