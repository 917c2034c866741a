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

module "schedule_alarms" {
  source = "../metric_alarms"

  name_prefix     = local.function_name
  namespace       = "AWS/Events"
  period_s        = var.alarm_period_s
  alarm_topic_arn = var.alarm_topic_arn
  tags            = var.tags

  alarms = {
    for rule in aws_cloudwatch_event_rule.schedule : "schedule-failed-invocations" => {
      metric      = "FailedInvocations"
      dimensions  = { RuleName = rule.name }
      description = "EventBridge could not invoke ${local.function_name} on its schedule."
    }
  }
}

moved {
  from = aws_cloudwatch_metric_alarm.schedule[0]
  to   = module.schedule_alarms.aws_cloudwatch_metric_alarm.this["schedule-failed-invocations"]
}
