variable "name" {
  description = "Identifier of the DB instance and prefix of its companions."
  type        = string
}

variable "vpc_id" {
  description = "VPC to place the database in."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets, in at least two zones, for the DB subnet group."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups allowed to connect on the PostgreSQL port, keyed by a stable name (the keys must be known at plan time)."
  type        = map(string)
}

variable "database_name" {
  description = "Name of the database created in the instance."
  type        = string
  default     = "taskoverflow"
}

variable "master_username" {
  description = "Master user name. Its password is generated and rotated by RDS in Secrets Manager; it never appears in Terraform variables or state."
  type        = string
  default     = "taskoverflow"
}

variable "engine_version" {
  description = "PostgreSQL major (or major.minor) version; minor upgrades are applied automatically in the maintenance window."
  type        = string
  default     = "15"
}

variable "instance_class" {
  description = "Instance size."
  type        = string
  default     = "db.t4g.small"
}

variable "allocated_storage_gb" {
  description = "Initial storage."
  type        = number
  default     = 20
}

variable "max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling."
  type        = number
  default     = 100
}

variable "multi_az" {
  description = "Keep a synchronous standby in another zone for automatic failover."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window)."
  type        = number
  default     = 7
}

variable "deletion_protection" {
  description = "Refuse to delete the instance; set false (and apply) before `terraform destroy`."
  type        = bool
  default     = true
}

variable "slow_query_log_ms" {
  description = "Statements slower than this are logged (log_min_duration_statement)."
  type        = number
  default     = 500
}

variable "app_username" {
  description = "PostgreSQL role the application connects as. The migration task creates it (with the master user) with data privileges only: no DDL, not the owner of anything."
  type        = string
  default     = "taskoverflow_app"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.app_username))
    error_message = "app_username must be a plain lower-case PostgreSQL identifier."
  }
}

variable "app_user_credentials_version" {
  description = "Bump to draw a new password for app_username; then run the migration task (it sets the role's password from the secret) and redeploy the services."
  type        = number
  default     = 1
}
