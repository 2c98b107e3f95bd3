# PostgreSQL for todo-api (todos and the transactional outbox). Private, encrypted, backed up,
# with the master password owned by RDS in Secrets Manager.

resource "aws_db_subnet_group" "this" {
  name_prefix = "${var.name}-"
  subnet_ids  = var.subnet_ids
}

resource "aws_security_group" "database" {
  name_prefix = "${var.name}-db-"
  description = "PostgreSQL, reachable only from the application tasks"
  vpc_id      = var.vpc_id

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "from_clients" {
  for_each = var.client_security_group_ids

  security_group_id            = aws_security_group.database.id
  description                  = "PostgreSQL from ${each.key}"
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_db_parameter_group" "this" {
  name_prefix = "${var.name}-"
  family      = "postgres${split(".", var.engine_version)[0]}"

  # Refuse clients that do not use TLS.
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = tostring(var.slow_query_log_ms)
  }

  # DDL only: enough to audit migrations without logging every todo.
  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  lifecycle {
    create_before_destroy = true
  }
}

data "aws_iam_policy_document" "monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  name_prefix        = "${var.name}-rds-monitoring-"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume.json
}

data "aws_partition" "current" {}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "this" {
  #checkov:skip=CKV_AWS_354:Performance Insights data is encrypted with the AWS-managed RDS key; a customer-managed key adds a key policy and no protection this threat model needs.
  identifier     = var.name
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class

  db_name  = var.database_name
  username = var.master_username
  # RDS generates the password, stores it in Secrets Manager and rotates it: nothing secret goes
  # through Terraform variables or state. Tasks read it through ECS secrets.
  manage_master_user_password = true

  allocated_storage     = var.allocated_storage_gb
  max_allocated_storage = var.max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.database.id]
  publicly_accessible    = false
  multi_az               = var.multi_az
  parameter_group_name   = aws_db_parameter_group.this.name

  backup_retention_period    = var.backup_retention_days
  copy_tags_to_snapshot      = true
  deletion_protection        = var.deletion_protection
  skip_final_snapshot        = false
  final_snapshot_identifier  = "${var.name}-final"
  auto_minor_version_upgrade = true

  iam_database_authentication_enabled   = true
  performance_insights_enabled          = true
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.monitoring.arn
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]
  performance_insights_retention_period = 7
}

# The application's own database role. The master user (above) owns the schema and is handed
# only to the one-off migration task; the API, relay and consumer connect as this role, which
# the migration creates with data privileges only (see infra/terraform/README.md).
resource "aws_secretsmanager_secret" "app_user" {
  #checkov:skip=CKV_AWS_149:Encrypted with the AWS-managed Secrets Manager key; a customer-managed key adds a key policy and no protection this threat model needs.
  #checkov:skip=CKV2_AWS_57:Rotated by bumping app_user_credentials_version, rerunning the migration (ALTER ROLE) and redeploying: a rotation Lambda would change the password under running tasks.
  name_prefix             = "${var.name}-db-app-user-"
  description             = "Credentials of ${var.app_username}, the role todo-api connects to PostgreSQL as (JSON: username, password)"
  recovery_window_in_days = var.deletion_protection ? 30 : 0
}

# Ephemeral and written write-only: the password never lands in Terraform state or plan files.
ephemeral "aws_secretsmanager_random_password" "app_user" {
  password_length     = 40
  exclude_punctuation = true
  # Always "" once known. Reading the secret's ARN makes Terraform open this resource only once
  # the secret exists, so the plan of a new stack asks Secrets Manager for nothing (the offline
  # CI plan has no AWS to ask); the password is drawn at apply.
  exclude_characters = replace(aws_secretsmanager_secret.app_user.arn, "/.*/", "")
}

resource "aws_secretsmanager_secret_version" "app_user" {
  secret_id = aws_secretsmanager_secret.app_user.id
  secret_string_wo = jsonencode({
    username = var.app_username
    password = ephemeral.aws_secretsmanager_random_password.app_user.random_password
  })
  # Only a new version number writes a new password (write-only values cannot be compared).
  secret_string_wo_version = var.app_user_credentials_version
}
