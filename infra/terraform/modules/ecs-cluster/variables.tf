variable "name" {
  description = "Name of the ECS cluster."
  type        = string
}
