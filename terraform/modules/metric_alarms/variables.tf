variable "name_prefix" {
  description = "Start of every alarm name; each alarm is named <name_prefix>-<key of alarms>."
  type        = string
}

variable "namespace" {
  description = "CloudWatch namespace of the metrics (e.g. AWS/Lambda)."
  type        = string
}

variable "dimensions" {
  description = "Dimensions every alarm of the set shares (e.g. the function name); an alarm's own dimensions are added to them."
  type        = map(string)
  default     = {}
}

variable "alarms" {
  description = "The alarms by key: metric, description, threshold (default 1, the first occurrence), own dimensions, statistic (default Sum) or a percentile as extended_statistic, comparison (default GreaterThanOrEqualToThreshold)."
  type = map(object({
    metric              = string
    description         = string
    threshold           = optional(number, 1)
    dimensions          = optional(map(string), {})
    statistic           = optional(string, "Sum")
    extended_statistic  = optional(string)
    comparison_operator = optional(string, "GreaterThanOrEqualToThreshold")
  }))
}

# Not validated here: each caller validates its own alarm_period_s, so a bad
# period fails once, naming the caller's variable, not once per alarm set.
variable "period_s" {
  description = "Period of every alarm of the set, in seconds (60, 300, 900 or 3600; the callers check it)."
  type        = number
}

variable "alarm_topic_arn" {
  description = "Topic the alarms notify when they fire and when they clear."
  type        = string
}

variable "tags" {
  description = "Tags of the alarms (on top of the provider's default tags)."
  type        = map(string)
  default     = {}
}
