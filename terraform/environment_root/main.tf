# The one definition of an environment. terraform/environments/<env>/ links
# these files and adds only what differs: its backend (backend.tf) and its
# values (terraform.tfvars: name, account, sizes, sender, alarm subscribers).

provider "aws" {
  region              = var.region
  allowed_account_ids = var.allowed_account_ids

  default_tags {
    tags = {
      environment = var.environment
      service     = "sns-lambda-platform"
      repository  = var.repository
    }
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

module "system" {
  source = "../../modules/system"

  environment   = var.environment
  repo_root     = var.repo_root
  artifacts_dir = var.artifacts_dir

  log_level                           = var.log_level
  log_retention_days                  = var.log_retention_days
  reserved_concurrency                = var.reserved_concurrency
  reserved_concurrency_overrides      = var.reserved_concurrency_overrides
  queue_maximum_concurrency_overrides = var.queue_maximum_concurrency_overrides
  error_alarm_threshold               = var.error_alarm_threshold
  throttle_alarm_threshold            = var.throttle_alarm_threshold
  alarm_period_s                      = var.alarm_period_s
  api_throttling_burst_limit          = var.api_throttling_burst_limit
  api_throttling_rate_limit           = var.api_throttling_rate_limit
  delivery_status_success_sample_rate = var.delivery_status_success_sample_rate
  deletion_protection                 = var.deletion_protection
  force_destroy_buckets               = var.force_destroy_buckets
  key_deletion_window_days            = var.key_deletion_window_days

  alarm_subscriptions       = var.alarm_subscriptions
  email_sender_addresses    = var.email_sender_addresses
  manage_sns_tracing_policy = var.manage_sns_tracing_policy
  tracing_backend           = var.tracing_backend
  otel_layer_arns           = var.otel_layer_arns
  jwt_authorizer            = var.jwt_issuer == "" ? null : { issuer = var.jwt_issuer, audience = var.jwt_audience }

  permissions_boundary_arn = var.permissions_boundary_policy_name == "" ? null : "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:policy/${var.permissions_boundary_policy_name}"
}
