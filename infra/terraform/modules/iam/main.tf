# Task roles: what each service's own code may do in AWS, and nothing more. A service touches
# only its own queue and DLQ, publishes only to the events topic, and reads and writes only its
# S3 prefixes. (What ECS itself needs to start a task lives in the ecs-service module.)

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "task" {
  for_each = var.services

  name_prefix        = "${var.name_prefix}-${each.key}-task-"
  description        = "What the ${each.key} service may do in AWS"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "task" {
  for_each = var.services

  statement {
    sid = "ConsumeOwnQueue"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueUrl",
      "sqs:GetQueueAttributes",
    ]
    resources = [each.value.queue_arn]
  }

  # The shared consumer sends a message it can never process (unknown schema version, bad data)
  # straight to the DLQ with its reason instead of letting it fail max_receive_count times.
  statement {
    sid = "DeadLetterOwnMessages"
    actions = [
      "sqs:SendMessage",
      "sqs:GetQueueUrl",
      "sqs:GetQueueAttributes",
    ]
    resources = [each.value.dead_letter_queue_arn]
  }

  dynamic "statement" {
    for_each = each.value.publishes_events ? [var.topic_arn] : []

    content {
      sid       = "PublishEvents"
      actions   = ["sns:Publish"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = length(each.value.reads_prefixes) > 0 ? [each.value.reads_prefixes] : []

    content {
      sid       = "ReadOwnPrefixes"
      actions   = ["s3:GetObject"]
      resources = [for prefix in statement.value : "${var.bucket_arn}/${prefix}*"]
    }
  }

  # Without ListBucket, S3 answers 403 instead of 404 for a missing key (an expired calendar,
  # say) and the service cannot tell "gone" from "forbidden". Listing is limited to the prefixes
  # the service reads: no role can list the whole bucket, the archive, or another's hand-over.
  dynamic "statement" {
    for_each = length(each.value.reads_prefixes) > 0 ? [each.value.reads_prefixes] : []

    content {
      sid       = "ListOnlyOwnReadPrefixes"
      actions   = ["s3:ListBucket"]
      resources = [var.bucket_arn]

      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = [for prefix in statement.value : "${prefix}*"]
      }
    }
  }

  dynamic "statement" {
    for_each = length(each.value.writes_prefixes) > 0 ? [each.value.writes_prefixes] : []

    content {
      sid       = "WriteOwnPrefixes"
      actions   = ["s3:PutObject"]
      resources = [for prefix in statement.value : "${var.bucket_arn}/${prefix}*"]
    }
  }
}

resource "aws_iam_role_policy" "task" {
  for_each = var.services

  name   = "least-privilege"
  role   = aws_iam_role.task[each.key].id
  policy = data.aws_iam_policy_document.task[each.key].json
}

# The tracing sidecar sends the task's spans to X-Ray with the task role. X-Ray's write actions
# take no resource, so this lives apart from the least-privilege policy, whose every statement
# names its resources.
data "aws_iam_policy_document" "send_traces" {
  statement {
    sid       = "SendTracesToXRay"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "send_traces" {
  for_each = var.send_traces ? var.services : {}

  name   = "send-traces"
  role   = aws_iam_role.task[each.key].id
  policy = data.aws_iam_policy_document.send_traces.json
}
