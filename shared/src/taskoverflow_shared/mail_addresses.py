"""What counts as an e-mail address a calendar may be mailed to: one rule for every service.

The todo-api checks `notify_email` with it on the way in and the notifier checks the recipient
with it before sending, so an address the API accepts is one the notifier can mail (before,
`josé@example.com` passed the API and was dead-lettered by the notifier).

Deliberately strict: one plain ASCII addr-spec (RFC 5321's `Local-part@Domain` without quoted
strings or address literals), no display name, no list, no whitespace or CR/LF: a recipient
comes from a request, and a newline in it would inject mail headers. Internationalised
addresses would need SMTPUTF8 end to end, which the notifier does not promise.
"""

from __future__ import annotations

import re
from typing import Final

MAIL_ADDRESS_MAX_LENGTH: Final = 254  # RFC 5321's limit on a path
# A JSON Schema (ECMA-262) pattern too: the API's OpenAPI document and body model carry it.
MAIL_ADDRESS_PATTERN: Final = r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$"
_MAIL_ADDRESS = re.compile(MAIL_ADDRESS_PATTERN)


def is_mail_address(address: str) -> bool:
    """Whether `address` may be mailed; fullmatch, as `$` alone would let a trailing newline through."""
    return len(address) <= MAIL_ADDRESS_MAX_LENGTH and _MAIL_ADDRESS.fullmatch(address) is not None
