# Who hears the alarms. Every alarm of the environment notifies the alarm
# topic; these subscriptions carry them to people (e-mail), to an HTTPS
# endpoint (an incident tool, or AWS Chatbot's endpoint for a chat channel),
# or to a function that forwards them.

resource "aws_sns_topic_subscription" "alarms" {
  for_each = { for s in var.alarm_subscriptions : "${s.protocol}:${s.endpoint}" => s }

  topic_arn = module.alarm_topic.arn
  protocol  = each.value.protocol
  endpoint  = each.value.endpoint
}

# An environment whose alarms must reach someone (require_alarm_subscriptions,
# true unless the environment opts out) fails its plan without a subscriber
# rather than deploying alarms that notify nobody.
resource "terraform_data" "alarm_routing" {
  input = module.alarm_topic.arn

  lifecycle {
    precondition {
      condition     = !var.require_alarm_subscriptions || length(var.alarm_subscriptions) > 0
      error_message = "Environment ${var.environment}: the alarm topic ${var.environment}-alarms has no subscription, so every alarm would notify nobody. Set alarm_subscriptions in terraform/environments/${var.environment}/terraform.tfvars (docs/terraform.md, \"Alarm routing\")."
    }
  }
}

# Where subscribers are optional (dev), say so on every plan instead of failing.
check "alarms_reach_someone" {
  assert {
    condition     = var.require_alarm_subscriptions || length(var.alarm_subscriptions) > 0
    error_message = "Environment ${var.environment}: the alarm topic has no subscription; alarms are recorded in CloudWatch but notify nobody."
  }
}
