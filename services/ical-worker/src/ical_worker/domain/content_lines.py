"""RFC 5545 content-line primitives: TEXT escaping and line folding.

Written by hand rather than through icalendar's property classes because the renderer calls
them once or twice per todo on 100k-todo calendars, where icalendar's generic machinery costs
most of the time; the unit tests pin both against the RFC and icalendar's parser.
"""

from __future__ import annotations

import re

CRLF = b"\r\n"
MAX_LINE_OCTETS = 75
_FOLD = b"\r\n "

# Characters that TEXT (RFC 5545 §3.3.11) must escape, plus the CONTROL characters it forbids.
# HTAB (\x09) is allowed as is.
_NEEDS_WORK = re.compile(r"[\\;,\x00-\x08\x0a-\x1f\x7f]")
# Controls other than HTAB, CR and LF have no escape in TEXT: they are dropped.
_FORBIDDEN_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def escape_text(value: str) -> str:
    r"""Escape a TEXT value: `\` `;` `,` get a backslash, any line break becomes the two characters `\n`.

    Other control characters cannot be represented in TEXT and are removed.
    """
    # Most titles need nothing: one regex scan is cheaper than five replace() passes.
    if _NEEDS_WORK.search(value) is None:
        return value
    # The backslash goes first, or the backslashes added below would be doubled.
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _FORBIDDEN_CONTROLS.sub("", value)
    return value.replace("\n", "\\n")


def fold(line: bytes) -> bytes:
    """One content line (UTF-8, without its line break) folded to at most 75 octets per line, CRLF-terminated.

    A continuation line starts with one space, which counts towards its 75 octets. A cut never
    falls inside a multi-octet UTF-8 character, so every physical line is valid UTF-8 on its own.
    """
    if len(line) <= MAX_LINE_OCTETS:
        return line + CRLF
    pieces = []
    start = 0
    room = MAX_LINE_OCTETS
    while len(line) - start > room:
        end = start + room
        # 0b10xxxxxx is a UTF-8 continuation octet: back up to the start of its character.
        while line[end] & 0xC0 == 0x80:
            end -= 1
        pieces.append(line[start:end])
        start = end
        room = MAX_LINE_OCTETS - 1
    pieces.append(line[start:])
    return _FOLD.join(pieces) + CRLF


def text_property(name: bytes, value: str) -> bytes:
    """`NAME:escaped value`, folded and CRLF-terminated."""
    return fold(name + b":" + escape_text(value).encode("utf-8"))
