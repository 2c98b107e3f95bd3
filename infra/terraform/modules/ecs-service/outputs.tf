output "service_name" {
  description = "Name of the ECS service (null for a one-off task)."
  value       = one(aws_ecs_service.service[*].name)
}

output "security_group_id" {
  description = "Security group of the service's tasks, for peers to allow."
  value       = aws_security_group.service.id
}

output "log_group_name" {
  description = "CloudWatch log group of the service (aws logs tail <name> --follow)."
  value       = aws_cloudwatch_log_group.service.name
}

output "task_definition_arn" {
  description = "Task definition revision the service runs."
  value       = aws_ecs_task_definition.service.arn
}

output "task_definition_family" {
  description = "Family of the task definition: what `aws ecs run-task --task-definition` takes to run its latest revision."
  value       = aws_ecs_task_definition.service.family
}

output "container_definitions" {
  description = "The containers of the task that run the service image, as ECS receives them (before JSON encoding, so a plan shows every setting it already knows); the tracing sidecar is not among them."
  value       = local.container_definitions
}
