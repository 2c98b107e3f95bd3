# The four services. Each task runs one image; what differs is the command, the health check,
# the configuration and who may talk to it.

locals {
  # Configuration every service reads. On AWS, AWS_ENDPOINT_URL stays unset so boto3 talks to
  # the real endpoints; the topic ARN is handed over so services skip an STS look-up.
  # TASKOVERFLOW_DELIVERY tells the services to add the same ".fifo" suffix to the topology names
  # that the messaging module adds; a service on the other setting would find no queue.
  # METRICS_EXPORTER=emf: each process writes its metrics as CloudWatch EMF lines on stdout, which
  # the awslogs driver sends to the service's log group and CloudWatch turns into the metrics of
  # custom_metrics.json (no agent, no cloudwatch:PutMetricData permission).
  common_environment = {
    AWS_REGION             = var.region
    LOG_LEVEL              = var.log_level
    TASKOVERFLOW_TOPIC_ARN = module.messaging.topic_arn
    TASKOVERFLOW_DELIVERY  = var.delivery
    METRICS_EXPORTER       = "emf"
  }

  https_to_aws = {
    "HTTPS to AWS APIs" = { cidr_ipv4 = "0.0.0.0/0", from_port = 443, to_port = 443 }
  }

  # The image's entrypoint assembles DATABASE_URL from these parts and DB_USERNAME/DB_PASSWORD:
  # ECS can inject a secret only as a whole variable, and RDS rotates the master's. verify-full
  # checks the server's certificate against the RDS CA bundle baked into the image.
  database_environment = {
    DB_HOST        = module.database.address
    DB_PORT        = tostring(module.database.port)
    DB_NAME        = module.database.database_name
    DB_SSLMODE     = "verify-full"
    DB_SSLROOTCERT = "/etc/ssl/certs/rds-global-bundle.pem"
  }

  # Traces: every service task runs an ADOT collector beside it. The services send it their
  # spans over OTLP/HTTP on localhost (OTEL_TRACES_EXPORTER=otlp, set by the ecs-service module);
  # it batches them and sends them to X-Ray with the task role (iam module, send_traces).
  otel_collector = var.traces_to_xray ? {
    image        = var.otel_collector_image
    sample_ratio = var.trace_sample_ratio
    config = yamlencode({
      receivers = { otlp = { protocols = { http = { endpoint = "127.0.0.1:4318" } } } }
      processors = {
        # The task's cluster, family and revision on every span: X-Ray groups by them.
        resourcedetection = { detectors = ["env", "ecs"] }
        batch             = { timeout = "1s" }
      }
      exporters = { awsxray = { region = var.region } }
      service = {
        pipelines = {
          traces = { receivers = ["otlp"], processors = ["resourcedetection", "batch"], exporters = ["awsxray"] }
        }
      }
    })
  } : null

  # Fargate's stop timeout is 120 s at most; workers and the API finish what they hold within it.
  heartbeat_max_age_seconds = "60"
  api_health_check          = ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:6400/api/v1/health', timeout=3)"]
}

module "todo_api" {
  source = "../../modules/ecs-service"

  name             = "todo-api"
  name_prefix      = var.name
  region           = var.region
  cluster_arn      = module.cluster.arn
  cluster_name     = module.cluster.name
  image            = "${module.registry.repository_urls["todo-api"]}:${var.image_tag}"
  repository_arn   = module.registry.repository_arns["todo-api"]
  task_role_arn    = module.iam.task_role_arns["todo-api"]
  cpu_architecture = var.cpu_architecture
  cpu              = 512
  memory           = 1024

