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
  value       = { for k, s in merge(aws_sns_topic_subscription.this, aws_sns_topic_subscription.queue) : k => s.arn }
}

output "environment_variables" {
  description = "The function's environment variables (the contract with the messaging package)."
  value       = local.environment_variables
}

output "function_settings" {
  description = "Handler, runtime, architecture, memory, timeout, tracing mode and layers of the function, as deployed."
  value = {
    handler      = aws_lambda_function.this.handler
    runtime      = aws_lambda_function.this.runtime
    architecture = one(aws_lambda_function.this.architectures)
    memory_mb    = aws_lambda_function.this.memory_size
    timeout_s    = aws_lambda_function.this.timeout
    tracing_mode = aws_lambda_function.this.tracing_config[0].mode
    layers       = aws_lambda_function.this.layers
  }
}

output "on_failure" {
  description = "Asynchronous invoke settings: retries, maximum event age and the on-failure destination ARN."
  value = {
    maximum_retry_attempts = aws_lambda_function_event_invoke_config.this.maximum_retry_attempts
    maximum_event_age_s    = aws_lambda_function_event_invoke_config.this.maximum_event_age_in_seconds
    destination_arn        = one(one(aws_lambda_function_event_invoke_config.this.destination_config).on_failure).destination
  }
}

output "subscriptions" {
  description = "The service's subscriptions by topic: topic ARN, protocol (lambda, or sqs for queue delivery), endpoint, filter policy and scope, redrive target, and the source ARN of the matching invoke permission (null for queue delivery)."
  value = { for k, s in merge(aws_sns_topic_subscription.this, aws_sns_topic_subscription.queue) : k => {
    topic_arn           = s.topic_arn
    protocol            = s.protocol
    endpoint            = s.endpoint
    filter_policy       = s.filter_policy
    filter_policy_scope = s.filter_policy_scope
    redrive_target_arn  = jsondecode(s.redrive_policy).deadLetterTargetArn
    permission_source   = try(aws_lambda_permission.sns[k].source_arn, null)
  } }
}

output "delivery_dlq_arn" {
  description = "ARN of the subscription redrive queue (null when the service subscribes to nothing)."
  value       = local.has_subs ? aws_sqs_queue.delivery_dlq[0].arn : null
}

output "role_policy" {
  description = "The execution role's policy document (JSON)."
  value       = aws_iam_role_policy.function.policy
}

output "schedule" {
  description = "The schedule expression and the ARN of the EventBridge rule that invokes the function (null when it has no schedule)."
  value = var.schedule == null ? null : {
    expression = aws_cloudwatch_event_rule.schedule[0].schedule_expression
    rule_arn   = aws_cloudwatch_event_rule.schedule[0].arn
    permission = aws_lambda_permission.schedule[0].source_arn
  }
}

output "delivery_queues" {
  description = "The queue-delivered subscriptions by topic: queue and dead-letter queue URLs and ARNs, the event source mapping's settings and the subscription's raw delivery."
  value = { for t, q in aws_sqs_queue.delivery : t => {
    queue_url               = q.url
    queue_arn               = q.arn
    visibility_timeout_s    = q.visibility_timeout_seconds
    dead_letter_queue_url   = aws_sqs_queue.delivery_dead_letter[t].url
    dead_letter_queue_arn   = aws_sqs_queue.delivery_dead_letter[t].arn
    max_receive_count       = jsondecode(q.redrive_policy).maxReceiveCount
    batch_size              = aws_lambda_event_source_mapping.queue[t].batch_size
    maximum_batching_window = aws_lambda_event_source_mapping.queue[t].maximum_batching_window_in_seconds
    maximum_concurrency     = one(aws_lambda_event_source_mapping.queue[t].scaling_config).maximum_concurrency
    raw_message_delivery    = aws_sns_topic_subscription.queue[t].raw_message_delivery
  } }
}
