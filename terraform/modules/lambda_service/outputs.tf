output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "invoke_arn" {
  description = "Invoke ARN of the function, for API Gateway integrations."
  value       = aws_lambda_function.this.invoke_arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.function.arn
}

output "log_group_name" {
  description = "Name of the function's log group."
  value       = aws_cloudwatch_log_group.function.name
}

output "dead_letter_queue_url" {
  description = "URL of the on-failure destination queue (DEAD_LETTER_QUEUE_URL of the function)."
  value       = aws_sqs_queue.on_failure.url
}

output "dead_letter_queue_arn" {
  description = "ARN of the on-failure destination queue."
  value       = aws_sqs_queue.on_failure.arn
}

output "delivery_dlq_url" {
  description = "URL of the queue SNS redrives undeliverable messages to (null when the service subscribes to nothing)."
  value       = local.has_subs ? aws_sqs_queue.delivery_dlq[0].url : null
}

output "subscription_arns" {
  description = "ARNs of the service's subscriptions, by topic."
  value       = { for k, s in aws_sns_topic_subscription.this : k => s.arn }
}

output "environment_variables" {
  description = "The function's environment variables (the contract with the messaging package)."
  value       = local.environment_variables
}
