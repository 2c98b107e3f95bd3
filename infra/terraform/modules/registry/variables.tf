variable "repository_names" {
  description = "One ECR repository per service image (todo-api, ical-worker, notifier)."
  type        = set(string)
}

variable "name_prefix" {
  description = "Namespace for the repositories: images become <prefix>/<service>."
  type        = string
}

variable "images_to_keep" {
  description = "How many images each repository keeps; older ones are expired so storage does not grow forever. Keep enough to roll back."
  type        = number
  default     = 30
}

variable "force_delete" {
  description = "Let `terraform destroy` delete repositories that still hold images."
  type        = bool
  default     = false
}
