"""The SSRF guard's rules for resolved addresses (no network: addresses are given)."""

import pytest

from notifier.domain.address_policy import AddressPolicy, TargetRefused

DEFAULT = AddressPolicy()
DEVELOPMENT = AddressPolicy(allow_private=True)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.10", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("169.254.170.2", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not a globally routable"),
        ("::ffff:127.0.0.1", "embeds 127.0.0.1"),
        ("::ffff:10.0.0.1", "embeds 10.0.0.1"),
        ("64:ff9b::a9fe:a9fe", "embeds 169.254.169.254"),
        ("2002:a00:1::1", "embeds 10.0.0.1"),
    ],
)
def test_non_public_addresses_are_refused_by_default(address, reason):
    refusal = DEFAULT.refusal(address)
    assert refusal is not None and reason in refusal


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001::200e"])
def test_public_addresses_pass(address):
    assert DEFAULT.refusal(address) is None
    DEFAULT.check("hooks.example.com", [address])


def test_a_host_is_refused_when_any_of_its_addresses_is():
    # A DNS answer mixing a public and a private address must not slip through.
    with pytest.raises(TargetRefused, match=r"10\.0\.0\.1 is a private address") as refused:
        DEFAULT.check("mixed.example.com", ["93.184.215.14", "10.0.0.1"])
    assert refused.value.host == "mixed.example.com"


def test_a_host_without_addresses_is_refused():
    with pytest.raises(TargetRefused, match="no address"):
        DEFAULT.check("nothing.example.com", [])


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.0.0.1", "192.168.1.10", "100.64.0.1"])
def test_development_mode_allows_loopback_and_private_networks(address):
    assert DEVELOPMENT.refusal(address) is None


@pytest.mark.parametrize("address", ["169.254.169.254", "fd00:ec2::254", "169.254.1.1", "0.0.0.0", "224.0.0.1"])
def test_development_mode_still_refuses_metadata_link_local_unspecified_and_multicast(address):
    assert DEVELOPMENT.refusal(address) is not None


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::a9fe:a9fe",  # NAT64, well-known prefix
        "64:ff9b::169.254.170.2",
        "64:ff9b:1::a9fe:a9fe",  # NAT64, local-use prefix as a /96
        "64:ff9b:1:a9fe:a9:fe00::",  # as a /48 (RFC 6052 skips bits 64-71)
        "64:ff9b:1:0:a9:fea9:fe00:0",  # as a /64
        "::ffff:169.254.169.254",  # IPv4-mapped
        "::a9fe:a9fe",  # IPv4-compatible
        "2002:a9fe:a9fe::1",  # 6to4
    ],
)
def test_metadata_addresses_are_refused_in_every_ipv6_embedding_even_in_development_mode(address):
    for policy in (DEFAULT, DEVELOPMENT):
        reason = policy.refusal(address)
        assert reason is not None
        assert "169.254." in reason


@pytest.mark.parametrize("address", ["64:ff9b:1::10.0.0.1", "64:ff9b::10.0.0.1", "::ffff:192.168.1.10"])
def test_development_mode_allows_private_targets_behind_nat64_or_mapped(address):
    assert DEVELOPMENT.refusal(address) is None