  # One task = the API plus its two loops, so the relay and the consumer scale with it and share
  # its database and role. The schema is the migration task's (below): run it before a release.
  containers = {
    api = {
      port         = 6400
      health_check = local.api_health_check
    }
    # The relay beats even while SNS is down (it keeps the rows and retries), so an outage of
    # the broker does not get healthy tasks replaced.
    relay = {
      command      = ["todo-api-relay"]
      health_check = ["taskoverflow-healthcheck", "--heartbeat-file", "/tmp/relay.heartbeat", "--max-age-seconds", local.heartbeat_max_age_seconds]
      environment  = { HEARTBEAT_FILE = "/tmp/relay.heartbeat" }
    }
    consumer = {
      command      = ["todo-api-consumer"]
      health_check = ["taskoverflow-healthcheck", "--heartbeat-file", "/tmp/consumer.heartbeat", "--max-age-seconds", local.heartbeat_max_age_seconds]
      environment  = { HEARTBEAT_FILE = "/tmp/consumer.heartbeat" }
    }
  }

  # The API verifies bearer tokens against the issuer (security.tf); without these three
  # settings Terraform refuses to deploy it.
  # TRUSTED_PROXY_COUNT: the ALB appends the client's address to X-Forwarded-For; the API's
  # per-client limits believe that one entry and nothing a client wrote before it.
  # RATE_LIMIT_*: set here rather than left to the code's defaults (dev.env turns them off).
  environment = merge(local.common_environment, local.database_environment, local.auth_settings, {
    PUBLIC_BASE_URL      = var.public_base_url
    TRUSTED_PROXY_COUNT  = "1"
    RATE_LIMIT_WRITES    = "120/minute"
    RATE_LIMIT_CALENDARS = "6/minute"
  })
  required_environment = keys(local.auth_settings)
  # The application's own role: data privileges only, never the master user.
  secrets = {
    DB_USERNAME = { arn = module.database.app_user_secret_arn, json_key = "username" }
    DB_PASSWORD = { arn = module.database.app_user_secret_arn, json_key = "password" }
  }

  vpc_id     = local.network.vpc_id
  subnet_ids = local.network.private_subnet_ids
  ingress = {
    "API from the load balancer" = { security_group_id = module.load_balancer.security_group_id, port = 6400 }
  }
  egress = merge(local.https_to_aws, {
    "PostgreSQL" = { security_group_id = module.database.security_group_id, from_port = 5432, to_port = 5432 }
  })
  load_balancer = {
    target_group_arn = module.load_balancer.target_group_arn
    container_name   = "api"
    container_port   = 6400
  }

  scaling            = var.todo_api_scaling
  cpu_target_percent = 60
  log_retention_days = var.log_retention_days
  otel_collector     = local.otel_collector
}

# The one-off database migration: the only task that gets the master credentials. Run it before
# a release (the `database_migration_command` output): it brings the schema up to date and
# creates or updates the application's role, its password and its grants (infra/terraform/README.md).
module "todo_api_migration" {
  source = "../../modules/ecs-service"

  name             = "todo-api-migration"
  name_prefix      = var.name
  region           = var.region
  cluster_arn      = module.cluster.arn
  cluster_name     = module.cluster.name
  image            = "${module.registry.repository_urls["todo-api"]}:${var.image_tag}"
  repository_arn   = module.registry.repository_arns["todo-api"]
  cpu_architecture = var.cpu_architecture

  containers = {
    migrate = {
      command = ["todo-api-migrate"]
    }
  }
  environment = merge(local.common_environment, local.database_environment)
  secrets = {
    DB_USERNAME     = { arn = module.database.master_user_secret_arn, json_key = "username" }
    DB_PASSWORD     = { arn = module.database.master_user_secret_arn, json_key = "password" }
    APP_DB_USERNAME = { arn = module.database.app_user_secret_arn, json_key = "username" }
    APP_DB_PASSWORD = { arn = module.database.app_user_secret_arn, json_key = "password" }
  }

  vpc_id     = local.network.vpc_id
  subnet_ids = local.network.private_subnet_ids
  egress = merge(local.https_to_aws, {
    "PostgreSQL" = { security_group_id = module.database.security_group_id, from_port = 5432, to_port = 5432 }
  })
  log_retention_days = var.log_retention_days
}

