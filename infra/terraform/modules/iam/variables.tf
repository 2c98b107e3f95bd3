variable "name_prefix" {
  description = "Prefix of the role names."
  type        = string
}

variable "topic_arn" {
  description = "The events topic, the only one a service may publish to."
  type        = string
}

variable "bucket_arn" {
  description = "The calendars bucket."
  type        = string
}

variable "services" {
  description = <<-EOT
    What each service's code may do, keyed by service name:
    - queue_arn / dead_letter_queue_arn: its own queue (receive, delete, extend visibility) and
      its own DLQ (send, to dead-letter a message it can never process);
    - publishes_events: whether it may publish to the topic;
    - reads_prefixes / writes_prefixes: S3 key prefixes it may get / put.
  EOT
  type = map(object({
    queue_arn             = string
    dead_letter_queue_arn = string
    publishes_events      = bool
    reads_prefixes        = list(string)
    writes_prefixes       = list(string)
  }))
}

variable "send_traces" {
  description = "Whether the task roles may send trace segments to X-Ray (the ADOT collector sidecar of each task does)."
  type        = bool
  default     = false
}
