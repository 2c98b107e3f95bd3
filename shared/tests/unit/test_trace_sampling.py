"""Which traces are kept: only those a request or an event starts, `OTEL_TRACES_SAMPLER_ARG` of
them, and every later hop follows the first one's choice."""

import random

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import ParentBased
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from taskoverflow_shared.settings import SettingsError
from taskoverflow_shared.tracing import TRACE_REQUESTED, OnlyTracesWeStart, TracingSettings


def _sampled(sampler, *, kind=SpanKind.SERVER, parent=None, trace_id=None) -> bool:
    trace_id = trace_id if trace_id is not None else random.Random(7).getrandbits(128)
    return sampler.should_sample(parent, trace_id, "a span", kind).decision.is_sampled()


def _remote_parent(*, sampled: bool):
    context = SpanContext(
        trace_id=0x1234,
        span_id=0x99,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT),
    )
    return trace.set_span_in_context(NonRecordingSpan(context))


def test_every_trace_a_request_or_an_event_starts_is_kept_by_default_and_none_at_ratio_zero():
    assert _sampled(ParentBased(root=OnlyTracesWeStart()))
    assert _sampled(ParentBased(root=OnlyTracesWeStart(1.0)), kind=SpanKind.CONSUMER)
    assert not _sampled(ParentBased(root=OnlyTracesWeStart(0.0)))


def test_a_library_call_outside_any_trace_starts_none():
    assert not _sampled(ParentBased(root=OnlyTracesWeStart(1.0)), kind=SpanKind.CLIENT)


def test_a_ratio_keeps_about_that_share_of_the_traces_started():
    sampler = ParentBased(root=OnlyTracesWeStart(0.1))
    generator = random.Random(12)
    ids = [generator.getrandbits(128) for _ in range(4000)]

    kept = sum(_sampled(sampler, trace_id=trace_id) for trace_id in ids)

    assert 300 <= kept <= 500, kept
    assert [_sampled(sampler, trace_id=trace_id) for trace_id in ids[:50]] == [
        _sampled(sampler, trace_id=trace_id) for trace_id in ids[:50]
    ], "the choice is the trace id's, the same in every process"


def test_a_later_hop_follows_the_choice_its_event_carries_whatever_its_own_ratio():
    assert _sampled(ParentBased(root=OnlyTracesWeStart(0.0)), parent=_remote_parent(sampled=True))
    assert not _sampled(ParentBased(root=OnlyTracesWeStart(1.0)), parent=_remote_parent(sampled=False))


@pytest.mark.parametrize("exporter", ["file", "none"])
@pytest.mark.parametrize("ratio", ["2", "-0.1", "half", "nan"])
def test_a_ratio_outside_0_to_1_is_refused_at_start_even_with_traces_off(ratio, exporter, tmp_path):
    environment = {
        "OTEL_TRACES_EXPORTER": exporter,
        "TRACES_DIRECTORY": str(tmp_path),
        "OTEL_TRACES_SAMPLER_ARG": ratio,
    }

    with pytest.raises(SettingsError, match="OTEL_TRACES_SAMPLER_ARG"):
        TracingSettings.from_environment(environment)


def test_an_exporter_we_do_not_have_is_refused_by_name():
    with pytest.raises(SettingsError, match="OTEL_TRACES_EXPORTER"):
        TracingSettings.from_environment({"OTEL_TRACES_EXPORTER": "jaeger"})


def test_a_trace_its_client_asked_for_is_kept_at_any_ratio():
    sampler = ParentBased(root=OnlyTracesWeStart(0.0))
    asked = sampler.should_sample(None, 0x1234, "GET /", SpanKind.SERVER, {TRACE_REQUESTED: True})

    assert asked.decision.is_sampled()
    assert not _sampled(sampler)