module "ical_worker" {
  source = "../../modules/ecs-service"

  name             = "ical-worker"
  name_prefix      = var.name
  region           = var.region
  cluster_arn      = module.cluster.arn
  cluster_name     = module.cluster.name
  image            = "${module.registry.repository_urls["ical-worker"]}:${var.image_tag}"
  repository_arn   = module.registry.repository_arns["ical-worker"]
  task_role_arn    = module.iam.task_role_arns["ical-worker"]
  cpu_architecture = var.cpu_architecture

  containers = {
    worker = {
      health_check = ["taskoverflow-healthcheck", "--heartbeat-file", "/tmp/ical-worker.heartbeat", "--max-age-seconds", local.heartbeat_max_age_seconds]
    }
  }
  environment = merge(local.common_environment, {
    HEARTBEAT_FILE = "/tmp/ical-worker.heartbeat"
  })

  vpc_id     = local.network.vpc_id
  subnet_ids = local.network.private_subnet_ids
  egress     = local.https_to_aws

  scaling = var.ical_worker_scaling
  queue_depth_scaling = {
    queue_name        = module.messaging.queues["ical-worker"].name
    scale_out_at      = 10
    scale_out_fast_at = 100
  }
  log_retention_days = var.log_retention_days
  otel_collector     = local.otel_collector
}

# The live calendar feeds: the ical-worker's image with another command, its own
# queue (TodoChanged) and task role (feeds/ only).
module "ical_feed_worker" {
  source = "../../modules/ecs-service"

  name             = "ical-feed-worker"
  name_prefix      = var.name
  region           = var.region
  cluster_arn      = module.cluster.arn
  cluster_name     = module.cluster.name
  image            = "${module.registry.repository_urls["ical-worker"]}:${var.image_tag}"
  repository_arn   = module.registry.repository_arns["ical-worker"]
  task_role_arn    = module.iam.task_role_arns["ical-feed-worker"]
  cpu_architecture = var.cpu_architecture

  containers = {
    worker = {
      command      = ["ical-feed-worker"]
      health_check = ["taskoverflow-healthcheck", "--heartbeat-file", "/tmp/ical-feed-worker.heartbeat", "--max-age-seconds", local.heartbeat_max_age_seconds]
    }
  }
  environment = merge(local.common_environment, {
    HEARTBEAT_FILE = "/tmp/ical-feed-worker.heartbeat"
  })

  vpc_id     = local.network.vpc_id
  subnet_ids = local.network.private_subnet_ids
  egress     = local.https_to_aws

  scaling = var.ical_feed_worker_scaling
  # The worker holds a batch of changes in flight until it writes the feeds, so only a backlog
  # well above one batch means it is falling behind.
  queue_depth_scaling = {
    queue_name        = module.messaging.queues["ical-feed-worker"].name
    scale_out_at      = 100
    scale_out_fast_at = 1000
  }
  log_retention_days = var.log_retention_days
  otel_collector     = local.otel_collector
}

module "notifier" {
  source = "../../modules/ecs-service"

  name             = "notifier"
  name_prefix      = var.name
  region           = var.region
  cluster_arn      = module.cluster.arn
  cluster_name     = module.cluster.name
  image            = "${module.registry.repository_urls["notifier"]}:${var.image_tag}"
  repository_arn   = module.registry.repository_arns["notifier"]
  task_role_arn    = module.iam.task_role_arns["notifier"]
  cpu_architecture = var.cpu_architecture

