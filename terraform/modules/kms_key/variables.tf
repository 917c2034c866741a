variable "description" {
  description = "What the key encrypts."
  type        = string
}

variable "alias" {
  description = "Alias of the key, starting with alias/."
  type        = string

  validation {
    condition     = can(regex("^alias/[A-Za-z0-9/_-]{1,250}$", var.alias)) && !startswith(var.alias, "alias/aws/")
    error_message = "The alias starts with alias/ (not alias/aws/) and holds letters, digits, /, _ and -."
  }
}

variable "deletion_window_days" {
  description = "Waiting period before the key is deleted after it is destroyed."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_days >= 7 && var.deletion_window_days <= 30
    error_message = "KMS accepts a deletion window of 7 to 30 days."
  }
}

variable "service_grants" {
  description = "AWS services that use the key from this account, each {sid, service (a principal or a list of them), source_arn (optional: an ARN pattern or a list; the resources on whose behalf the service acts), actions (optional, default kms:Decrypt and kms:GenerateDataKey)}. Each becomes a statement with the aws:SourceAccount and aws:SourceArn conditions."
  # any, not a list of objects: service and source_arn are a string or a list,
  # written into the policy as given.
  type    = any
  default = []
}

variable "service_statements" {
  description = "Key-policy statements after the service grants, for a service whose statement has another shape (other conditions). Resource \"*\" in a key policy means this key."
  type        = any
  default     = []
}

variable "tags" {
  description = "Tags of the key (on top of the provider's default tags)."
  type        = map(string)
  default     = {}
}
