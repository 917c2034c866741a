terraform {
  required_version = ">= 1.10.0, < 2.0.0"

  required_providers {
    # Exact pin: the lock file is not committed (docs/terraform.md), so the
    # root pins the provider build every plan and apply uses.
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}
