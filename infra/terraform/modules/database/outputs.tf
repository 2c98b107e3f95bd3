output "address" {
  description = "Host name of the database endpoint."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port of the database endpoint."
  value       = aws_db_instance.this.port
}

output "database_name" {
  description = "Name of the application database."
  value       = aws_db_instance.this.db_name
}

output "master_user_secret_arn" {
  description = "Secrets Manager secret (JSON with username and password) that RDS manages and rotates."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "security_group_id" {
  description = "Security group of the database; clients need egress to it on 5432."
  value       = aws_security_group.database.id
}

output "app_user_secret_arn" {
  description = "Secrets Manager secret (JSON with username and password) of the application's own role; the services connect with it."
  value       = aws_secretsmanager_secret_version.app_user.arn
}
