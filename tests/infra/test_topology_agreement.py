"""Terraform builds the event bus that topology.json declares: the same topic, queues,
dead-letter queues, subscriptions and filter policies, and nothing else.

Checked on the production environment's plan, so a queue added to topology.json but not wired
into Terraform (or the reverse) fails here before it fails in AWS. With delivery = fifo the same
names gain ".fifo" and the resources become FIFO; nothing else changes.
"""

from __future__ import annotations

import json
from typing import Any

from tests.infra.offline_terraform import of_type

MESSAGING = "module.messaging"


def _by_service(plan: dict[str, Any], resource_type: str, name: str) -> dict[str, dict[str, Any]]:
    """Planned values of one for_each resource of the messaging module, keyed by service."""
    prefix = f"{MESSAGING}.{resource_type}.{name}["
    return {
        resource["index"]: resource["values"]
        for address, resource in of_type(plan, resource_type).items()
        if address.startswith(prefix)
    }


def _event_topics(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The messaging module's topics (the monitoring module has its alarm topic besides)."""
    return [r for address, r in of_type(plan, "aws_sns_topic").items() if address.startswith(f"{MESSAGING}.")]


def _configuration(plan: dict[str, Any], resource_address: str) -> dict[str, Any]:
    module = plan["configuration"]["root_module"]["module_calls"]["messaging"]["module"]
    return next(r for r in module["resources"] if r["address"] == resource_address)


def test_the_topic_is_the_one_the_topology_names(prod_plan, topology):
    topics = [r["values"]["name"] for r in _event_topics(prod_plan)]

    assert topics == [topology["topic"]["name"]]


def test_every_consumer_has_its_queue_and_dead_letter_queue_and_there_are_no_others(prod_plan, topology):
    planned = sorted(r["values"]["name"] for r in of_type(prod_plan, "aws_sqs_queue").values())
    declared = sorted(
        name for queue in topology["queues"].values() for name in (queue["name"], queue["dlq_name"])
    )

    assert planned == declared


def test_queues_are_keyed_by_service_as_in_the_topology(prod_plan, topology):
    queues = _by_service(prod_plan, "aws_sqs_queue", "service")
    dead_letter_queues = _by_service(prod_plan, "aws_sqs_queue", "dead_letter")

    assert {service: q["name"] for service, q in queues.items()} == {
        service: spec["name"] for service, spec in topology["queues"].items()
    }
    assert {service: q["name"] for service, q in dead_letter_queues.items()} == {
        service: spec["dlq_name"] for service, spec in topology["queues"].items()
    }


def test_queues_long_poll_and_keep_messages_as_the_topology_says(prod_plan, topology):
    queues = _by_service(prod_plan, "aws_sqs_queue", "service")

    for service, spec in topology["queues"].items():
        queue = queues[service]
        assert queue["visibility_timeout_seconds"] == spec["visibility_timeout_seconds"], service
        assert queue["receive_wait_time_seconds"] == topology["receive_wait_time_seconds"] == 20, service
        assert queue["message_retention_seconds"] == topology["message_retention_seconds"], service


def test_every_queue_is_subscribed_with_the_topology_filter_policy(prod_plan, topology):
    subscriptions = _by_service(prod_plan, "aws_sns_topic_subscription", "service")
    type_attribute = topology["message_type_attribute"]

    assert set(subscriptions) == set(topology["queues"])
    for service, spec in topology["queues"].items():
        subscription = subscriptions[service]
        assert subscription["protocol"] == "sqs"
        assert subscription["raw_message_delivery"] is spec["raw_message_delivery"], service
        if spec["event_types"] is None:
            # No filter policy at all: the queue receives every event (the archive).
            assert subscription.get("filter_policy") is None, service
        else:
            assert json.loads(subscription["filter_policy"]) == {type_attribute: spec["event_types"]}, service
            assert subscription["filter_policy_scope"] == "MessageAttributes", service


def test_each_queue_is_wired_to_its_own_dead_letter_queue_and_subscription(prod_plan):
    # ARNs are unknown until apply, so the wiring is read from the configuration: each
    # reference indexes the other resource by each.key, i.e. the same service's queue, and
    # references nothing else.
    def references(resource_address: str, argument: str) -> set[str]:
        return set(_configuration(prod_plan, resource_address)["expressions"][argument]["references"])

    assert references("aws_sqs_queue.service", "redrive_policy") == {
        "aws_sqs_queue.dead_letter",
        "each.key",
        "each.value",
        "each.value.max_receive_count",
    }
    assert references("aws_sns_topic_subscription.service", "endpoint") == {"aws_sqs_queue.service", "each.key"}
    assert references("aws_sqs_queue_policy.only_topic_may_send", "queue_url") == {"aws_sqs_queue.service", "each.key"}
    for address in ("aws_sqs_queue.service", "aws_sqs_queue.dead_letter", "aws_sns_topic_subscription.service"):
        # local.queues is var.queues with the delivery suffix applied to the names.
        assert _configuration(prod_plan, address)["for_each_expression"]["references"] == ["local.queues"], address


def test_the_messaging_module_is_fed_from_topology_json(prod_plan):
    call = prod_plan["configuration"]["root_module"]["module_calls"]["messaging"]["expressions"]

    for argument in ("topic_name", "message_type_attribute", "queues", "message_retention_seconds", "receive_wait_time_seconds"):
        assert "local.topology" in call[argument]["references"], argument
    assert call["delivery"]["references"] == ["var.delivery"]


def test_standard_delivery_builds_no_fifo_resource(prod_plan):
    [topic] = [r["values"] for r in _event_topics(prod_plan)]

    assert (topic["fifo_topic"], topic["content_based_deduplication"]) == (False, False)
    for address, queue in of_type(prod_plan, "aws_sqs_queue").items():
        assert (queue["values"]["fifo_queue"], queue["values"]["content_based_deduplication"]) == (False, False), address


# --- delivery = fifo ------------------------------------------------------------------------------


def test_fifo_delivery_names_the_topic_and_every_queue_as_the_topology_does_plus_fifo(prod_fifo_plan, topology):
    topics = [r["values"]["name"] for r in _event_topics(prod_fifo_plan)]
    queues = _by_service(prod_fifo_plan, "aws_sqs_queue", "service")
    dead_letter_queues = _by_service(prod_fifo_plan, "aws_sqs_queue", "dead_letter")

    assert topics == [f"{topology['topic']['name']}.fifo"]
    assert {service: q["name"] for service, q in queues.items()} == {
        service: f"{spec['name']}.fifo" for service, spec in topology["queues"].items()
    }
    assert {service: q["name"] for service, q in dead_letter_queues.items()} == {
        service: f"{spec['dlq_name']}.fifo" for service, spec in topology["queues"].items()
    }


def test_fifo_delivery_makes_the_topic_and_every_queue_fifo_with_content_based_deduplication(prod_fifo_plan):
    [topic] = [r["values"] for r in _event_topics(prod_fifo_plan)]

    assert topic["fifo_topic"] is True
    for address, queue in of_type(prod_fifo_plan, "aws_sqs_queue").items():
        assert queue["values"]["fifo_queue"] is True, address
        assert queue["values"]["content_based_deduplication"] is True, address


def test_fifo_delivery_keeps_the_filter_policies_and_raw_delivery(prod_plan, prod_fifo_plan):
    def routing(plan: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
        return {
            service: (s.get("filter_policy"), s.get("filter_policy_scope"), s["raw_message_delivery"])
            for service, s in _by_service(plan, "aws_sns_topic_subscription", "service").items()
        }

    assert routing(prod_fifo_plan) == routing(prod_plan)


def test_fifo_delivery_plans_the_same_resources_as_standard(prod_plan, prod_fifo_plan):
    def addresses(plan: dict[str, Any]) -> set[str]:
        return {change["address"] for change in plan["resource_changes"]}

    assert addresses(prod_fifo_plan) == addresses(prod_plan)

def _lifecycle_rules(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return next(iter(of_type(plan, "aws_s3_bucket_lifecycle_configuration").values()))["values"]["rule"]


def _rule_prefix(rule: dict[str, Any]) -> str:
    """The key prefix a rule applies to; "" (the whole bucket) without a prefix filter."""
    return next((rule_filter["prefix"] for rule_filter in rule["filter"] if rule_filter.get("prefix")), "")


def _expires_current_objects(rule: dict[str, Any]) -> bool:
    return any(expiration.get("days") or expiration.get("date") for expiration in rule.get("expiration", []))


def test_the_calendars_bucket_is_the_one_the_topology_names(prod_plan, topology):
    buckets = [r["values"]["bucket"] for r in of_type(prod_plan, "aws_s3_bucket").values()]
    expiring_prefixes = {_rule_prefix(rule) for rule in _lifecycle_rules(prod_plan) if _expires_current_objects(rule)}

    assert buckets == [topology["bucket"]["name"]]
    assert expiring_prefixes == {topology["bucket"]["calendar_prefix"], topology["bucket"]["snapshot_prefix"]}


def test_the_event_archive_is_never_expired_only_moved_to_a_class_replay_can_read_at_once(prod_plan, topology):
    archive = topology["bucket"]["event_archive_prefix"]
    rules = _lifecycle_rules(prod_plan)
    # A rule reaches the archive if its prefix is the archive's or any prefix of it ("" included).
    reaching_the_archive = [rule for rule in rules if archive.startswith(_rule_prefix(rule))]

    assert not any(_expires_current_objects(rule) for rule in reaching_the_archive)
    archive_rule = next(rule for rule in rules if _rule_prefix(rule) == archive)
    assert archive_rule["status"] == "Enabled"
    assert [(t["days"], t["storage_class"]) for t in archive_rule["transition"]] == [(30, "GLACIER_IR")]
