# Server-side failures and slow answers of the front door reach the alarm topic;
# 4xx are the callers' mistakes and stay in the access log.

locals {
  api_alarms = {
    server-errors = {
      metric      = "5xx"
      statistic   = "Sum"
      extended    = null
      threshold   = var.server_error_alarm_threshold
      description = "The HTTP API ${var.name} answered with 5xx (a function failed, timed out or was throttled)."
    }
    latency-p99 = {
      metric      = "Latency"
      statistic   = null
      extended    = "p99"
      threshold   = var.latency_alarm_threshold_ms
      description = "The 99th percentile latency of the HTTP API ${var.name} is over ${var.latency_alarm_threshold_ms} ms."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "api" {
  for_each = local.api_alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = "AWS/ApiGateway"
  metric_name         = each.value.metric
  dimensions          = { ApiId = aws_apigatewayv2_api.this.id }
  statistic           = each.value.statistic
  extended_statistic  = each.value.extended
  period              = var.alarm_period_s
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}
