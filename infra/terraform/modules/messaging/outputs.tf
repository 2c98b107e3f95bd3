output "topic_arn" {
  description = "ARN of the events topic; services receive it as TASKOVERFLOW_TOPIC_ARN so they skip an STS lookup."
  value       = aws_sns_topic.events.arn
}

output "topic_name" {
  description = "Name of the events topic."
  value       = aws_sns_topic.events.name
}

output "queues" {
  description = "Per consuming service: its queue and dead-letter queue (name, ARN, URL of each)."
  value = {
    for service, queue in aws_sqs_queue.service : service => {
      name                   = queue.name
      arn                    = queue.arn
      url                    = queue.url
      dead_letter_queue_name = aws_sqs_queue.dead_letter[service].name
      dead_letter_queue_arn  = aws_sqs_queue.dead_letter[service].arn
      dead_letter_queue_url  = aws_sqs_queue.dead_letter[service].url
    }
  }
}
