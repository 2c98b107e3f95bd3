"""One e-mail rule for the API (which accepts `notify_email`) and the notifier (which mails it)."""

from __future__ import annotations

import re

import pytest

from taskoverflow_shared.mail_addresses import MAIL_ADDRESS_MAX_LENGTH, MAIL_ADDRESS_PATTERN, is_mail_address


@pytest.mark.parametrize(
    "address", ["ann@example.com", "first.last+tag@sub.example.co.uk", "dev@localhost", "a" * 64 + "@example.com"]
)
def test_ordinary_addresses_may_be_mailed(address):
    assert is_mail_address(address)


@pytest.mark.parametrize(
    "address",
    [
        "josé@example.com",  # passed the API and was dead-lettered by the notifier before the rule was one
        "ann@exämple.com",
        "ann@example.com\n",
        "ann@example.com\r\nBcc: all@example.com",
        "a b@example.com",
        "a@b@c",
        "@example.com",
        "ann@",
        "a" * 65 + "@example.com",
        "a@" + "b" * MAIL_ADDRESS_MAX_LENGTH,
        "me\x00@example.com",
    ],
)
def test_addresses_that_cannot_be_mailed_safely_are_refused(address):
    assert not is_mail_address(address)


def test_the_pattern_is_also_a_json_schema_pattern():
    # The API's body model and OpenAPI document carry the pattern: ECMA-262 syntax, anchored.
    assert MAIL_ADDRESS_PATTERN.startswith("^") and MAIL_ADDRESS_PATTERN.endswith("$")
    assert re.search(r"\(\?[<=!P]", MAIL_ADDRESS_PATTERN) is None  # no Python-only groups or lookarounds
