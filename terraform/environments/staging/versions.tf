terraform {
  required_version = ">= 1.10.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100.0, < 6.0.0"
    }
  }

  # State in S3 with S3-native locking (a .tflock object beside the state).
  # Create the bucket once per account: see docs/terraform.md.
  backend "s3" {
    bucket       = "sns-lambda-platform-tfstate-staging"
    key          = "staging/terraform.tfstate"
    region       = "eu-west-1"
    encrypt      = true
    use_lockfile = true
  }
}
