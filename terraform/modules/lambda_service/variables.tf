variable "environment" {
  description = "Environment name (dev, staging, prod); prefixes every physical name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.environment))
    error_message = "The environment is 1-16 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "service_name" {
  description = "The service's directory name under services/ (e.g. orders_api); SERVICE_NAME of the function."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,40}$", var.service_name))
    error_message = "Service names are lower-case snake_case, at most 41 characters."
  }
}

variable "package_path" {
  description = "Path of the deployment package (<artifacts_dir>/<service>.zip, built by `make build SERVICE=<service>`)."
  type        = string
}

variable "handler" {
  description = "Function handler (module.function) from the manifest."
  type        = string

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]*(\\.[a-z_][a-z0-9_]*)+$", var.handler))
    error_message = "The handler is a dotted module.function path."
  }
}

variable "runtime" {
  description = "Lambda runtime from the manifest (its default and allowed values live in services/service.schema.json)."
  type        = string

  validation {
    condition     = can(regex("^python3\\.(1[2-9])$", var.runtime))
    error_message = "The runtime must be python3.12 or later, as the manifest schema allows."
  }
}

variable "architecture" {
  description = "Instruction set of the function (arm64 or x86_64)."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "The architecture must be arm64 or x86_64."
  }
}

variable "memory_mb" {
  description = "Memory of the function in MB."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_mb >= 128 && var.memory_mb <= 10240
    error_message = "Lambda memory must be between 128 and 10240 MB."
  }
}

