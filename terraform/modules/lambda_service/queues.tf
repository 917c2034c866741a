# The on-failure destination of asynchronous invocations and the dead-letter
# queue of the subscriptions, both TLS-only and encrypted with the queue key.

locals {
  # Every queue of the service refuses requests that do not use TLS.
  deny_insecure_transport = {
    Sid       = "DenyInsecureTransport"
    Effect    = "Deny"
    Principal = { AWS = "*" }
    Action    = ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    Condition = { Bool = { "aws:SecureTransport" = "false" } }
  }
}

resource "aws_sqs_queue" "on_failure" {
  name                              = "${local.function_name}-on-failure"
  kms_master_key_id                 = module.queue_key.arn
  kms_data_key_reuse_period_seconds = 300
  message_retention_seconds         = var.queue_message_retention_s
  tags                              = var.tags
}

resource "aws_sqs_queue" "delivery_dlq" {
  count = local.has_subs ? 1 : 0

  name                              = "${local.function_name}-delivery-dlq"
  kms_master_key_id                 = module.queue_key.arn
  kms_data_key_reuse_period_seconds = 300
  message_retention_seconds         = var.queue_message_retention_s
  tags                              = var.tags
}

resource "aws_sqs_queue_policy" "on_failure" {
  queue_url = aws_sqs_queue.on_failure.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [merge(local.deny_insecure_transport, { Resource = aws_sqs_queue.on_failure.arn })]
  })
}

resource "aws_sqs_queue_policy" "delivery_dlq" {
  count = local.has_subs ? 1 : 0

  queue_url = aws_sqs_queue.delivery_dlq[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "SubscribedTopicsRedrive"
        Effect    = "Allow"
        Principal = { Service = "sns.amazonaws.com" }
        Action    = ["sqs:SendMessage"]
        Resource  = aws_sqs_queue.delivery_dlq[0].arn
        Condition = { ArnEquals = { "aws:SourceArn" = sort([for s in values(var.subscriptions) : s.arn]) } }
      },
      merge(local.deny_insecure_transport, { Resource = aws_sqs_queue.delivery_dlq[0].arn }),
    ]
  })
}
