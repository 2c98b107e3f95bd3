variable "name" {
  description = "Prefix of the dashboard, the alarms, the alarm topic and its key."
  type        = string
}

variable "region" {
  description = "Region of the metrics the dashboard shows."
  type        = string
}

variable "account_id" {
  description = "Account the stack runs in: the alarm topic's key lets this account administer it and CloudWatch alarms of this account use it."
  type        = string
}

variable "queues" {
  description = "Per consuming service: its queue and dead-letter queue names as built (the messaging module's output, .fifo suffix included)."
  type = map(object({
    name                   = string
    dead_letter_queue_name = string
  }))
}

variable "load_balancer_arn_suffix" {
  description = "The API load balancer's ARN suffix (app/<name>/<id>), the LoadBalancer dimension of its AWS/ApplicationELB metrics."
  type        = string
}

variable "custom_metrics" {
  description = "shared/src/taskoverflow_shared/custom_metrics.json, decoded: the namespace and names of the metrics the services emit themselves."
  type = object({
    namespace = string
    metrics = map(object({
      name           = string
      kind           = string
      unit           = string
      statistic      = string
      dimensions     = map(list(string))
      dimension_sets = optional(list(list(string)))
      buckets        = optional(list(number))
      meaning        = string
    }))
  })
}

variable "alarm_email" {
  description = "Address subscribed to the alarm topic (AWS mails it a confirmation link first); null subscribes nobody, e.g. when a chat or paging integration subscribes instead."
  type        = string
  default     = null
}

variable "oldest_message_age_alarm_seconds" {
  description = "Alarm when a service queue's oldest message is older than this for two minutes. Above visibility timeout x maxReceiveCount (5 min with topology.json), so a message failing its way to the DLQ raises the DLQ alarm rather than this one."
  type        = number
  default     = 600
}

variable "outbox_lag_alarm_seconds" {
  description = "Alarm when the oldest unpublished outbox row is older than this for two minutes (events are not leaving the todo-api)."
  type        = number
  default     = 120
}
