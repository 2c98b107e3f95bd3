"""When the held batch must be stored."""

from datetime import UTC, datetime

from event_archiver.domain.buffer import ArchiveBuffer, HeldMessage
from event_archiver.domain.messages import ReceivedMessage, archive_entry


def held(envelope) -> HeldMessage:
    message = ReceivedMessage("m", "r", envelope.model_dump_json(), datetime.now(UTC))
    return HeldMessage(message, archive_entry(message))


def test_an_empty_buffer_is_never_due_and_lets_the_poll_wait_fully():
    buffer = ArchiveBuffer(max_events=2, max_age_seconds=5)

    assert not buffer.is_due(now=1000)
    assert buffer.receive_wait_seconds(now=1000, longest=20) == 20


def test_a_batch_is_due_when_its_oldest_event_is_old_enough(envelopes):
    buffer = ArchiveBuffer(max_events=10, max_age_seconds=5)
    buffer.add(held(envelopes.todo_changed()), now=100)
    buffer.add(held(envelopes.todo_changed()), now=104)

    assert not buffer.is_due(now=104.9)
    assert buffer.receive_wait_seconds(now=103.5, longest=20) == 2  # rounded up: at most a second late
    assert buffer.is_due(now=105)


def test_a_batch_is_due_when_full_and_taking_it_empties_the_buffer(envelopes):
    buffer = ArchiveBuffer(max_events=2, max_age_seconds=5)
    buffer.add(held(envelopes.todo_changed()), now=100)
    buffer.add(held(envelopes.todo_changed()), now=100)

    assert buffer.is_due(now=100) and buffer.room == 0
    assert len(buffer.take()) == 2
    assert not buffer.is_due(now=200) and buffer.room == 2
