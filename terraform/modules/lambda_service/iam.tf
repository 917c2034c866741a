# The function's execution role: exactly the access its manifest declares,
# under the environment's permissions boundary.

locals {
  table_actions = {
    read = [
      "dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable",
      "dynamodb:GetItem", "dynamodb:Query",
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
  access_modes   = { read = ["read"], write = ["write"], read_write = ["read", "write"] }
  created_tables = sort([for t in values(var.tables) : t.arn if t.owned && t.creates && contains(local.access_modes[t.access], "write")])
  index_arns     = sort(flatten([for t in values(var.tables) : values(t.index_arns) if contains(local.access_modes[t.access], "read")]))

  data_keys = distinct(concat([for t in values(var.tables) : t.kms_key_arn], [for b in values(var.buckets) : b.kms_key_arn]))

  policy_statements = concat(
    [{
      Sid      = "WriteOwnLogs"
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = ["${aws_cloudwatch_log_group.function.arn}:*"]
    }],
    # X-Ray has no resource-level permissions: "*" is the only resource it accepts. The
    # X-Ray SDK's daemon and the ADOT collector's X-Ray exporter call PutTraceSegments
    # and PutTelemetryRecords; X-Ray's OTLP endpoint is authorized as PutTraceSegments.
    var.tracing_backend == "off" ? [] : [{
      Sid      = "WriteTraces"
      Effect   = "Allow"
      Action   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
      Resource = ["*"]
    }],
    [
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
        Resource = [module.queue_key.arn]
      },
    ],
    length(local.queued_subs) == 0 ? [] : [
      {
        # What the event source mapping does with the function's role.
        Sid      = "ReadOwnDeliveryQueues"
        Effect   = "Allow"
        Action   = ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
        Resource = sort([for q in values(aws_sqs_queue.delivery) : q.arn])
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
      Resource = sort([for t in values(var.tables) : t.arn if contains(local.access_modes[t.access], mode) && !(mode == "write" && t.owned)])
    } if length([for t in values(var.tables) : t if contains(local.access_modes[t.access], mode) && !(mode == "write" && t.owned)]) > 0],
    # Tables whose items have owners: the creator puts new items and changes none...
    length(local.created_tables) == 0 ? [] : [
      {
        Sid      = "CreateOwnedItems"
        Effect   = "Allow"
        Action   = ["dynamodb:PutItem"]
        Resource = local.created_tables
      },
    ],
    # ...and each updater changes only its own attributes, never reading others back.
    [for k, t in var.tables : {
      Sid      = "UpdateOwnAttributesOf${replace(title(replace(k, "_", " ")), " ", "")}"
      Effect   = "Allow"
      Action   = ["dynamodb:UpdateItem"]
      Resource = [t.arn]
      Condition = {
        "ForAllValues:StringEquals" = { "dynamodb:Attributes" = t.updates_only }
        "StringEqualsIfExists"      = { "dynamodb:ReturnValues" = ["NONE", "UPDATED_OLD", "UPDATED_NEW"] }
      }
    } if t.owned && t.updates_only != null && contains(local.access_modes[t.access], "write")],
    # An index is its own resource: readers may Query it, nothing else (no Scan).
    length(local.index_arns) == 0 ? [] : [
      {
        Sid      = "QueryIndexes"
        Effect   = "Allow"
        Action   = ["dynamodb:Query"]
        Resource = local.index_arns
      },
    ],
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
