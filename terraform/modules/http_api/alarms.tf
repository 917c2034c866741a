# Server-side failures and slow answers of the front door reach the alarm topic;
# 4xx are the callers' mistakes and stay in the access log.

module "alarms" {
  source = "../metric_alarms"

  name_prefix     = var.name
  namespace       = "AWS/ApiGateway"
  dimensions      = { ApiId = aws_apigatewayv2_api.this.id }
  period_s        = var.alarm_period_s
  alarm_topic_arn = var.alarm_topic_arn
  tags            = var.tags

  alarms = {
    server-errors = {
      metric      = "5xx"
      threshold   = var.server_error_alarm_threshold
      description = "The HTTP API ${var.name} answered with 5xx (a function failed, timed out or was throttled)."
    }
    latency-p99 = {
      metric             = "Latency"
      extended_statistic = "p99"
      threshold          = var.latency_alarm_threshold_ms
      description        = "The 99th percentile latency of the HTTP API ${var.name} is over ${var.latency_alarm_threshold_ms} ms."
    }
  }
}

moved {
  from = aws_cloudwatch_metric_alarm.api
  to   = module.alarms.aws_cloudwatch_metric_alarm.this
}
