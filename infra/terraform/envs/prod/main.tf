# TaskOverflow events on AWS: the shared platform (network, event bus, storage, registry,
# database, roles, cluster, load balancer). The four services are wired up in services.tf.

locals {
  # The single declaration of topic, queues, filters and bucket, shared with the services and
  # the local bootstrap. Edit names there, never here.
  topology = jsondecode(file("${path.module}/../../../../shared/src/taskoverflow_shared/topology.json"))
  # The metrics TaskOverflow emits itself (namespace, names, dimensions), declared once beside it.
  custom_metrics = jsondecode(file("${path.module}/../../../../shared/src/taskoverflow_shared/custom_metrics.json"))

  availability_zones = coalesce(var.availability_zones, ["${var.region}a", "${var.region}b"])

  network = var.existing_network != null ? var.existing_network : {
    vpc_id             = module.network[0].vpc_id
    vpc_cidr_block     = module.network[0].vpc_cidr_block
    public_subnet_ids  = module.network[0].public_subnet_ids
    private_subnet_ids = module.network[0].private_subnet_ids
  }

  # Service images; each is an ECR repository and an ECS service.
  images = toset(["todo-api", "ical-worker", "notifier", "event-archiver"])

  # The services topology.json names as producers of some event type: only their roles publish.
  producing_services = [for service, event_types in local.topology.publishers : service if length(event_types) > 0]
}

module "network" {
  source = "../../modules/network"
  count  = var.existing_network == null ? 1 : 0

  name                 = var.name
  region               = var.region
  availability_zones   = local.availability_zones
  nat_gateway_per_zone = var.nat_gateway_per_zone
}

module "messaging" {
  source = "../../modules/messaging"

  topic_name                = local.topology.topic.name
  message_type_attribute    = local.topology.message_type_attribute
  message_retention_seconds = local.topology.message_retention_seconds
  receive_wait_time_seconds = local.topology.receive_wait_time_seconds
  queues                    = local.topology.queues
  delivery                  = var.delivery

  # Who may write events: the producers' roles publish, each consumer dead-letters into its own
  # DLQ, operators redrive and replay. The policies deny everyone else.
  publisher_role_arns = [for service in local.producing_services : module.iam.task_role_arns[service]]
  consumer_role_arns  = { for service in keys(local.topology.queues) : service => module.iam.task_role_arns[service] }
  operator_role_arns  = var.operator_role_arns
}

module "storage" {
  source = "../../modules/storage"

  bucket_name     = local.topology.bucket.name
  calendar_prefix = local.topology.bucket.calendar_prefix
  snapshot_prefix = local.topology.bucket.snapshot_prefix
  force_destroy   = !var.deletion_protection

  snapshot_retention_days = local.topology.bucket.snapshot_retention_days

  event_archive_prefix                = local.topology.bucket.event_archive_prefix
  event_archive_transition_after_days = var.event_archive_transition_after_days
  event_archive_storage_class         = var.event_archive_storage_class
}

module "registry" {
  source = "../../modules/registry"

  name_prefix      = var.name
  repository_names = local.images
  force_delete     = !var.deletion_protection
}

module "database" {
  source = "../../modules/database"

  name                      = var.name
  vpc_id                    = local.network.vpc_id
  subnet_ids                = local.network.private_subnet_ids
  client_security_group_ids = { todo-api = module.todo_api.security_group_id, todo-api-migration = module.todo_api_migration.security_group_id }
  instance_class            = var.database_instance_class
  multi_az                  = var.database_multi_az
  deletion_protection       = var.deletion_protection

  app_user_credentials_version = var.database_app_credentials_version
}

module "iam" {
  source = "../../modules/iam"

