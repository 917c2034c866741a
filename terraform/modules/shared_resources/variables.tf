variable "environment" {
  description = "Environment name; prefixes every physical name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.environment))
    error_message = "The environment is 1-16 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "tables" {
  description = "DynamoDB tables from shared/resources.json, by logical name: hash key (a string attribute), optional TTL attribute, and global secondary indexes by name (string hash and range keys, the non-key attributes they project)."
  type = map(object({
    hash_key      = string
    ttl_attribute = optional(string)
    indexes = optional(map(object({
      hash_key  = string
      range_key = string
      projected = optional(list(string), [])
    })), {})
  }))
  default = {}
}

variable "buckets" {
  description = "S3 buckets from shared/resources.json, by logical name, with the days after which objects expire."
  type = map(object({
    expire_after_days = number
  }))
  default = {}

  validation {
    condition     = alltrue([for b in values(var.buckets) : b.expire_after_days >= 1])
    error_message = "Objects expire after at least one day."
  }
}

variable "email_senders" {
  description = "SES sender identities from shared/resources.json, by logical name."
  type = map(object({
    address = string
  }))
  default = {}

  validation {
    condition     = alltrue([for s in values(var.email_senders) : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", s.address))])
    error_message = "Each sender address must be an e-mail address."
  }
}

variable "deletion_protection" {
  description = "Protect the tables from deletion (turn off only to tear an environment down)."
  type        = bool
  default     = true
}

variable "force_destroy_buckets" {
  description = "Let `terraform destroy` delete buckets that still hold objects (for throwaway environments)."
  type        = bool
  default     = false
}

variable "key_deletion_window_days" {
  description = "Waiting period before the data key is deleted after the environment is destroyed."
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
