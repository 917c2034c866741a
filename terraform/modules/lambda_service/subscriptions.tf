# One subscription per directly delivered topic, with the manifest's filter
# policy and a redrive to the delivery dead-letter queue; SNS may invoke the
# function only from that topic. Queue-delivered topics: queue_delivery.tf.

resource "aws_lambda_permission" "sns" {
  for_each = local.direct_subs

  statement_id   = "sns-${each.key}"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this.function_name
  principal      = "sns.amazonaws.com"
  source_arn     = each.value.arn
  source_account = local.account_id
}

resource "aws_sns_topic_subscription" "this" {
  for_each = local.direct_subs

  topic_arn           = each.value.arn
  protocol            = "lambda"
  endpoint            = aws_lambda_function.this.arn
  filter_policy       = each.value.filter_policy
  filter_policy_scope = "MessageAttributes"
  redrive_policy      = jsonencode({ deadLetterTargetArn = aws_sqs_queue.delivery_dlq[0].arn })

  depends_on = [aws_lambda_permission.sns, aws_sqs_queue_policy.delivery_dlq]
}
