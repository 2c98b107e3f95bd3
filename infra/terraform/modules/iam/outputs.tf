output "task_role_arns" {
  description = "Per service: the IAM role its containers run as."
  value       = { for service, role in aws_iam_role.task : service => role.arn }
}
