"""RFC 5545 §3.1 (folding) and §3.3.11 (TEXT escaping), checked against the RFC's own rules."""

from __future__ import annotations

import random

import pytest

from ical_worker.domain.content_lines import escape_text, fold, text_property


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain words: with a colon", "plain words: with a colon"),
        ("a;b", "a\\;b"),
        ("a,b", "a\\,b"),
        ("back\\slash", "back\\\\slash"),
        ("two\nlines", "two\\nlines"),
        ("windows\r\nbreak", "windows\\nbreak"),
        ("old mac\rbreak", "old mac\\nbreak"),
        ("already looks escaped \\n", "already looks escaped \\\\n"),
        ("\\;", "\\\\\\;"),
        ("tab\tstays", "tab\tstays"),
        ("bell\x07 and nul\x00 and del\x7f go", "bell and nul and del go"),
        ("ünïcödé ✓ 😀", "ünïcödé ✓ 😀"),
        ("", ""),
    ],
)
def test_text_is_escaped_as_rfc_5545_requires(raw: str, escaped: str) -> None:
    assert escape_text(raw) == escaped


def test_a_line_of_exactly_75_octets_is_not_folded() -> None:
    line = b"SUMMARY:" + b"x" * 67

    assert fold(line) == line + b"\r\n"


def test_a_line_of_76_octets_folds_into_75_and_a_continuation() -> None:
    line = b"SUMMARY:" + b"x" * 68

    assert fold(line) == b"SUMMARY:" + b"x" * 67 + b"\r\n x\r\n"


@pytest.mark.parametrize("character", ["é", "€", "😀"])
def test_folding_never_splits_a_multi_octet_character(character: str) -> None:
    line = ("SUMMARY:" + character * 100).encode()

    physical = fold(line).split(b"\r\n")[:-1]

    assert all(len(piece) <= 75 for piece in physical)
    for piece in physical:
        piece.decode("utf-8")  # raises on a split character
    assert b"".join([physical[0], *(piece[1:] for piece in physical[1:])]) == line
    # Full lines: nothing is cut shorter than the character forces.
    assert all(len(piece) > 75 - len(character.encode()) for piece in physical[:-1])


def test_random_text_survives_escaping_and_folding() -> None:
    alphabet = 'ab ;,\\\n\r\t:"é€😀\x01\x7f'
    generator = random.Random(5545)
    for _ in range(2000):
        raw = "".join(generator.choice(alphabet) for _ in range(generator.randrange(0, 200)))

        folded = text_property(b"DESCRIPTION", raw)

        assert folded.endswith(b"\r\n") and b"\r\n\r\n" not in folded
        physical = folded[:-2].split(b"\r\n")
        assert all(len(piece) <= 75 and piece.decode("utf-8") is not None for piece in physical)
        assert all(piece.startswith(b" ") for piece in physical[1:])
        unfolded = b"".join([physical[0], *(piece[1:] for piece in physical[1:])]).decode()
        assert unfolded == "DESCRIPTION:" + escape_text(raw)
        assert _unescape(escape_text(raw)) == _expected_text(raw)


def _expected_text(raw: str) -> str:
    # What a reader gets back: line breaks normalised to LF, other controls gone.
    normalised = raw.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in normalised if c in "\t\n" or (ord(c) >= 0x20 and c != "\x7f"))


def _unescape(value: str) -> str:
    out, characters = [], iter(value)
    for character in characters:
        if character == "\\":
            escaped = next(characters)
            out.append("\n" if escaped == "n" else escaped)
        else:
            assert character not in ";,\n\r"
            out.append(character)
    return "".join(out)
