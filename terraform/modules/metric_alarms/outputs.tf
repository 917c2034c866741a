output "names" {
  description = "Names of the alarms by key."
  value       = { for k, a in aws_cloudwatch_metric_alarm.this : k => a.alarm_name }
}

output "arns" {
  description = "ARNs of the alarms by key."
  value       = { for k, a in aws_cloudwatch_metric_alarm.this : k => a.arn }
}
