"""Each service's task role may touch only its own queue and DLQ, publish only to the events
topic, and read or write only its own S3 prefixes.

The iam module's policies are planned from literal ARNs (fixtures/modules), so the test reads
the exact JSON AWS would get. The production wiring (which service reads which prefix) is read
from envs/prod/main.tf.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.offline_terraform import PROD_ENV, of_type

ACCOUNT = "123456789012"
# The services whose policies the fixture plans (ical-worker is wired only in production).
PLANNED = ("todo-api", "notifier", "event-archiver")


def _policy(modules_plan: dict[str, Any], service: str) -> list[dict[str, Any]]:
    resource = of_type(modules_plan, "aws_iam_role_policy")[f'module.iam.aws_iam_role_policy.task["{service}"]']
    return json.loads(resource["values"]["policy"])["Statement"]


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _statement(modules_plan: dict[str, Any], service: str, sid: str) -> dict[str, Any] | None:
    return next((statement for statement in _policy(modules_plan, service) if statement.get("Sid") == sid), None)


def _grants(statements: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Action => resources it is allowed on."""
    grants: dict[str, set[str]] = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"]):
            grants.setdefault(action, set()).update(_as_list(statement["Resource"]))
    return grants


def test_no_action_or_resource_is_a_wildcard(modules_plan):
    for service in PLANNED:
        for statement in _policy(modules_plan, service):
            assert all("*" not in action for action in _as_list(statement["Action"])), statement
            assert "*" not in _as_list(statement["Resource"]), statement


def test_the_tracing_policy_lets_the_sidecar_send_to_x_ray_and_nothing_more(modules_plan):
    policies = of_type(modules_plan, "aws_iam_role_policy")
    for service in PLANNED:
        resource = policies[f'module.iam.aws_iam_role_policy.send_traces["{service}"]']["values"]
        (statement,) = json.loads(resource["policy"])["Statement"]

        assert resource["name"] == "send-traces"
        # X-Ray's write actions take no resource: "*" is the only form AWS accepts for them.
        assert sorted(_as_list(statement["Action"])) == ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
        assert statement["Resource"] == "*"


def test_a_service_consumes_only_its_own_queue_and_dead_letters_only_to_its_own_dlq(modules_plan, topology):
    for service in PLANNED:
        queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{topology['queues'][service]['name']}"
        dlq = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{topology['queues'][service]['dlq_name']}"
        sqs = {action: arns for action, arns in _grants(_policy(modules_plan, service)).items() if action.startswith("sqs:")}

        assert sqs == {
            "sqs:ReceiveMessage": {queue},
            "sqs:DeleteMessage": {queue},
            "sqs:ChangeMessageVisibility": {queue},
            "sqs:GetQueueUrl": {queue, dlq},
            "sqs:GetQueueAttributes": {queue, dlq},
            "sqs:SendMessage": {dlq},
        }, service


def test_only_publishers_may_publish_and_only_to_the_events_topic(modules_plan, topology):
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:{topology['topic']['name']}"

    assert _grants(_policy(modules_plan, "todo-api"))["sns:Publish"] == {topic}
    for consumer_only in ("notifier", "event-archiver"):
        assert not any(action.startswith("sns:") for action in _grants(_policy(modules_plan, consumer_only))), consumer_only


def test_s3_access_is_limited_to_the_service_prefixes(modules_plan, topology):
    bucket = f"arn:aws:s3:::{topology['bucket']['name']}"
    todo_api = _grants(_policy(modules_plan, "todo-api"))

    assert todo_api["s3:GetObject"] == {f"{bucket}/{topology['bucket']['calendar_prefix']}*"}
    assert todo_api["s3:PutObject"] == {f"{bucket}/{topology['bucket']['snapshot_prefix']}*"}
    assert todo_api["s3:ListBucket"] == {bucket}
    assert {action for action in todo_api if action.startswith("s3:")} == {"s3:GetObject", "s3:PutObject", "s3:ListBucket"}
    assert not any(action.startswith("s3:") for action in _grants(_policy(modules_plan, "notifier")))


