output "arn" {
  description = "ARN of the topic."
  value       = aws_sns_topic.this.arn
}

output "name" {
  description = "Name of the topic."
  value       = aws_sns_topic.this.name
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the topic; publishers need kms:GenerateDataKey and kms:Decrypt on it."
  value       = module.key.arn
}

output "delivery_status_role_arn" {
  description = "ARN of the role SNS assumes to write delivery-status logs (null when logging is off)."
  value       = var.delivery_status_logging ? aws_iam_role.delivery_status[0].arn : null
}

output "alarm_names" {
  description = "Names of the topic's delivery alarms by kind (empty for the alarm topic itself)."
  value       = module.alarms.names
}
