# A customer-managed KMS key with rotation and an alias, whose policy lets the
# account administer it and delegate its use to IAM, plus the service grants
# the caller adds. The one place the key-administration statement and the
# shape of a service grant are written.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  # Key administration and use for the account itself, spelled out rather than
  # kms:* so no statement carries a wildcard action. Identity policies in the
  # account then grant use of the key per role.
  key_admin_actions = [
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:CreateGrant", "kms:Decrypt",
    "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey", "kms:DisableKeyRotation",
    "kms:EnableKey", "kms:EnableKeyRotation", "kms:Encrypt", "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus",
    "kms:ListAliases", "kms:ListGrants", "kms:ListKeyPolicies", "kms:ListKeyRotations",
    "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:ReEncryptFrom", "kms:ReEncryptTo",
    "kms:RetireGrant", "kms:RevokeGrant", "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion",
    "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias", "kms:UpdateKeyDescription",
  ]

  # A service uses the key only on behalf of this account (and, with source
  # ARNs, of those resources): the confused-deputy conditions of every grant.
  service_grant_statements = [for g in var.service_grants : {
    Sid       = g.sid
    Effect    = "Allow"
    Principal = { Service = g.service }
    Action    = try(g.actions, ["kms:Decrypt", "kms:GenerateDataKey"])
    Resource  = "*"
    Condition = merge(
      { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } },
      try(g.source_arn, null) == null ? {} : { ArnLike = { "aws:SourceArn" = g.source_arn } },
    )
  }]
}

resource "aws_kms_key" "this" {
  description             = var.description
  enable_key_rotation     = true
  deletion_window_in_days = var.deletion_window_days
  tags                    = var.tags

  # In a key policy "Resource": "*" means this key and nothing else.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [{
        Sid       = "AccountAdministersKeyAndDelegatesUseToIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = local.key_admin_actions
        Resource  = "*"
      }],
      local.service_grant_statements,
      var.service_statements,
    )
  })
}

resource "aws_kms_alias" "this" {
  name          = var.alias
  target_key_id = aws_kms_key.this.key_id
}
