# EventBridge invokes the function asynchronously: once invoked, a failing event
# goes to the on-failure queue like any other; an invocation EventBridge itself
# cannot make raises the FailedInvocations alarm.
resource "aws_cloudwatch_event_rule" "schedule" {
  count = var.schedule == null ? 0 : 1

  name                = "${local.function_name}-schedule"
  description         = "Invokes ${local.function_name} on ${var.schedule} (services/${var.service_name}/service.json)."
  schedule_expression = var.schedule
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "schedule" {
  count = var.schedule == null ? 0 : 1

  rule = aws_cloudwatch_event_rule.schedule[0].name
  arn  = aws_lambda_function.this.arn

  retry_policy {
    maximum_retry_attempts       = 2
    maximum_event_age_in_seconds = 300
  }
}

resource "aws_lambda_permission" "schedule" {
  count = var.schedule == null ? 0 : 1

  statement_id   = "events-schedule"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this.function_name
  principal      = "events.amazonaws.com"
  source_arn     = aws_cloudwatch_event_rule.schedule[0].arn
  source_account = local.account_id
}

resource "aws_cloudwatch_metric_alarm" "schedule" {
  count = var.schedule == null ? 0 : 1

  alarm_name          = "${local.function_name}-schedule-failed-invocations"
  alarm_description   = "EventBridge could not invoke ${local.function_name} on its schedule."
  namespace           = "AWS/Events"
  metric_name         = "FailedInvocations"
  dimensions          = { RuleName = aws_cloudwatch_event_rule.schedule[0].name }
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
