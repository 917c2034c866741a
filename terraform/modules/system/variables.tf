variable "environment" {
  description = "Environment name (dev, staging, prod); prefixes every physical name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.environment))
    error_message = "The environment is 1-16 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "repo_root" {
  description = "Root of the repository, holding shared/events/catalog.json, shared/resources.json and services/. Null means three directories above this module."
  type        = string
  default     = null
}

variable "services_dirs" {
  description = "Directories whose */service.json manifests are deployed. Empty means <repo_root>/services. Tests add a fixture directory here."
  type        = list(string)
  default     = []
}

variable "artifacts_dir" {
  description = "Directory holding <service>.zip for every service (make build-all). Null means <repo_root>/dist."
  type        = string
  default     = null
}

variable "log_level" {
  description = "LOG_LEVEL of every function."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "LOG_LEVEL is DEBUG, INFO, WARNING or ERROR."
  }
}

variable "log_retention_days" {
  description = "Retention of every log group (functions, API access logs, SNS delivery status), in days."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "Log retention must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions of every function; -1 leaves them unreserved."
  type        = number
  default     = -1

  validation {
    condition     = var.reserved_concurrency >= -1
    error_message = "Reserved concurrency is -1 (unreserved) or a non-negative number."
  }
}

variable "reserved_concurrency_overrides" {
  description = "Reserved concurrency per service name, overriding reserved_concurrency."
  type        = map(number)
  default     = {}
}

variable "queue_maximum_concurrency_overrides" {
  description = "Maximum concurrency of the event source mappings of a service's queue-delivered subscriptions, per service name, overriding the manifest's."
  type        = map(number)
  default     = {}

  validation {
    condition     = alltrue([for n in values(var.queue_maximum_concurrency_overrides) : n >= 2 && n <= 1000])
    error_message = "An event source mapping's maximum concurrency is 2 to 1000."
  }
}

variable "alarm_period_s" {
  description = "Period of every alarm, in seconds."
  type        = number
  default     = 300

  validation {
    condition     = contains([60, 300, 900, 3600], var.alarm_period_s)
    error_message = "Alarm periods are 60, 300, 900 or 3600 seconds."
  }
}

variable "error_alarm_threshold" {
  description = "Function errors in one period at which a function's errors alarm fires."
  type        = number
  default     = 1

  validation {
    condition     = var.error_alarm_threshold >= 1
    error_message = "The threshold is at least 1."
  }
}

variable "throttle_alarm_threshold" {
  description = "Throttled invocations in one period at which a function's throttles alarm fires."
  type        = number
  default     = 1

  validation {
    condition     = var.throttle_alarm_threshold >= 1
    error_message = "The threshold is at least 1."
  }
}

variable "api_throttling_burst_limit" {
  description = "Default burst limit of the HTTP API routes."
  type        = number
  default     = 100

  validation {
    condition     = var.api_throttling_burst_limit >= 1
    error_message = "The burst limit is at least 1."
  }
}

variable "api_throttling_rate_limit" {
  description = "Default rate limit of the HTTP API routes (requests per second)."
  type        = number
  default     = 50

  validation {
    condition     = var.api_throttling_rate_limit >= 1
    error_message = "The rate limit is at least 1."
  }
}

variable "delivery_status_success_sample_rate" {
  description = "Percentage of successful SNS-to-Lambda deliveries logged (failures are always logged)."
  type        = number
  default     = 10

  validation {
    condition     = var.delivery_status_success_sample_rate >= 0 && var.delivery_status_success_sample_rate <= 100
    error_message = "The sample rate is a percentage between 0 and 100."
  }
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
  description = "Waiting period before KMS keys are deleted after their resources are destroyed."
  type        = number
  default     = 30

  validation {
    condition     = var.key_deletion_window_days >= 7 && var.key_deletion_window_days <= 30
    error_message = "KMS accepts a deletion window of 7 to 30 days."
  }
}

variable "tags" {
  description = "Tags added to every resource (on top of the provider's default tags)."
  type        = map(string)
  default     = {}
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary every IAM role of the environment carries (the bootstrap's permissions_boundary_arns[<env>]); null for none."
  type        = string
  default     = null
}

variable "alarm_subscriptions" {
  description = "Who the alarm topic notifies: e-mail addresses, HTTPS endpoints (an incident tool, or https://global.sns-api.chatbot.amazonaws.com for AWS Chatbot's chat channels) or Lambda functions (ARN) that forward alarms."
  type = list(object({
    protocol = string
    endpoint = string
  }))
  default = []

  validation {
    condition = alltrue([for s in var.alarm_subscriptions : (
      (s.protocol == "email" && can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", s.endpoint))) ||
      (s.protocol == "https" && can(regex("^https://[^\\s]+$", s.endpoint))) ||
      (s.protocol == "lambda" && can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$", s.endpoint)))
    )])
    error_message = "Each alarm subscription is { protocol = \"email\", endpoint = <address> }, { protocol = \"https\", endpoint = \"https://...\" } or { protocol = \"lambda\", endpoint = <function ARN> }."
  }

  validation {
    condition     = length(distinct([for s in var.alarm_subscriptions : "${s.protocol}:${s.endpoint}"])) == length(var.alarm_subscriptions)
    error_message = "An alarm subscription is listed twice."
  }
}

variable "email_sender_addresses" {
  description = "Address of every e-mail sender of shared/resources.json in this environment, by logical name (e.g. { orders = \"orders@dev.example.org\" }); each becomes an SES identity to verify."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for a in values(var.email_sender_addresses) : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", a))])
    error_message = "Each sender address must be an e-mail address."
  }
}

variable "tracing_backend" {
  description = "How every function traces (MESSAGING_TRACING): xray (the X-Ray SDK), otel (OpenTelemetry through the ADOT Lambda layer, whose collector exports to X-Ray) or off."
  type        = string
  default     = "xray"

  validation {
    condition     = contains(["xray", "otel", "off"], var.tracing_backend)
    error_message = "tracing_backend is xray, otel or off (messaging.config.TRACING_BACKENDS)."
  }
}

variable "otel_layer_arns" {
  description = "ADOT Python Lambda layer version ARN per function architecture (arm64, x86_64) in this environment's region; every architecture in use needs one when tracing_backend is otel."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for arch, arn in var.otel_layer_arns : contains(["arm64", "x86_64"], arch) && can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$", arn))])
    error_message = "otel_layer_arns maps arm64 and/or x86_64 to a layer version ARN (arn:aws:lambda:<region>:<account>:layer:<name>:<version>)."
  }
  validation {
    condition     = var.tracing_backend != "otel" || length(var.otel_layer_arns) > 0
    error_message = "tracing_backend otel needs otel_layer_arns: the ADOT Python layer's ARN for each architecture the functions use (docs/terraform.md, \"Tracing\")."
  }
}

variable "manage_sns_tracing_policy" {
  description = "Create the X-Ray resource policy that lets SNS active tracing write segments of this environment's topics. Turn off only where the account's X-Ray resource policies are managed elsewhere (an account holds at most five)."
  type        = bool
  default     = true
}

variable "jwt_authorizer" {
  description = "Issuer and audience of the JWTs the routes declared \"auth\": \"jwt\" accept (null when no route needs one; see jwt_routes)."
  type = object({
    issuer   = string
    audience = list(string)
  })
  default = null
}
