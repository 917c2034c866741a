# Once per AWS account, applied by a human with administrator credentials:
# the state bucket, the GitHub Actions OIDC provider, and one deploy role per
# environment. Everything after this is deployed by .github/workflows/deploy.yml.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = var.aws_region
  oidc_url   = "token.actions.githubusercontent.com"

  oidc_provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : var.existing_oidc_provider_arn

  # Names every environment's resources start with: the deploy role of <env> manages these only.
  prefix = { for env in var.environments : env => format(var.resource_name_format, env) }
}

# --- Terraform state -----------------------------------------------------------

resource "aws_kms_key" "state" {
  description             = "${var.project}: encrypts the Terraform state bucket"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      # The account administers the key; who may use it is decided by IAM policies
      # (the deploy roles below get Encrypt/Decrypt/GenerateDataKey).
      Sid       = "AccountAdministersThroughIAM"
      Effect    = "Allow"
      Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
}

resource "aws_kms_alias" "state" {
  name          = "alias/${var.project}-terraform-state"
  target_key_id = aws_kms_key.state.key_id
}

resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice per account, not a default; the state is versioned, KMS-encrypted and every past version is kept for noncurrent_state_retention_days.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of the state bucket; access is audited through its server access logs (and CloudTrail).
  bucket = var.state_bucket_name
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.state.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    id     = "expire-superseded-state"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_state_retention_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.state]
}

resource "aws_s3_bucket_logging" "state" {
  bucket        = aws_s3_bucket.state.id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "state/"
}

data "aws_iam_policy_document" "state_bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.state.arn,
      "${aws_s3_bucket.state.arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "state" {
  bucket     = aws_s3_bucket.state.id
  policy     = data.aws_iam_policy_document.state_bucket.json
  depends_on = [aws_s3_bucket_public_access_block.state]
}

# --- Server access logs of the state bucket --------------------------------------

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_18:This is the access-log bucket itself; logging it would need yet another bucket, without end.
  #checkov:skip=CKV_AWS_144:Access logs are an audit trail kept in-region; replicating them is an account-level DR choice.
  #checkov:skip=CKV_AWS_145:S3 server access logging delivers only to buckets encrypted with SSE-S3 (AES256), not SSE-KMS.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of the access-log bucket.
  bucket = "${var.state_bucket_name}-logs"
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  bucket                  = aws_s3_bucket.access_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = 365
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.access_logs]
}

data "aws_iam_policy_document" "access_logs" {
  statement {
    sid       = "S3ServerAccessLogsFromTheStateBucket"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/state/*"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.state.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.access_logs.arn,
      "${aws_s3_bucket.access_logs.arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "access_logs" {
  bucket     = aws_s3_bucket.access_logs.id
  policy     = data.aws_iam_policy_document.access_logs.json
  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}

# --- GitHub Actions OIDC provider ---------------------------------------------------

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 1 : 0

  url            = "https://${local.oidc_url}"
  client_id_list = ["sts.amazonaws.com"]
  # IAM trusts GitHub's OIDC endpoint through its own CA library; the thumbprints
  # are kept for tools and partitions that still read them.
  thumbprint_list = [
    "6938fd4d98bab03faadb97b34396831e3780aea1",
    "1c58a3a8518e8759bf075b76b750d4f2df264fcd",
  ]
}

# --- One deploy role per environment ------------------------------------------------

data "aws_iam_policy_document" "deploy_trust" {
  for_each = var.environments

  statement {
    sid     = "GitHubActionsDeployJobsOfThisEnvironment"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"]
    principals {
      type        = "Federated"
      identifiers = [local.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_url}:aud"
      values   = ["sts.amazonaws.com"]
    }
    # Only jobs of this repository that run in the GitHub environment of the same
    # name (whose protection rules: required reviewers, main only) get this role.
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_url}:sub"
      values   = ["repo:${var.github_repository}:environment:${each.key}"]
    }
  }
}

resource "aws_iam_role" "deploy" {
  for_each = var.environments

  name                 = "${var.project}-deploy-${each.key}" # outside <project>-<env>-*: it cannot edit itself
  description          = "Assumed by GitHub Actions (${var.github_repository}, environment ${each.key}) to plan and apply ${each.key}"
  assume_role_policy   = data.aws_iam_policy_document.deploy_trust[each.key].json
  max_session_duration = var.max_session_duration
}

# The most any role that a deploy creates (a function's execution role, SNS's
# delivery-status logging role) can ever be granted: a deploy role cannot create
# a role without it, so it cannot mint a role more powerful than that.
data "aws_iam_policy_document" "lambda_boundary" {
  for_each = var.environments

  statement {
    sid = "OwnLogs"
    actions = [
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:PutMetricFilter",
      "logs:PutRetentionPolicy",
    ]
    resources = [
      "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${local.prefix[each.key]}-*",
      "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:sns/${local.region}/${local.account_id}/${local.prefix[each.key]}-*",
    ]
  }

  statement {
    sid = "Tracing"
    actions = [
      "xray:PutTraceSegments",
      "xray:PutTelemetryRecords",
    ]
    resources = ["*"] # X-Ray has no resource-level permissions for these actions.
  }

  statement {
    sid       = "PublishEvents"
    actions   = ["sns:Publish"]
    resources = ["arn:${local.partition}:sns:${local.region}:${local.account_id}:${local.prefix[each.key]}-*"]
  }

  statement {
    sid = "Queues"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
      "sqs:SendMessage",
    ]
    resources = ["arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.prefix[each.key]}-*"]
  }

  statement {
    sid = "Tables"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:BatchGetItem",
      "dynamodb:Query",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:DeleteItem",
      "dynamodb:BatchWriteItem",
      "dynamodb:ConditionCheckItem",
    ]
    resources = [
      "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${local.prefix[each.key]}-*",
      "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${local.prefix[each.key]}-*/index/*",
    ]
  }

  statement {
    sid       = "Buckets"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["arn:${local.partition}:s3:::${local.prefix[each.key]}-*/*"]
    condition {
      test     = "StringEquals"
      variable = "s3:ResourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "SendEmail"
    actions   = ["ses:SendEmail", "ses:SendRawEmail"]
    resources = ["arn:${local.partition}:ses:${local.region}:${local.account_id}:identity/*"]
  }

  statement {
    sid       = "KeysOfThisEnvironment"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["arn:${local.partition}:kms:${local.region}:${local.account_id}:key/*"]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${var.environment_tag_key}"
      values   = [each.key]
    }
  }
}

