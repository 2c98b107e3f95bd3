# Task count: between scaling.min and scaling.max, driven by CPU (the API) or by the backlog of
# the service's queue (workers).

resource "aws_appautoscaling_target" "service" {
  count = local.runs_as_service ? 1 : 0

  service_namespace  = "ecs"
  resource_id        = "service/${var.cluster_name}/${aws_ecs_service.service[0].name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.scaling.min
  max_capacity       = var.scaling.max
}

moved {
  from = aws_appautoscaling_target.service
  to   = aws_appautoscaling_target.service[0]
}

resource "aws_appautoscaling_policy" "cpu" {
  count = local.runs_as_service && var.cpu_target_percent != null ? 1 : 0

  name               = "${local.family}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.service[0].service_namespace
  resource_id        = aws_appautoscaling_target.service[0].resource_id
  scalable_dimension = aws_appautoscaling_target.service[0].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

# Queue depth is a better signal than CPU for a worker: a backlog means work is waiting
# whatever the CPU says (rendering calendars is mostly S3 I/O).
resource "aws_appautoscaling_policy" "backlog_out" {
  count = local.runs_as_service && var.queue_depth_scaling != null ? 1 : 0

  name               = "${local.family}-backlog-scale-out"
  policy_type        = "StepScaling"
  service_namespace  = aws_appautoscaling_target.service[0].service_namespace
  resource_id        = aws_appautoscaling_target.service[0].resource_id
  scalable_dimension = aws_appautoscaling_target.service[0].scalable_dimension

  step_scaling_policy_configuration {
    adjustment_type         = "ChangeInCapacity"
    cooldown                = 60
    metric_aggregation_type = "Maximum"

    # Bounds are relative to the alarm threshold (scale_out_at).
    step_adjustment {
      metric_interval_lower_bound = 0
      metric_interval_upper_bound = var.queue_depth_scaling.scale_out_fast_at - var.queue_depth_scaling.scale_out_at
      scaling_adjustment          = 1
    }

    step_adjustment {
      metric_interval_lower_bound = var.queue_depth_scaling.scale_out_fast_at - var.queue_depth_scaling.scale_out_at
      scaling_adjustment          = 3
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "backlog_high" {
  count = local.runs_as_service && var.queue_depth_scaling != null ? 1 : 0

  alarm_name          = "${local.family}-backlog-high"
  alarm_description   = "Messages are waiting in ${var.queue_depth_scaling.queue_name}: add ${var.name} tasks"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = var.queue_depth_scaling.queue_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.queue_depth_scaling.scale_out_at
  alarm_actions       = [aws_appautoscaling_policy.backlog_out[0].arn]
}

resource "aws_appautoscaling_policy" "backlog_in" {
  count = local.runs_as_service && var.queue_depth_scaling != null ? 1 : 0

  name               = "${local.family}-backlog-scale-in"
  policy_type        = "StepScaling"
  service_namespace  = aws_appautoscaling_target.service[0].service_namespace
  resource_id        = aws_appautoscaling_target.service[0].resource_id
  scalable_dimension = aws_appautoscaling_target.service[0].scalable_dimension

  step_scaling_policy_configuration {
    adjustment_type         = "ChangeInCapacity"
    cooldown                = 120
    metric_aggregation_type = "Maximum"

    step_adjustment {
      metric_interval_upper_bound = 0
      scaling_adjustment          = -1
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "backlog_empty" {
  count = local.runs_as_service && var.queue_depth_scaling != null ? 1 : 0

  alarm_name          = "${local.family}-backlog-empty"
  alarm_description   = "${var.queue_depth_scaling.queue_name} has been empty for a while: remove a ${var.name} task"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = var.queue_depth_scaling.queue_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = var.queue_depth_scaling.scale_in_after_minutes
  comparison_operator = "LessThanOrEqualToThreshold"
  threshold           = 0
  alarm_actions       = [aws_appautoscaling_policy.backlog_in[0].arn]
}
