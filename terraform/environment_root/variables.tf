variable "environment" {
  description = "Name of the environment (dev, staging, prod): prefixes every physical name and tags every resource."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "The environment is dev, staging or prod, as the directory under terraform/environments/ that holds its backend and tfvars."
  }
}

variable "region" {
  description = "AWS region of the environment."
  type        = string
  default     = "eu-west-1"
}

variable "allowed_account_ids" {
  description = "The only AWS account(s) this environment may be applied to; a plan against any other account fails."
  type        = list(string)

  validation {
    condition     = length(var.allowed_account_ids) > 0 && alltrue([for a in var.allowed_account_ids : can(regex("^[0-9]{12}$", a))])
    error_message = "Give at least one 12-digit AWS account ID."
  }
}

variable "repository" {
  description = "Repository tag on every resource."
  type        = string
  default     = "sns-lambda-platform"
}

variable "artifacts_dir" {
  description = "Directory holding <service>.zip for every service; null means the repository's dist/."
  type        = string
  default     = null
}

variable "repo_root" {
  description = "Repository root holding shared/ and services/; null means three directories above the system module."
  type        = string
  default     = null
}

variable "log_level" {
  description = "LOG_LEVEL of every function."
  type        = string
  default     = "INFO"
}

variable "log_retention_days" {
  description = "Retention of every log group, in days."
  type        = number
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions of every function; -1 leaves them unreserved."
  type        = number
}

variable "reserved_concurrency_overrides" {
  description = "Reserved concurrency per service, overriding reserved_concurrency."
  type        = map(number)
  default     = {}
}

variable "queue_maximum_concurrency_overrides" {
  description = "Maximum concurrency of each service's queue consumers (event source mappings), per service, overriding the manifest's."
  type        = map(number)
  default     = {}
}

variable "error_alarm_threshold" {
  description = "Function errors in one period at which a function's errors alarm fires."
  type        = number
}

variable "throttle_alarm_threshold" {
  description = "Throttled invocations in one period at which a function's throttles alarm fires."
  type        = number
}

variable "alarm_period_s" {
  description = "Period of every alarm, in seconds."
  type        = number
  default     = 300
}

variable "api_throttling_burst_limit" {
  description = "Default burst limit of the HTTP API routes."
  type        = number
}

variable "api_throttling_rate_limit" {
  description = "Default rate limit of the HTTP API routes (requests per second)."
  type        = number
}

variable "delivery_status_success_sample_rate" {
  description = "Percentage of successful SNS-to-Lambda deliveries logged."
  type        = number
  default     = 10
}

variable "deletion_protection" {
  description = "Protect the shared tables from deletion."
  type        = bool
  default     = true
}

variable "force_destroy_buckets" {
  description = "Let `terraform destroy` delete buckets that still hold objects."
  type        = bool
  default     = false
}

variable "key_deletion_window_days" {
  description = "Waiting period before KMS keys are deleted."
  type        = number
  default     = 30
}

variable "permissions_boundary_policy_name" {
  description = "Name of the IAM policy every role of the environment carries as permissions boundary (the bootstrap creates <env>-role-boundary); empty for none."
  type        = string
  default     = ""
}

variable "alarm_subscriptions" {
  description = "Who the alarm topic notifies: a list of { protocol = \"email\" | \"https\" | \"lambda\", endpoint = ... } (docs/terraform.md, \"Alarm routing\")."
  type = list(object({
    protocol = string
    endpoint = string
  }))

  validation {
    # Staging and prod cannot opt out: their alarms are the ones people must hear.
    condition     = length(var.alarm_subscriptions) > 0 || (!var.require_alarm_subscriptions && !contains(["staging", "prod"], var.environment))
    error_message = "Environment ${var.environment}: alarm_subscriptions is empty, so every alarm of the alarm topic ${var.environment}-alarms would notify nobody. Set it in terraform/environments/${var.environment}/terraform.tfvars (docs/terraform.md, \"Alarm routing\")."
  }
}

variable "require_alarm_subscriptions" {
  description = "Fail the plan while alarm_subscriptions is empty; only a throwaway environment turns this off (staging and prod always fail)."
  type        = bool
  default     = true
}

variable "email_sender_addresses" {
  description = "Address of every e-mail sender of shared/resources.json in this environment, by logical name."
  type        = map(string)
}

variable "tracing_backend" {
  description = "How every function traces: xray, otel (the ADOT Lambda layer; needs otel_layer_arns) or off."
  type        = string
  default     = "xray"
}

variable "otel_layer_arns" {
  description = "ADOT Python Lambda layer version ARN per architecture (arm64, x86_64) in this region, for tracing_backend = otel."
  type        = map(string)
  default     = {}
}

variable "manage_sns_tracing_policy" {
  description = "Create the X-Ray resource policy SNS active tracing needs; off only where the account's X-Ray resource policies are managed elsewhere."
  type        = bool
  default     = true
}

variable "jwt_issuer" {
  description = "Issuer of the JWTs that routes declared \"auth\": \"jwt\" accept: an https URL serving /.well-known/openid-configuration (e.g. a Cognito user pool's https://cognito-idp.<region>.amazonaws.com/<pool id>); empty while no route needs one."
  type        = string
  default     = ""

  validation {
    # The list comes from the manifests alone (services/*/service.json), not from this variable.
    condition     = var.jwt_issuer != "" || length(module.system.jwt_routes) == 0
    error_message = "Environment ${var.environment}: the routes ${join(", ", module.system.jwt_routes)} are declared \"auth\": \"jwt\", so API Gateway needs the issuer of their tokens. Set jwt_issuer (and jwt_audience) in terraform/environments/${var.environment}/terraform.tfvars (docs/terraform.md, \"What you set per environment\")."
  }
}

variable "jwt_audience" {
  description = "Audiences (aud or client_id claim) a token for a jwt route must carry one of, e.g. the app client IDs of the user pool."
  type        = list(string)
  default     = []
}