  containers = {
    worker = {
      health_check = ["taskoverflow-healthcheck", "--heartbeat-file", "/tmp/notifier.heartbeat", "--max-age-seconds", local.heartbeat_max_age_seconds]
    }
  }
  # Its delivery log (which webhook already got which event) lives on task-local storage: it
  # deduplicates redeliveries to this task, not across tasks or restarts.
  writable_paths = ["/tmp", "/var/lib/notifier"]
  environment = merge(local.common_environment, {
    NOTIFIER_DELIVERY_DB  = "/var/lib/notifier/deliveries.sqlite3"
    HEARTBEAT_FILE        = "/tmp/notifier.heartbeat"
    PUBLIC_BASE_URL       = var.public_base_url
    NOTIFIER_WEBHOOK_URLS = var.notifier_webhook_urls
    NOTIFIER_EMAIL_FROM   = var.notifier_email_from
    NOTIFIER_EMAIL_TO     = var.notifier_email_to
    # Webhook targets inside the VPC (the database, the metadata endpoint) are refused.
    NOTIFIER_ALLOW_PRIVATE_TARGETS = "false"
  })
  secrets = merge(
    var.notifier_webhook_secret_arn == null ? {} : { NOTIFIER_WEBHOOK_SECRET = { arn = var.notifier_webhook_secret_arn } },
    var.notifier_smtp_url_secret_arn == null ? {} : { NOTIFIER_SMTP_URL = { arn = var.notifier_smtp_url_secret_arn } },
  )

  vpc_id     = local.network.vpc_id
  subnet_ids = local.network.private_subnet_ids
  egress = merge(local.https_to_aws, {
    "Webhooks over HTTP"     = { cidr_ipv4 = "0.0.0.0/0", from_port = 80, to_port = 80 }
    "SMTP submission"        = { cidr_ipv4 = "0.0.0.0/0", from_port = 587, to_port = 587 }
    "SMTP over implicit TLS" = { cidr_ipv4 = "0.0.0.0/0", from_port = 465, to_port = 465 }
  })

  scaling = var.notifier_scaling
  queue_depth_scaling = {
    queue_name        = module.messaging.queues["notifier"].name
    scale_out_at      = 50
    scale_out_fast_at = 500
  }
  log_retention_days = var.log_retention_days
  otel_collector     = local.otel_collector
}

module "event_archiver" {
  source = "../../modules/ecs-service"

  name             = "event-archiver"
  name_prefix      = var.name
  region           = var.region
  cluster_arn      = module.cluster.arn
  cluster_name     = module.cluster.name
  image            = "${module.registry.repository_urls["event-archiver"]}:${var.image_tag}"
  repository_arn   = module.registry.repository_arns["event-archiver"]
  task_role_arn    = module.iam.task_role_arns["event-archiver"]
  cpu_architecture = var.cpu_architecture

  containers = {
    worker = {
      health_check = ["taskoverflow-healthcheck", "--heartbeat-file", "/tmp/event-archiver.heartbeat", "--max-age-seconds", local.heartbeat_max_age_seconds]
    }
  }
  # The flush settings are passed only when set, so the service's own defaults apply otherwise.
  environment = merge(
    local.common_environment,
    { HEARTBEAT_FILE = "/tmp/event-archiver.heartbeat" },
    var.event_archiver_flush_seconds == null ? {} : { EVENT_ARCHIVER_FLUSH_SECONDS = tostring(var.event_archiver_flush_seconds) },
    var.event_archiver_flush_events == null ? {} : { EVENT_ARCHIVER_FLUSH_EVENTS = tostring(var.event_archiver_flush_events) },
  )

  vpc_id     = local.network.vpc_id
  subnet_ids = local.network.private_subnet_ids
  # S3 and SQS only, both over HTTPS.
  egress = local.https_to_aws

  scaling = var.event_archiver_scaling
  # Every event lands in this queue, and the archiver holds a batch in flight (invisible) until
  # it flushes, so only a backlog well above one batch means it is falling behind.
  queue_depth_scaling = {
    queue_name        = module.messaging.queues["event-archiver"].name
    scale_out_at      = 100
    scale_out_fast_at = 1000
  }
  log_retention_days = var.log_retention_days
  otel_collector     = local.otel_collector
}
