# What an operator looks at first: one CloudWatch dashboard (queues, DLQs, outbox, calendar jobs,
# the API's errors and latency, events handled and failed per service, render time) and the
# alarms that page, all sent to one SNS topic.
# Queue names come from the messaging module; TaskOverflow's own metric names from
# custom_metrics.json (var.custom_metrics), the one place the services read them too.

locals {
  namespace  = var.custom_metrics.namespace
  outbox_lag = var.custom_metrics.metrics["outbox_lag"]
  jobs       = var.custom_metrics.metrics["calendar_jobs_finished"]
  consumed   = var.custom_metrics.metrics["events_consumed"]
  requests   = var.custom_metrics.metrics["http_requests"]
  latency    = var.custom_metrics.metrics["http_request_duration"]
  render     = var.custom_metrics.metrics["calendar_render_duration"]

  # One line per service in the queue widgets, labelled with the service.
  queue_lines = {
    for metric in ["ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"] : metric => [
      for service, queue in var.queues : ["AWS/SQS", metric, "QueueName", queue.name, { label = service }]
    ]
  }
  dead_letter_lines = [
    for service, queue in var.queues : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue.dead_letter_queue_name, { label = service }]
  ]
  job_lines = [
    for outcome in local.jobs.dimensions["Outcome"] : [local.namespace, local.jobs.name, "Outcome", outcome, { label = outcome }]
  ]
  load_balancer = ["LoadBalancer", var.load_balancer_arn_suffix]

  # The services' own EMF metrics, at the dimension sets custom_metrics.json publishes: events
  # per service and outcome (the queue's service names are the Service dimension's values).
  consumed_lines = {
    for outcome in local.consumed.dimensions["Outcome"] : outcome => [
      for service, queue in var.queues : [local.namespace, local.consumed.name, "Service", service, "Outcome", outcome, { label = outcome == "handled" ? service : "${service} ${replace(outcome, "_", "-")}" }]
    ]
  }
  request_lines = [
    for status_class in ["4xx", "5xx"] : [local.namespace, local.requests.name, "StatusClass", status_class, { label = status_class }]
  ]

  # The alarms' ARNs follow from their names, so the dashboard is known (and checked) at plan time.
  alarm_names = concat(
    [for alarm in aws_cloudwatch_metric_alarm.dead_letters : alarm.alarm_name],
    [for alarm in aws_cloudwatch_metric_alarm.oldest_message : alarm.alarm_name],
    [aws_cloudwatch_metric_alarm.outbox_lag.alarm_name],
  )

  widgets = [
    { title = "Messages waiting per service queue", metrics = local.queue_lines["ApproximateNumberOfMessagesVisible"], stat = "Maximum" },
    { title = "Age of the oldest message per service queue (s)", metrics = local.queue_lines["ApproximateAgeOfOldestMessage"], stat = "Maximum" },
    { title = "Dead letters per service (any is a failure to look at)", metrics = local.dead_letter_lines, stat = "Maximum" },
    { title = "Outbox lag: oldest unpublished event (s)", metrics = [[local.namespace, local.outbox_lag.name, { label = "lag" }]], stat = local.outbox_lag.statistic },
    { title = "Calendar jobs finished, by outcome", metrics = local.job_lines, stat = local.jobs.statistic },
    {
      title = "API 5xx responses"
      metrics = [
        concat(["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"], local.load_balancer, [{ label = "from the API" }]),
        concat(["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"], local.load_balancer, [{ label = "from the load balancer" }]),
      ]
      stat = "Sum"
    },
    {
      title = "API latency (s)"
      metrics = [
        concat(["AWS/ApplicationELB", "TargetResponseTime"], local.load_balancer, [{ label = "p50", stat = "p50" }]),
        concat(["AWS/ApplicationELB", "TargetResponseTime"], local.load_balancer, [{ label = "p99", stat = "p99" }]),
      ]
      stat = "p50"
    },
    { title = "Events handled per service", metrics = local.consumed_lines["handled"], stat = local.consumed.statistic },
    {
      title   = "Events failed (retried) and dead-lettered per service"
      metrics = concat(local.consumed_lines["failed"], local.consumed_lines["dead_lettered"])
      stat    = local.consumed.statistic
    },
    { title = "API responses by status class, as the tasks count them", metrics = local.request_lines, stat = local.requests.statistic },
    {
      title = "API latency as the tasks measure it (s)"
      metrics = [
        [local.namespace, local.latency.name, { label = "p50", stat = "p50" }],
        [local.namespace, local.latency.name, { label = "p99", stat = "p99" }],
      ]
      stat = local.latency.statistic
    },
    {
      title = "Calendar render time (s)"
      metrics = [
        [local.namespace, local.render.name, { label = "p50", stat = "p50" }],
        [local.namespace, local.render.name, { label = "p99", stat = "p99" }],
      ]
      stat = local.render.statistic
    },
  ]
}

