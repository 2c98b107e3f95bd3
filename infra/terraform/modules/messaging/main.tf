# The event bus: one SNS topic fanning out to one SQS queue per consumer.
# Every name and filter comes from topology.json (passed in by the environment), so the local
# bootstrap, the services and this module cannot disagree about where an event goes.

locals {
  fifo = var.delivery == "fifo"

  # topology.json names the standard resources; SNS and SQS insist that a FIFO topic's or
  # queue's name ends in ".fifo". The suffix is the only difference in names, applied here once
  # (and by the services, from TASKOVERFLOW_DELIVERY), so there is no second list of names.
  name_suffix = local.fifo ? ".fifo" : ""
  queues = {
    for service, queue in var.queues : service => merge(queue, {
      name     = "${queue.name}${local.name_suffix}"
      dlq_name = "${queue.dlq_name}${local.name_suffix}"
    })
  }
}

resource "aws_sns_topic" "events" {
  name              = "${var.topic_name}${local.name_suffix}"
  kms_master_key_id = var.topic_kms_key_id
  fifo_topic        = local.fifo
  # A FIFO publish without MessageDeduplicationId is rejected unless the topic deduplicates by
  # content. Publishers should send the event id as the deduplication id (an explicit id wins);
  # this keeps one that does not from failing. Every envelope carries a unique id, so two
  # distinct events never share a body.
  content_based_deduplication = local.fifo
}

# Messages a consumer failed max_receive_count times land here instead of blocking the queue;
# the replay tooling redrives them once the cause is fixed.
resource "aws_sqs_queue" "dead_letter" {
  for_each = local.queues

  name                      = each.value.dlq_name
  message_retention_seconds = var.dead_letter_retention_seconds
  # A FIFO queue's dead-letter queue must be FIFO too. Consumers dead-letter poison messages
  # themselves (SendMessage), so it deduplicates by content like the queue it serves.
  fifo_queue                  = local.fifo
  content_based_deduplication = local.fifo
  # SSE-SQS rather than a KMS key: SNS can deliver to it without being granted a key policy.
  sqs_managed_sse_enabled = true
}

resource "aws_sqs_queue" "service" {
  for_each = local.queues

  name                       = each.value.name
  visibility_timeout_seconds = each.value.visibility_timeout_seconds
  message_retention_seconds  = var.message_retention_seconds
  receive_wait_time_seconds  = var.receive_wait_time_seconds
  sqs_managed_sse_enabled    = true
  # SNS FIFO keeps each message group (one todo) in order into the queue; content-based
  # deduplication is what lets SNS deliver without a deduplication id of the queue's own.
  fifo_queue                  = local.fifo
  content_based_deduplication = local.fifo

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter[each.key].arn
    maxReceiveCount     = each.value.max_receive_count
  })
}

# Only the service's own queue may use its DLQ as a dead-letter target (and be redriven from it).
resource "aws_sqs_queue_redrive_allow_policy" "dead_letter" {
  for_each = var.restrict_dead_letter_sources ? local.queues : {}

  queue_url = aws_sqs_queue.dead_letter[each.key].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.service[each.key].arn]
  })
}

# Events come only from their producers. Identity policies say what a role may do; these resource
# policies say who may write here at all, and their explicit denies win over any Allow a
# principal holds elsewhere (an administrator's, a compromised service's): a forged event needs
# one of the roles below, not just any sqs:SendMessage or sns:Publish.
locals {
  # Operators' path around the denies: `taskoverflow dlq redrive` and `replay --queue` send to a
  # service queue, `replay` publishes to the topic. Empty means no one but the services.
  operator_exemption = length(var.operator_role_arns) == 0 ? [] : [var.operator_role_arns]
}

module "queue_tls_only" {
  source   = "../tls-only"
  for_each = local.queues

  actions   = ["sqs:*"]
  resources = [aws_sqs_queue.service[each.key].arn]
}

module "dead_letter_queue_tls_only" {
  source   = "../tls-only"
  for_each = local.queues

  actions   = ["sqs:*"]
  resources = [aws_sqs_queue.dead_letter[each.key].arn]
}

