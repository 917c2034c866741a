# SNS active tracing sends segments to X-Ray only where X-Ray's resource policy
# admits sns.amazonaws.com; without it the topics' tracing_config = "Active"
# records nothing. Scoped to this environment's topics in this account, as
# the X-Ray developer guide's "Amazon SNS and AWS X-Ray" page prescribes.
# An account holds at most five X-Ray resource policies; where they are managed
# centrally, manage_sns_tracing_policy = false leaves this one out.
resource "aws_xray_resource_policy" "sns_active_tracing" {
  count = var.manage_sns_tracing_policy ? 1 : 0

  policy_name                 = "${var.environment}-sns-active-tracing"
  bypass_policy_lockout_check = false

  policy_document = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "SnsActiveTracingOfThisEnvironmentsTopics"
      Effect    = "Allow"
      Principal = { Service = "sns.amazonaws.com" }
      Action    = ["xray:PutTraceSegments", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
      Resource  = "*"
      Condition = {
        StringEquals = { "aws:SourceAccount" = local.account_id }
        ArnLike      = { "aws:SourceArn" = sort([for t in module.topics : t.arn]) }
      }
    }]
  })
}
