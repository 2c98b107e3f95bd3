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
# NAT64's well-known prefix carries an IPv4 address in its last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


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
    refused: they are never a sensible webhook target, and the flag switched on by mistake in
    production must not open the way to instance credentials.
    """

    allow_private: bool = False

    def refusal(self, address: str) -> str | None:
        """Why `address` is refused, or None when a connection to it is allowed."""
        ip = ipaddress.ip_address(address)
        # The embedded IPv4 first: it is where the packets would really go, so the better reason.
        for candidate in (*_embedded_ipv4(ip), ip):
            reason = self._refusal(candidate)
            if reason:
                return f"{address} is {reason}" if candidate == ip else f"{address} embeds {candidate}, {reason}"
        return None

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
    if ip in _NAT64:
        embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return embedded
