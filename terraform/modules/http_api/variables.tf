variable "name" {
  description = "Name of the HTTP API, already prefixed with the environment (e.g. dev-http)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,63}$", var.name))
    error_message = "The API name is lower-case kebab-case, at most 64 characters."
  }
}

variable "routes" {
  description = "Routes by route key (\"METHOD /path\"), each with the function that serves it."
  type = map(object({
    method        = string
    path          = string
    function_name = string
    invoke_arn    = string
    auth          = string
    scopes        = optional(list(string), [])
  }))

  validation {
    condition     = alltrue([for r in values(var.routes) : contains(["GET", "POST", "PUT", "PATCH", "DELETE"], r.method) && can(regex("^/[A-Za-z0-9_{}/-]*$", r.path))])
    error_message = "Routes need a method among GET, POST, PUT, PATCH, DELETE and a path starting with /."
  }

  validation {
    condition     = alltrue([for r in values(var.routes) : contains(["jwt", "none"], r.auth) && (r.auth == "jwt" || length(r.scopes) == 0)])
    error_message = "Each route's auth is \"jwt\" or \"none\", and only jwt routes take scopes: ${join(", ", sort([for k, r in var.routes : k if !contains(["jwt", "none"], r.auth) || (r.auth != "jwt" && length(r.scopes) > 0)]))}."
  }

  validation {
    # A jwt route without an authorizer would be public: refuse to plan instead.
    condition     = var.jwt_authorizer != null || alltrue([for r in values(var.routes) : r.auth != "jwt"])
    error_message = "The routes ${join(", ", sort([for k, r in var.routes : k if r.auth == "jwt"]))} require a JWT, but jwt_authorizer is null: give the API the issuer and audience of its tokens."
  }
}

variable "jwt_authorizer" {
  description = "Issuer (an https URL whose /.well-known/openid-configuration names the signing keys) and audience of the JWTs that routes with auth = \"jwt\" accept; null when no route needs one."
  type = object({
    issuer   = string
    audience = list(string)
  })
  default = null

  validation {
    condition     = var.jwt_authorizer == null ? true : can(regex("^https://[^\\s/?#]+(/[^\\s?#]*)?$", var.jwt_authorizer.issuer))
    error_message = "The JWT issuer is an https URL without query or fragment, e.g. https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123."
  }

  validation {
    condition     = var.jwt_authorizer == null ? true : length(var.jwt_authorizer.audience) > 0 && alltrue([for a in var.jwt_authorizer.audience : trimspace(a) == a && a != ""])
    error_message = "The JWT audience lists at least one non-empty value (an app client ID or API identifier) without surrounding spaces."
  }
}

variable "throttling_burst_limit" {
  description = "Default burst limit of every route (requests)."
  type        = number
  default     = 100

  validation {
    condition     = var.throttling_burst_limit >= 1
    error_message = "The burst limit is at least 1."
  }
}

variable "throttling_rate_limit" {
  description = "Default steady-state rate limit of every route (requests per second)."
  type        = number
  default     = 50

  validation {
    condition     = var.throttling_rate_limit >= 1
    error_message = "The rate limit is at least 1."
  }
}

variable "log_retention_days" {
  description = "Retention of the access-log group, in days."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "Log retention must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "log_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the access-log group."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource of the module (on top of the provider's default tags)."
  type        = map(string)
  default     = {}
}

variable "alarm_topic_arn" {
  description = "Topic the API's alarms notify."
  type        = string
}

variable "alarm_period_s" {
  description = "Period of the API's alarms, in seconds."
  type        = number
  default     = 300

  validation {
    condition     = contains([60, 300, 900, 3600], var.alarm_period_s)
    error_message = "Alarm periods are 60, 300, 900 or 3600 seconds."
  }
}

variable "server_error_alarm_threshold" {
  description = "5xx responses in one period at which the server-errors alarm fires."
  type        = number
  default     = 1

  validation {
    condition     = var.server_error_alarm_threshold >= 1
    error_message = "The threshold is at least 1."
  }
}

variable "latency_alarm_threshold_ms" {
  description = "p99 latency (milliseconds) in one period at which the latency alarm fires."
  type        = number
  default     = 3000

  validation {
    condition     = var.latency_alarm_threshold_ms >= 1 && var.latency_alarm_threshold_ms <= 30000
    error_message = "The latency threshold is 1 to 30000 ms (HTTP APIs time out at 30 s)."
  }
}