resource "aws_cloudwatch_dashboard" "operations" {
  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = concat(
      [
        for index, widget in local.widgets : {
          type   = "metric"
          x      = (index % 2) * 12
          y      = floor(index / 2) * 6
          width  = 12
          height = 6
          properties = {
            title   = widget.title
            region  = var.region
            metrics = widget.metrics
            stat    = widget.stat
            period  = 60
            view    = "timeSeries"
            stacked = false
          }
        }
      ],
      [
        {
          type   = "alarm"
          x      = 12
          y      = floor(length(local.widgets) / 2) * 6
          width  = 12
          height = 6
          properties = {
            title  = "Alarms"
            alarms = [for alarm in local.alarm_names : "arn:${data.aws_partition.current.partition}:cloudwatch:${var.region}:${var.account_id}:alarm:${alarm}"]
          }
        }
      ]
    )
  })
}

# --- Where alarms go --------------------------------------------------------------------------

# CloudWatch may publish to an encrypted topic only with a customer-managed key whose policy lets
# it (the AWS-managed SNS key does not), so the alarm topic has a key of its own.
resource "aws_kms_key" "alarms" {
  description         = "${var.name} alarm topic"
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministersTheKey"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${var.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchAlarmsOfThisAccountPublish"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = var.account_id } }
      },
    ]
  })
}

data "aws_partition" "current" {}

resource "aws_kms_alias" "alarms" {
  name          = "alias/${var.name}-alarms"
  target_key_id = aws_kms_key.alarms.key_id
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = aws_kms_key.alarms.arn
}

# Only this account's alarms may publish (the account's own people and roles keep what IAM gives them).
resource "aws_sns_topic_policy" "alarms" {
  arn = aws_sns_topic.alarms.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "CloudWatchAlarmsOfThisAccountPublish"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = "sns:Publish"
        Resource  = aws_sns_topic.alarms.arn
        Condition = { StringEquals = { "aws:SourceAccount" = var.account_id } }
      },
    ]
  })
}

resource "aws_sns_topic_subscription" "email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# --- Alarms ---------------------------------------------------------------------------------

# Every DLQ: the first dead letter pages. A dead letter is an event a service gave up on, and it
# waits there until someone redrives it (`taskoverflow dlq`). SQS keeps publishing a queue's
# metrics while it holds messages, so no data means an empty DLQ.
resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  for_each = var.queues

  alarm_name          = "${var.name}-${each.key}-dead-letters"
  alarm_description   = "${each.value.dead_letter_queue_name} holds messages ${each.key} gave up on: see `taskoverflow dlq list ${each.key}`, fix the cause, then `taskoverflow dlq redrive ${each.key}`."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value.dead_letter_queue_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "oldest_message" {
  for_each = var.queues

  alarm_name          = "${var.name}-${each.key}-oldest-message"
  alarm_description   = "A message has waited over ${var.oldest_message_age_alarm_seconds} s in ${each.value.name}: ${each.key} is down, stuck or too slow (see `taskoverflow status`)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = each.value.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.oldest_message_age_alarm_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "outbox_lag" {
  alarm_name          = "${var.name}-outbox-lag"
  alarm_description   = "The oldest unpublished outbox event is over ${var.outbox_lag_alarm_seconds} s old: the todo-api relay is down or SNS refuses it (see `taskoverflow status`)."
  namespace           = local.namespace
  metric_name         = local.outbox_lag.name
  statistic           = local.outbox_lag.statistic
  period              = 60
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.outbox_lag_alarm_seconds
  # No data means nobody reports the lag (no relay running, or the metric not emitted yet):
  # the alarm then shows INSUFFICIENT_DATA rather than a false OK.
  treat_missing_data = "missing"
  alarm_actions      = [aws_sns_topic.alarms.arn]
  ok_actions         = [aws_sns_topic.alarms.arn]
}
