"""How the services run on ECS: hardened containers that stop gracefully and report health, the
API behind the load balancer, and the workers scaled on their queue's backlog."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.offline_terraform import PROD_ENV, of_type

IMAGES = {"todo-api", "ical-worker", "notifier", "event-archiver"}
# The live-feed worker runs the ical-worker image with another command.
SERVICES = IMAGES | {"ical-feed-worker"}
# Workers scaled on their queue's backlog: module name in services.tf => topology queue key.
QUEUE_SCALED = {
    "ical_worker": "ical-worker",
    "ical_feed_worker": "ical-feed-worker",
    "notifier": "notifier",
    "event_archiver": "event-archiver",
}


COLLECTOR = "otel-collector"


def _all_container_definitions(modules_plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    task = of_type(modules_plan, "aws_ecs_task_definition")["module.service.aws_ecs_task_definition.service"]
    return {c["name"]: c for c in json.loads(task["values"]["container_definitions"])}


def _container_definitions(modules_plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The containers that run the service image (the tracing sidecar aside)."""
    return {name: c for name, c in _all_container_definitions(modules_plan).items() if name != COLLECTOR}


def test_every_container_is_read_only_logs_to_cloudwatch_and_has_two_minutes_to_stop(modules_plan):
    task = of_type(modules_plan, "aws_ecs_task_definition")["module.service.aws_ecs_task_definition.service"]["values"]
    volumes = {volume["name"] for volume in task["volume"]}

    for name, container in _container_definitions(modules_plan).items():
        assert container["readonlyRootFilesystem"] is True, name
        assert container["stopTimeout"] == 120, name
        assert container["linuxParameters"] == {"initProcessEnabled": True}, name
        assert container["logConfiguration"]["logDriver"] == "awslogs", name
        assert container["logConfiguration"]["options"]["awslogs-stream-prefix"] == name
        assert {m["containerPath"] for m in container["mountPoints"]} == {"/tmp", "/var/lib/fixture"}, name
        assert {m["sourceVolume"] for m in container["mountPoints"]} == volumes, name
        assert None not in container.values(), name
    assert task["requires_compatibilities"] == ["FARGATE"]
    assert task["network_mode"] == "awsvpc"


def test_the_tracing_sidecar_receives_the_containers_spans_on_localhost_and_cannot_stop_the_task(modules_plan):
    containers = _all_container_definitions(modules_plan)
    collector = containers[COLLECTOR]

    assert collector["image"].startswith("public.ecr.aws/aws-observability/aws-otel-collector:v")
    assert collector["essential"] is False
    assert collector["readonlyRootFilesystem"] is True
    assert collector["logConfiguration"]["options"]["awslogs-stream-prefix"] == COLLECTOR
    assert [variable["name"] for variable in collector["environment"]] == ["AOT_CONFIG_CONTENT"]
    assert "secrets" not in collector and "portMappings" not in collector
    for name, container in _container_definitions(modules_plan).items():
        environment = {variable["name"]: variable["value"] for variable in container["environment"]}
        assert environment["OTEL_TRACES_EXPORTER"] == "otlp", name
        assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318", name


def test_a_one_shot_step_runs_to_success_before_the_long_running_container(modules_plan):
    containers = _container_definitions(modules_plan)

    assert containers["migrate"]["essential"] is False
    assert containers["migrate"]["command"] == ["todo-api-migrate"]
    assert containers["api"]["dependsOn"] == [{"containerName": "migrate", "condition": "SUCCESS"}]
    assert containers["api"]["healthCheck"]["command"][0] == "CMD"
    assert containers["api"]["portMappings"] == [{"containerPort": 6400, "hostPort": 6400, "protocol": "tcp"}]


def test_secrets_are_injected_by_reference_never_by_value(modules_plan):
    for container in _container_definitions(modules_plan).values():
        assert container["secrets"] == [
            {
                "name": "DB_PASSWORD",
                "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds-db-AbCdEf:password::",
            }
        ]
        assert all(variable["name"] != "DB_PASSWORD" for variable in container["environment"])


