# One service of the system: its function, least-privilege role, log group,
# asynchronous invoke configuration with an on-failure queue, one SNS
# subscription per consumed topic (filter policy, redrive to a dead-letter
# queue, invoke permission scoped to that topic) and the alarms that make sure
# no failure is silent.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  root_arn   = "arn:${local.partition}:iam::${local.account_id}:root"

  function_name = "${var.environment}-${replace(var.service_name, "_", "-")}"
  function_arn  = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${local.function_name}"
  has_subs      = length(var.subscriptions) > 0

  # Environment-variable suffix: upper-cased, non-alphanumerics to "_".
  env_key = { for k in distinct(concat(keys(var.publish_topics), keys(var.tables), keys(var.buckets), keys(var.email_senders))) :
    k => upper(replace(k, "/[^A-Za-z0-9]/", "_"))
  }

  environment_variables = merge(
    {
      SERVICE_NAME          = var.service_name
      ENVIRONMENT           = var.environment
      PUBLISHES             = join(",", var.publishes)
      LOG_LEVEL             = var.log_level
      DEAD_LETTER_QUEUE_URL = aws_sqs_queue.on_failure.url
      # The messaging package's idempotency: an in-progress claim lasts the function's
      # timeout; a completed record outlives the last moment an event can come back
      # (maximum event age, then the dead-letter redrive window).
      FUNCTION_TIMEOUT_S = tostring(var.timeout_s)
      IDEMPOTENCY_TTL_S  = tostring(var.maximum_event_age_s + var.queue_message_retention_s)
    },
    { for k, t in var.publish_topics : "TOPIC_ARN_${local.env_key[k]}" => t.arn },
    { for k, t in var.tables : "TABLE_${local.env_key[k]}" => t.name },
    { for k, b in var.buckets : "BUCKET_${local.env_key[k]}" => b.name },
    { for k, s in var.email_senders : "EMAIL_SENDER_${local.env_key[k]}" => s.address },
  )

  table_actions = {
    read = [
      "dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable",
      "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan",
    ]
    write = [
      "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
      "dynamodb:DescribeTable", "dynamodb:PutItem", "dynamodb:UpdateItem",
    ]
  }
  bucket_actions = {
    read  = ["s3:GetObject"]
    write = ["s3:PutObject"]
  }
  access_modes = { read = ["read"], write = ["write"], read_write = ["read", "write"] }

  key_admin_actions = [
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:CreateGrant", "kms:Decrypt",
    "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey", "kms:DisableKeyRotation",
    "kms:EnableKey", "kms:EnableKeyRotation", "kms:Encrypt", "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus",
    "kms:ListAliases", "kms:ListGrants", "kms:ListKeyPolicies", "kms:ListKeyRotations",
    "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:ReEncryptFrom", "kms:ReEncryptTo",
    "kms:RetireGrant", "kms:RevokeGrant", "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion",
    "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias", "kms:UpdateKeyDescription",
  ]

  data_keys = distinct(concat([for t in values(var.tables) : t.kms_key_arn], [for b in values(var.buckets) : b.kms_key_arn]))

  policy_statements = concat(
    [
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${aws_cloudwatch_log_group.function.arn}:*"]
      },
      {
        # X-Ray has no resource-level permissions: "*" is the only resource it accepts.
        Sid      = "WriteTraces"
        Effect   = "Allow"
        Action   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
        Resource = ["*"]
      },
      {
        Sid      = "SendFailedEventsToOwnQueue"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = [aws_sqs_queue.on_failure.arn]
      },
      {
        Sid      = "EncryptForOwnQueue"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = [aws_kms_key.queues.arn]
      },
    ],
    length(var.publish_topics) == 0 ? [] : [
      {
        Sid      = "PublishDeclaredEvents"
        Effect   = "Allow"
        Action   = ["sns:Publish"]
        Resource = sort([for t in values(var.publish_topics) : t.arn])
      },
      {
        Sid      = "EncryptForDeclaredTopics"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = sort(distinct([for t in values(var.publish_topics) : t.kms_key_arn]))
      },
    ],
    [for mode in ["read", "write"] : {
      Sid      = "Tables${title(mode)}"
      Effect   = "Allow"
      Action   = local.table_actions[mode]
      Resource = sort([for t in values(var.tables) : t.arn if contains(local.access_modes[t.access], mode)])
    } if length([for t in values(var.tables) : t if contains(local.access_modes[t.access], mode)]) > 0],
    [for mode in ["read", "write"] : {
      Sid      = "Buckets${title(mode)}"
      Effect   = "Allow"
      Action   = local.bucket_actions[mode]
      Resource = sort([for b in values(var.buckets) : "${b.arn}/*" if contains(local.access_modes[b.access], mode)])
    } if length([for b in values(var.buckets) : b if contains(local.access_modes[b.access], mode)]) > 0],
    length(local.data_keys) == 0 ? [] : [
      {
        Sid      = "UseDataKeyThroughDynamoDbAndS3"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"]
        Resource = sort(local.data_keys)
        Condition = {
          StringEquals = {
            "kms:ViaService" = ["dynamodb.${local.region}.amazonaws.com", "s3.${local.region}.amazonaws.com"]
          }
        }
      },
    ],
    length(var.email_senders) == 0 ? [] : [
      {
        Sid      = "SendEmailFromDeclaredIdentities"
        Effect   = "Allow"
        Action   = ["ses:SendEmail", "ses:SendRawEmail"]
        Resource = sort([for s in values(var.email_senders) : s.identity_arn])
      },
    ],
  )
}

