variable "name" {
  description = "Name of the load balancer and its target group (at most 32 characters)."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the load balancer and its targets."
  type        = string
}

variable "vpc_cidr_block" {
  description = "Address range the targets live in; the load balancer may only send traffic there."
  type        = string
}

variable "subnet_ids" {
  description = "Public subnets, in at least two zones."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate for the HTTPS listener (the API's public host name). Plain HTTP only redirects to HTTPS."
  type        = string
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener: TLS 1.2 and 1.3 only."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "target_port" {
  description = "Port the API containers listen on."
  type        = number
  default     = 6400
}

variable "health_check_path" {
  description = "Path the load balancer probes on each target; only healthy targets receive requests."
  type        = string
  default     = "/api/v1/health"
}

variable "deregistration_delay_seconds" {
  description = "How long a draining target keeps its in-flight requests; below the tasks' stop timeout so the API finishes them before SIGKILL."
  type        = number
  default     = 30
}

variable "deletion_protection" {
  description = "Refuse to delete the load balancer; set false (and apply) before `terraform destroy`."
  type        = bool
  default     = true
}

variable "requests_per_five_minutes" {
  description = "Requests one client address may make in any five minutes before the WAF answers 429 (at least 10)."
  type        = number
  default     = 2000

  validation {
    condition     = var.requests_per_five_minutes >= 10
    error_message = "WAF rate limits start at 10 requests."
  }
}

variable "calendar_requests_per_five_minutes" {
  description = "Calendar requests (POST calendar_request_path) one client address may make in any five minutes before the WAF answers 429 (at least 10)."
  type        = number
  default     = 30

  validation {
    condition     = var.calendar_requests_per_five_minutes >= 10
    error_message = "WAF rate limits start at 10 requests."
  }
}

variable "calendar_request_path" {
  description = "Path of the calendar request endpoint (lower case), the expensive one."
  type        = string
  default     = "/api/v1/todos/ical"
}

variable "waf_log_retention_days" {
  description = "Retention of the WAF's request logs (blocked and sampled requests)."
  type        = number
  default     = 30
}
