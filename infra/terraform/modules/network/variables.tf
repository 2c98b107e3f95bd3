variable "name" {
  description = "Prefix for resource names."
  type        = string
}

variable "region" {
  description = "AWS region, used to name the S3 gateway endpoint's service."
  type        = string
}

variable "cidr_block" {
  description = "Address range of the VPC; split into one public and one private /20 subnet per availability zone."
  type        = string
  default     = "10.40.0.0/16"
}

variable "availability_zones" {
  description = "Availability zones to spread subnets over (at least two: the ALB and RDS subnet group require it)."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2
    error_message = "Give at least two availability zones."
  }
}

variable "nat_gateway_per_zone" {
  description = "One NAT gateway per zone survives a zone outage; a single one costs a third as much. Tasks in private subnets reach ECR, SNS, SQS, Secrets Manager and webhooks through it."
  type        = bool
  default     = false
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow logs."
  type        = number
  default     = 90
}