resource "aws_iam_policy" "lambda_boundary" {
  for_each = var.environments

  name        = "${local.prefix[each.key]}-role-boundary"
  description = "Permissions boundary of every role (Lambda execution, SNS delivery logging) that the ${each.key} deploy creates"
  policy      = data.aws_iam_policy_document.lambda_boundary[each.key].json
}

# What `terraform apply` and `destroy` of one environment call, and nothing else: the
# control-plane actions of the resources it manages (tests/iam checks every call of an
# apply and destroy of dev against this policy and AWS's authorization reference).
# No data-plane reads: the deploy role can create a table, a queue or a bucket but never
# read an order, a dead letter or an object in it, nor invoke a function.
# docs/terraform.md ("The deploy role") explains each statement.
data "aws_iam_policy_document" "deploy" {
  for_each = var.environments

  # Terraform state of this environment only; the S3 backend's lock file lives beside it.
  statement {
    sid       = "StateList"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.state.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.state_key_prefix}${each.key}/*"]
    }
    condition {
      test     = "StringEquals"
      variable = "s3:ResourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "StateReadWrite"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.state.arn}/${var.state_key_prefix}${each.key}/*"]
    condition {
      test     = "StringEquals"
      variable = "s3:ResourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "StateKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.state.arn]
  }

  statement {
    sid = "Functions"
    actions = [
      "lambda:CreateFunction",
      "lambda:GetFunction",
      "lambda:GetFunctionConfiguration",
      "lambda:UpdateFunctionCode",
      "lambda:UpdateFunctionConfiguration",
      "lambda:DeleteFunction",
      "lambda:GetFunctionCodeSigningConfig",
      "lambda:ListVersionsByFunction",
      "lambda:PutFunctionConcurrency",
      "lambda:DeleteFunctionConcurrency",
      "lambda:GetFunctionEventInvokeConfig",
      "lambda:PutFunctionEventInvokeConfig",
      "lambda:UpdateFunctionEventInvokeConfig",
      "lambda:DeleteFunctionEventInvokeConfig",
      "lambda:GetPolicy",
      "lambda:RemovePermission",
      "lambda:ListTags",
      "lambda:TagResource",
      "lambda:UntagResource",
    ]
    resources = ["arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${local.prefix[each.key]}-*"]
  }

  # Invoke permissions for the three services that call functions (SNS subscriptions,
  # EventBridge schedules, HTTP API routes), never for an account or the public.
  statement {
    sid       = "InvokePermissionsForServicesOnly"
    actions   = ["lambda:AddPermission"]
    resources = ["arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${local.prefix[each.key]}-*"]
    condition {
      test     = "StringEquals"
      variable = "lambda:Principal"
      values   = ["sns.amazonaws.com", "events.amazonaws.com", "apigateway.amazonaws.com"]
    }
  }

  # Event source mappings of queue-delivered subscriptions. Lambda authorizes creation
  # on "*" and names the function in lambda:FunctionArn; a mapping has a UUID name,
  # so the function it serves is what limits the others too.
  statement {
    sid       = "EventSourceMappingsCreate"
    actions   = ["lambda:CreateEventSourceMapping"]
    resources = ["*"]
    condition {
      test     = "ArnLike"
      variable = "lambda:FunctionArn"
      values   = ["arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${local.prefix[each.key]}-*"]
    }
  }

  statement {
    sid = "EventSourceMappings"
    actions = [
      "lambda:GetEventSourceMapping",
      "lambda:UpdateEventSourceMapping",
      "lambda:DeleteEventSourceMapping",
    ]
    resources = ["arn:${local.partition}:lambda:${local.region}:${local.account_id}:event-source-mapping:*"]
    condition {
      test     = "ArnLike"
      variable = "lambda:FunctionArn"
      values   = ["arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${local.prefix[each.key]}-*"]
    }
  }

  statement {
    sid       = "EventSourceMappingTags"
    actions   = ["lambda:ListTags", "lambda:TagResource", "lambda:UntagResource"]
    resources = ["arn:${local.partition}:lambda:${local.region}:${local.account_id}:event-source-mapping:*"]
  }

  statement {
    sid = "Topics"
    actions = [
      "sns:CreateTopic",
      "sns:DeleteTopic",
      "sns:GetTopicAttributes",
      "sns:SetTopicAttributes",
      "sns:Subscribe",
      "sns:ListSubscriptionsByTopic",
      "sns:ListTagsForResource",
      "sns:TagResource",
      "sns:UntagResource",
    ]
    resources = ["arn:${local.partition}:sns:${local.region}:${local.account_id}:${local.prefix[each.key]}-*"]
  }

  # AWS authorizes these on "*" only: a subscription is not a resource type of SNS.
  statement {
    sid       = "Subscriptions"
    actions   = ["sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes", "sns:Unsubscribe"]
    resources = ["*"]
  }

  statement {
    sid = "Queues"
    actions = [
      "sqs:CreateQueue",
      "sqs:DeleteQueue",
      "sqs:GetQueueAttributes",
      "sqs:SetQueueAttributes",
      "sqs:ListQueueTags",
      "sqs:TagQueue",
      "sqs:UntagQueue",
    ]
    resources = ["arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.prefix[each.key]}-*"]
  }

  statement {
    sid = "Tables"
    actions = [
      "dynamodb:CreateTable",
      "dynamodb:DeleteTable",
      "dynamodb:DescribeTable",
      "dynamodb:UpdateTable",
      "dynamodb:DescribeContinuousBackups",
      "dynamodb:UpdateContinuousBackups",
      "dynamodb:DescribeTimeToLive",
      "dynamodb:UpdateTimeToLive",
      "dynamodb:ListTagsOfResource",
      "dynamodb:TagResource",
      "dynamodb:UntagResource",
    ]
    resources = ["arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${local.prefix[each.key]}-*"]
  }

  # Bucket configuration only: no object action on the data buckets.
  statement {
    sid = "Buckets"
    actions = [
      "s3:CreateBucket",
      "s3:DeleteBucket",
      "s3:ListBucket",
      "s3:GetBucketAcl",
      "s3:GetBucketCORS",
      "s3:GetBucketWebsite",
      "s3:GetAccelerateConfiguration",
      "s3:GetBucketRequestPayment",
      "s3:GetReplicationConfiguration",
      "s3:GetBucketObjectLockConfiguration",
      "s3:GetBucketLogging",
      "s3:GetLifecycleConfiguration",
      "s3:PutLifecycleConfiguration",
      "s3:GetEncryptionConfiguration",
      "s3:PutEncryptionConfiguration",
      "s3:GetBucketOwnershipControls",
      "s3:PutBucketOwnershipControls",
      "s3:GetBucketPolicy",
      "s3:PutBucketPolicy",
      "s3:DeleteBucketPolicy",
      "s3:GetBucketPublicAccessBlock",
      "s3:PutBucketPublicAccessBlock",
      "s3:GetBucketTagging",
      "s3:PutBucketTagging",
      "s3:GetBucketVersioning",
      "s3:PutBucketVersioning",
    ]
    resources = ["arn:${local.partition}:s3:::${local.prefix[each.key]}-*"]
    condition {
      test     = "StringEquals"
      variable = "s3:ResourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid = "LogGroups"
    actions = [
      "logs:CreateLogGroup",
      "logs:DeleteLogGroup",
      "logs:PutRetentionPolicy",
      "logs:DeleteRetentionPolicy",
      "logs:AssociateKmsKey",
      "logs:DisassociateKmsKey",
      "logs:ListTagsForResource",
      "logs:TagResource",
      "logs:UntagResource",
    ]
    resources = [
      "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${local.prefix[each.key]}-*",
      "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/apigateway/${local.prefix[each.key]}-*",
      "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:sns/${local.region}/${local.account_id}/${local.prefix[each.key]}-*",
    ]
  }

  # AWS authorizes these on "*" only. DescribeLogGroups is how the provider reads a log
  # group back; the delivery actions are what API Gateway checks on the caller that
  # sets an HTTP API stage's access log.
  statement {
    sid = "LogReadBackAndAccessLogDelivery"
    actions = [
      "logs:DescribeLogGroups",
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "Alarms"
    actions   = ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms", "cloudwatch:TagResource", "cloudwatch:UntagResource", "cloudwatch:ListTagsForResource"]
    resources = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${local.prefix[each.key]}-*"]
  }

  # The environment's dashboard (<env>-messaging); dashboard ARNs carry no region.
  statement {
    sid       = "Dashboards"
    actions   = ["cloudwatch:PutDashboard", "cloudwatch:GetDashboard", "cloudwatch:DeleteDashboards"]
    resources = ["arn:${local.partition}:cloudwatch::${local.account_id}:dashboard/${local.prefix[each.key]}-*"]
  }

  # Manifest schedules (orders_api's republish) become EventBridge rules named <env>-*.
  statement {
    sid       = "Schedules"
    actions   = ["events:PutRule", "events:DeleteRule", "events:DescribeRule", "events:PutTargets", "events:RemoveTargets", "events:ListTargetsByRule", "events:TagResource", "events:UntagResource", "events:ListTagsForResource"]
    resources = ["arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${local.prefix[each.key]}-*"]
  }

  # KMS key ids are random: keys are created, and then managed, by their environment tag.
  statement {
    sid       = "CreateKeysTaggedWithThisEnvironment"
    actions   = ["kms:CreateKey"]
    resources = ["*"] # kms:CreateKey has no resource; the request tag below scopes it.
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${var.environment_tag_key}"
      values   = [each.key]
    }
  }

  # CreateKey with tags is also authorized as kms:TagResource on the new key.
  statement {
    sid       = "TagNewKeysWithThisEnvironment"
    actions   = ["kms:TagResource"]
    resources = ["arn:${local.partition}:kms:${local.region}:${local.account_id}:key/*"]
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${var.environment_tag_key}"
      values   = [each.key]
    }
  }

  # Key management, no cryptographic use: the deploy role cannot decrypt data of the environment.
  statement {
    sid = "KeysOfThisEnvironment"
    actions = [
      "kms:DescribeKey",
      "kms:GetKeyPolicy",
      "kms:PutKeyPolicy",
      "kms:GetKeyRotationStatus",
      "kms:EnableKeyRotation",
      "kms:ListResourceTags",
      "kms:TagResource",
      "kms:UntagResource",
      "kms:UpdateKeyDescription",
      "kms:ScheduleKeyDeletion",
      "kms:CreateAlias",
      "kms:DeleteAlias",
      "kms:UpdateAlias",
    ]
    resources = ["arn:${local.partition}:kms:${local.region}:${local.account_id}:key/*"]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${var.environment_tag_key}"
      values   = [each.key]
    }
  }

  statement {
    sid     = "AliasesOfThisEnvironment"
    actions = ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"]
    resources = [
      "arn:${local.partition}:kms:${local.region}:${local.account_id}:alias/${local.prefix[each.key]}-*",
      "arn:${local.partition}:kms:${local.region}:${local.account_id}:alias/*/${local.prefix[each.key]}-*",
    ]
  }

  # DynamoDB creates the grant on a table's customer managed key with the credentials
  # of whoever creates the table; only through DynamoDB, only for an AWS resource.
  statement {
    sid       = "GrantsForTablesOnKeysOfThisEnvironment"
    actions   = ["kms:CreateGrant"]
    resources = ["arn:${local.partition}:kms:${local.region}:${local.account_id}:key/*"]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${var.environment_tag_key}"
      values   = [each.key]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "Bool"
      variable = "kms:GrantIsForAWSResource"
      values   = ["true"]
    }
  }

  # A table encrypted with the AWS managed key is read back through that key's alias.
  statement {
    sid       = "DescribeTheDynamoDbManagedKey"
    actions   = ["kms:DescribeKey"]
    resources = ["arn:${local.partition}:kms:${local.region}:${local.account_id}:key/*"]
    condition {
      test     = "StringEquals"
      variable = "kms:RequestAlias"
      values   = ["alias/aws/dynamodb"]
    }
  }

  # AWS authorizes kms:ListAliases on "*" only; the provider reads every alias back with it.
  statement {
    sid       = "ListAliases"
    actions   = ["kms:ListAliases"]
    resources = ["*"]
  }

  statement {
    sid       = "HttpApi"
    actions   = ["apigateway:GET", "apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE"]
    resources = ["arn:${local.partition}:apigateway:${local.region}::/apis", "arn:${local.partition}:apigateway:${local.region}::/apis/*", "arn:${local.partition}:apigateway:${local.region}::/tags/*"]
  }

  # The environment's sender identities (aws_sesv2_email_identity): addresses carry no
  # environment prefix, so the environment tag scopes them.
  statement {
    sid       = "CreateEmailIdentitiesTaggedWithThisEnvironment"
    actions   = ["ses:CreateEmailIdentity", "ses:TagResource"]
    resources = ["arn:${local.partition}:ses:${local.region}:${local.account_id}:identity/*"]
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${var.environment_tag_key}"
      values   = [each.key]
    }
  }

  statement {
    sid       = "EmailIdentitiesOfThisEnvironment"
    actions   = ["ses:GetEmailIdentity", "ses:DeleteEmailIdentity", "ses:ListTagsForResource", "ses:TagResource", "ses:UntagResource"]
    resources = ["arn:${local.partition}:ses:${local.region}:${local.account_id}:identity/*"]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${var.environment_tag_key}"
      values   = [each.key]
    }
  }

  # The X-Ray resource policy that lets SNS send the topics' traces (SNS active tracing).
  # AWS authorizes these on "*" only; the policy a deploy writes is reviewed in
  # terraform/modules/system/tracing.tf.
  statement {
    sid       = "XRayResourcePolicyForSnsTracing"
    actions   = ["xray:PutResourcePolicy", "xray:ListResourcePolicies", "xray:DeleteResourcePolicy"]
    resources = ["*"]
  }

  # Roles of this environment (Lambda execution, SNS delivery logging), always under the boundary above.
  statement {
    sid = "RolesWithinTheBoundary"
    actions = [
      "iam:CreateRole",
      "iam:PutRolePolicy",
      "iam:DeleteRolePolicy",
      "iam:PutRolePermissionsBoundary",
    ]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/${local.prefix[each.key]}-*"]
    condition {
      test     = "ArnEquals"
      variable = "iam:PermissionsBoundary"
      values   = [aws_iam_policy.lambda_boundary[each.key].arn]
    }
  }

  # iam:UpdateAssumeRolePolicy takes no iam:PermissionsBoundary key: the environment tag
  # every role of the environment carries (provider default_tags) scopes it instead.
  statement {
    sid       = "TrustOfRolesOfThisEnvironment"
    actions   = ["iam:UpdateAssumeRolePolicy"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/${local.prefix[each.key]}-*"]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${var.environment_tag_key}"
      values   = [each.key]
    }
  }

  statement {
    sid = "Roles"
    actions = [
      "iam:GetRole",
      "iam:UpdateRole",
      "iam:UpdateRoleDescription",
      "iam:DeleteRole",
      "iam:TagRole",
      "iam:UntagRole",
      "iam:GetRolePolicy",
      "iam:ListRolePolicies",
      "iam:ListAttachedRolePolicies",
      "iam:ListInstanceProfilesForRole",
    ]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/${local.prefix[each.key]}-*"]
  }

  statement {
    sid       = "PassRolesToLambdaAndSnsOnly"
    actions   = ["iam:PassRole"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/${local.prefix[each.key]}-*"]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["lambda.amazonaws.com", "sns.amazonaws.com"]
    }
  }

  # The deploy role can never loosen a role's boundary or the boundary itself.
  statement {
    sid    = "NoEscalation"
    effect = "Deny"
    actions = [
      "iam:DeleteRolePermissionsBoundary",
      "iam:CreatePolicyVersion",
      "iam:SetDefaultPolicyVersion",
      "iam:DeletePolicy",
    ]
    resources = [
      "arn:${local.partition}:iam::${local.account_id}:role/${local.prefix[each.key]}-*",
      aws_iam_policy.lambda_boundary[each.key].arn,
    ]
  }
}

resource "aws_iam_role_policy" "deploy" {
  for_each = var.environments

  name   = "deploy-${each.key}"
  role   = aws_iam_role.deploy[each.key].id
  policy = data.aws_iam_policy_document.deploy[each.key].json
}
