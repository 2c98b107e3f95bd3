output "dashboard_name" {
  description = "The CloudWatch dashboard of queues, DLQs, outbox lag, calendar jobs and the API."
  value       = aws_cloudwatch_dashboard.operations.dashboard_name
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies (in ALARM and back to OK); subscribe more endpoints here."
  value       = aws_sns_topic.alarms.arn
}
