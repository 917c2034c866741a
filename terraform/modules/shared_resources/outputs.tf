output "tables" {
  description = "Tables by logical name: physical name, ARN, the KMS key that encrypts them and the ARNs of their indexes by index name."
  value = { for k, t in aws_dynamodb_table.this : k => {
    name        = t.name
    arn         = t.arn
    kms_key_arn = module.key.arn
    index_arns  = { for i in keys(var.tables[k].indexes) : i => "${t.arn}/index/${i}" }
  } }
}

output "buckets" {
  description = "Buckets by logical name: physical name, ARN and the KMS key that encrypts them."
  value = { for k, b in aws_s3_bucket.this : k => {
    name        = b.bucket
    arn         = b.arn
    kms_key_arn = module.key.arn
  } }
}

output "email_senders" {
  description = "SES sender identities by logical name: address and identity ARN."
  value = { for k, s in aws_sesv2_email_identity.this : k => {
    address      = s.email_identity
    identity_arn = s.arn
  } }
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the tables and buckets."
  value       = module.key.arn
}