def test_a_worker_scales_out_on_visible_messages_and_in_on_an_empty_queue(modules_plan, topology):
    alarms = {
        r["name"]: r["values"]
        for address, r in of_type(modules_plan, "aws_cloudwatch_metric_alarm").items()
        if address.startswith("module.service.")
    }
    queue = topology["queues"]["todo-api"]["name"]

    for alarm in alarms.values():
        assert alarm["namespace"] == "AWS/SQS"
        assert alarm["metric_name"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["dimensions"] == {"QueueName": queue}
    assert (alarms["backlog_high"]["comparison_operator"], alarms["backlog_high"]["threshold"]) == ("GreaterThanOrEqualToThreshold", 10)
    assert (alarms["backlog_empty"]["comparison_operator"], alarms["backlog_empty"]["threshold"]) == ("LessThanOrEqualToThreshold", 0)


# --- The production environment's plan ----------------------------------------------------------


def test_production_runs_one_fargate_service_per_worker_and_one_repository_per_image(prod_plan):
    services = {r["values"]["name"]: r["values"] for r in of_type(prod_plan, "aws_ecs_service").values()}
    repositories = sorted(r["values"]["name"] for r in of_type(prod_plan, "aws_ecr_repository").values())

    assert set(services) == SERVICES
    assert repositories == sorted(f"taskoverflow/{image}" for image in IMAGES)
    for name, service in services.items():
        assert service["launch_type"] == "FARGATE", name
        assert service["network_configuration"][0]["assign_public_ip"] is False, name
        assert service["deployment_circuit_breaker"] == [{"enable": True, "rollback": True}], name


def test_production_sends_every_services_traces_to_its_sidecar_but_lists_only_the_images_containers(prod_plan):
    task_containers = prod_plan["output_changes"]["task_containers"]["after"]

    for service, containers in task_containers.items():
        assert COLLECTOR not in {container["name"] for container in containers}, service
        for container in containers:
            environment = {variable["name"]: variable.get("value") for variable in container["environment"]}
            # The migration task runs once and has no sidecar: it sends no spans.
            expected = None if service == "todo-api-migration" else "otlp"
            assert environment.get("OTEL_TRACES_EXPORTER") == expected, (service, container["name"])
            # The default share of traces kept (variables.tf), chosen where a trace starts.
            ratio = None if service == "todo-api-migration" else "0.1"
            assert environment.get("OTEL_TRACES_SAMPLER_ARG") == ratio, (service, container["name"])


def test_production_puts_the_api_behind_the_load_balancer_on_its_health_endpoint(prod_plan):
    target_group = next(iter(of_type(prod_plan, "aws_lb_target_group").values()))["values"]
    api = next(r["values"] for r in of_type(prod_plan, "aws_ecs_service").values() if r["values"]["name"] == "todo-api")

    assert (target_group["port"], target_group["target_type"]) == (6400, "ip")
    assert target_group["health_check"][0]["path"] == "/api/v1/health"
    assert api["load_balancer"][0]["container_name"] == "api"
    assert api["load_balancer"][0]["container_port"] == 6400


def _backlog_alarms(plan: dict[str, Any], service: str) -> list[dict[str, Any]]:
    alarms = {r["values"]["alarm_name"]: r["values"] for r in of_type(plan, "aws_cloudwatch_metric_alarm").values()}
    return [alarm for name, alarm in alarms.items() if name.startswith(f"taskoverflow-{service}-backlog")]


@pytest.mark.parametrize("service", sorted(QUEUE_SCALED.values()))
def test_production_scales_each_worker_on_its_own_queue_depth(prod_plan, topology, service):
    worker_alarms = _backlog_alarms(prod_plan, service)

    assert len(worker_alarms) == 2
    for alarm in worker_alarms:
        assert alarm["metric_name"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["dimensions"] == {"QueueName": topology["queues"][service]["name"]}


@pytest.mark.parametrize("service", sorted(QUEUE_SCALED.values()))
def test_with_fifo_delivery_each_worker_watches_its_fifo_queue(prod_fifo_plan, topology, service):
    for alarm in _backlog_alarms(prod_fifo_plan, service):
        assert alarm["dimensions"] == {"QueueName": f"{topology['queues'][service]['name']}.fifo"}


def test_production_images_are_immutable_and_scanned(prod_plan):
    for repository in of_type(prod_plan, "aws_ecr_repository").values():
        values = repository["values"]
        assert values["image_tag_mutability"] == "IMMUTABLE"
        assert values["image_scanning_configuration"] == [{"scan_on_push": True}]


def test_production_database_credentials_are_managed_by_rds(prod_plan):
    database = next(iter(of_type(prod_plan, "aws_db_instance").values()))["values"]

    assert database["engine"] == "postgres"
    assert database["manage_master_user_password"] is True
    assert database.get("password") is None
    assert database["storage_encrypted"] is True
    assert database["publicly_accessible"] is False


# --- The production containers, as written in services.tf ---------------------------------------


def _parsed_services_tf() -> dict[str, Any]:
    hcl2 = pytest.importorskip("hcl2", reason="python-hcl2 is installed by scripts/infra_check.sh")
    with (PROD_ENV / "services.tf").open() as source:
        return hcl2.load(source, serialization_options=hcl2.SerializationOptions(strip_string_quotes=True))


def _services_tf_locals() -> dict[str, Any]:
    return {name: value for block in _parsed_services_tf()["locals"] for name, value in block.items()}


@pytest.fixture(scope="module")
def prod_services() -> dict[str, dict[str, Any]]:
    return {name: body for block in _parsed_services_tf()["module"] for name, body in block.items()}


def test_the_api_task_runs_api_relay_and_consumer_and_leaves_migrations_to_their_own_task(prod_services):
    containers = prod_services["todo_api"]["containers"]
    migration = prod_services["todo_api_migration"]

    assert set(containers) == {"api", "relay", "consumer"}
    assert containers["relay"]["command"] == ["todo-api-relay"]
    assert containers["consumer"]["command"] == ["todo-api-consumer"]
    assert "command" not in containers["api"], "the API runs the image's CMD (todo-api-serve)"
    # A one-off task: no service, no scaling, nothing reaches it.
    assert migration["containers"] == {"migrate": {"command": ["todo-api-migrate"]}}
    assert not {"scaling", "load_balancer", "ingress", "task_role_arn"} & set(migration)
    assert migration["image"] == prod_services["todo_api"]["image"]


def test_the_feed_worker_runs_the_ical_worker_image_with_its_own_command(prod_services):
    feed, worker = prod_services["ical_feed_worker"], prod_services["ical_worker"]

    assert feed["image"] == worker["image"]
    assert feed["containers"]["worker"]["command"] == ["ical-feed-worker"]
    assert "command" not in worker["containers"]["worker"]


def test_every_heartbeat_check_reads_the_file_its_worker_writes(prod_services):
    checked = 0
    for service in prod_services.values():
        environment = str(service.get("environment", ""))
        for container in service["containers"].values():
            check = container.get("health_check")
            if not isinstance(check, list) or check[0] != "taskoverflow-healthcheck":
                continue
            heartbeat_file = check[check.index("--heartbeat-file") + 1]
            own = container.get("environment", {}).get("HEARTBEAT_FILE")
            assert own == heartbeat_file or (own is None and f'"{heartbeat_file}"' in environment)
            checked += 1
    assert checked == 6  # relay, consumer, ical-worker, ical-feed-worker, notifier, event-archiver


def test_every_task_is_told_the_delivery_mode_the_queues_were_built_with(prod_services):
    common = _services_tf_locals()["common_environment"]

    assert common["TASKOVERFLOW_DELIVERY"] == "${var.delivery}"
    # Metrics leave every task as CloudWatch EMF log lines (custom_metrics.json names them).
    assert common["METRICS_EXPORTER"] == "emf"
    assert {name.replace("_", "-") for name in prod_services} == SERVICES | {"todo-api-migration"}
    for name, service in prod_services.items():
        assert "local.common_environment" in str(service["environment"]), name


def test_backlog_alarms_watch_the_queue_the_messaging_module_built(prod_services):
    # Not the topology name: with delivery = fifo the real queue is named "<name>.fifo".
    for name, queue in QUEUE_SCALED.items():
        watched = prod_services[name]["queue_depth_scaling"]["queue_name"]
        assert watched == f'${{module.messaging.queues["{queue}"].name}}', name


def test_the_archiver_is_a_plain_worker(prod_services):
    archiver = prod_services["event_archiver"]

    assert set(archiver["containers"]) == {"worker"}
    assert "command" not in archiver["containers"]["worker"], "the worker runs the image's CMD"
    assert "load_balancer" not in archiver and "ingress" not in archiver
    assert archiver["egress"] == "${local.https_to_aws}"
