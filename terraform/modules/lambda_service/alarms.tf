# The alarms that make sure no failure of the function is silent. Topic-level
# delivery alarms live with the topic (modules/sns_topic), once per topic.

module "function_alarms" {
  source = "../metric_alarms"

  name_prefix     = local.function_name
  namespace       = "AWS/Lambda"
  dimensions      = { FunctionName = aws_lambda_function.this.function_name }
  period_s        = var.alarm_period_s
  alarm_topic_arn = var.alarm_topic_arn
  tags            = var.tags

  alarms = {
    errors = {
      metric      = "Errors"
      threshold   = var.error_alarm_threshold
      description = "Invocations of ${local.function_name} ended in an error."
    }
    throttles = {
      metric      = "Throttles"
      threshold   = var.throttle_alarm_threshold
      description = "Invocations of ${local.function_name} were throttled."
    }
    destination-delivery-failures = {
      metric      = "DestinationDeliveryFailures"
      description = "Lambda could not deliver a failed event of ${local.function_name} to its on-failure queue: that event is lost."
    }
    async-events-dropped = {
      metric      = "AsyncEventsDropped"
      description = "Asynchronous events of ${local.function_name} were dropped without reaching the function or its on-failure queue."
    }
  }
}

module "queue_alarms" {
  source = "../metric_alarms"

  name_prefix     = local.function_name
  namespace       = "AWS/SQS"
  period_s        = var.alarm_period_s
  alarm_topic_arn = var.alarm_topic_arn
  tags            = var.tags

  alarms = merge(
    {
      for key, queue in merge(
        { on-failure-queue-not-empty = aws_sqs_queue.on_failure.name },
        local.has_subs ? { delivery-dlq-not-empty = aws_sqs_queue.delivery_dlq[0].name } : {},
        { for t, q in aws_sqs_queue.delivery_dead_letter : "${replace(t, "_", "-")}-queue-dlq-not-empty" => q.name },
        ) : key => {
        metric              = "ApproximateNumberOfMessagesVisible"
        dimensions          = { QueueName = queue }
        statistic           = "Maximum"
        threshold           = 0
        comparison_operator = "GreaterThanThreshold"
        description         = "Queue ${queue} holds events that were not handled: inspect and redrive them."
      }
    },
    {
      for t, q in aws_sqs_queue.delivery : "${replace(t, "_", "-")}-queue-oldest-message" => {
        metric      = "ApproximateAgeOfOldestMessage"
        dimensions  = { QueueName = q.name }
        statistic   = "Maximum"
        threshold   = var.queue_oldest_message_alarm_s
        description = "Queue ${q.name} holds a message older than ${var.queue_oldest_message_alarm_s} s: ${local.function_name} is falling behind or failing."
      }
    },
  )
}

moved {
  from = aws_cloudwatch_metric_alarm.function
  to   = module.function_alarms.aws_cloudwatch_metric_alarm.this
}

moved {
  from = aws_cloudwatch_metric_alarm.queue
  to   = module.queue_alarms.aws_cloudwatch_metric_alarm.this
}
