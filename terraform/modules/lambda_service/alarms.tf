# The alarms that make sure no failure of the function is silent. Topic-level
# delivery alarms live with the topic (modules/sns_topic), once per topic.

locals {
  function_alarms = {
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
      threshold   = 1
      description = "Lambda could not deliver a failed event of ${local.function_name} to its on-failure queue: that event is lost."
    }
    async-events-dropped = {
      metric      = "AsyncEventsDropped"
      threshold   = 1
      description = "Asynchronous events of ${local.function_name} were dropped without reaching the function or its on-failure queue."
    }
  }

  queue_alarms = merge(
    { on-failure-queue-not-empty = aws_sqs_queue.on_failure.name },
    local.has_subs ? { delivery-dlq-not-empty = aws_sqs_queue.delivery_dlq[0].name } : {},
  )
}

resource "aws_cloudwatch_metric_alarm" "function" {
  for_each = local.function_alarms

  alarm_name          = "${local.function_name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = "AWS/Lambda"
  metric_name         = each.value.metric
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = var.alarm_period_s
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "queue" {
  for_each = local.queue_alarms

  alarm_name          = "${local.function_name}-${each.key}"
  alarm_description   = "Queue ${each.value} holds events that were not handled: inspect and redrive them."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = var.alarm_period_s
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}