# --- queues: on-failure destination and subscription dead-letter queue -------

resource "aws_kms_key" "queues" {
  description             = "Encrypts the dead-letter queues of ${local.function_name}."
  enable_key_rotation     = true
  deletion_window_in_days = var.key_deletion_window_days
  tags                    = var.tags

  # In a key policy "Resource": "*" means this key and nothing else. Lambda
  # writes failed asynchronous events here; SNS writes undeliverable messages
  # of the subscribed topics.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid       = "AccountAdministersKeyAndDelegatesUseToIam"
          Effect    = "Allow"
          Principal = { AWS = local.root_arn }
          Action    = local.key_admin_actions
          Resource  = "*"
        },
        {
          Sid       = "LambdaWritesOnFailureEvents"
          Effect    = "Allow"
          Principal = { Service = "lambda.amazonaws.com" }
          Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
          Resource  = "*"
          Condition = {
            StringEquals = { "aws:SourceAccount" = local.account_id }
            ArnLike      = { "aws:SourceArn" = local.function_arn }
          }
        },
      ],
      local.has_subs ? [
        {
          Sid       = "SnsRedrivesUndeliverableMessages"
          Effect    = "Allow"
          Principal = { Service = "sns.amazonaws.com" }
          Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
          Resource  = "*"
          Condition = {
            StringEquals = { "aws:SourceAccount" = local.account_id }
            ArnLike      = { "aws:SourceArn" = sort([for s in values(var.subscriptions) : s.arn]) }
          }
        },
      ] : [],
    )
  })
}

resource "aws_kms_alias" "queues" {
  name          = "alias/sqs/${local.function_name}"
  target_key_id = aws_kms_key.queues.key_id
}

resource "aws_sqs_queue" "on_failure" {
  name                              = "${local.function_name}-on-failure"
  kms_master_key_id                 = aws_kms_key.queues.arn
  kms_data_key_reuse_period_seconds = 300
  message_retention_seconds         = var.queue_message_retention_s
  tags                              = var.tags
}

resource "aws_sqs_queue" "delivery_dlq" {
  count = local.has_subs ? 1 : 0

  name                              = "${local.function_name}-delivery-dlq"
  kms_master_key_id                 = aws_kms_key.queues.arn
  kms_data_key_reuse_period_seconds = 300
  message_retention_seconds         = var.queue_message_retention_s
  tags                              = var.tags
}

resource "aws_sqs_queue_policy" "on_failure" {
  queue_url = aws_sqs_queue.on_failure.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = { AWS = "*" }
      Action    = ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
      Resource  = aws_sqs_queue.on_failure.arn
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
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
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = { AWS = "*" }
        Action    = ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
        Resource  = aws_sqs_queue.delivery_dlq[0].arn
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

# --- function ------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "function" {
  #checkov:skip=CKV_AWS_338:Retention is a per-environment size (log_retention_days in terraform.tfvars); prod keeps a year, dev and staging keep function logs only as long as they help debugging.
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_iam_role" "function" {
  name        = local.function_name
  description = "Execution role of ${local.function_name}: only what services/${var.service_name}/service.json declares."
  tags        = var.tags

  permissions_boundary = var.permissions_boundary_arn

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = ["sts:AssumeRole"]
    }]
  })
}

resource "aws_iam_role_policy" "function" {
  name   = "declared-access"
  role   = aws_iam_role.function.id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.policy_statements })
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:The function reaches only AWS service endpoints (SNS, DynamoDB, S3, SES) and nothing in a VPC; attaching it to one would add NAT cost and cold-start latency without reducing exposure, since it has no inbound network path.
  #checkov:skip=CKV_AWS_272:Packages are built reproducibly from the reviewed repository by `make build` and uploaded by the deploy pipeline; source_code_hash pins the exact artifact. Code signing (a Signer profile) is not set up in this project yet.
  #checkov:skip=CKV_AWS_116:Asynchronous failures go to an on-failure destination queue (aws_lambda_function_event_invoke_config below), which records the error and request context; a legacy dead_letter_config in addition would deliver every failure twice.
  #checkov:skip=CKV_AWS_173:The environment carries only resource names, ARNs and settings, no secrets; Lambda encrypts it at rest with the AWS managed key.
  function_name    = local.function_name
  description      = "services/${var.service_name}"
  role             = aws_iam_role.function.arn
  handler          = var.handler
  runtime          = var.runtime
  architectures    = [var.architecture]
  memory_size      = var.memory_mb
  timeout          = var.timeout_s
  filename         = var.package_path
  source_code_hash = filebase64sha256(var.package_path)

  reserved_concurrent_executions = var.reserved_concurrency

  tracing_config {
    mode = "Active"
  }

  environment {
    variables = local.environment_variables
  }

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.function]
}

resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = var.maximum_retry_attempts
  maximum_event_age_in_seconds = var.maximum_event_age_s

  destination_config {
    on_failure {
      destination = aws_sqs_queue.on_failure.arn
    }
  }
}

# --- subscriptions -------------------------------------------------------------

resource "aws_lambda_permission" "sns" {
  for_each = var.subscriptions

  statement_id   = "sns-${each.key}"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this.function_name
  principal      = "sns.amazonaws.com"
  source_arn     = each.value.arn
  source_account = local.account_id
}

resource "aws_sns_topic_subscription" "this" {
  for_each = var.subscriptions

  topic_arn           = each.value.arn
  protocol            = "lambda"
  endpoint            = aws_lambda_function.this.arn
  filter_policy       = each.value.filter_policy
  filter_policy_scope = "MessageAttributes"
  redrive_policy      = jsonencode({ deadLetterTargetArn = aws_sqs_queue.delivery_dlq[0].arn })

  depends_on = [aws_lambda_permission.sns, aws_sqs_queue_policy.delivery_dlq]
}

# --- alarms --------------------------------------------------------------------

locals {
  function_alarms = {
    errors = {
      metric      = "Errors"
      threshold   = var.error_alarm_threshold
      description = "Invocations of ${local.function_name} ended in an error."
    }
    throttles = {
      metric      = "Throttles"
      threshold   = var.throttle_alarm_threshold
      description = "Invocations of ${local.function_name} were throttled."
    }
    destination-delivery-failures = {
      metric      = "DestinationDeliveryFailures"
      threshold   = 1
      description = "Lambda could not deliver a failed event of ${local.function_name} to its on-failure queue: that event is lost."
    }
    async-events-dropped = {
      metric      = "AsyncEventsDropped"
      threshold   = 1
      description = "Asynchronous events of ${local.function_name} were dropped without reaching the function or its on-failure queue."
    }
  }

  queue_alarms = merge(
    { on-failure-queue-not-empty = aws_sqs_queue.on_failure.name },
    local.has_subs ? { delivery-dlq-not-empty = aws_sqs_queue.delivery_dlq[0].name } : {},
  )
}

resource "aws_cloudwatch_metric_alarm" "function" {
  for_each = local.function_alarms

  alarm_name          = "${local.function_name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = "AWS/Lambda"
  metric_name         = each.value.metric
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = var.alarm_period_s
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "queue" {
  for_each = local.queue_alarms

  alarm_name          = "${local.function_name}-${each.key}"
  alarm_description   = "Queue ${each.value} holds events that were not handled: inspect and redrive them."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = var.alarm_period_s
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

# --- schedule --------------------------------------------------------------------

# EventBridge invokes the function asynchronously: once invoked, a failing event
# goes to the on-failure queue like any other; an invocation EventBridge itself
# cannot make raises the FailedInvocations alarm.
resource "aws_cloudwatch_event_rule" "schedule" {
  count = var.schedule == null ? 0 : 1

  name                = "${local.function_name}-schedule"
  description         = "Invokes ${local.function_name} on ${var.schedule} (services/${var.service_name}/service.json)."
  schedule_expression = var.schedule
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "schedule" {
  count = var.schedule == null ? 0 : 1

  rule = aws_cloudwatch_event_rule.schedule[0].name
  arn  = aws_lambda_function.this.arn

  retry_policy {
    maximum_retry_attempts       = 2
    maximum_event_age_in_seconds = 300
  }
}

resource "aws_lambda_permission" "schedule" {
  count = var.schedule == null ? 0 : 1

  statement_id   = "events-schedule"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this.function_name
  principal      = "events.amazonaws.com"
  source_arn     = aws_cloudwatch_event_rule.schedule[0].arn
  source_account = local.account_id
}

resource "aws_cloudwatch_metric_alarm" "schedule" {
  count = var.schedule == null ? 0 : 1

  alarm_name          = "${local.function_name}-schedule-failed-invocations"
  alarm_description   = "EventBridge could not invoke ${local.function_name} on its schedule."
  namespace           = "AWS/Events"
  metric_name         = "FailedInvocations"
  dimensions          = { RuleName = aws_cloudwatch_event_rule.schedule[0].name }
  statistic           = "Sum"
  period              = var.alarm_period_s
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}