  name_prefix = var.name
  topic_arn   = module.messaging.topic_arn
  bucket_arn  = module.storage.bucket_arn
  send_traces = var.traces_to_xray
  services = {
    # Serves finished calendars and the live feeds, writes the todo snapshot a calendar is rendered from.
    todo-api = {
      queue_arn             = module.messaging.queues["todo-api"].arn
      dead_letter_queue_arn = module.messaging.queues["todo-api"].dead_letter_queue_arn
      publishes_events      = contains(local.producing_services, "todo-api")
      reads_prefixes        = [local.topology.bucket.calendar_prefix, local.topology.bucket.feed_prefix]
      writes_prefixes       = [local.topology.bucket.snapshot_prefix]
    }
    # Reads the snapshot, writes the calendar, announces CalendarReady or CalendarFailed.
    ical-worker = {
      queue_arn             = module.messaging.queues["ical-worker"].arn
      dead_letter_queue_arn = module.messaging.queues["ical-worker"].dead_letter_queue_arn
      publishes_events      = contains(local.producing_services, "ical-worker")
      reads_prefixes        = [local.topology.bucket.snapshot_prefix]
      writes_prefixes       = [local.topology.bucket.calendar_prefix]
    }
    # Keeps each owner's live feed and its state under feeds/ (reads the state back before each
    # conditional write); touches nothing else in the bucket, and publishes nothing.
    ical-feed-worker = {
      queue_arn             = module.messaging.queues["ical-feed-worker"].arn
      dead_letter_queue_arn = module.messaging.queues["ical-feed-worker"].dead_letter_queue_arn
      publishes_events      = contains(local.producing_services, "ical-feed-worker")
      reads_prefixes        = [local.topology.bucket.feed_prefix]
      writes_prefixes       = [local.topology.bucket.feed_prefix]
    }
    # Only talks to the outside world (webhooks, e-mail): no bucket, no publishing.
    notifier = {
      queue_arn             = module.messaging.queues["notifier"].arn
      dead_letter_queue_arn = module.messaging.queues["notifier"].dead_letter_queue_arn
      publishes_events      = contains(local.producing_services, "notifier")
      reads_prefixes        = []
      writes_prefixes       = []
    }
    # Appends every event to event-archive/ and nothing else. Reading the archive back (replay)
    # is the operator CLI's job, run with a person's credentials, so no task role may read it.
    event-archiver = {
      queue_arn             = module.messaging.queues["event-archiver"].arn
      dead_letter_queue_arn = module.messaging.queues["event-archiver"].dead_letter_queue_arn
      publishes_events      = contains(local.producing_services, "event-archiver")
      reads_prefixes        = []
      writes_prefixes       = [local.topology.bucket.event_archive_prefix]
    }
  }
}

module "cluster" {
  source = "../../modules/ecs-cluster"

  name = var.name
}

module "load_balancer" {
  source = "../../modules/load-balancer"

  name                = "${var.name}-api"
  vpc_id              = local.network.vpc_id
  vpc_cidr_block      = local.network.vpc_cidr_block
  subnet_ids          = local.network.public_subnet_ids
  certificate_arn     = var.certificate_arn
  deletion_protection = var.deletion_protection

  requests_per_five_minutes          = var.waf_rate_limits.requests_per_five_minutes
  calendar_requests_per_five_minutes = var.waf_rate_limits.calendar_requests_per_five_minutes
}

module "monitoring" {
  source = "../../modules/monitoring"

  name   = var.name
  region = var.region
  # The account, read from an ARN the stack builds: no STS call, so the offline plan still runs.
  account_id = split(":", module.messaging.topic_arn)[4]
  queues = {
    for service, queue in module.messaging.queues : service => {
      name                   = queue.name
      dead_letter_queue_name = queue.dead_letter_queue_name
    }
  }
  load_balancer_arn_suffix = module.load_balancer.arn_suffix
  custom_metrics           = local.custom_metrics

  alarm_email                      = var.alarm_email
  oldest_message_age_alarm_seconds = var.oldest_message_age_alarm_seconds
  outbox_lag_alarm_seconds         = var.outbox_lag_alarm_seconds
}
