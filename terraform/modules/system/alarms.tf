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

# An environment may require subscribers (terraform/environment_root refuses to
# plan staging and prod without them); where they are optional, every plan says so.
check "alarms_reach_someone" {
  assert {
    condition     = length(var.alarm_subscriptions) > 0
    error_message = "Environment ${var.environment}: the alarm topic has no subscription; alarms are recorded in CloudWatch but notify nobody."
  }
}
