output "api_url" {
  description = "Where clients reach the API (var.public_base_url); point its DNS name at load_balancer_dns_name."
  value       = var.public_base_url
}

output "load_balancer_dns_name" {
  description = "DNS name of the load balancer: the CNAME (or Route 53 alias) target of the API's host name."
  value       = module.load_balancer.dns_name
}

output "load_balancer_zone_id" {
  description = "Hosted zone of the load balancer, for a Route 53 alias record."
  value       = module.load_balancer.zone_id
}

output "ecr_repository_urls" {
  description = "Per service: where to push its image (docker push <url>:<image_tag>)."
  value       = module.registry.repository_urls
}

output "ecs_cluster_name" {
  description = "ECS cluster of the services (aws ecs update-service --cluster <name> ...)."
  value       = module.cluster.name
}

output "ecs_services" {
  description = "Per service: its ECS service name and CloudWatch log group (aws logs tail <group> --follow)."
  value = {
    for service in [module.todo_api, module.ical_worker, module.ical_feed_worker, module.notifier, module.event_archiver] : service.service_name => {
      log_group = service.log_group_name
    }
  }
}

output "topic_arn" {
  description = "The events topic; the replay scripts publish here."
  value       = module.messaging.topic_arn
}

output "queues" {
  description = "Per consumer: its queue and dead-letter queue URLs, for the replay and DLQ-redrive scripts."
  value       = module.messaging.queues
}

output "calendars_bucket" {
  description = "Bucket holding snapshots/, calendars/ and the event archive (event-archive/)."
  value       = module.storage.bucket_name
}

output "database_endpoint" {
  description = "host:port of PostgreSQL (private; reachable from the tasks only)."
  value       = "${module.database.address}:${module.database.port}"
}

output "database_secret_arn" {
  description = "Secrets Manager secret with the master credentials, rotated by RDS (aws secretsmanager get-secret-value --secret-id <arn>)."
  value       = module.database.master_user_secret_arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard of queues, DLQs, outbox lag, calendar jobs and the API (CloudWatch console > Dashboards)."
  value       = module.monitoring.dashboard_name
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms notify; subscribe a pager or chat integration here besides alarm_email."
  value       = module.monitoring.alarm_topic_arn
}

output "database_app_secret_arn" {
  description = "Secrets Manager secret with the application role's credentials (the services connect with it; the migration sets the role's password from it)."
  value       = module.database.app_user_secret_arn
}

output "database_migration_command" {
  description = "Runs the one-off migration task (schema, application role and grants) with the image of this apply; wait for it to exit 0 before the services roll out."
  value = join(" ", [
    "aws ecs run-task --region ${var.region} --cluster ${module.cluster.name}",
    "--task-definition ${module.todo_api_migration.task_definition_family} --launch-type FARGATE",
    "--network-configuration 'awsvpcConfiguration={subnets=[${join(",", local.network.private_subnet_ids)}],securityGroups=[${module.todo_api_migration.security_group_id}],assignPublicIp=DISABLED}'",
  ])
}

output "auth" {
  description = "What the API verifies tokens against (issuer, JWKS URL, audience), and with Cognito the hosted sign-in pages and the user pool id (null fields with an external issuer)."
  value = {
    issuer        = local.auth_settings.AUTH_ISSUER
    jwks_url      = local.auth_settings.AUTH_JWKS_URL
    audience      = local.auth_settings.AUTH_AUDIENCE
    hosted_ui_url = one(module.auth[*].hosted_ui_url)
    user_pool_id  = one(module.auth[*].user_pool_id)
  }
}

output "web_acl_arn" {
  description = "The WAF web ACL on the load balancer (rate limits per client address)."
  value       = module.load_balancer.web_acl_arn
}

# tests/containers runs each image the way these say (command, user, read-only root, writable
# paths, environment, health check, stop timeout); the plan knows all but the resource ids.
output "task_containers" {
  description = "Each service's container definitions, by service name."
  value = {
    "todo-api"           = module.todo_api.container_definitions
    "todo-api-migration" = module.todo_api_migration.container_definitions
    "ical-worker"        = module.ical_worker.container_definitions
    "ical-feed-worker"   = module.ical_feed_worker.container_definitions
    "notifier"           = module.notifier.container_definitions
    "event-archiver"     = module.event_archiver.container_definitions
  }
}
