"""Which IP addresses a webhook may connect to: the SSRF guard's rules, without any I/O.

A webhook URL makes us send requests on someone's behalf; without a guard it could reach the
cloud metadata service (169.254.169.254), the database on the private network, or our own
loopback services. The rules apply to the addresses a host *resolves to*, and the connection is
then made to a checked address (see adapters/webhook_sender.py), so DNS cannot swap it later.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata endpoints (EC2 IPv4/IPv6, ECS task metadata) hold credentials: never allowed.
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address) for address in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254")
)
# NAT64's well-known prefix carries an IPv4 address in its last 32 bits (RFC 6052).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# The local-use prefix (RFC 8215) is a network's own choice of a /32 to /96 within it, so its
# IPv4 address may sit where any of RFC 6052's layouts puts it.
_NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")
# RFC 6052's layouts by prefix length: the bit ranges (counted from the left) holding the IPv4
# address, skipping bits 64-71 (the "u" octet).
_RFC6052_LAYOUTS = {
    32: ((32, 64),),
    40: ((40, 64), (72, 80)),
    48: ((48, 64), (72, 88)),
    56: ((56, 64), (72, 96)),
    64: ((72, 104),),
    96: ((96, 128),),
}
# IPv4-compatible addresses (::a.b.c.d, deprecated by RFC 4291, still routed by some stacks).
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class TargetRefused(Exception):
    """The target resolves to an address the policy forbids; retrying cannot change that."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"{host}: {reason}")
        self.host = host
        self.reason = reason


@dataclass(frozen=True)
class AddressPolicy:
    """Refuse non-public addresses unless `allow_private` (local development) says otherwise.

    Even with `allow_private`, metadata, link-local, unspecified and multicast addresses stay
    refused, in whatever IPv6 form embeds them (IPv4-mapped or -compatible, 6to4, NAT64): they
    are never a sensible webhook target, and the flag switched on by mistake in production must
    not open the way to instance credentials.
    """

    allow_private: bool = False

    def refusal(self, address: str) -> str | None:
        """Why `address` is refused, or None when a connection to it is allowed."""
        ip = ipaddress.ip_address(address)
        # The embedded IPv4 first: it is where the packets would really go, so the better reason.
        for candidate in _embedded_ipv4(ip):
            reason = self._refusal(candidate)
            if reason:
                return f"{address} embeds {candidate}, {reason}"
        # Which layout a local-use NAT64 prefix has is the network's own choice: any reading
        # that lands on instance metadata (or anything link-local) refuses the address.
        for candidate in _possibly_embedded_ipv4(ip):
            if candidate in _METADATA_ADDRESSES or candidate.is_link_local:
                return f"{address} may embed {candidate}, {self._refusal(candidate)}"
        reason = self._refusal(ip)
        return f"{address} is {reason}" if reason else None

    def check(self, host: str, addresses: Iterable[str]) -> None:
        """Raise TargetRefused unless *every* address `host` resolves to is allowed.

        Checking all of them (not just the first) matters: the connection may fall back to
        any of them, and a DNS answer mixing a public and a private address is an attack.
        """
        resolved = list(addresses)
        if not resolved:
            raise TargetRefused(host, "resolves to no address")
        for address in resolved:
            reason = self.refusal(address)
            if reason:
                raise TargetRefused(host, reason)

    def _refusal(self, ip: IPAddress) -> str | None:
        if ip in _METADATA_ADDRESSES:
            return "a cloud metadata address"
        if ip.is_unspecified:
            return "an unspecified address"
        if ip.is_multicast:
            return "a multicast address"
        if ip.is_link_local:
            return "a link-local address"
        if self.allow_private:
            return None
        if ip.is_loopback:
            return "a loopback address"
        if ip.is_reserved:
            return "a reserved address"
        if ip.is_private:
            return "a private address"
        if not ip.is_global:
            return "not a globally routable address"
        return None


def _embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses hidden in an IPv6 one, which the network may route to the IPv4 target."""
    if isinstance(ip, ipaddress.IPv4Address):
        return []
    embedded = [address for address in (ip.ipv4_mapped, ip.sixtofour) if address is not None]
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return embedded


def _possibly_embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses a local-use NAT64 address holds under each layout it may use."""
    if ip not in _NAT64_LOCAL_USE:
        return []
    return [_rfc6052_ipv4(int(ip), ranges) for ranges in _RFC6052_LAYOUTS.values()]


def _rfc6052_ipv4(bits: int, ranges: tuple[tuple[int, int], ...]) -> ipaddress.IPv4Address:
    value = 0
    for start, end in ranges:
        width = end - start
        value = (value << width) | ((bits >> (128 - end)) & ((1 << width) - 1))
    return ipaddress.IPv4Address(value)
