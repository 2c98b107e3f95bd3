variable "bucket_name" {
  description = "Name of the calendars bucket (topology.json: bucket.name)."
  type        = string
}

variable "calendar_prefix" {
  description = "Key prefix of rendered calendars, written by ical-worker and served by todo-api (topology.json)."
  type        = string
}

variable "snapshot_prefix" {
  description = "Key prefix of todo snapshots, the claim checks todo-api hands to ical-worker (topology.json)."
  type        = string
}

variable "calendar_retention_days" {
  description = "Days a rendered calendar stays downloadable; a client that polls later gets 404 and asks again."
  type        = number
  default     = 30
}

variable "snapshot_retention_days" {
  description = "Days a snapshot is kept. It is only read while its job runs, so a short retention suffices; keep it above the queue retention (14 days) plus DLQ redrive time if failed jobs are to be replayed."
  type        = number
  default     = 15
}

variable "noncurrent_version_retention_days" {
  description = "Days an overwritten or deleted object version is kept, as a safety net against a buggy writer."
  type        = number
  default     = 7
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete a bucket that still holds objects. Leave false in production."
  type        = bool
  default     = false
}
