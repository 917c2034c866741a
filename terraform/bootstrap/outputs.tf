output "state_bucket" {
  description = "Name of the Terraform state bucket: the `bucket` of every environment's S3 backend."
  value       = aws_s3_bucket.state.id
}

output "state_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the state: the `kms_key_id` of every environment's S3 backend."
  value       = aws_kms_key.state.arn
}

output "state_keys" {
  description = "State object key per environment: the `key` of that environment's S3 backend."
  value       = { for env in var.environments : env => "${var.state_key_prefix}${env}/terraform.tfstate" }
}

output "oidc_provider_arn" {
  description = "ARN of the GitHub Actions OIDC provider the deploy roles trust."
  value       = local.oidc_provider_arn
}

output "deploy_role_arns" {
  description = "Deploy role ARN per environment: set it as the AWS_DEPLOY_ROLE_ARN variable of the GitHub environment of the same name."
  value       = { for env, role in aws_iam_role.deploy : env => role.arn }
}

output "permissions_boundary_arns" {
  description = "Permissions boundary per environment that every IAM role the environment creates (Lambda execution, SNS delivery logging) must carry as permissions_boundary."
  value       = { for env, policy in aws_iam_policy.lambda_boundary : env => policy.arn }
}

output "resource_name_prefixes" {
  description = "Name prefix per environment: each deploy role manages only resources whose names start with it."
  value       = local.prefix
}

output "github_environment_variables" {
  description = "The variables to set on each GitHub environment (Settings, Environments), per environment."
  value = {
    for env, role in aws_iam_role.deploy : env => {
      AWS_DEPLOY_ROLE_ARN = role.arn
      AWS_REGION          = var.aws_region
    }
  }
}
