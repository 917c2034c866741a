# A standard SNS topic encrypted with its own customer-managed KMS key, a topic
# policy that admits only this account's principals (and the listed AWS service
# principals) and denies non-TLS access, active tracing, and Lambda
# delivery-status logging into pre-created, encrypted, retained log groups.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  topic_arn  = "arn:${local.partition}:sns:${local.region}:${local.account_id}:${var.name}"
  root_arn   = "arn:${local.partition}:iam::${local.account_id}:root"

  delivery_log_groups = {
    success = "sns/${local.region}/${local.account_id}/${var.name}"
    failure = "sns/${local.region}/${local.account_id}/${var.name}/Failure"
  }
}

module "key" {
  source = "../kms_key"

  description          = "Encrypts messages at rest on SNS topic ${var.name}."
  alias                = "alias/sns/${var.name}"
  deletion_window_days = var.key_deletion_window_days
  tags                 = var.tags

  service_grants = concat(
    # SNS itself reads the key to decrypt messages when it delivers them.
    [{ sid = "SnsUsesKeyForThisTopic", service = "sns.amazonaws.com", source_arn = local.topic_arn }],
    length(var.publisher_service_principals) == 0 ? [] : [
      { sid = "ServicePublishersUseKey", service = var.publisher_service_principals },
    ],
  )
}

moved {
  from = aws_kms_key.topic
  to   = module.key.aws_kms_key.this
}

moved {
  from = aws_kms_alias.topic
  to   = module.key.aws_kms_alias.this
}

resource "aws_sns_topic" "this" {
  name              = var.name
  kms_master_key_id = module.key.arn
  tracing_config    = "Active"

  lambda_success_feedback_role_arn    = var.delivery_status_logging ? aws_iam_role.delivery_status[0].arn : null
  lambda_failure_feedback_role_arn    = var.delivery_status_logging ? aws_iam_role.delivery_status[0].arn : null
  lambda_success_feedback_sample_rate = var.delivery_status_logging ? var.delivery_status_success_sample_rate : null

  tags = var.tags
}

resource "aws_sns_topic_policy" "this" {
  arn = aws_sns_topic.this.arn

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid       = "OnlyThisAccountPublishes"
          Effect    = "Allow"
          Principal = { AWS = local.root_arn }
          Action    = ["sns:Publish"]
          Resource  = aws_sns_topic.this.arn
          Condition = { StringEquals = { "aws:PrincipalAccount" = local.account_id } }
        },
        {
          Sid       = "DenyInsecureTransport"
          Effect    = "Deny"
          Principal = { AWS = "*" }
          Action = [
            "sns:Publish", "sns:Subscribe", "sns:Receive", "sns:GetTopicAttributes",
            "sns:SetTopicAttributes", "sns:AddPermission", "sns:RemovePermission",
            "sns:DeleteTopic", "sns:ListSubscriptionsByTopic",
          ]
          Resource  = aws_sns_topic.this.arn
          Condition = { Bool = { "aws:SecureTransport" = "false" } }
        },
      ],
      length(var.publisher_service_principals) == 0 ? [] : [
        {
          Sid       = "ServicePublishersFromThisAccount"
          Effect    = "Allow"
          Principal = { Service = var.publisher_service_principals }
          Action    = ["sns:Publish"]
          Resource  = aws_sns_topic.this.arn
          Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
        },
      ],
    )
  })
}

# --- delivery-status logging -------------------------------------------------

resource "aws_cloudwatch_log_group" "delivery_status" {
  for_each = var.delivery_status_logging ? local.delivery_log_groups : {}

  #checkov:skip=CKV_AWS_338:Retention is a per-environment size (log_retention_days in terraform.tfvars); prod keeps a year, dev and staging keep delivery logs only as long as they are useful for debugging.
  name              = each.value
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_iam_role" "delivery_status" {
  count = var.delivery_status_logging ? 1 : 0

  name_prefix = substr("${var.name}-sns-log-", 0, 38)
  description = "Lets SNS write Lambda delivery-status logs of topic ${var.name}."
  tags        = var.tags

  permissions_boundary = var.permissions_boundary_arn

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "sns.amazonaws.com" }
      Action    = ["sts:AssumeRole"]
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "delivery_status" {
  count = var.delivery_status_logging ? 1 : 0

  name = "write-delivery-status-logs"
  role = aws_iam_role.delivery_status[0].id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "WriteThisTopicsDeliveryLogs"
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = [for g in aws_cloudwatch_log_group.delivery_status : "${g.arn}:*"]
    }]
  })
}
