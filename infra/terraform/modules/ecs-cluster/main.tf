# The cluster every service runs in. It is only a namespace on Fargate: no hosts to manage.

resource "aws_ecs_cluster" "this" {
  name = var.name

  # Per-service CPU, memory and running-task metrics in CloudWatch, for dashboards and alarms.
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}
