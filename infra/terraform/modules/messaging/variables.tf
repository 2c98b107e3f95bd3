variable "topic_name" {
  description = "Name of the SNS topic every service publishes its events to (topology.json: topic.name); with delivery = fifo the topic is this name plus \".fifo\"."
  type        = string
}

variable "message_type_attribute" {
  description = "Message attribute that carries the event type; subscription filter policies match on it (topology.json: message_type_attribute)."
  type        = string
}

variable "queues" {
  description = <<-EOT
    One entry per consuming service, keyed by service name (topology.json: queues). With
    delivery = fifo, name and dlq_name get the suffix ".fifo".
    event_types = null subscribes the queue to every event (no filter policy), e.g. the archive.
  EOT
  type = map(object({
    name                       = string
    dlq_name                   = string
    event_types                = list(string)
    visibility_timeout_seconds = number
    max_receive_count          = number
    raw_message_delivery       = bool
  }))
}

variable "message_retention_seconds" {
  description = "How long an unconsumed message stays in a service queue (topology.json)."
  type        = number
}

variable "receive_wait_time_seconds" {
  description = "Long-polling wait for ReceiveMessage; 20 (the maximum) keeps idle workers from paying for empty receives (topology.json)."
  type        = number
}

variable "dead_letter_retention_seconds" {
  description = "Retention of dead-lettered messages. SQS keeps a message's original enqueue time when it moves to a DLQ, so this should be the maximum to leave time for a redrive."
  type        = number
  default     = 1209600
}

variable "topic_kms_key_id" {
  description = "KMS key for SNS server-side encryption. The AWS-managed key needs no key policy and still lets SNS deliver to the SSE-SQS queues."
  type        = string
  default     = "alias/aws/sns"
}

variable "restrict_dead_letter_sources" {
  description = "Allow only each service's own queue to use its DLQ (RedriveAllowPolicy). Always true on AWS; false only for emulators that do not implement the attribute (moto), where Terraform would wait for it forever."
  type        = bool
  default     = true
}

variable "delivery" {
  description = <<-EOT
    standard (default) or fifo. fifo builds a FIFO topic and FIFO queues and DLQs, each named as
    in topology.json plus ".fifo", with content-based deduplication: events of one message group
    (one todo) arrive in order, at the cost of FIFO throughput limits. The services must run with
    the same TASKOVERFLOW_DELIVERY. Switching replaces the topic and every queue (names change):
    drain the queues first.
  EOT
  type        = string
  default     = "standard"

  validation {
    condition     = contains(["standard", "fifo"], var.delivery)
    error_message = "delivery must be \"standard\" or \"fifo\"."
  }
}

variable "publisher_role_arns" {
  description = "IAM roles that may publish to the topic: the task roles of the services topology.json names as producers. Every other principal is denied sns:Publish by the topic policy."
  type        = list(string)

  validation {
    condition     = length(var.publisher_role_arns) > 0
    error_message = "At least one producer role must be allowed to publish."
  }
}

variable "consumer_role_arns" {
  description = "Per consuming service (the keys of queues): its task role, the only principal its dead-letter queue accepts SendMessage from (the consumer dead-letters unprocessable messages itself)."
  type        = map(string)
}

variable "operator_role_arns" {
  description = "IAM roles (ARN patterns allowed) of operators running `taskoverflow dlq redrive` and `taskoverflow replay`: exempt from the deny on sending to the service queues and on publishing to the topic. Empty: no one but the topic and the producers."
  type        = list(string)
  default     = []
}
