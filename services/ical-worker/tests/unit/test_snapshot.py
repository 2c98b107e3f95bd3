"""The claim-check snapshot: NDJSON todos, trusted only after size and SHA-256 match the reference."""

from __future__ import annotations

import pytest

from ical_worker.domain import InvalidSnapshot, SnapshotDecoder


@pytest.fixture(params=[50_000, 0], ids=["cached", "uncached"])
def decode(request):
    return SnapshotDecoder(cache_size=request.param).decode


def test_a_snapshot_decodes_to_its_todos_in_line_order(decode, kit) -> None:
    todos = kit.many_todos(25)
    body = kit.ndjson(todos)

    assert decode(body, kit.snapshot_ref(body)) == todos


def test_the_final_newline_is_optional_and_an_empty_snapshot_has_no_todos(decode, kit) -> None:
    body = kit.ndjson(kit.many_todos(3)).rstrip(b"\n")

    assert len(decode(body, kit.snapshot_ref(body))) == 3
    assert decode(b"", kit.snapshot_ref(b"")) == []


def test_a_snapshot_whose_checksum_differs_is_refused(decode, kit) -> None:
    body = kit.ndjson(kit.many_todos(3))
    tampered = body.replace(b"Todo 2", b"Todo 9")

    with pytest.raises(InvalidSnapshot, match="sha256"):
        decode(tampered, kit.snapshot_ref(body))


def test_a_snapshot_whose_size_differs_is_refused(decode, kit) -> None:
    body = kit.ndjson(kit.many_todos(3))

    with pytest.raises(InvalidSnapshot, match=f"is {len(body) - 1} bytes, the request says {len(body)}"):
        decode(body[:-1], kit.snapshot_ref(body))


@pytest.mark.parametrize(
    ("bad_line", "detail"),
    [
        (b"{not json", "Invalid JSON"),
        (b'{"id": 2, "title": "no dates", "completed": false}', "created_at"),
        (b"", "Invalid JSON"),
        (b'[{"id": 2}]', "Input should be an object"),
    ],
)
def test_a_line_that_is_not_a_todo_is_refused_with_its_line_number(decode, kit, bad_line: bytes, detail: str) -> None:
    lines = kit.ndjson(kit.many_todos(3)).splitlines()
    body = b"\n".join([lines[0], bad_line, lines[2]]) + b"\n"

    with pytest.raises(InvalidSnapshot, match="line 2 is not a todo") as failure:
        decode(body, kit.snapshot_ref(body))

    assert detail in failure.value.reason


def test_a_warm_decoder_returns_the_same_todos_and_parses_changed_lines_afresh(kit) -> None:
    decoder = SnapshotDecoder()
    todos = kit.many_todos(50)
    decoder.decode(kit.ndjson(todos), kit.snapshot_ref(kit.ndjson(todos)))
    todos[7] = kit.make_todo(todos[7].id, title="edited")
    body = kit.ndjson(todos)

    assert decoder.decode(body, kit.snapshot_ref(body)) == todos


def test_a_warm_decoder_still_refuses_a_bad_line(kit) -> None:
    decoder = SnapshotDecoder()
    good = kit.ndjson(kit.many_todos(3))
    decoder.decode(good, kit.snapshot_ref(good))
    bad = good + b'{"id": 4}\n'

    with pytest.raises(InvalidSnapshot, match="line 4 is not a todo"):
        decoder.decode(bad, kit.snapshot_ref(bad))
