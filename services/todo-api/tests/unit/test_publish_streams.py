"""How the relay splits a claimed batch into streams it may publish side by side."""

from __future__ import annotations

import pytest

from taskoverflow_shared.events import Envelope
from todo_api.adapters.outbox import publish_streams


def event(subject: str | None, number: int) -> Envelope:
    return Envelope(
        type="TodoChanged", source="t", subject=subject, schema_version="1.0", correlation_id="c", data={"n": number}
    )


def interleaved(subjects: int, versions: int) -> list[Envelope]:
    """Versions of many todos in outbox (id) order: every todo's v1, then every todo's v2, ..."""
    return [event(f"todos/{todo}", version) for version in range(versions) for todo in range(subjects)]


@pytest.mark.parametrize(("subjects", "versions", "most"), [(100, 1, 4), (34, 3, 4), (7, 1, 4), (50, 2, 1), (3, 40, 4)])
def test_a_subject_stays_in_one_stream_and_every_stream_keeps_the_outbox_order(subjects, versions, most):
    envelopes = interleaved(subjects, versions)
    streams = publish_streams(envelopes, most)

    assert 1 <= len(streams) <= most
    assert sorted(e.id for stream in streams for e in stream) == sorted(e.id for e in envelopes)
    stream_of = {}
    for index, stream in enumerate(streams):
        for envelope in stream:
            assert stream_of.setdefault(envelope.subject, index) == index
    position = {envelope.id: index for index, envelope in enumerate(envelopes)}
    for stream in streams:  # the outbox order, so each subject's versions too
        assert [position[e.id] for e in stream] == sorted(position[e.id] for e in stream)


def test_streams_fill_whole_publish_batches_so_concurrency_costs_no_extra_requests():
    streams = publish_streams(interleaved(100, 1), 4)
    assert [len(stream) for stream in streams] == [30, 30, 30, 10]


def test_a_small_batch_is_one_stream():
    assert len(publish_streams(interleaved(10, 1), 4)) == 1


def test_events_without_a_subject_are_each_their_own_group():
    streams = publish_streams([event(None, n) for n in range(40)], 4)
    assert [len(stream) for stream in streams] == [10, 10, 10, 10]