module "topic_tls_only" {
  source = "../tls-only"

  actions   = ["sns:Publish"]
  resources = [aws_sns_topic.events.arn]
}

data "aws_iam_policy_document" "only_topic_may_send" {
  for_each = local.queues

  source_policy_documents = [module.queue_tls_only[each.key].json]

  statement {
    sid       = "OnlyTheEventsTopicMaySend"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.service[each.key].arn]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    # Without this condition any SNS topic, in any account, could write into the queue.
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.events.arn]
    }
  }

  # Every other sender is refused, whatever its own policies allow. A direct SendMessage carries
  # no aws:SourceArn, and a negated condition on a missing key holds, so it is denied; the
  # topic's delivery carries the topic's ARN and passes.
  statement {
    sid       = "DenyEverySenderButTheTopic"
    effect    = "Deny"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.service[each.key].arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "ArnNotEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.events.arn]
    }

    dynamic "condition" {
      for_each = local.operator_exemption

      content {
        test     = "ArnNotLike"
        variable = "aws:PrincipalArn"
        values   = condition.value
      }
    }
  }
}

resource "aws_sqs_queue_policy" "only_topic_may_send" {
  for_each = local.queues

  queue_url = aws_sqs_queue.service[each.key].id
  policy    = data.aws_iam_policy_document.only_topic_may_send[each.key].json
}

# The consumers dead-letter what they can never process themselves (SendMessage with a reason),
# so each DLQ admits its own consumer's role and no one else. SQS's own move after
# max_receive_count is not a SendMessage and needs no grant (RedriveAllowPolicy governs it).
# Operators only receive and delete here when they redrive; they send to the service queue.
data "aws_iam_policy_document" "only_consumer_may_dead_letter" {
  for_each = local.queues

  source_policy_documents = [module.dead_letter_queue_tls_only[each.key].json]

  statement {
    sid       = "DenyEverySenderButTheConsumer"
    effect    = "Deny"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter[each.key].arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "ArnNotEquals"
      variable = "aws:PrincipalArn"
      values   = [var.consumer_role_arns[each.key]]
    }
  }
}

resource "aws_sqs_queue_policy" "only_consumer_may_dead_letter" {
  for_each = local.queues

  queue_url = aws_sqs_queue.dead_letter[each.key].id
  policy    = data.aws_iam_policy_document.only_consumer_may_dead_letter[each.key].json
}

# SNS cannot tell event types apart in a policy, so the topic admits every producer's role for
# every type; which producer may announce which type is topology.json's `publishers`, checked by
# the consumers against the event's `source`.
data "aws_iam_policy_document" "only_producers_may_publish" {
  source_policy_documents = [module.topic_tls_only.json]

  statement {
    sid       = "DenyEveryPublisherButTheProducers"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.events.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "ArnNotLike"
      variable = "aws:PrincipalArn"
      values   = concat(var.publisher_role_arns, var.operator_role_arns)
    }
  }
}

resource "aws_sns_topic_policy" "only_producers_may_publish" {
  arn    = aws_sns_topic.events.arn
  policy = data.aws_iam_policy_document.only_producers_may_publish.json
}

resource "aws_sns_topic_subscription" "service" {
  for_each = local.queues

  topic_arn = aws_sns_topic.events.arn
  protocol  = "sqs"
  endpoint  = aws_sqs_queue.service[each.key].arn
  # Raw delivery hands consumers the event body itself, with the SNS message attributes mapped to
  # SQS attributes, instead of an SNS envelope they would have to unwrap.
  raw_message_delivery = each.value.raw_message_delivery

  # No filter policy at all (not an empty one) means "every event": that is how the archive
  # receives everything for replay.
  filter_policy       = each.value.event_types == null ? null : jsonencode({ (var.message_type_attribute) = each.value.event_types })
  filter_policy_scope = each.value.event_types == null ? null : "MessageAttributes"

  # SNS starts delivering as soon as the subscription exists; a message sent before the queue
  # policy allowed it would be dropped.
  depends_on = [aws_sqs_queue_policy.only_topic_may_send]
}
