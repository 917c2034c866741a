# One service of the system: its function, log group and asynchronous invoke
# configuration here; its role (iam.tf), queue key (kms.tf), dead-letter queues
# (queues.tf), SNS subscriptions (subscriptions.tf), queue-delivered
# subscriptions (queue_delivery.tf), alarms (alarms.tf) and schedule
# (schedule.tf) beside it.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  function_name = "${var.environment}-${replace(var.service_name, "_", "-")}"
  function_arn  = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${local.function_name}"
  has_subs      = length(var.subscriptions) > 0
  direct_subs   = { for t, s in var.subscriptions : t => s if s.delivery == "direct" }
  queued_subs   = { for t, s in var.subscriptions : t => s if s.delivery == "queue" }

  # Environment-variable suffix: upper-cased, non-alphanumerics to "_".
  env_key = { for k in distinct(concat(keys(var.publish_topics), keys(var.tables), keys(var.buckets), keys(var.email_senders))) :
    k => upper(replace(k, "/[^A-Za-z0-9]/", "_"))
  }

  # The ADOT layer brings the OpenTelemetry SDK (on /opt/python) and its collector, an
  # extension listening on localhost:4318 that exports to X-Ray. No otel-instrument
  # wrapper: it would build its own provider with the protobuf exporter before the
  # handler's first line (the cold start group 5 does not measure); the messaging package
  # builds the lighter one and flushes it within each invocation (docs/messaging.md).
  tracing_environment = merge(
    { MESSAGING_TRACING = var.tracing_backend },
    var.tracing_backend != "otel" ? {} : {
      OTEL_SERVICE_NAME           = var.service_name
      OTEL_EXPORTER_OTLP_ENDPOINT = "http://localhost:4318"
    },
  )

  environment_variables = merge(
    local.tracing_environment,
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
}

resource "aws_cloudwatch_log_group" "function" {
  #checkov:skip=CKV_AWS_338:Retention is a per-environment size (log_retention_days in terraform.tfvars); prod keeps a year, dev and staging keep function logs only as long as they help debugging.
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
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
  layers                         = var.tracing_backend == "otel" ? [var.otel_layer_arn] : []

  # Active: Lambda samples and records the invocation, and hands the function its
  # X-Ray header (both backends parent their spans on it); off: nothing is recorded.
  tracing_config {
    mode = var.tracing_backend == "off" ? "PassThrough" : "Active"
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
