terraform {
  # State in S3 with S3-native locking (a .tflock object beside the state).
  # Replace bucket with the output state_bucket of terraform/bootstrap and add
  # kms_key_id = <its output state_kms_key_arn> (docs/terraform.md); the deploy
  # role of prod may read and write only this key.
  backend "s3" {
    bucket       = "example-org-orders-tfstate-123456789012"
    key          = "prod/terraform.tfstate"
    region       = "eu-west-1"
    encrypt      = true
    use_lockfile = true
  }
}
