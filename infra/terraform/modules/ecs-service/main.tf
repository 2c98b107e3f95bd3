# One ECS service on Fargate: its task definition (one or more containers of the same image),
# log group, network identity and the service that keeps its tasks running. Without `scaling`
# it is a one-off task instead (the database migration): the same task definition, run with
# `aws ecs run-task`, and no service.

locals {
  family          = "${var.name_prefix}-${var.name}"
  runs_as_service = var.scaling != null

  # Volume name => container path, e.g. "var-lib-notifier" => "/var/lib/notifier".
  scratch_volumes = { for path in var.writable_paths : replace(trim(path, "/"), "/", "-") => path }

  secrets = [
    for variable_name, secret in var.secrets : {
      name      = variable_name
      valueFrom = secret.json_key == null ? secret.arn : "${secret.arn}:${secret.json_key}::"
    }
  ]

  # Every container of the task logs to the service's log group, in streams named after it.
  log_options = {
    awslogs-group  = aws_cloudwatch_log_group.service.name
    awslogs-region = var.region
  }

  # With the sidecar, the services export their spans to it (taskoverflow_shared.tracing).
  tracing_environment = var.otel_collector == null ? {} : {
    OTEL_TRACES_EXPORTER        = "otlp"
    OTEL_EXPORTER_OTLP_ENDPOINT = "http://127.0.0.1:4318"
    OTEL_EXPORTER_OTLP_PROTOCOL = "http/protobuf"
    OTEL_TRACES_SAMPLER_ARG     = tostring(var.otel_collector.sample_ratio)
  }

  container_definitions = [
    for container_name, container in var.containers : {
      # Drop unset keys rather than sending nulls: ECS would echo its defaults back and every
      # plan would show a diff.
      for key, value in {
        name      = container_name
        image     = var.image
        essential = container.essential
        command   = container.command
        environment = [
          for variable_name, setting in merge(var.environment, local.tracing_environment, container.environment) : { name = variable_name, value = setting }
        ]
        secrets = length(local.secrets) == 0 ? null : local.secrets
        portMappings = container.port == null ? null : [
          { containerPort = container.port, hostPort = container.port, protocol = "tcp" }
        ]
        healthCheck = container.health_check == null ? null : {
          command     = concat(["CMD"], container.health_check)
          interval    = 30
          timeout     = 5
          retries     = 3
          startPeriod = 60
        }
        dependsOn = length(container.depends_on_success) == 0 ? null : [
          for dependency in container.depends_on_success : { containerName = dependency, condition = "SUCCESS" }
        ]
        stopTimeout = var.stop_timeout_seconds
        # The image's root file system is read-only; only the writable paths (heartbeats,
        # notifier's delivery log) are task-local scratch volumes.
        readonlyRootFilesystem = true
        mountPoints = [
          for volume, path in local.scratch_volumes : { sourceVolume = volume, containerPath = path, readOnly = false }
        ]
        # A tiny init as PID 1 forwards SIGTERM and reaps zombies.
        linuxParameters  = { initProcessEnabled = true }
        logConfiguration = { logDriver = "awslogs", options = merge(local.log_options, { awslogs-stream-prefix = container_name }) }
      } : key => value if value != null
    }
  ]
}

# The tracing sidecar: an ADOT collector that takes the containers' spans over OTLP on localhost
# and sends them to X-Ray. Not essential: without it the task still serves, only its spans are
# lost. Kept out of `container_definitions` (the output), which lists what the service image runs.
locals {
  collector_definitions = var.otel_collector == null ? [] : [
    {
      name      = "otel-collector"
      image     = var.otel_collector.image
      essential = false
      # The collector reads its whole configuration from this variable (no file in the image).
      environment            = [{ name = "AOT_CONFIG_CONTENT", value = var.otel_collector.config }]
      stopTimeout            = var.stop_timeout_seconds
      readonlyRootFilesystem = true
      linuxParameters        = { initProcessEnabled = true }
      logConfiguration       = { logDriver = "awslogs", options = merge(local.log_options, { awslogs-stream-prefix = "otel-collector" }) }
    }
  ]
}

resource "aws_cloudwatch_log_group" "service" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts at rest by default; a customer-managed key adds a key policy to maintain and no protection this threat model needs.
  #checkov:skip=CKV_AWS_338:Retention is a variable (default 30 days) chosen per deployment; logs are structured JSON for debugging, not an audit trail.
  name              = "/taskoverflow/${local.family}"
  retention_in_days = var.log_retention_days
}

resource "aws_ecs_task_definition" "service" {
  family                   = local.family
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = var.task_role_arn
  container_definitions    = jsonencode(concat(local.container_definitions, local.collector_definitions))

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  lifecycle {
    # Checked at plan when the values are known, at apply otherwise (ARNs of new resources).
    precondition {
      condition     = alltrue([for name in var.required_environment : try(var.environment[name], "") != ""])
      error_message = "${var.name} refuses to be deployed without ${join(", ", var.required_environment)}: each must be set and non-empty."
    }
  }

  # Bind mounts without a host path: scratch space on the task's ephemeral storage, shared by
  # the task's containers and gone with the task. The image declares each path as a VOLUME, so
  # the mount starts with the image's ownership and the non-root user can write to it.
  dynamic "volume" {
    for_each = local.scratch_volumes

    content {
      name = volume.key
    }
  }
}

resource "aws_ecs_service" "service" {
  count = local.runs_as_service ? 1 : 0

  name             = var.name
  cluster          = var.cluster_arn
  task_definition  = aws_ecs_task_definition.service.arn
  desired_count    = var.scaling.min
  launch_type      = "FARGATE"
  platform_version = "LATEST"

  # Start new tasks before stopping old ones, and roll back a deployment whose tasks never
  # become healthy instead of retrying forever.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  health_check_grace_period_seconds = var.load_balancer == null ? null : var.health_check_grace_period_seconds
  enable_execute_command            = false
  enable_ecs_managed_tags           = true
  propagate_tags                    = "SERVICE"

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.service.id]
    assign_public_ip = false
  }

  dynamic "load_balancer" {
    for_each = var.load_balancer == null ? [] : [var.load_balancer]

    content {
      target_group_arn = load_balancer.value.target_group_arn
      container_name   = load_balancer.value.container_name
      container_port   = load_balancer.value.container_port
    }
  }

  lifecycle {
    # Auto scaling owns the task count once the service exists; Terraform must not reset it.
    ignore_changes = [desired_count]
  }
}

moved {
  from = aws_ecs_service.service
  to   = aws_ecs_service.service[0]
}
