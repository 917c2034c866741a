# Queue-delivered subscriptions (manifest "delivery": "queue"): SNS -> SQS ->
# event source mapping. Per topic: the queue (only its topic may send to it),
# its dead-letter queue (redrive after max_receive_count receives), the topic
# subscription to the queue with the filter policy, and the mapping that reads
# batches, reports partial batch failures and caps the concurrency. Alarms and
# the role's access to the queues: alarms.tf and iam.tf.

locals {
  # <function>-<topic>-queue and -queue-dlq (tools/contract/names.py applies the same rule).
  delivery_queue_names = { for t in keys(local.queued_subs) : t => "${local.function_name}-${replace(t, "_", "-")}-queue" }
}

resource "aws_sqs_queue" "delivery_dead_letter" {
  for_each = local.queued_subs

  name                              = "${local.delivery_queue_names[each.key]}-dlq"
  kms_master_key_id                 = module.queue_key.arn
  kms_data_key_reuse_period_seconds = 300
  message_retention_seconds         = each.value.queue.dead_letter_retention_s
  tags                              = var.tags
}

resource "aws_sqs_queue" "delivery" {
  for_each = local.queued_subs

  name                              = local.delivery_queue_names[each.key]
  kms_master_key_id                 = module.queue_key.arn
  kms_data_key_reuse_period_seconds = 300
  visibility_timeout_seconds        = each.value.queue.visibility_timeout_s
  message_retention_seconds         = var.queue_message_retention_s
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.delivery_dead_letter[each.key].arn
    maxReceiveCount     = each.value.queue.max_receive_count
  })
  tags = var.tags
}

resource "aws_sqs_queue_policy" "delivery" {
  for_each = local.queued_subs

  queue_url = aws_sqs_queue.delivery[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "OwnTopicDelivers"
        Effect    = "Allow"
        Principal = { Service = "sns.amazonaws.com" }
        Action    = ["sqs:SendMessage"]
        Resource  = aws_sqs_queue.delivery[each.key].arn
        Condition = { ArnEquals = { "aws:SourceArn" = each.value.arn } }
      },
      merge(local.deny_insecure_transport, { Resource = aws_sqs_queue.delivery[each.key].arn }),
    ]
  })
}

resource "aws_sqs_queue_policy" "delivery_dead_letter" {
  for_each = local.queued_subs

  queue_url = aws_sqs_queue.delivery_dead_letter[each.key].id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [merge(local.deny_insecure_transport, { Resource = aws_sqs_queue.delivery_dead_letter[each.key].arn })]
  })
}

resource "aws_sns_topic_subscription" "queue" {
  for_each = local.queued_subs

  topic_arn            = each.value.arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.delivery[each.key].arn
  raw_message_delivery = each.value.queue.raw_message_delivery
  filter_policy        = each.value.filter_policy
  filter_policy_scope  = "MessageAttributes"
  redrive_policy       = jsonencode({ deadLetterTargetArn = aws_sqs_queue.delivery_dlq[0].arn })

  depends_on = [aws_sqs_queue_policy.delivery, aws_sqs_queue_policy.delivery_dlq]
}

resource "aws_lambda_event_source_mapping" "queue" {
  for_each = local.queued_subs

  event_source_arn                   = aws_sqs_queue.delivery[each.key].arn
  function_name                      = aws_lambda_function.this.arn
  batch_size                         = each.value.queue.batch_size
  maximum_batching_window_in_seconds = each.value.queue.maximum_batching_window_s
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = each.value.queue.maximum_concurrency
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.function]
}
