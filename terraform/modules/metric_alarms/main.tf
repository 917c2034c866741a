# CloudWatch alarms on the metrics of one namespace, each notifying the alarm
# topic when it fires and again when it clears. The one place the shape every
# alarm of the system shares is written: a single evaluation period, and a
# period without data is no failure (most of these metrics only appear when
# something goes wrong).

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = var.alarms

  alarm_name        = "${var.name_prefix}-${each.key}"
  alarm_description = each.value.description
  namespace         = var.namespace
  metric_name       = each.value.metric
  dimensions        = merge(var.dimensions, each.value.dimensions)
  # CloudWatch takes either a statistic or a percentile, never both.
  statistic           = each.value.extended_statistic == null ? each.value.statistic : null
  extended_statistic  = each.value.extended_statistic
  period              = var.period_s
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = each.value.comparison_operator
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}
