"""Summarise the offline `terraform plan` (JSON) and fail if a building block of the stack is missing.

Usage: python infra/check/plan_summary.py PLAN_JSON
"""

from __future__ import annotations

import json
import sys
from collections import Counter

# Resource types that must be in the plan: what the stack must contain.
REQUIRED = {
    "aws_sns_topic": "SNS topic",
    "aws_sqs_queue": "SQS queues and dead-letter queues",
    "aws_sqs_queue_policy": "SQS queue policies",
    "aws_sns_topic_subscription": "SNS subscriptions",
    "aws_s3_bucket": "S3 bucket",
    "aws_ecr_repository": "ECR repositories",
    "aws_ecs_cluster": "ECS cluster",
    "aws_ecs_task_definition": "ECS task definitions",
    "aws_ecs_service": "ECS services",
    "aws_db_instance": "RDS PostgreSQL",
    "aws_iam_role": "IAM roles",
    "aws_iam_role_policy": "IAM policies",
    "aws_lb": "load balancer",
    "aws_cloudwatch_log_group": "CloudWatch log groups",
    "aws_appautoscaling_policy": "auto scaling",
}


def _resources(module: dict) -> list[dict]:
    found = list(module.get("resources", []))
    for child in module.get("child_modules", []):
        found += _resources(child)
    return found


def main(path: str) -> int:
    plan = json.loads(open(path).read())
    created = [
        change for change in plan["resource_changes"]
        if change["mode"] == "managed" and change["change"]["actions"] == ["create"]
    ]
    counts = Counter(change["type"] for change in created)
    print(f"    {len(created)} resources to create, {len(counts)} types:")
    for resource_type, count in sorted(counts.items()):
        print(f"      {count:3d}  {resource_type}")

    missing = [f"{label} ({resource_type})" for resource_type, label in REQUIRED.items() if not counts[resource_type]]
    queues = [r["values"]["name"] for r in _resources(plan["planned_values"]["root_module"]) if r["type"] == "aws_sqs_queue"]
    # A FIFO variant's DLQ is named <service>-dlq.fifo.
    dead_letter_queues = [name for name in queues if name.removesuffix(".fifo").endswith("-dlq")]
    if not dead_letter_queues or len(dead_letter_queues) * 2 != len(queues):
        missing.append(f"one dead-letter queue per queue (planned: {sorted(queues)})")
    if missing:
        print("infra-check: the plan lacks " + "; ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
