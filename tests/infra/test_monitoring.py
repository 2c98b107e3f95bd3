"""What pages an operator and what they look at: an alarm on every DLQ, on every queue's oldest
message and on the outbox lag, all to one encrypted SNS topic with an e-mail subscription, and
one dashboard of queues, DLQs, outbox lag, calendar jobs and the API."""

from __future__ import annotations

import json
from typing import Any

from tests.infra.offline_terraform import REPO_ROOT, of_type

CUSTOM_METRICS = json.loads((REPO_ROOT / "shared" / "src" / "taskoverflow_shared" / "custom_metrics.json").read_text())
MONITORING = "module.monitoring."


def _alarms(plan: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    """Planned values of the monitoring module's alarms `name`, keyed by service (or "" if single)."""
    prefix = f"{MONITORING}aws_cloudwatch_metric_alarm.{name}"
    return {
        str(resource.get("index", "")): resource["values"]
        for address, resource in of_type(plan, "aws_cloudwatch_metric_alarm").items()
        if address.startswith(prefix)
    }


def test_every_dead_letter_queue_pages_on_its_first_message(prod_plan, topology):
    alarms = _alarms(prod_plan, "dead_letters")

    assert set(alarms) == set(topology["queues"])
    for service, alarm in alarms.items():
        assert alarm["dimensions"] == {"QueueName": topology["queues"][service]["dlq_name"]}
        assert (alarm["namespace"], alarm["metric_name"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
        assert (alarm["comparison_operator"], alarm["threshold"], alarm["evaluation_periods"]) == (
            "GreaterThanThreshold",
            0,
            1,
        )


def test_every_service_queue_alarms_on_its_oldest_message(prod_plan, topology):
    alarms = _alarms(prod_plan, "oldest_message")

    assert {service: alarm["dimensions"]["QueueName"] for service, alarm in alarms.items()} == {
        service: queue["name"] for service, queue in topology["queues"].items()
    }
    for alarm in alarms.values():
        assert alarm["metric_name"] == "ApproximateAgeOfOldestMessage"
        # Longer than a failing message takes to reach its DLQ (visibility x maxReceiveCount).
        assert alarm["threshold"] > max(
            q["visibility_timeout_seconds"] * q["max_receive_count"] for q in topology["queues"].values()
        )


def test_with_fifo_delivery_the_alarms_watch_the_fifo_queues(prod_fifo_plan, topology):
    for service, alarm in _alarms(prod_fifo_plan, "dead_letters").items():
        assert alarm["dimensions"] == {"QueueName": f"{topology['queues'][service]['dlq_name']}.fifo"}
    for service, alarm in _alarms(prod_fifo_plan, "oldest_message").items():
        assert alarm["dimensions"] == {"QueueName": f"{topology['queues'][service]['name']}.fifo"}


def test_the_outbox_lag_alarm_reads_the_metric_declared_in_custom_metrics_json(prod_plan):
    [alarm] = _alarms(prod_plan, "outbox_lag").values()
    declared = CUSTOM_METRICS["metrics"]["outbox_lag"]

    assert (alarm["namespace"], alarm["metric_name"], alarm["statistic"]) == (
        CUSTOM_METRICS["namespace"],
        declared["name"],
        declared["statistic"],
    )
    assert alarm["treat_missing_data"] == "missing"


def test_alarms_go_to_an_encrypted_topic_that_mails_the_configured_address(modules_plan):
    [topic] = of_type(modules_plan, "aws_sns_topic").values()
    [subscription] = of_type(modules_plan, "aws_sns_topic_subscription").values()
    [key] = of_type(modules_plan, "aws_kms_key").values()
    statements = {s["Sid"]: s for s in json.loads(key["values"]["policy"])["Statement"]}

    assert topic["values"]["name"] == "fixture-alarms"
    assert (subscription["values"]["protocol"], subscription["values"]["endpoint"]) == ("email", "oncall@example.com")
    assert key["values"]["enable_key_rotation"] is True
    # The AWS-managed SNS key would refuse CloudWatch: the customer-managed key lets it in.
    cloudwatch = statements["CloudWatchAlarmsOfThisAccountPublish"]
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert cloudwatch["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    # The topic's ARN is known only after apply: the configuration says where each alarm goes.
    configured = modules_plan["configuration"]["root_module"]["module_calls"]["monitoring"]["module"]["resources"]
    alarms = [r for r in configured if r["type"] == "aws_cloudwatch_metric_alarm"]
    assert len(alarms) == 3
    for alarm in alarms:
        for actions in ("alarm_actions", "ok_actions"):
            assert "aws_sns_topic.alarms.arn" in alarm["expressions"][actions]["references"], (
                alarm["address"],
                actions,
            )


def test_the_dashboard_shows_queues_dead_letters_outbox_lag_jobs_and_the_api(modules_plan, topology):
    [dashboard] = of_type(modules_plan, "aws_cloudwatch_dashboard").values()
    widgets = json.loads(dashboard["values"]["dashboard_body"])["widgets"]
    shown = [
        _metric_identity(line)
        for widget in widgets
        if widget["type"] == "metric"
        for line in widget["properties"]["metrics"]
    ]
    namespace = CUSTOM_METRICS["namespace"]

    for queue in topology["queues"].values():
        assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", ("QueueName", queue["name"])) in shown
        assert ("AWS/SQS", "ApproximateAgeOfOldestMessage", ("QueueName", queue["name"])) in shown
        assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", ("QueueName", queue["dlq_name"])) in shown
    assert (namespace, CUSTOM_METRICS["metrics"]["outbox_lag"]["name"], ()) in shown
    for outcome in CUSTOM_METRICS["metrics"]["calendar_jobs_finished"]["dimensions"]["Outcome"]:
        assert (namespace, CUSTOM_METRICS["metrics"]["calendar_jobs_finished"]["name"], ("Outcome", outcome)) in shown
    declared = CUSTOM_METRICS["metrics"]
    for service in topology["queues"]:
        for outcome in declared["events_consumed"]["dimensions"]["Outcome"]:
            line = ("Service", service, "Outcome", outcome)
            assert (namespace, declared["events_consumed"]["name"], line) in shown
    assert (namespace, declared["http_requests"]["name"], ("StatusClass", "5xx")) in shown
    # Published by the dimension sets the dashboard reads (EMF writes them; see metrics.py).
    assert ["StatusClass"] in declared["http_requests"]["dimension_sets"]
    assert ["Service", "Outcome"] in declared["events_consumed"]["dimension_sets"]
    assert [] in declared["http_request_duration"]["dimension_sets"]
    assert (namespace, declared["http_request_duration"]["name"], ()) in shown
    assert (namespace, declared["calendar_render_duration"]["name"], ()) in shown
    load_balancer = ("LoadBalancer", "app/fixture-api/0123456789abcdef")
    for metric in ("HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count", "TargetResponseTime"):
        assert ("AWS/ApplicationELB", metric, load_balancer) in shown
    [alarm_widget] = [widget for widget in widgets if widget["type"] == "alarm"]
    alarm_names = {
        alarm["values"]["alarm_name"] for alarm in of_type(modules_plan, "aws_cloudwatch_metric_alarm").values()
    }
    assert len(alarm_widget["properties"]["alarms"]) == 2 * len(topology["queues"]) + 1
    for arn in alarm_widget["properties"]["alarms"]:
        assert (
            arn.startswith("arn:aws:cloudwatch:us-east-1:123456789012:alarm:") and arn.rsplit(":", 1)[1] in alarm_names
        )


def test_every_custom_metric_is_explained_in_the_operations_guide():
    guide = (REPO_ROOT / "docs" / "operations.md").read_text()
    assert CUSTOM_METRICS["namespace"] in guide
    for metric in CUSTOM_METRICS["metrics"].values():
        assert f"`{metric['name']}`" in guide, metric["name"]


def _metric_identity(line: list[Any]) -> tuple[str, str, tuple[str, ...]]:
    """(namespace, metric, dimension pairs) of a dashboard metric line, its options dropped."""
    names = [part for part in line if isinstance(part, str)]
    return names[0], names[1], tuple(names[2:])
