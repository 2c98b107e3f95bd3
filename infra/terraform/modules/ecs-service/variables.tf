variable "name" {
  description = "Service name, e.g. todo-api; also the name of its ECS service."
  type        = string
}

variable "name_prefix" {
  description = "Prefix for the task family, roles, log group, security group and alarms."
  type        = string
}

variable "region" {
  description = "AWS region the awslogs driver writes to."
  type        = string
}

variable "cluster_arn" {
  description = "Cluster to run the service in."
  type        = string
}

variable "cluster_name" {
  description = "Name of that cluster (Application Auto Scaling addresses services by it)."
  type        = string
}

variable "image" {
  description = "Full image reference, <repository_url>:<tag>. Every container of the task runs this image."
  type        = string
}

variable "repository_arn" {
  description = "ECR repository of the image; the execution role may pull from it only."
  type        = string
}

variable "task_role_arn" {
  description = "Role the service's code runs as (see the iam module); null for a task that calls no AWS API (the migration)."
  type        = string
  default     = null
}

variable "containers" {
  description = <<-EOT
    Containers of one task, keyed by container name. All run the service image:
    - command: overrides the image CMD (null keeps it);
    - essential: the task stops when an essential container stops; a one-shot step (migrations) is not essential;
    - port: container port to expose;
    - health_check: ECS health check command in CMD form (ECS ignores the image's HEALTHCHECK);
    - depends_on_success: containers that must exit 0 before this one starts;
    - environment: variables for this container only, on top of var.environment.
  EOT
  type = map(object({
    command            = optional(list(string))
    essential          = optional(bool, true)
    port               = optional(number)
    health_check       = optional(list(string))
    depends_on_success = optional(list(string), [])
    environment        = optional(map(string), {})
  }))
}

variable "environment" {
  description = "Environment variables for every container of the task (configuration, never secrets)."
  type        = map(string)
  default     = {}
}

variable "required_environment" {
  description = "Names in var.environment the task must not run without (e.g. the API's authentication settings): the plan, or the apply when values are known only then, fails if one is missing or empty."
  type        = list(string)
  default     = []
}

variable "secrets" {
  description = "Secrets Manager values injected as environment variables at start, keyed by variable name. json_key picks one key of a JSON secret. The execution role may read exactly these secrets."
  type = map(object({
    arn      = string
    json_key = optional(string)
  }))
  default = {}
}

variable "writable_paths" {
  description = "The only writable paths of the otherwise read-only container file system, each a task-local scratch volume. The image must declare them as VOLUMEs owned by its user."
  type        = list(string)
  default     = ["/tmp"]
}

variable "cpu" {
  description = "Task CPU units (1024 = one vCPU), shared by its containers."
  type        = number
  default     = 256
}

variable "memory" {
  description = "Task memory in MiB, shared by its containers."
  type        = number
  default     = 512
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64; must match the platform the image was built for."
  type        = string
  default     = "X86_64"
}

variable "stop_timeout_seconds" {
  description = "Time between SIGTERM and SIGKILL (Fargate allows at most 120). Workers use it to finish the message in hand; the API to finish its requests."
  type        = number
  default     = 120
}

variable "log_retention_days" {
  description = "Retention of the service's CloudWatch logs."
  type        = number
  default     = 30
}

variable "vpc_id" {
  description = "VPC of the tasks."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the tasks."
  type        = list(string)
}

variable "ingress" {
  description = "Inbound rules, keyed by a description: traffic from a security group on a port."
  type = map(object({
    security_group_id = string
    port              = number
  }))
  default = {}
}

variable "egress" {
  description = "Outbound rules, keyed by a description: to a CIDR or a security group, on a TCP port range."
  type = map(object({
    cidr_ipv4         = optional(string)
    security_group_id = optional(string)
    from_port         = number
    to_port           = number
  }))
}

variable "load_balancer" {
  description = "Target group to register a container's port in (null for workers)."
  type = object({
    target_group_arn = string
    container_name   = string
    container_port   = number
  })
  default = null
}

variable "health_check_grace_period_seconds" {
  description = "How long ECS ignores load balancer health checks of a new task (migrations run first)."
  type        = number
  default     = 120
}

variable "scaling" {
  description = "Bounds of the task count. The service starts at min; scaling policies move it within the bounds. null: no service, only a task definition for one-off runs (aws ecs run-task)."
  type = object({
    min = number
    max = number
  })
  default = null
}

variable "cpu_target_percent" {
  description = "Target-tracking on average CPU (null: no CPU scaling). Suits the request-driven API."
  type        = number
  default     = null
}

variable "queue_depth_scaling" {
  description = <<-EOT
    Step scaling on the service's SQS backlog (ApproximateNumberOfMessagesVisible), null for none:
    one more task from scale_out_at visible messages, three more from scale_out_fast_at, one less
    after scale_in_after_minutes with an empty queue.
  EOT
  type = object({
    queue_name             = string
    scale_out_at           = number
    scale_out_fast_at      = number
    scale_in_after_minutes = optional(number, 5)
  })
  default = null
}

variable "otel_collector" {
  description = "The tracing sidecar: an ADOT collector image and its configuration (YAML), which receives OTLP on 127.0.0.1:4318 and exports to X-Ray. The task's containers are then told to send their spans to it, keeping sample_ratio (0 to 1) of the traces they start. null: no sidecar, no traces."
  type = object({
    image        = string
    config       = string
    sample_ratio = optional(number, 1)
  })
  default = null

  validation {
    condition     = var.otel_collector == null ? true : (var.otel_collector.sample_ratio >= 0 && var.otel_collector.sample_ratio <= 1)
    error_message = "otel_collector.sample_ratio must be from 0 to 1."
  }
}
