# The key of the service's dead-letter queues. Lambda writes failed
# asynchronous events to the on-failure queue; SNS writes undeliverable
# messages of the subscribed topics to the delivery dead-letter queue.
module "queue_key" {
  source = "../kms_key"

  description          = "Encrypts the dead-letter queues of ${local.function_name}."
  alias                = "alias/sqs/${local.function_name}"
  deletion_window_days = var.key_deletion_window_days
  tags                 = var.tags

  service_grants = concat(
    [{ sid = "LambdaWritesOnFailureEvents", service = "lambda.amazonaws.com", source_arn = local.function_arn }],
    local.has_subs ? [{
      sid        = "SnsRedrivesUndeliverableMessages"
      service    = "sns.amazonaws.com"
      source_arn = sort([for s in values(var.subscriptions) : s.arn])
    }] : [],
  )
}

moved {
  from = aws_kms_key.queues
  to   = module.queue_key.aws_kms_key.this
}

moved {
  from = aws_kms_alias.queues
  to   = module.queue_key.aws_kms_alias.this
}