def test_list_bucket_is_scoped_to_prefixes(modules_plan, topology):
    # Listing reveals every key (job ids) under a prefix: a role may list only what it reads.
    listing = _statement(modules_plan, "todo-api", "ListOnlyOwnReadPrefixes")

    assert listing["Action"] == "s3:ListBucket"
    assert listing["Resource"] == f"arn:aws:s3:::{topology['bucket']['name']}"
    assert listing["Condition"] == {"StringLike": {"s3:prefix": f"{topology['bucket']['calendar_prefix']}*"}}
    for service in PLANNED:
        for statement in _policy(modules_plan, service):
            if "s3:ListBucket" in _as_list(statement["Action"]):
                assert "s3:prefix" in statement["Condition"]["StringLike"], service


def test_the_archiver_may_only_add_objects_under_the_archive_prefix(modules_plan, topology):
    bucket = f"arn:aws:s3:::{topology['bucket']['name']}"
    s3 = {action: arns for action, arns in _grants(_policy(modules_plan, "event-archiver")).items() if action.startswith("s3:")}

    # Not even ListBucket: it never reads, and the operator CLI reads the archive with a
    # person's credentials, not a task role.
    assert s3 == {"s3:PutObject": {f"{bucket}/{topology['bucket']['event_archive_prefix']}*"}}


def test_no_other_service_may_touch_the_archive(modules_plan, topology):
    archive = f"arn:aws:s3:::{topology['bucket']['name']}/{topology['bucket']['event_archive_prefix']}"

    for service in PLANNED:
        if service == "event-archiver":
            continue
        for action, arns in _grants(_policy(modules_plan, service)).items():
            assert not any(arn.startswith(archive) for arn in arns), (service, action)


# --- The production wiring --------------------------------------------------------------------

@pytest.fixture(scope="module")
def prod_task_permissions() -> dict[str, dict[str, Any]]:
    hcl2 = pytest.importorskip("hcl2", reason="python-hcl2 is installed by scripts/infra_check.sh")
    with (PROD_ENV / "main.tf").open() as source:
        parsed = hcl2.load(source, serialization_options=hcl2.SerializationOptions(strip_string_quotes=True))
    iam = next(block["iam"] for block in parsed["module"] if "iam" in block)
    return iam["services"]


def test_in_production_each_service_gets_its_own_queue(prod_task_permissions):
    assert set(prod_task_permissions) == {"todo-api", "ical-worker", "ical-feed-worker", "notifier", "event-archiver"}
    for service, permissions in prod_task_permissions.items():
        assert permissions["queue_arn"] == f'${{module.messaging.queues["{service}"].arn}}'
        assert permissions["dead_letter_queue_arn"] == f'${{module.messaging.queues["{service}"].dead_letter_queue_arn}}'


def test_in_production_the_api_and_the_worker_hand_over_through_their_prefixes(prod_task_permissions):
    calendars = ["${local.topology.bucket.calendar_prefix}"]
    snapshots = ["${local.topology.bucket.snapshot_prefix}"]
    feeds = ["${local.topology.bucket.feed_prefix}"]
    todo_api, worker, feed_worker, notifier = (
        prod_task_permissions[s] for s in ("todo-api", "ical-worker", "ical-feed-worker", "notifier")
    )

    assert (todo_api["reads_prefixes"], todo_api["writes_prefixes"]) == (calendars + feeds, snapshots)
    assert (worker["reads_prefixes"], worker["writes_prefixes"]) == (snapshots, calendars)
    # The feed worker reads each state back before its conditional write, and nothing else.
    assert (feed_worker["reads_prefixes"], feed_worker["writes_prefixes"]) == (feeds, feeds)
    assert (notifier["reads_prefixes"], notifier["writes_prefixes"]) == ([], [])


def test_in_production_a_service_may_publish_only_if_the_topology_names_it_a_producer(prod_task_permissions):
    for service, permissions in prod_task_permissions.items():
        assert permissions["publishes_events"] == f'${{contains(local.producing_services, "{service}")}}', service


def test_in_production_only_the_archiver_writes_the_archive_and_no_task_reads_it(prod_task_permissions):
    archive = "${local.topology.bucket.event_archive_prefix}"
    archiver = prod_task_permissions["event-archiver"]

    assert (archiver["reads_prefixes"], archiver["writes_prefixes"]) == ([], [archive])
    for service, permissions in prod_task_permissions.items():
        assert archive not in permissions["reads_prefixes"], service
        assert service == "event-archiver" or archive not in permissions["writes_prefixes"], service
