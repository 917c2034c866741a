output "api_url" {
  description = "Invoke URL of the HTTP API."
  value       = module.system.api_url
}

output "topic_arns" {
  description = "Topic ARNs by catalog topic name."
  value       = module.system.topic_arns
}

output "alarm_topic_arn" {
  description = "ARN of the topic every alarm notifies."
  value       = module.system.alarm_topic_arn
}

output "function_names" {
  description = "Function names by service."
  value       = module.system.function_names
}

output "dead_letter_queue_urls" {
  description = "On-failure destination queue URLs by service."
  value       = module.system.dead_letter_queue_urls
}

output "delivery_dlq_urls" {
  description = "Subscription redrive queue URLs by service."
  value       = module.system.delivery_dlq_urls
}

output "dashboard_name" {
  description = "Name of the environment's CloudWatch dashboard."
  value       = module.system.dashboard_name
}
