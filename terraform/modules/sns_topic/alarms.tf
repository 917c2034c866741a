# Topic-level delivery alarms: one set per topic, whoever subscribes to it.

module "alarms" {
  source = "../metric_alarms"

  name_prefix     = var.name
  namespace       = "AWS/SNS"
  dimensions      = { TopicName = aws_sns_topic.this.name }
  period_s        = var.alarm_period_s
  alarm_topic_arn = var.alarm_topic_arn
  tags            = var.tags

  alarms = !var.delivery_alarms ? {} : {
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

moved {
  from = aws_cloudwatch_metric_alarm.topic
  to   = module.alarms.aws_cloudwatch_metric_alarm.this
}
