# The shared resources the services declare (shared/resources.json): DynamoDB
# tables with point-in-time recovery and customer-managed encryption, S3
# buckets with encryption, versioning, lifecycle expiry and public access
# blocked, and SES sender identities.

data "aws_caller_identity" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
}

# DynamoDB and S3 use the key on behalf of the calling role (kms:ViaService),
# so no service principal needs a grant in the key policy.
module "key" {
  source = "../kms_key"

  description          = "Encrypts the shared tables and buckets of ${var.environment}."
  alias                = "alias/${var.environment}-data"
  deletion_window_days = var.key_deletion_window_days
  tags                 = var.tags
}

moved {
  from = aws_kms_key.data
  to   = module.key.aws_kms_key.this
}

moved {
  from = aws_kms_alias.data
  to   = module.key.aws_kms_alias.this
}

# --- tables --------------------------------------------------------------------

resource "aws_dynamodb_table" "this" {
  for_each = var.tables

  name                        = "${var.environment}-${replace(each.key, "_", "-")}"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = each.value.hash_key
  deletion_protection_enabled = var.deletion_protection

  # Every key attribute, of the table and of its indexes, is a string.
  dynamic "attribute" {
    for_each = toset(concat([each.value.hash_key], flatten([for i in values(each.value.indexes) : [i.hash_key, i.range_key]])))
    content {
      name = attribute.value
      type = "S"
    }
  }

  # Sparse indexes: an item appears only while it carries the index's key attributes.
  dynamic "global_secondary_index" {
    for_each = each.value.indexes
    content {
      name               = global_secondary_index.key
      hash_key           = global_secondary_index.value.hash_key
      range_key          = global_secondary_index.value.range_key
      projection_type    = length(global_secondary_index.value.projected) == 0 ? "KEYS_ONLY" : "INCLUDE"
      non_key_attributes = length(global_secondary_index.value.projected) == 0 ? null : global_secondary_index.value.projected
    }
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = module.key.arn
  }

  dynamic "ttl" {
    for_each = each.value.ttl_attribute == null ? [] : [each.value.ttl_attribute]
    content {
      enabled        = true
      attribute_name = ttl.value
    }
  }

  tags = var.tags
}

# --- buckets -------------------------------------------------------------------

resource "aws_s3_bucket" "this" {
  for_each = var.buckets

  #checkov:skip=CKV_AWS_18:Objects are short-lived claim-check bodies written and read only by the services' roles; access is audited through CloudTrail, and a server-access-log bucket would itself need logging without adding a reader.
  #checkov:skip=CKV_AWS_144:Bodies expire within days and are only needed while their event is in flight; replicating them to a second region would double the copies of customer data without a recovery use.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to object events: readers learn the key from the SNS event that carries it.
  bucket        = "${var.environment}-${replace(each.key, "_", "-")}-${local.account_id}"
  force_destroy = var.force_destroy_buckets
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = aws_s3_bucket.this

  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  rule {
    bucket_key_enabled = true
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = module.key.arn
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id

  rule {
    id     = "expire-after-${var.buckets[each.key].expire_after_days}-days"
    status = "Enabled"

    filter {}

    expiration {
      days = var.buckets[each.key].expire_after_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_policy" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = { AWS = "*" }
      Action    = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"]
      Resource  = [each.value.arn, "${each.value.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })

  depends_on = [aws_s3_bucket_public_access_block.this]
}

# --- e-mail senders ------------------------------------------------------------

# Each address must be verified (SES mails a link to it) before anything is sent
# from it; until the account leaves the SES sandbox, recipients must be
# verified identities too (README, "E-mail and the SES sandbox").
resource "aws_sesv2_email_identity" "this" {
  for_each = var.email_senders

  email_identity = each.value.address
  tags           = var.tags
}
