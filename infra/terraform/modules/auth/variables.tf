variable "name" {
  description = "Name of the user pool and prefix of its app client."
  type        = string
}

variable "domain_prefix" {
  description = "Prefix of the hosted sign-in pages' domain, <prefix>.auth.<region>.amazoncognito.com; unique in the region."
  type        = string
}

variable "callback_urls" {
  description = "Where the hosted pages may send a user back with an authorization code: the web page's URL(s), HTTPS."
  type        = list(string)
}

variable "logout_urls" {
  description = "Where the hosted pages may send a user after signing out."
  type        = list(string)
}

variable "self_sign_up" {
  description = "Let anyone create an account on the hosted pages; false means administrators create users."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Refuse to delete the user pool; set false (and apply) before `terraform destroy`."
  type        = bool
  default     = true
}
