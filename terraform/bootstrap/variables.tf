variable "aws_region" {
  description = "AWS region of the state bucket and of every environment this account deploys."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must be an AWS region name such as eu-west-1."
  }
}

variable "project" {
  description = "Short project name: prefix of the names of the resources created here (the deploy roles are <project>-deploy-<environment>)."
  type        = string
  default     = "orders"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.project))
    error_message = "project must be 3-20 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "github_repository" {
  description = "The GitHub repository, as owner/name, whose workflows may assume the deploy roles."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$", var.github_repository))
    error_message = "github_repository must be owner/name, e.g. example-org/orders-platform."
  }
}

variable "environments" {
  description = "Environments to create a deploy role for; each must also exist as a GitHub environment of the same name."
  type        = set(string)
  default     = ["dev", "staging", "prod"]

  validation {
    condition     = length(var.environments) > 0 && alltrue([for e in var.environments : contains(["dev", "staging", "prod"], e)])
    error_message = "environments must be a non-empty subset of dev, staging and prod."
  }
}

variable "state_bucket_name" {
  description = "Globally unique name of the S3 bucket that holds every environment's Terraform state."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name)) && !can(regex("\\.\\.", var.state_bucket_name))
    error_message = "state_bucket_name must be a valid S3 bucket name: 3-63 lower-case letters, digits, dots and hyphens."
  }
}

variable "state_key_prefix" {
  description = "Prefix of the state object keys: environment <env> keeps its state under <prefix><env>/ (with the default empty prefix, dev/terraform.tfstate)."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^([a-z0-9_-]+/)*$", var.state_key_prefix))
    error_message = "state_key_prefix must be empty or end with a slash, e.g. states/."
  }
}

variable "create_oidc_provider" {
  description = "Create the account's GitHub Actions OIDC provider; set false when the account already has one (an account holds at most one per URL)."
  type        = bool
  default     = true
}

variable "existing_oidc_provider_arn" {
  description = "ARN of the account's existing GitHub OIDC provider; used only when create_oidc_provider is false."
  type        = string
  default     = ""

  validation {
    condition     = var.existing_oidc_provider_arn == "" || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token\\.actions\\.githubusercontent\\.com$", var.existing_oidc_provider_arn))
    error_message = "existing_oidc_provider_arn must be empty or the ARN of a token.actions.githubusercontent.com OIDC provider."
  }
}

variable "max_session_duration" {
  description = "Maximum session length, in seconds, of a deploy role (a plan plus an apply must fit)."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_duration >= 900 && var.max_session_duration <= 43200
    error_message = "max_session_duration must be between 900 and 43200 seconds."
  }
}

variable "noncurrent_state_retention_days" {
  description = "Days to keep superseded state versions (the way back after a bad apply) before they expire."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_state_retention_days >= 30
    error_message = "noncurrent_state_retention_days must be at least 30."
  }
}

variable "resource_name_format" {
  description = "format() pattern that turns an environment name into the name prefix of its resources; the deploy role of an environment manages only resources named <prefix>-*. The default matches terraform/environments, which names everything <environment>-..."
  type        = string
  default     = "%s"

  validation {
    condition     = strcontains(var.resource_name_format, "%s") && can(regex("^[a-z0-9%-]+$", var.resource_name_format))
    error_message = "resource_name_format must contain %s and only lower-case letters, digits and hyphens, e.g. \"%s\" or \"orders-%s\"."
  }
}

variable "environment_tag_key" {
  description = "Tag key whose value is the environment name on every resource an environment creates (the environments' provider default_tags); KMS keys, whose ids are random, are scoped by it."
  type        = string
  default     = "environment"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.:/=+@-]{1,128}$", var.environment_tag_key))
    error_message = "environment_tag_key must be a valid AWS tag key."
  }
}
