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

variable "event_archive_prefix" {
  description = "Key prefix of the event archive, written by event-archiver and read by the replay CLI (topology.json). Never expired."
  type        = string
}

variable "event_archive_transition_after_days" {
  description = "Days after which archive objects move to event_archive_storage_class. Replays mostly reach back days, not months, so the default of 30 keeps recent ones in Standard, where reads cost no retrieval fee."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.event_archive_transition_after_days >= 30
    error_message = "event_archive_transition_after_days must be at least 30: S3 refuses STANDARD_IA earlier, and earlier moves make recent replays pay retrieval fees."
  }
}

variable "event_archive_storage_class" {
  description = <<-EOT
    Storage class old archive objects move to. Only classes that serve GetObject immediately are
    allowed, because the replay CLI reads the archive directly: GLACIER_IR (default: cheapest,
    retrieval is paid per GB, 90-day minimum, irrelevant for data kept for good), STANDARD_IA or
    INTELLIGENT_TIERING. GLACIER and DEEP_ARCHIVE would need a restore before every replay.
  EOT
  type        = string
  default     = "GLACIER_IR"

  validation {
    condition     = contains(["GLACIER_IR", "STANDARD_IA", "INTELLIGENT_TIERING"], var.event_archive_storage_class)
    error_message = "event_archive_storage_class must be GLACIER_IR, STANDARD_IA or INTELLIGENT_TIERING: the replay CLI cannot read archived objects that need a restore."
  }
}

variable "calendar_retention_days" {
  description = "Days a rendered calendar stays downloadable; a client that polls later gets 404 and asks again."
  type        = number
  default     = 30
}

variable "snapshot_retention_days" {
  description = "Days a snapshot is kept (topology.json, where `taskoverflow replay` reads it too). It is only read while its job runs; keep it above the queue retention (14 days) plus DLQ redrive time if failed jobs are to be replayed."
  type        = number
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
