terraform {
  # >= 1.10: the S3 backend locks state with a lock file in the bucket (use_lockfile),
  # so no DynamoDB lock table is needed.
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      Project   = var.project
      ManagedBy = "terraform/bootstrap"
    }
  }
}
