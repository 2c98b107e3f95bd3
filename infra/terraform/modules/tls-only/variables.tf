variable "actions" {
  description = "The actions refused without TLS, e.g. [\"sqs:*\"]."
  type        = list(string)
}

variable "resources" {
  description = "The ARNs the statement covers (a bucket needs both the bucket and its objects)."
  type        = list(string)
}
