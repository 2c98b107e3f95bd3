# --- Where and what -----------------------------------------------------------------------

variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "environment" {
  description = "Environment name, used in tags."
  type        = string
  default     = "prod"
}

variable "name" {
  description = "Prefix of every resource name that is not fixed by topology.json (cluster, roles, load balancer, database, repositories)."
  type        = string
  default     = "taskoverflow"
}

variable "image_tag" {
  description = "Image tag to deploy for all four services, e.g. the git commit (tags are immutable in ECR)."
  type        = string
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64: the platform the images were built for (docker build --platform linux/amd64 or linux/arm64)."
  type        = string
  default     = "X86_64"
}

# --- Public entry point --------------------------------------------------------------------

variable "certificate_arn" {
  description = "ACM certificate (same region) for the API's host name; the load balancer serves HTTPS only."
  type        = string
}

variable "public_base_url" {
  description = "URL clients reach the API at, e.g. https://todo.example.com; todo-api builds task_url and result_url from it."
  type        = string
}

# --- Network -------------------------------------------------------------------------------

variable "availability_zones" {
  description = "Zones for subnets; null means the region's zones a and b."
  type        = list(string)
  default     = null
}

variable "nat_gateway_per_zone" {
  description = "One NAT gateway per zone (survives a zone outage) instead of one shared."
  type        = bool
  default     = false
}

variable "existing_network" {
  description = "Deploy into an existing VPC instead of creating one: its id and CIDR, public subnets (load balancer) and private subnets with outbound internet access (tasks, database)."
  type = object({
    vpc_id             = string
    vpc_cidr_block     = string
    public_subnet_ids  = list(string)
    private_subnet_ids = list(string)
  })
  default = null
}

# --- Event delivery -------------------------------------------------------------------------

variable "delivery" {
  description = "standard (default) or fifo: SNS/SQS FIFO with per-todo ordering. Sets the messaging module's delivery and every service's TASKOVERFLOW_DELIVERY together. Switching replaces the topic and all queues: drain them first."
  type        = string
  default     = "standard"

  validation {
    condition     = contains(["standard", "fifo"], var.delivery)
    error_message = "delivery must be \"standard\" or \"fifo\"."
  }
}

# --- Database ------------------------------------------------------------------------------

variable "database_instance_class" {
  description = "RDS instance size."
  type        = string
  default     = "db.t4g.small"
}

variable "database_multi_az" {
  description = "Keep a standby in a second zone for automatic failover."
  type        = bool
  default     = true
}

# --- Services ------------------------------------------------------------------------------

variable "todo_api_scaling" {
  description = "Task count bounds of todo-api (API, outbox relay and calendar consumer run in each task); scales on CPU."
  type        = object({ min = number, max = number })
  default     = { min = 2, max = 6 }
}

variable "ical_worker_scaling" {
  description = "Task count bounds of ical-worker; scales on the depth of its queue."
  type        = object({ min = number, max = number })
  default     = { min = 1, max = 10 }
}

variable "ical_feed_worker_scaling" {
  description = "Task count bounds of ical-feed-worker; scales on the depth of its queue (every TodoChanged passes through it)."
  type        = object({ min = number, max = number })
  default     = { min = 1, max = 3 }
}

variable "notifier_scaling" {
  description = "Task count bounds of notifier; scales on the depth of its queue."
  type        = object({ min = number, max = number })
  default     = { min = 1, max = 4 }
}

variable "event_archiver_scaling" {
  description = "Task count bounds of event-archiver; scales on the depth of its queue (every event passes through it)."
  type        = object({ min = number, max = number })
  default     = { min = 1, max = 3 }
}

variable "event_archiver_flush_seconds" {
  description = "EVENT_ARCHIVER_FLUSH_SECONDS: longest time an event waits in memory before its batch is written to S3 (null: the service's default). The service refuses more than a quarter of its queue's visibility timeout (15 s with topology.json's 60 s)."
  type        = number
  default     = null
}

variable "event_archiver_flush_events" {
  description = "EVENT_ARCHIVER_FLUSH_EVENTS: events per archive object before an early flush (null: the service's default)."
  type        = number
  default     = null
}

variable "event_archive_transition_after_days" {
  description = "Days (at least 30) after which archived events move to event_archive_storage_class. The archive is never expired."
  type        = number
  default     = 30
}

variable "event_archive_storage_class" {
  description = "Storage class old archive objects move to: GLACIER_IR (cheapest), STANDARD_IA or INTELLIGENT_TIERING, the classes the replay CLI can read without a restore (see the storage module)."
  type        = string
  default     = "GLACIER_IR"
}

variable "log_level" {
  description = "LOG_LEVEL of every service."
  type        = string
  default     = "INFO"
}

variable "log_retention_days" {
  description = "Retention of the services' CloudWatch logs."
  type        = number
  default     = 30
}

variable "notifier_webhook_urls" {
  description = "NOTIFIER_WEBHOOK_URLS: where notifier posts events (comma-separated URLs, empty for none)."
  type        = string
  default     = ""
}