variable "timeout_s" {
  description = "Timeout of the function in seconds."
  type        = number
  default     = 10

  validation {
    condition     = var.timeout_s >= 1 && var.timeout_s <= 900
    error_message = "Lambda timeouts are 1 to 900 seconds."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions of the function; -1 leaves it unreserved."
  type        = number
  default     = -1

  validation {
    condition     = var.reserved_concurrency >= -1
    error_message = "Reserved concurrency is -1 (unreserved) or a non-negative number."
  }
}

variable "maximum_retry_attempts" {
  description = "Asynchronous invocation retries before the event goes to the on-failure queue."
  type        = number
  default     = 2

  validation {
    condition     = var.maximum_retry_attempts >= 0 && var.maximum_retry_attempts <= 2
    error_message = "Lambda allows 0 to 2 asynchronous retries."
  }
}

variable "maximum_event_age_s" {
  description = "Maximum age of an asynchronous event before it goes to the on-failure queue."
  type        = number
  default     = 3600

  validation {
    condition     = var.maximum_event_age_s >= 60 && var.maximum_event_age_s <= 21600
    error_message = "The maximum event age is 60 to 21600 seconds."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of the function."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "LOG_LEVEL is DEBUG, INFO, WARNING or ERROR."
  }
}

variable "tracing_backend" {
  description = "MESSAGING_TRACING of the function: xray (the X-Ray SDK), otel (OpenTelemetry through the ADOT layer's collector, which exports to X-Ray) or off."
  type        = string
  default     = "xray"

  validation {
    condition     = contains(["xray", "otel", "off"], var.tracing_backend)
    error_message = "tracing_backend is xray, otel or off (messaging.config.TRACING_BACKENDS)."
  }
}

variable "otel_layer_arn" {
  description = "ARN of the ADOT Python Lambda layer for the function's architecture and region; required when tracing_backend is otel, unused otherwise."
  type        = string
  default     = null

  validation {
    condition     = var.tracing_backend != "otel" || can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$", var.otel_layer_arn))
    error_message = "tracing_backend otel needs otel_layer_arn, a layer version ARN (arn:aws:lambda:<region>:<account>:layer:<name>:<version>)."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "Log retention must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "log_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the function's log group."
  type        = string
}

variable "publishes" {
  description = "Event types the service publishes (manifest order); PUBLISHES of the function."
  type        = list(string)
  default     = []
}

variable "publish_topics" {
  description = "Topics of the published event types, by catalog topic name: the function may sns:Publish to these and nothing else."
  type = map(object({
    arn         = string
    kms_key_arn = string
  }))
  default = {}
}

variable "subscriptions" {
  description = "One subscription per topic the service consumes, by catalog topic name, with the filter policy (JSON, scope MessageAttributes) built from the manifest, and its delivery: direct (SNS invokes the function) or queue (SNS -> SQS -> event source mapping, with the queue settings)."
  type = map(object({
    arn           = string
    filter_policy = string
    delivery      = optional(string, "direct")
    queue = optional(object({
      batch_size                = number
      maximum_batching_window_s = number
      maximum_concurrency       = number
      max_receive_count         = number
      raw_message_delivery      = bool
      dead_letter_retention_s   = number
      visibility_timeout_s      = number
    }))
  }))
  default = {}

  validation {
    condition     = alltrue([for s in values(var.subscriptions) : contains(["direct", "queue"], s.delivery) && (s.delivery == "queue") == (s.queue != null)])
    error_message = "A subscription's delivery is direct (no queue settings) or queue (with queue settings)."
  }

  validation {
    condition     = alltrue([for s in values(var.subscriptions) : s.queue == null ? true : s.queue.maximum_concurrency >= 2 && s.queue.maximum_concurrency <= 1000])
    error_message = "An event source mapping's maximum concurrency is 2 to 1000."
  }
}

variable "queue_oldest_message_alarm_s" {
  description = "Age in seconds of the oldest message of a delivery queue at which its alarm fires: the consumer is falling behind."
  type        = number
  default     = 900

  validation {
    condition     = var.queue_oldest_message_alarm_s >= 60
    error_message = "The oldest-message alarm needs at least 60 seconds."
  }
}

variable "tables" {
  description = "DynamoDB tables the service declares, by logical name, with the access it needs (read, write or read_write), the ARNs of the table's indexes, which readers may query, and, for a table whose items have owners, whether this service creates them or which attributes it alone updates."
  type = map(object({
    name        = string
    arn         = string
    kms_key_arn = string
    access      = string
    index_arns  = optional(map(string), {})
    # Tables whose items have owners (shared/resources.json created_by/updated_by):
    owned        = optional(bool, false)        # writes are restricted as below
    creates      = optional(bool, false)        # this service creates the items (PutItem only)
    updates_only = optional(list(string), null) # or updates these top-level attributes only
  }))
  default = {}

  validation {
    condition     = alltrue([for t in values(var.tables) : contains(["read", "write", "read_write"], t.access)])
    error_message = "Table access is read, write or read_write."
  }
}

variable "buckets" {
  description = "S3 buckets the service declares, by logical name, with the access it needs (read, write or read_write)."
  type = map(object({
    name        = string
    arn         = string
    kms_key_arn = string
    access      = string
  }))
  default = {}

  validation {
    condition     = alltrue([for b in values(var.buckets) : contains(["read", "write", "read_write"], b.access)])
    error_message = "Bucket access is read, write or read_write."
  }
}

variable "email_senders" {
  description = "SES sender identities the service sends from, by logical name."
  type = map(object({
    address      = string
    identity_arn = string
  }))
  default = {}
}

variable "alarm_topic_arn" {
  description = "SNS topic notified when any alarm of the service changes state."
  type        = string
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
  description = "Function errors in one period at which the errors alarm fires."
  type        = number
  default     = 1

  validation {
    condition     = var.error_alarm_threshold >= 1
    error_message = "The threshold is at least 1."
  }
}

variable "throttle_alarm_threshold" {
  description = "Throttled invocations in one period at which the throttles alarm fires."
  type        = number
  default     = 1

  validation {
    condition     = var.throttle_alarm_threshold >= 1
    error_message = "The threshold is at least 1."
  }
}

variable "queue_message_retention_s" {
  description = "How long failed events stay in the dead-letter queues, in seconds."
  type        = number
  default     = 1209600

  validation {
    condition     = var.queue_message_retention_s >= 60 && var.queue_message_retention_s <= 1209600
    error_message = "SQS keeps messages 60 seconds to 14 days."
  }
}

variable "key_deletion_window_days" {
  description = "Waiting period before the queue key is deleted after the service is destroyed."
  type        = number
  default     = 30

  validation {
    condition     = var.key_deletion_window_days >= 7 && var.key_deletion_window_days <= 30
    error_message = "KMS accepts a deletion window of 7 to 30 days."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module (on top of the provider's default tags)."
  type        = map(string)
  default     = {}
}

variable "schedule" {
  description = "EventBridge schedule expression (rate(...) or cron(...)) that invokes the function with a scheduled event; null for none."
  type        = string
  default     = null

  validation {
    condition     = var.schedule == null || can(regex("^(rate|cron)\\(.+\\)$", var.schedule))
    error_message = "The schedule is an EventBridge expression such as rate(1 minute) or cron(0 12 * * ? *)."
  }
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary of the execution role (the bootstrap's permissions_boundary_arns[<env>]); null for none."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:policy/.+$", var.permissions_boundary_arn))
    error_message = "The permissions boundary is the ARN of an IAM policy."
  }
}
