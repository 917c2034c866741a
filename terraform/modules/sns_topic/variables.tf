variable "name" {
  description = "Physical topic name, already prefixed with the environment (e.g. dev-orders)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,256}$", var.name))
    error_message = "Topic names are 1-256 characters of letters, digits, hyphens and underscores."
  }
}

variable "publisher_service_principals" {
  description = "AWS service principals (e.g. cloudwatch.amazonaws.com) that publish to this topic from this account; they are granted sns:Publish and use of the topic key."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.publisher_service_principals : can(regex("^[a-z0-9.-]+\\.amazonaws\\.com$", p))])
    error_message = "Each publisher must be a service principal such as cloudwatch.amazonaws.com."
  }
}

variable "delivery_status_logging" {
  description = "Log Lambda delivery status (success sample and every failure) to CloudWatch Logs through an IAM role SNS assumes."
  type        = bool
  default     = true
}

variable "delivery_status_success_sample_rate" {
  description = "Percentage (0-100) of successful Lambda deliveries that are logged; failures are always logged."
  type        = number
  default     = 10

  validation {
    condition     = var.delivery_status_success_sample_rate >= 0 && var.delivery_status_success_sample_rate <= 100
    error_message = "The sample rate is a percentage between 0 and 100."
  }
}

variable "log_retention_days" {
  description = "Retention of the delivery-status log groups, in days."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "Log retention must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "log_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the delivery-status log groups (its policy must admit the CloudWatch Logs service)."
  type        = string
}

variable "key_deletion_window_days" {
  description = "Waiting period before the topic key is deleted after the topic is destroyed."
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

variable "permissions_boundary_arn" {
  description = "Permissions boundary of the delivery-status logging role; null for none."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:policy/.+$", var.permissions_boundary_arn))
    error_message = "The permissions boundary is the ARN of an IAM policy."
  }
}

variable "delivery_alarms" {
  description = "Alarm on failed deliveries and failed redrives of this topic (off for the alarm topic itself, which would notify itself)."
  type        = bool
  default     = false
}

variable "alarm_topic_arn" {
  description = "Topic the delivery alarms of this topic notify; required with delivery_alarms."
  type        = string
  default     = null

  validation {
    condition     = !var.delivery_alarms || var.alarm_topic_arn != null
    error_message = "delivery_alarms needs the alarm_topic_arn to notify."
  }
}

variable "alarm_period_s" {
  description = "Period of the delivery alarms, in seconds."
  type        = number
  default     = 300

  validation {
    condition     = contains([60, 300, 900, 3600], var.alarm_period_s)
    error_message = "Alarm periods are 60, 300, 900 or 3600 seconds."
  }
}
