# Topic-level delivery alarms: one set per topic, whoever subscribes to it.

locals {
  topic_alarms = !var.delivery_alarms ? {} : {
    notifications-failed = {
      metric      = "NumberOfNotificationsFailed"
      description = "SNS failed to deliver messages of topic ${var.name}; they are retried, then redriven to the subscriber's dead-letter queue."
    }
    redrive-to-dlq-failed = {
      metric      = "NumberOfNotificationsFailedToRedriveToDlq"
      description = "SNS could not move undeliverable messages of topic ${var.name} to a dead-letter queue: they are lost."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "topic" {
  for_each = local.topic_alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = "AWS/SNS"
  metric_name         = each.value.metric
  dimensions          = { TopicName = aws_sns_topic.this.name }
  statistic           = "Sum"
  period              = var.alarm_period_s
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}