variable "notifier_email_from" {
  description = "NOTIFIER_EMAIL_FROM: sender of notification e-mails (empty: the notifier's default)."
  type        = string
  default     = ""
}

variable "notifier_email_to" {
  description = "NOTIFIER_EMAIL_TO: recipient of notification e-mails (empty: none)."
  type        = string
  default     = ""
}

variable "notifier_webhook_secret_arn" {
  description = "Secrets Manager secret holding NOTIFIER_WEBHOOK_SECRET (the Standard Webhooks key, `whsec_` + base64 of 24-64 random bytes, that signs the webhooks of every URL without its own); null to send unsigned. Create it outside Terraform so the value never enters state."
  type        = string
  default     = null
}

variable "notifier_smtp_url_secret_arn" {
  description = "Secrets Manager secret holding NOTIFIER_SMTP_URL (it carries SMTP credentials); null disables e-mail."
  type        = string
  default     = null
}

# --- Monitoring ----------------------------------------------------------------------------

variable "alarm_email" {
  description = "E-mail address the alarms notify (through the alarm SNS topic; AWS mails a confirmation link first). null: nobody is subscribed."
  type        = string
  default     = null
}

variable "oldest_message_age_alarm_seconds" {
  description = "Alarm when a service queue's oldest message is older than this for two minutes."
  type        = number
  default     = 600
}

variable "outbox_lag_alarm_seconds" {
  description = "Alarm when the oldest unpublished outbox event is older than this for two minutes."
  type        = number
  default     = 120
}

# --- Safety --------------------------------------------------------------------------------

variable "deletion_protection" {
  description = "Protect the database and load balancer from deletion and refuse to delete a non-empty bucket or repository. Set false and apply before `terraform destroy`."
  type        = bool
  default     = true
}

variable "offline_plan" {
  description = "CI only: skip the provider's credential, account and region look-ups so `terraform plan` runs with dummy credentials and no network. Never set for a real deployment."
  type        = bool
  default     = false
}

# --- Security -------------------------------------------------------------------------------

variable "auth_external_issuer" {
  description = "Use this OIDC issuer instead of creating a Cognito user pool: its issuer (the tokens' iss), JWKS URL and audience (the tokens' aud). null: Cognito. Authentication cannot be turned off."
  type = object({
    issuer   = string
    jwks_url = string
    audience = string
  })
  default = null

  validation {
    condition = var.auth_external_issuer == null || alltrue([
      for setting in try(values(var.auth_external_issuer), []) : trimspace(setting) != ""
    ])
    error_message = "auth_external_issuer needs a non-empty issuer, jwks_url and audience: the API is never deployed without authentication."
  }

  validation {
    condition     = var.auth_external_issuer == null || startswith(try(var.auth_external_issuer.jwks_url, ""), "https://")
    error_message = "auth_external_issuer.jwks_url must be an https:// URL."
  }
}

variable "auth_callback_urls" {
  description = "Where Cognito's hosted pages may send users back (sign-in and sign-out); null means the web page at public_base_url."
  type        = list(string)
  default     = null
}

variable "auth_domain_prefix" {
  description = "Prefix of the hosted sign-in pages' domain (<prefix>.auth.<region>.amazoncognito.com), unique in the region; null means \"<name>-users\"."
  type        = string
  default     = null
}

variable "auth_self_sign_up" {
  description = "Let anyone create an account on the hosted sign-in pages; false: administrators create users."
  type        = bool
  default     = true
}

variable "waf_rate_limits" {
  description = "Requests one client address may make in any five minutes before the load balancer's WAF answers 429: all requests, and calendar requests alone (at least 10 each)."
  type = object({
    requests_per_five_minutes          = optional(number, 2000)
    calendar_requests_per_five_minutes = optional(number, 30)
  })
  default = {}
}

variable "operator_role_arns" {
  description = "IAM roles operators assume to run `taskoverflow dlq redrive` and `taskoverflow replay`: the only principals besides the topic and the producers that may send to a service queue or publish to the topic. Empty: nobody (the CLI is refused)."
  type        = list(string)
  default     = []
}

variable "database_app_credentials_version" {
  description = "Bump to draw a new password for the application's database role; then run the migration task and redeploy todo-api (docs/deploy.md)."
  type        = number
  default     = 1
}

variable "traces_to_xray" {
  description = "Run an ADOT collector sidecar in every service task and send the services' traces to X-Ray."
  type        = bool
  default     = true
}

variable "trace_sample_ratio" {
  description = "The share (0 to 1) of the traces a request or an event starts that are kept and sent to X-Ray (which bills per trace recorded). A trace is kept whole or not at all: every later hop follows its first span's choice."
  type        = number
  default     = 0.1

  validation {
    condition     = var.trace_sample_ratio >= 0 && var.trace_sample_ratio <= 1
    error_message = "trace_sample_ratio must be from 0 to 1."
  }
}

variable "otel_collector_image" {
  description = "The AWS Distro for OpenTelemetry collector image of the tracing sidecar (a pinned release)."
  type        = string
  default     = "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3"
}
